// Package authz decides who may use roombot: allow-lists of Slack user ids
// and user group ids, one for viewing rooms and one for restarting their
// services. Nobody is allowed unless a list names them; ids are matched
// exactly, never names. The same Check answers for a slash command and
// for a button click, so a click is judged on who clicked, when they
// click.
//
// User groups are resolved with Slack's usergroups.users.list and cached
// for a few minutes, since membership changes rarely and Slack limits how
// often it may be asked. A group that cannot be resolved denies, as
// everything here fails closed, but as ErrUnresolved rather than
// ErrNotAllowed: the user may well be allowed, and someone should look at
// why Slack would not say.
package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/slack-go/slack"

	"github.com/roomops/roombot/commands"
)

// ErrNotAllowed reports that a Slack user may not do what they asked.
// Every denial from Check wraps it, except one that a user group could
// have turned, had it been resolved: that one wraps ErrUnresolved.
var ErrNotAllowed = errors.New("authz: user not allowed")

// ErrUnresolved reports that the allow-list could not be checked: a user
// group that might name the user could not be resolved, because Slack
// failed or was too slow, or because the app lacks usergroups:read.
// Check denies then, and the error also wraps the cause, for the log.
var ErrUnresolved = errors.New("authz: allow-list could not be checked")

// A Permission is what a user may be allowed to do.
type Permission int

// The permissions. The zero Permission is none, and is always denied.
const (
	// View allows list, status, watching and help.
	View Permission = iota + 1

	// Restart allows restart, watch and unwatch, and implies View.
	Restart
)

func (p Permission) String() string {
	switch p {
	case View:
		return "view"
	case Restart:
		return "restart"
	}
	return fmt.Sprintf("permission(%d)", int(p))
}

// Required returns the permission a verb needs. A verb it does not know
// needs Restart, the stronger one.
func Required(v commands.Verb) Permission {
	switch v {
	case commands.VerbHelp, commands.VerbList, commands.VerbStatus,
		commands.VerbWatching:
		return View
	}
	return Restart
}

// GroupMembers resolves a Slack user group to the ids of its members.
// *slack.Client satisfies it.
type GroupMembers interface {
	GetUserGroupMembersContext(ctx context.Context, group string,
		opts ...slack.GetUserGroupMembersOption) ([]string, error)
}

// A Policy is a pair of allow-lists. It is safe for concurrent use.
type Policy struct {
	viewers    list
	restarters list
	groups     *groupCache // nil when neither list names a group
}

// A list is one allow-list, split into users and groups.
type list struct {
	users  map[string]bool
	groups []string
}

// New returns the policy allowing viewers to view and restarters to view
// and restart. Both lists hold ids as ParseIDs returns them; anything
// else is an error. groups resolves user groups, and may be nil when no
// list names one.
func New(viewers, restarters []string, groups GroupMembers, opts ...Option) (*Policy, error) {
	o := defaults()
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxStale < o.ttl {
		return nil, fmt.Errorf("authz: max staleness %v is shorter "+
			"than the group cache time %v", o.maxStale, o.ttl)
	}
	p := &Policy{}
	var err error
	if p.viewers, err = split(viewers); err != nil {
		return nil, err
	}
	if p.restarters, err = split(restarters); err != nil {
		return nil, err
	}
	if len(p.viewers.groups)+len(p.restarters.groups) > 0 {
		if groups == nil {
			return nil, errors.New("authz: user groups are allowed, " +
				"but nothing is given to resolve them")
		}
		p.groups = newGroupCache(groups, o)
	}
	return p, nil
}

func split(ids []string) (list, error) {
	l := list{users: map[string]bool{}}
	for _, id := range ids {
		switch {
		case isUser(id):
			l.users[id] = true
		case isGroup(id):
			if !slices.Contains(l.groups, id) {
				l.groups = append(l.groups, id)
			}
		default:
			return list{}, fmt.Errorf("authz: %q is not a user or "+
				"user group id; read lists with ParseIDs", id)
		}
	}
	return l, nil
}

// Empty reports whether the policy allows nobody anything. The bot says
// so when it starts, since every command would be refused.
func (p *Policy) Empty() bool {
	return len(p.viewers.users)+len(p.viewers.groups)+
		len(p.restarters.users)+len(p.restarters.groups) == 0
}

// Resolve fetches the members of every user group the lists name, at
// once, so that a group Slack will not resolve (a wrong id, or an app
// without usergroups:read) is found when the bot starts rather than when
// one of its members is first refused. The lists it gets are kept for
// Check; its failures are not, so the first checks ask Slack again. It
// returns the failures joined, each naming its group, and takes at most
// the lookup timeout.
func (p *Policy) Resolve(ctx context.Context) error {
	if p.groups == nil {
		return nil
	}
	groups := slices.Concat(p.viewers.groups, p.restarters.groups)
	slices.Sort(groups)
	groups = slices.Compact(groups)
	ctx, cancel := context.WithTimeoutCause(ctx, p.groups.opts.timeout, errSlow)
	defer cancel()
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() { _, errs[i] = p.groups.lookup(ctx, g, false) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Check returns nil when the Slack user userID has perm, and an error
// wrapping ErrNotAllowed when not. When the user is named by no list but
// a user group that could name them cannot be resolved, Check denies
// with an error wrapping ErrUnresolved and the cause: a Slack outage
// denies rather than allows. The groups are asked for together, and a
// Check takes at most the lookup timeout (WithLookupTimeout), however
// many groups it needs.
func (p *Policy) Check(ctx context.Context, userID string, perm Permission) error {
	lists := p.granting(perm)
	if !isUser(userID) || len(lists) == 0 {
		return denied(userID, perm)
	}
	var groups []string
	for _, l := range lists {
		if l.users[userID] {
			return nil
		}
		groups = append(groups, l.groups...)
	}
	if len(groups) == 0 {
		return denied(userID, perm)
	}
	in, err := p.groups.inAny(ctx, groups, userID)
	switch {
	case in:
		return nil
	case err != nil:
		return fmt.Errorf("%w: %q may not %v while its user groups "+
			"are unknown: %w", ErrUnresolved, userID, perm, err)
	}
	return denied(userID, perm)
}

// granting returns the lists that grant perm: restarters may also view.
func (p *Policy) granting(perm Permission) []list {
	switch perm {
	case View:
		return []list{p.viewers, p.restarters}
	case Restart:
		return []list{p.restarters}
	}
	return nil
}

func denied(userID string, perm Permission) error {
	return fmt.Errorf("%w: %q may not %v", ErrNotAllowed, userID, perm)
}

// A Checker answers whether a user has a permission; *Policy is one.
type Checker interface {
	Check(ctx context.Context, userID string, perm Permission) error
}

// Verbs returns the verbs userID may run as c answers, in the order of
// commands.Verbs, for commands.Help; each permission is checked once. It
// is empty for a user on neither list. A permission that could not be
// checked counts as not granted, and the error says why: it is nil for
// plain denials, which are an answer, and wraps ErrUnresolved when
// Policy.Check returned that.
func Verbs(ctx context.Context, c Checker, userID string) ([]commands.Verb, error) {
	granted := map[Permission]bool{}
	var errs []error
	for _, perm := range []Permission{View, Restart} {
		err := c.Check(ctx, userID, perm)
		granted[perm] = err == nil
		if err != nil && !errors.Is(err, ErrNotAllowed) {
			errs = append(errs, err)
		}
	}
	var out []commands.Verb
	for _, v := range commands.Verbs() {
		if granted[Required(v)] {
			out = append(out, v)
		}
	}
	return out, errors.Join(errs...)
}
