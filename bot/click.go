package bot

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/roomops/roombot/authz"
	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/commands"
)

// click answers one button click.
func (b *Bot) click(ctx context.Context, log *slog.Logger, env string, cb slack.InteractionCallback) {
	if cb.Type != slack.InteractionTypeBlockActions {
		log.Debug("interaction ignored", "type", string(cb.Type))
		return
	}
	channel := clickChannel(cb)
	log = log.With("user", cb.User.ID, "channel", channel)
	acts := cb.ActionCallback.BlockActions
	if len(acts) == 0 || acts[0] == nil {
		log.Warn("click without actions")
		return
	}
	// A button click carries one action; anything after it is not ours.
	act := acts[0]

	ctx, turn := b.cpu.withTurn(ctx)
	defer turn.done()
	to := replyTo{url: cb.ResponseURL, channel: channel, user: cb.User.ID}
	d := &decision{user: cb.User.ID, corr: env, verb: act.ActionID}
	defer b.finish(ctx, log, to, d)
	if b.isDraining() {
		d.outcome = "draining"
		b.respond(ctx, log, to, commands.Error(stoppingText), false)
		return
	}

	switch {
	case act.ActionID == commands.ActionConfirm:
		d.verb = "confirm"
		b.confirm(ctx, log, d, to, act.Value)
	case act.ActionID == commands.ActionCancel:
		d.verb = "cancel"
		b.cancelCard(ctx, log, d, to, act.Value)
	case act.ActionID == commands.ActionRestartAsk:
		d.verb = "restart"
		b.ask(ctx, log, d, to, act.Value)
	// Previous and Next need distinct action ids within their block.
	case strings.HasPrefix(act.ActionID, commands.ActionPage):
		d.verb = "list"
		b.page(ctx, log, d, to, act.Value)
	default:
		d.outcome = "ignored"
	}
}

// clickChannel is where the clicked message lives. Slack omits channel
// for some containers; the container still says.
func clickChannel(cb slack.InteractionCallback) string {
	if cb.Channel.ID != "" {
		return cb.Channel.ID
	}
	return cb.Container.ChannelID
}

// answerAgain answers a click on a confirmation card that Slack delivered
// again: who used the card, if anyone has. It never claims the card or
// the service, so it never restarts anything. Claiming here was how a
// redelivery of a click refused while another restart was in flight,
// which gave the card back, restarted the service once that one was over.
func (b *Bot) answerAgain(ctx context.Context, log *slog.Logger, env string, cb slack.InteractionCallback) {
	channel := clickChannel(cb)
	log = log.With("user", cb.User.ID, "channel", channel)
	act := cb.ActionCallback.BlockActions[0]
	to := replyTo{url: cb.ResponseURL, channel: channel, user: cb.User.ID}
	d := &decision{user: cb.User.ID, corr: env, verb: "confirm", outcome: "redelivered"}
	if act.ActionID == commands.ActionCancel {
		d.verb = "cancel"
	}
	defer b.finish(ctx, log, to, d)

	// An expired card still names its nonce, and may have been used.
	t, err := b.signer.verify(act.Value, b.now())
	d.room, d.service = t.Room, t.Service
	if err != nil && !errors.Is(err, errTokenExpired) {
		b.respond(ctx, log, to, invalidButton(), false)
		return
	}
	holder, held, err := b.awaitHolder(ctx, "confirm:"+t.Nonce)
	switch {
	case err != nil:
		log.Warn("claim store unavailable for a redelivered click", "err", err)
		b.respond(ctx, log, to, commands.Error(againText), false)
	case held:
		by, at := parseHolder(holder)
		b.respond(ctx, log, to, commands.AlreadyUsed(by, at, b.now()), false)
	default:
		b.respond(ctx, log, to, commands.Error(againText), false)
	}
}

const againText = "Slack delivered this click again. roombot acts on a click " +
	"once, so nothing was restarted by this delivery; the first answer to " +
	"the click says what became of it."

// awaitHolder reads who holds key, as holderOf does, looking again for a
// while when nobody does: the first delivery of the click, on this
// replica or another, may not have claimed the card yet, and its answer
// is the one to give. A card nobody claims in that time was refused, or
// was never confirmed.
func (b *Bot) awaitHolder(ctx context.Context, key string) (string, bool, error) {
	deadline := time.NewTimer(againWait)
	defer deadline.Stop()
	tick := time.NewTicker(againWait / 20)
	defer tick.Stop()
	for {
		holder, held, err := b.holderOf(ctx, key)
		if held || err != nil {
			return holder, held, err
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return "", false, nil
		case <-ctx.Done():
			return "", false, ctx.Err()
		}
	}
}

// againWait bounds how long a redelivered click waits for its first
// delivery to claim the card.
const againWait = 2 * time.Second

// holderOf reads who holds key, without taking it or changing it: renewing
// it as probeValue, which no claimer uses, is refused with the holder,
// or with ErrNotHeld when nobody holds it.
func (b *Bot) holderOf(ctx context.Context, key string) (string, bool, error) {
	err := b.claims.Renew(ctx, key, probeValue, time.Minute)
	var held *claims.HeldError
	switch {
	case errors.As(err, &held):
		return held.Holder, true, nil
	case errors.Is(err, claims.ErrNotHeld):
		return "", false, nil
	case err == nil:
		return "", false, errors.New("the probe value holds " + key)
	}
	return "", false, err
}

// probeValue is never claimed: stamps are JSON objects.
const probeValue = "probe"

// A holder is who took a claim and when; it is the claim's value, so a
// refused click can say who was first. ID makes each claimer's value its
// own: a store may take an equal value for a retry of its own claim, and
// a double click is the same user in the same second.
type holder struct {
	By string `json:"by"`
	At int64  `json:"at"`
	ID string `json:"id"`
}

func (b *Bot) stamp(user string) string {
	return holder{By: user, At: b.now().Unix(), ID: newNonce()}.String()
}

func (h holder) String() string {
	b, _ := json.Marshal(h)
	return string(b)
}

func parseHolder(s string) (by string, at time.Time) {
	var h holder
	if json.Unmarshal([]byte(s), &h) != nil {
		return "", time.Time{}
	}
	return h.By, time.Unix(h.At, 0)
}

// openTicket checks a card's token and answers the clicker when it is
// not good. Expired cards are replaced, since their buttons no longer do
// anything.
func (b *Bot) openTicket(ctx context.Context, log *slog.Logger, d *decision, to replyTo, value string) (ticket, bool) {
	t, err := b.signer.verify(value, b.now())
	d.room, d.service = t.Room, t.Service
	switch {
	case errors.Is(err, errTokenExpired):
		d.outcome = "expired"
		b.respond(ctx, log, to, commands.ExpiredCard(t.Room, t.Service), true)
		return t, false
	case err != nil:
		// The card can never work, as when it was signed with the key
		// of a roombot since restarted: it is replaced, as an expired
		// one is, so its buttons go too.
		d.outcome = "invalid"
		b.respond(ctx, log, to, invalidButton(), true)
		return t, false
	}
	return t, true
}

// claimNonce makes a card single-use. It answers the clicker itself when
// the card was used already or the store cannot tell.
func (b *Bot) claimNonce(ctx context.Context, log *slog.Logger, d *decision, to replyTo, t ticket, stamp string) bool {
	// The nonce must outlive the card, or an old card would work again.
	ttl := max(b.cfg.ConfirmTTL, envelopeTTL) + time.Minute
	err := b.claims.Claim(ctx, "confirm:"+t.Nonce, stamp, ttl)
	var held *claims.HeldError
	switch {
	case err == nil:
		return true
	case errors.As(err, &held):
		d.outcome = "already_used"
		by, at := parseHolder(held.Holder)
		b.respond(ctx, log, to, commands.AlreadyUsed(by, at, b.now()), false)
	default:
		b.claimFailed(ctx, log, d, to, err)
	}
	return false
}

func (b *Bot) claimFailed(ctx context.Context, log *slog.Logger, d *decision, to replyTo, err error) {
	d.outcome = "claim_failed"
	log.Error("claim store unavailable", "err", err)
	b.respond(ctx, log, to, commands.Error("roombot cannot record this confirmation right now, "+
		"so nothing was restarted. Try again in a minute."), false)
}

func (b *Bot) cancelCard(ctx context.Context, log *slog.Logger, d *decision, to replyTo, value string) {
	t, ok := b.openTicket(ctx, log, d, to, value)
	if !ok {
		return
	}
	if m, ok := b.permit(ctx, log, d, commands.VerbRestart); !ok {
		b.respond(ctx, log, to, m, false)
		return
	}
	stamp := b.stamp(d.user)
	if !b.claimNonce(ctx, log, d, to, t, stamp) {
		return
	}
	d.outcome = "cancelled"
	b.respond(ctx, log, to, commands.Cancelled(t.Room, t.Service, d.user), true)
}

// ask answers a Restart button on a list or status reply with a fresh
// confirmation card; the button itself never restarts anything.
func (b *Bot) ask(ctx context.Context, log *slog.Logger, d *decision, to replyTo, value string) {
	a, err := commands.DecodeAsk(value)
	if err != nil {
		d.outcome = "invalid"
		b.respond(ctx, log, to, invalidButton(), false)
		return
	}
	room := a.Room
	d.room, d.service = room, a.Name
	if m, ok := b.permit(ctx, log, d, commands.VerbRestart); !ok {
		b.respond(ctx, log, to, m, false)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
	defer cancel()
	if m, ok := b.canConfirm(ctx, log, d); !ok {
		b.respond(ctx, log, to, m, false)
		return
	}
	l, err := b.list(ctx, room)
	if err != nil {
		b.respond(ctx, log, to, b.roomFailure(log, d, room, err), false)
		return
	}
	s, ok := l.ByID(a.ID)
	if !ok {
		d.outcome = "not_found"
		b.respond(ctx, log, to, commands.Error("That service is no longer in the room."), false)
		return
	}
	// The list or status that showed the button may be older than a
	// move of the service outside the room.
	if m, ok := outside(d, room, s); ok {
		b.respond(ctx, log, to, m, false)
		return
	}
	d.outcome = "confirm_asked"
	b.respond(ctx, log, to, b.card(room, matchIn(l, s), d.user, to.channel), false)
}

func (b *Bot) page(ctx context.Context, log *slog.Logger, d *decision, to replyTo, value string) {
	p, err := commands.DecodePage(value)
	if err != nil {
		d.outcome = "invalid"
		b.respond(ctx, log, to, invalidButton(), false)
		return
	}
	room := p.Room
	d.room = room
	if m, ok := b.permit(ctx, log, d, commands.VerbList); !ok {
		b.respond(ctx, log, to, m, false)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
	defer cancel()
	ls, err := b.listing(ctx, room)
	if err != nil {
		b.respond(ctx, log, to, b.roomFailure(log, d, room, err), false)
		return
	}
	canRestart := b.may(ctx, d.user, authz.Restart)
	takeCPU(ctx)
	b.respond(ctx, log, to, ls.page(p.Page, canRestart, b.now()), true)
}

// invalidButton answers a button whose value roombot cannot read: forged,
// from an older roombot, or signed with another key.
func invalidButton() commands.Message {
	return commands.Error("This button is not valid any more. Run the command again.")
}
