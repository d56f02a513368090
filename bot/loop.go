package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/commands"
)

// ackTimeout bounds how long the Socket Mode loop waits to hand an ack to
// slack-go. Its writer takes acks at once while a socket is open; between
// connections nothing takes them once its queue of 20 is full, and a
// loop blocked here would see neither the next event nor the signal to
// stop. An ack that waited longer would be too late for Slack's 3 s.
const ackTimeout = 500 * time.Millisecond

// envelopeTTL is how long an envelope id is remembered. Slack retries at
// about 0 s, 1 min and 5 min, so ten minutes covers every redelivery.
const envelopeTTL = 15 * time.Minute

// Run checks the bot token, connects Socket Mode and serves until ctx is
// done. Then it drains: it closes its Socket Mode connection, so that
// Slack hands new envelopes to other replicas' connections; envelopes
// received before are answered that the bot is stopping; work in flight
// gets DrainTimeout to finish, answering over HTTP; and restarts still
// being watched are reported with an unknown outcome. Run returns nil
// after a drain, or an error when Slack refuses a token.
func (b *Bot) Run(ctx context.Context) error {
	if _, err := b.api.AuthTestContext(ctx); err != nil {
		if ctx.Err() != nil {
			// Stopped before it began: nothing to drain.
			return nil
		}
		return tokenError("SLACK_BOT_TOKEN", "auth.test", err)
	}

	// The work outlives ctx: it is needed while draining.
	sockCtx, stopSocket := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSocket()
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	b.mu.Lock()
	b.life = workCtx
	b.mu.Unlock()

	runErr := make(chan error, 1)
	go func() { runErr <- b.sm.RunContext(sockCtx) }()

	for {
		select {
		case evt := <-b.sm.Events:
			b.event(workCtx, evt)
		case err := <-runErr:
			stopWork()
			b.settle()
			return tokenError("SLACK_APP_TOKEN", "apps.connections.open", err)
		case <-ctx.Done():
			b.stop(workCtx, stopSocket, runErr, stopWork)
			return nil
		}
	}
}

// stop drains. The Socket Mode connection is closed first, while work
// goes on: everything in flight answers over HTTP, and with the
// connection gone, Slack routes new envelopes to the replicas still
// connected, instead of this one answering its share "try again". With
// no other replica, Slack tells users the app did not answer, as it would
// once this process exited anyway.
func (b *Bot) stop(workCtx context.Context, stopSocket context.CancelFunc,
	runErr <-chan error, stopWork context.CancelFunc) {
	b.mu.Lock()
	b.draining = true
	b.mu.Unlock()
	b.log.Info("draining", "timeout", b.cfg.DrainTimeout)

	stopSocket()
	b.closeSocket(workCtx, runErr)
	b.drain(stopWork)
	b.log.Info("stopped")
}

// closeSocket waits for slack-go to end, taking the events it delivers
// meanwhile, and then those it left in its queue: envelopes received
// before the close are answered, if only to say the bot is stopping.
func (b *Bot) closeSocket(workCtx context.Context, runErr <-chan error) {
	for done := false; !done; {
		select {
		case evt := <-b.sm.Events:
			b.event(workCtx, evt)
		case <-runErr:
			done = true
		}
	}
	for {
		select {
		case evt := <-b.sm.Events:
			b.event(workCtx, evt)
		default:
			b.log.Info("socket mode closed for the drain")
			return
		}
	}
}

// tokenError names the variable whose token Slack refused, so an operator
// knows which one to fix; the token itself is never shown.
func tokenError(variable, method string, err error) error {
	if refusedToken(err) {
		return fmt.Errorf("slack refused %s (%s): %w", variable, method, err)
	}
	return fmt.Errorf("slack %s: %w", method, err)
}

// refusedToken reports whether err is Slack saying no to a token: an
// error answer (invalid_auth, token_revoked, …), which slack-go returns
// as a SlackErrorResponse, or the HTTP 404 that slack-go takes, from
// apps.connections.open, for an app token it does not know.
func refusedToken(err error) bool {
	var (
		se slack.SlackErrorResponse
		sc slack.StatusCodeError
	)
	return errors.As(err, &se) || errors.As(err, &sc) && sc.Code == http.StatusNotFound
}

// drain waits for work in flight, and past DrainTimeout cancels it so
// restart watches post "outcome unknown".
func (b *Bot) drain(stopWork context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.DrainTimeout)
	defer cancel()
	if b.inflight.wait(ctx) == nil {
		return
	}
	b.log.Warn("drain timed out; cancelling work in flight")
	stopWork()
	b.settle()
}

// settle waits a short while for cancelled work to post what it must.
// A cancelled restart tells the room watch it is over (quietTimeout at
// most), then updates the channel and then the card, each within
// SlackTimeout, since the card says whether the channel was told.
func (b *Bot) settle() {
	ctx, cancel := context.WithTimeout(context.Background(), b.settleTimeout())
	defer cancel()
	if err := b.inflight.wait(ctx); err != nil {
		b.log.Error("work still in flight at exit")
	}
}

// settleTimeout bounds settle: the longest a cancelled restart takes to
// report, and a second more.
//
// TODO(bot): a drain that runs out while a watch is still posting its
// first notification and card, before its wait began, can need those two
// posts as well (65 s in all with a slow Slack); settle cuts it short,
// and the card or the channel may be left saying "waiting".
func (b *Bot) settleTimeout() time.Duration {
	return quietTimeout + 2*b.cfg.SlackTimeout + time.Second
}

// lifetime returns the context that work shared between commands runs
// under.
func (b *Bot) lifetime() context.Context {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.life
}

// unlessDraining is level, or debug while the bot drains: closing the
// Socket Mode connection then fails the read under way, and a reconnect
// slack-go had begun, every time; only a failure while serving is news.
func (b *Bot) unlessDraining(level slog.Level) slog.Level {
	if b.isDraining() {
		return slog.LevelDebug
	}
	return level
}

func (b *Bot) isDraining() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.draining
}

// event handles one event from slack-go. It runs on the loop that reads
// slack-go's event channel, so it must never block: slack-go stops
// reading the socket while that channel is full.
func (b *Bot) event(ctx context.Context, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		b.link.setUp(false)
		b.log.Debug("socket mode connecting")
	case socketmode.EventTypeConnected:
		b.link.setUp(true)
		if ce, ok := evt.Data.(*socketmode.ConnectedEvent); ok && ce.ConnectionCount > 0 {
			b.met.reconnected()
			b.log.Warn("socket mode reconnected", "connection", ce.ConnectionCount)
		} else {
			b.log.Info("socket mode connected")
		}
	case socketmode.EventTypeConnectionError:
		b.link.setUp(false)
		b.log.Log(ctx, b.unlessDraining(slog.LevelWarn), "socket mode connection failed", "err", evt.Data)
	case socketmode.EventTypeInvalidAuth:
		b.link.setUp(false)
	case socketmode.EventTypeIncomingError:
		b.log.Log(ctx, b.unlessDraining(slog.LevelWarn), "socket mode read failed", "err", evt.Data)
	case socketmode.EventTypeErrorBadMessage:
		b.badMessage(evt.Data)
	case socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive:
		b.accept(ctx, evt)
	case socketmode.EventTypeEventsAPI:
		// No event subscriptions are configured; ack so Slack stops
		// retrying one that arrives anyway.
		if evt.Request != nil {
			b.ack(evt.Request, nil)
		}
	default:
		b.log.Debug("socket mode event ignored", "type", string(evt.Type))
	}
}

// badMessage acks a frame slack-go could not read, when it names an
// envelope: Slack wants every envelope acked, whatever its type, or it
// delivers it again. The frame itself is not logged; it may hold what a
// user typed.
func (b *Bot) badMessage(data any) {
	bad, ok := data.(*socketmode.ErrorBadMessage)
	if !ok {
		return
	}
	var head struct {
		EnvelopeID string `json:"envelope_id"`
	}
	_ = json.Unmarshal(bad.Message, &head)
	b.log.Warn("socket mode message not understood",
		"envelope_id", head.EnvelopeID, "err", bad.Cause)
	if head.EnvelopeID != "" {
		b.ack(&socketmode.Request{EnvelopeID: head.EnvelopeID}, nil)
	}
}

// ack hands the ack of req, with payload if not nil, to slack-go's writer.
func (b *Bot) ack(req *socketmode.Request, payload any) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
	defer cancel()
	if err := b.sm.AckCtx(ctx, req.EnvelopeID, payload); err != nil {
		b.log.Warn("ack failed", "envelope_id", req.EnvelopeID, "err", err)
	}
	b.met.acked(time.Since(start))
}

// accept acks an envelope before anything else, then hands it to a
// worker. Slack shows the user an error if the ack takes more than 3 s,
// and a room may take longer than that to answer. When every worker is
// busy and the backlog full, the envelope is told so instead.
func (b *Bot) accept(ctx context.Context, evt socketmode.Event) {
	if evt.Request == nil {
		return
	}
	if b.pool.full() {
		b.refuse(ctx, evt)
		return
	}
	if b.busy.Swap(false) {
		b.log.Info("backlog has room again")
	}
	b.ack(evt.Request, nil)
	b.inflight.add()
	b.pool.submit(func() {
		defer b.inflight.done()
		// Work queued when the drain ran out of time is let go.
		if ctx.Err() == nil {
			b.handle(ctx, evt)
		}
	})
}

// busyPosts bounds the "busy" answers to clicks under way at once. Past
// it, a click goes unanswered: the point of the bound is to spend
// nothing more when the bot is already behind.
const busyPosts = 8

const busyText = "roombot is busy. Try again in a minute."

// refuse acks an envelope that found the backlog full and tells its
// sender to try again: a slash command in its ack, which costs no
// request and no goroutine; a click, which cannot be answered in its ack,
// through its response_url while few such answers are under way.
func (b *Bot) refuse(ctx context.Context, evt socketmode.Event) {
	if !b.busy.Swap(true) {
		b.log.Warn("backlog full: new envelopes are told to try again",
			"workers", b.cfg.Workers, "backlog", b.cfg.Backlog)
	}
	b.met.command("unknown", "busy")
	m := commands.Error(busyText)
	if evt.Type == socketmode.EventTypeSlashCommand {
		b.ack(evt.Request, ackMessage(m))
		return
	}
	b.ack(evt.Request, nil)
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok || cb.ResponseURL == "" {
		return
	}
	select {
	case b.busyPosts <- struct{}{}:
	default:
		return
	}
	b.inflight.add()
	go func() {
		defer b.inflight.done()
		defer func() { <-b.busyPosts }()
		log := b.log.With("envelope_id", evt.Request.EnvelopeID)
		b.respond(ctx, log, replyTo{url: cb.ResponseURL}, m, false)
	}()
}

// ackMessage is m as the payload of a slash command's ack, which Slack
// shows as the reply.
func ackMessage(m commands.Message) any {
	return map[string]any{"response_type": slack.ResponseTypeEphemeral,
		"text": m.Text, "blocks": m.Blocks}
}

func (b *Bot) handle(ctx context.Context, evt socketmode.Event) {
	env := evt.Request.EnvelopeID
	log := b.log.With("envelope_id", env)
	if !b.firstDelivery(ctx, log, env) {
		b.redelivered(ctx, log, env, evt)
		return
	}

	switch data := evt.Data.(type) {
	case slack.SlashCommand:
		b.command(ctx, log, env, data)
	case slack.InteractionCallback:
		b.click(ctx, log, env, data)
	default:
		log.Warn("envelope payload not understood", "type", string(evt.Type))
	}
}

// redelivered handles an envelope handled before. A click on a
// confirmation card is answered again, since Slack redelivers when it
// thinks the ack was late and the user may have seen an error; anything
// else is dropped. Nothing is done again either way.
func (b *Bot) redelivered(ctx context.Context, log *slog.Logger, env string, evt socketmode.Event) {
	if cb, ok := confirmationClick(evt); ok {
		b.answerAgain(ctx, log, env, cb)
		return
	}
	log.Info("redelivery dropped", "retry_attempt", evt.Request.RetryAttempt)
}

// confirmationClick returns the click on a confirmation card's Restart
// or Cancel that evt holds.
func confirmationClick(evt socketmode.Event) (slack.InteractionCallback, bool) {
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok || len(cb.ActionCallback.BlockActions) == 0 {
		return cb, false
	}
	act := cb.ActionCallback.BlockActions[0]
	return cb, act != nil &&
		(act.ActionID == commands.ActionConfirm || act.ActionID == commands.ActionCancel)
}

// firstDelivery claims the envelope id. A store that cannot answer does
// not stop the work: a repeated list is harmless, and a repeated
// confirmation is stopped by its own single-use claim. Each claim's
// value is its own, the replica's name for the logs and a nonce, so no
// two deliveries can both pass for the claimer.
func (b *Bot) firstDelivery(ctx context.Context, log *slog.Logger, env string) bool {
	value := b.cfg.Instance + ":" + newNonce()
	err := b.claims.Claim(ctx, "envelope:"+env, value, envelopeTTL)
	switch {
	case err == nil:
		return true
	case errors.Is(err, claims.ErrHeld):
		return false
	}
	log.Warn("envelope dedup unavailable", "err", err)
	return true
}
