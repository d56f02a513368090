package authz

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// An Option changes how a Policy resolves user groups.
type Option func(*options)

type options struct {
	now      func() time.Time
	ttl      time.Duration
	maxStale time.Duration
	timeout  time.Duration
}

func defaults() options {
	return options{
		now:      time.Now,
		ttl:      5 * time.Minute,
		maxStale: 15 * time.Minute,
		timeout:  5 * time.Second,
	}
}

// WithClock makes the policy read the time from now, for tests.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithGroupTTL sets how long a group's member list is used before it is
// fetched again (default 5 minutes).
func WithGroupTTL(ttl time.Duration) Option {
	return func(o *options) { o.ttl = ttl }
}

// WithMaxStale sets how old a group's member list may grow while Slack
// cannot be asked for a new one (default 15 minutes); past that, the
// group allows nobody until Slack answers again. It must not be shorter
// than the TTL.
func WithMaxStale(d time.Duration) Option {
	return func(o *options) { o.maxStale = d }
}

// WithLookupTimeout bounds the time one Check may spend resolving user
// groups (default 5 s). The groups it needs are asked for together, so
// this is also the longest one usergroups.users.list call may take.
func WithLookupTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout = d }
}

// retryAfter is how long a group whose refresh failed is not asked for
// again. During an outage every check would otherwise call Slack, which
// allows about 20 of these calls a minute.
const retryAfter = 30 * time.Second

// A groupCache holds the member lists of user groups.
//
// A list is fresh for ttl. After that, the next check refreshes it while
// the others keep using the old list. When the refresh fails, the old
// list is still used until it is maxStale old, then the group allows
// nobody. That is the fail-closed choice with a short grace: denying at
// once would lock everyone out for any blip at Slack, and trusting an old
// list for ever would let someone removed from the group keep restarting
// services for as long as Slack stays unreachable.
type groupCache struct {
	fetch GroupMembers
	opts  options

	// mu guards entries and every entry in it.
	mu      sync.Mutex
	entries map[string]*groupEntry
}

type groupEntry struct {
	members  map[string]bool
	fetched  time.Time // when members was fetched; zero before the first
	failed   time.Time // when the last refresh failed
	err      error     // why it failed
	inFlight chan struct{}
}

func newGroupCache(fetch GroupMembers, o options) *groupCache {
	return &groupCache{
		fetch:   fetch,
		opts:    o,
		entries: map[string]*groupEntry{},
	}
}

// errSlow is the cause of a lookup that took the whole lookup timeout.
// It tells Slack being slow, which counts as Slack failing, from a
// caller giving up for its own reasons, which does not.
var errSlow = errors.New("user group not resolved within the lookup timeout")

// inAny reports whether user is a member of any of groups. A fresh list
// that names user answers at once, without Slack being asked for the
// others. Else it asks for them all at once and stops at the first that
// names user, so a Check waits for the slowest group at most, and never
// longer than the lookup timeout. When none names user and some could
// not be resolved, err says why.
func (c *groupCache) inAny(ctx context.Context, groups []string, user string) (bool, error) {
	if c.freshHas(groups, user) {
		return true, nil
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.opts.timeout, errSlow)
	type answer struct {
		in  bool
		err error
	}
	answers := make(chan answer, len(groups))
	var wg sync.WaitGroup
	// Lookups still running when one group has answered yes are
	// cancelled, and waited for: none outlives the Check.
	defer func() {
		cancel()
		wg.Wait()
	}()
	for _, g := range groups {
		wg.Go(func() {
			members, err := c.members(ctx, g)
			answers <- answer{members[user], err}
		})
	}

	var errs []error
	for range groups {
		a := <-answers
		if a.in {
			return true, nil
		}
		if a.err != nil {
			errs = append(errs, a.err)
		}
	}
	return false, errors.Join(errs...)
}

// freshHas reports whether a fresh member list of one of groups names
// user.
func (c *groupCache) freshHas(groups []string, user string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.now()
	for _, g := range groups {
		if e := c.entries[g]; e != nil && c.fresh(e, now) && e.members[user] {
			return true
		}
	}
	return false
}

// members returns the member list of group, refreshing it when it is no
// longer fresh. One refresh of a group runs at a time; a caller with no
// usable list waits for it.
func (c *groupCache) members(ctx context.Context, group string) (map[string]bool, error) {
	return c.lookup(ctx, group, true)
}

// lookup is members. A refresh that fails holds off the next for
// retryAfter only when remember is set: a lookup made ahead of any
// check, at start, must not keep the first checks from asking Slack.
func (c *groupCache) lookup(ctx context.Context, group string, remember bool) (map[string]bool, error) {
	for {
		c.mu.Lock()
		e := c.entryLocked(group)
		now := c.opts.now()
		// members maps are never changed once made, so a caller may
		// read one after the lock is released; e.members may not be.
		if m := e.members; c.fresh(e, now) {
			c.mu.Unlock()
			return m, nil
		}
		if e.inFlight == nil && now.Sub(e.failed) >= retryAfter {
			e.inFlight = make(chan struct{})
			c.mu.Unlock()
			return c.refresh(ctx, group, e, remember)
		}
		if m := e.members; c.usable(e, now) {
			c.mu.Unlock()
			return m, nil
		}
		wait, err := e.inFlight, e.err
		c.mu.Unlock()

		if wait == nil {
			return nil, fmt.Errorf("resolving user group %s: %w", group, err)
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("resolving user group %s: %w",
				group, context.Cause(ctx))
		}
	}
}

func (c *groupCache) entryLocked(group string) *groupEntry {
	e := c.entries[group]
	if e == nil {
		e = &groupEntry{}
		c.entries[group] = e
	}
	return e
}

func (c *groupCache) fresh(e *groupEntry, now time.Time) bool {
	return !e.fetched.IsZero() && now.Sub(e.fetched) < c.opts.ttl
}

func (c *groupCache) usable(e *groupEntry, now time.Time) bool {
	return !e.fetched.IsZero() && now.Sub(e.fetched) < c.opts.maxStale
}

// refresh fetches the members of group. The caller has set e.inFlight;
// refresh closes it, waking the callers waiting for this refresh. A
// failure is remembered, for retryAfter, only when remember is set.
func (c *groupCache) refresh(ctx context.Context, group string,
	e *groupEntry, remember bool) (map[string]bool, error) {
	ids, err := c.fetch.GetUserGroupMembersContext(ctx, group)

	c.mu.Lock()
	defer c.mu.Unlock()
	close(e.inFlight)
	e.inFlight = nil
	now := c.opts.now()
	if err == nil {
		e.members = make(map[string]bool, len(ids))
		for _, id := range ids {
			e.members[id] = true
		}
		e.fetched, e.failed, e.err = now, time.Time{}, nil
		return e.members, nil
	}

	// A caller that gave up is not Slack failing: the next caller tries
	// again at once. Slack taking the whole lookup timeout is.
	if remember && (ctx.Err() == nil || errors.Is(context.Cause(ctx), errSlow)) {
		e.failed, e.err = now, err
	}
	if c.usable(e, now) {
		return e.members, nil
	}
	return nil, fmt.Errorf("resolving user group %s: %w", group, err)
}
