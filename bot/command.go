package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"

	"github.com/slack-go/slack"

	"github.com/roomops/roombot/authz"
	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

// A decision is what the bot did with one command or click. It becomes
// the audit line, the metrics, and the reply.
type decision struct {
	user, corr          string
	verb, room, service string
	outcome             string
}

// log writes the audit line. log carries user and channel already, as
// every handler's logger does; naming them again would give the JSON
// line duplicate keys, which log stores refuse or resolve either way.
func (d *decision) log(ctx context.Context, log *slog.Logger) {
	level := slog.LevelInfo
	if d.outcome == "denied" || d.outcome == outcomeUnchecked {
		level = slog.LevelWarn
	}
	log.Log(ctx, level, "audit", "verb", d.verb, "room", d.room,
		"service", d.service, "outcome", d.outcome, "correlation_id", d.corr)
}

// command answers one slash command.
func (b *Bot) command(ctx context.Context, log *slog.Logger, env string, sc slack.SlashCommand) {
	log = log.With("user", sc.UserID, "channel", sc.ChannelID)
	ctx, turn := b.cpu.withTurn(ctx)
	defer turn.done()
	to := replyTo{url: sc.ResponseURL, channel: sc.ChannelID, user: sc.UserID}
	d := &decision{user: sc.UserID, corr: env, verb: "unknown"}
	defer b.finish(ctx, log, to, d)

	if b.isDraining() {
		d.outcome = "draining"
		b.respond(ctx, log, to, commands.Error(stoppingText), false)
		return
	}
	cmd, err := commands.Parse(sc.Text)
	var ue *commands.UsageError
	if errors.As(err, &ue) {
		d.outcome = "usage"
		b.respond(ctx, log, to, ue.Reply(), false)
		return
	}
	d.verb, d.room, d.service = string(cmd.Verb), cmd.Room, cmd.Service

	ctx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
	defer cancel()
	m := b.run(ctx, log, d, cmd, sc.ChannelID, sc.ChannelName)
	b.respond(ctx, log, to, m, false)
}

const stoppingText = "roombot is restarting. Try again in a minute."

// finish writes the audit line and metrics, and turns a panic in a
// handler into an apology with a reference, so the next command works.
func (b *Bot) finish(ctx context.Context, log *slog.Logger, to replyTo, d *decision) {
	if p := recover(); p != nil {
		ref := newNonce()[:8]
		log.Error("handler panic", "ref", ref, "panic", fmt.Sprint(p),
			"stack", string(debug.Stack()))
		d.outcome = "internal_error"
		b.respond(ctx, log, to, commands.InternalError(ref), false)
	}
	if d.outcome == "" {
		d.outcome = "ok"
	}
	b.met.command(d.verb, d.outcome)
	d.log(ctx, log)
}

// run carries out a parsed command and returns the answer. channelName is
// the payload's channel_name, which only watch looks at.
func (b *Bot) run(ctx context.Context, log *slog.Logger, d *decision, cmd commands.Command, channel, channelName string) commands.Message {
	if cmd.Verb == commands.VerbHelp {
		return b.help(ctx, log, d)
	}
	if m, ok := b.permit(ctx, log, d, cmd.Verb); !ok {
		return m
	}
	switch cmd.Verb {
	case commands.VerbList:
		return b.listCmd(ctx, log, d, cmd.Room)
	case commands.VerbStatus:
		return b.statusCmd(ctx, log, d, cmd.Room, cmd.Service)
	case commands.VerbRestart:
		return b.restartCmd(ctx, log, d, cmd.Room, cmd.Service, channel)
	}
	return b.watchCmd(ctx, log, d, cmd, channel, channelName)
}

// permit checks that d's user may run v. When not, it returns the answer:
// a refusal that names v, or, when the allow-list could not be checked,
// a note to try again with the reference the cause is logged under.
func (b *Bot) permit(ctx context.Context, log *slog.Logger, d *decision, v commands.Verb) (commands.Message, bool) {
	ref, ok := b.gate(ctx, log, d, authz.Required(v))
	switch {
	case ok:
		return commands.Message{}, true
	case ref != "":
		return commands.AllowListUnavailable(ref), false
	}
	return commands.Refused(v), false
}

// gate checks the allow-list and records a refusal. A check that could
// not be made, such as of a user group Slack would not resolve, refuses
// too, but it is no answer: it is logged once, under the ref returned,
// for someone to look at.
func (b *Bot) gate(ctx context.Context, log *slog.Logger, d *decision, perm authz.Permission) (ref string, ok bool) {
	err := b.policy.Check(ctx, d.user, perm)
	if err == nil {
		return "", true
	}
	b.met.denied(d.verb)
	if errors.Is(err, authz.ErrNotAllowed) {
		d.outcome = "denied"
		return "", false
	}
	d.outcome = outcomeUnchecked
	return b.uncheckable(log, err), false
}

// outcomeUnchecked is the outcome of a command refused because the
// allow-list could not be checked.
const outcomeUnchecked = "allowlist_error"

// uncheckable logs why the allow-list could not be checked, under a new
// reference for the user to quote.
func (b *Bot) uncheckable(log *slog.Logger, err error) (ref string) {
	ref = newNonce()[:8]
	log.Error("allow-list check failed", "ref", ref, "err", err)
	return ref
}

// help lists what the user may run. When some of it could not be
// checked, it lists what could, or, with nothing, says to try again.
func (b *Bot) help(ctx context.Context, log *slog.Logger, d *decision) commands.Message {
	verbs, err := b.allowedVerbs(ctx, d.user)
	if err == nil {
		return commands.Help(verbs)
	}
	d.outcome = outcomeUnchecked
	ref := b.uncheckable(log, err)
	if len(verbs) == 0 {
		return commands.AllowListUnavailable(ref)
	}
	return commands.Help(verbs)
}

func (b *Bot) may(ctx context.Context, user string, perm authz.Permission) bool {
	return b.policy.Check(ctx, user, perm) == nil
}

// allowedVerbs lists the verbs user may run, for help: those the
// allow-list grants, less the watch verbs when watching is off. err is
// why some could not be checked.
func (b *Bot) allowedVerbs(ctx context.Context, user string) ([]commands.Verb, error) {
	verbs, err := authz.Verbs(ctx, b.policy, user)
	if b.cfg.Watcher == nil {
		verbs = slices.DeleteFunc(verbs, isWatchVerb)
	}
	return verbs, err
}

func isWatchVerb(v commands.Verb) bool {
	return v == commands.VerbWatch || v == commands.VerbUnwatch || v == commands.VerbWatching
}

func (b *Bot) listCmd(ctx context.Context, log *slog.Logger, d *decision, room string) commands.Message {
	ls, err := b.listing(ctx, room)
	if err != nil {
		return b.roomFailure(log, d, room, err)
	}
	// The allow-list may ask Slack for a group's members: not in the turn.
	canRestart := b.may(ctx, d.user, authz.Restart)
	takeCPU(ctx)
	return ls.page(1, canRestart, b.now())
}

func (b *Bot) statusCmd(ctx context.Context, log *slog.Logger, d *decision, room, name string) commands.Message {
	s, m, ok := b.find(ctx, log, d, commands.VerbStatus, room, name)
	if !ok {
		return m
	}
	canRestart := b.may(ctx, d.user, authz.Restart)
	takeCPU(ctx)
	return commands.Status(room, s.Service, canRestart, b.now())
}

func (b *Bot) restartCmd(ctx context.Context, log *slog.Logger, d *decision, room, name, channel string) commands.Message {
	if m, ok := b.canConfirm(ctx, log, d); !ok {
		return m
	}
	s, m, ok := b.find(ctx, log, d, commands.VerbRestart, room, name)
	if !ok {
		return m
	}
	if m, ok := outside(d, room, s.Service); ok {
		return m
	}
	d.outcome = "confirm_asked"
	return b.card(room, s, d.user, channel)
}

// outside answers a restart of a service that runs outside the room, at
// an external URL: the room has no container of it to restart.
func outside(d *decision, room string, s roomclient.Service) (commands.Message, bool) {
	if !s.External() {
		return commands.Message{}, false
	}
	d.outcome = "not_restartable"
	return commands.Errorf("%s runs outside room %s, at %s, so the room cannot restart it.",
		s.Name, room, s.ExternalURL), true
}

// canConfirm checks, before a card is handed out, that the claim store
// that will make its confirmation single-use answers: a card that could
// only be refused at the click helps nobody.
func (b *Bot) canConfirm(ctx context.Context, log *slog.Logger, d *decision) (commands.Message, bool) {
	err := b.claims.Ping(ctx)
	if err == nil {
		return commands.Message{}, true
	}
	d.outcome = "claim_failed"
	log.Error("claim store unavailable", "err", err)
	return commands.Error("roombot cannot record confirmations right now, " +
		"so it cannot restart anything. Try again in a minute."), false
}

// A match is the service a command names, and whether another service of
// its room has its name, so that what is shown of it names its id too.
type match struct {
	roomclient.Service
	shared bool
}

func matchIn(l *roomclient.List, s roomclient.Service) match {
	// Counted here, not with commands.Match, which matches no empty name:
	// two services without a name share one too.
	n := 0
	for _, o := range l.Services {
		if o.Name == s.Name {
			n++
		}
	}
	return match{Service: s, shared: n > 1}
}

// find lists room and picks the service that ref names for verb v: by
// name, or by id when no name matches. When it cannot, it returns the
// answer to give instead: the candidates of a shared name, or why
// nothing matched.
func (b *Bot) find(ctx context.Context, log *slog.Logger, d *decision, v commands.Verb, room, ref string) (match, commands.Message, bool) {
	l, err := b.list(ctx, room)
	if err != nil {
		return match{}, b.roomFailure(log, d, room, err), false
	}
	found := commands.Match(l, ref)
	switch {
	case len(found) == 1:
		return matchIn(l, found[0]), commands.Message{}, true
	case len(found) > 1:
		d.outcome = "ambiguous"
	default:
		d.outcome = "not_found"
	}
	return match{}, commands.Candidates(v, room, ref, found), false
}

// card makes the confirmation card for restarting s.
func (b *Bot) card(room string, s match, user, channel string) commands.Message {
	if s.ID == "" {
		return commands.Errorf("Service %s has no id, so it cannot be restarted.", s.Name)
	}
	now := b.now()
	tok := b.signer.sign(ticket{
		Room: room, ServiceID: s.ID, Service: s.Name,
		Requester: user, Channel: channel,
		Issued: now.Unix(), Nonce: newNonce(),
	})
	if len(tok) > maxButtonValue {
		return commands.Error("That room or service name is too long for a confirmation button.")
	}
	return commands.Confirm(commands.Confirmation{
		Room: room, Service: s.Service, SharedName: s.shared, Token: tok,
		Requester: user, Expires: now.Add(b.cfg.ConfirmTTL), Now: now,
	})
}

// maxButtonValue is Slack's limit on a button's value.
const maxButtonValue = 2000
