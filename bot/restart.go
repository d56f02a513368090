package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/slack-go/slack"

	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

// A restartJob is one confirmed restart, from the click to the last
// update of its notification.
type restartJob struct {
	t     ticket
	by    string  // who clicked Restart
	card  replyTo // the click's response_url: it replaces the card
	stamp string  // the claim value of the lock and nonce
	lock  *serviceLock

	service      roomclient.Service // as the room reported it before
	oldContainer string
	oldCount     int
	asked        time.Time

	channel, ts string // the notification; ts is empty if it failed

	unposted string // why the channel was not told, for the card
}

// confirm carries out a confirmed restart, once: the click is checked
// again (signature, age, clicker's rights), the card's nonce is claimed
// so a double click or a second replica does nothing, and the service is
// locked so two cards cannot restart it at once.
func (b *Bot) confirm(ctx context.Context, log *slog.Logger, d *decision, to replyTo, value string) {
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

	lock, err := b.lockService(ctx, log, t.Room, t.ServiceID, stamp)
	var held *claims.HeldError
	switch {
	case errors.As(err, &held):
		// The card stays usable once the other restart is over.
		b.claims.Release(ctx, "confirm:"+t.Nonce, stamp)
		d.outcome = "in_flight"
		by, at := parseHolder(held.Holder)
		b.respond(ctx, log, to, commands.InFlight(t.Room, t.Service, by, at, b.now()), false)
		return
	case err != nil:
		b.claims.Release(ctx, "confirm:"+t.Nonce, stamp)
		b.claimFailed(ctx, log, d, to, err)
		return
	}
	job := &restartJob{t: t, by: d.user, card: to, stamp: stamp, lock: lock,
		channel: b.cfg.NotifyChannel}
	if job.channel == "" {
		job.channel = t.Channel
	}
	// A panic on the way is answered by the handler, but must not leave
	// the service locked until the claim expires.
	defer func() {
		if p := recover(); p != nil {
			b.unlock(lock)
			panic(p)
		}
	}()
	b.runRestart(ctx, log, d, job)
}

// runRestart restarts the service and starts the watch, which tells the
// channel. The lock passes to the watch, which releases it when done.
func (b *Bot) runRestart(ctx context.Context, log *slog.Logger, d *decision, job *restartJob) {
	t := job.t
	b.respond(ctx, log, job.card, commands.Restarting(t.Room, t.Service, job.by), true)

	callCtx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
	defer cancel()
	err := b.before(callCtx, job)
	if err == nil {
		// The time may have gone on the list: then the room is not asked.
		err = callCtx.Err()
	}
	if err != nil {
		b.notStarted(ctx, log, d, job, err)
		return
	}
	b.markPerformed(callCtx, log, job)
	job.asked = b.now()
	if err := b.restart(callCtx, t.Room, t.ServiceID); err != nil {
		b.restartFailed(ctx, log, d, job, err)
		return
	}
	d.outcome = "restarted"
	b.met.restart("requested")

	// The handler is done: telling the channel, and waiting for the
	// service, happen on the watch's own goroutine, so a slow Slack
	// holds no worker.
	b.inflight.add()
	go b.watch(ctx, log, job)
}

// before records the service as it is before the restart, so the watch
// can tell the new container from the old one.
func (b *Bot) before(ctx context.Context, job *restartJob) error {
	l, err := b.list(ctx, job.t.Room)
	if err != nil {
		return err
	}
	s, ok := l.ByID(job.t.ServiceID)
	if !ok {
		return &roomclient.Error{Code: roomclient.CodeServiceNotFound,
			Text: "the service is no longer in the room"}
	}
	job.service = s
	if s.State != nil {
		job.oldContainer, job.oldCount = s.State.ContainerID, s.State.RestartCount
	}
	return nil
}

// post sends a channel message, within SlackTimeout: the handler, and
// the worker it runs on, must not wait on Slack without end. The message
// is owed even when the bot is draining, so ctx's end does not stop it.
func (b *Bot) post(ctx context.Context, channel string, m commands.Message) (string, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.SlackTimeout)
	defer cancel()
	return b.notifier.Post(ctx, channel, m)
}

// watch posts the notification, polls the room until the service is
// back or RecoveryTimeout passes, then updates the notification. When the
// bot shuts down first, the notification says the outcome is unknown.
func (b *Bot) watch(ctx context.Context, log *slog.Logger, job *restartJob) {
	defer b.inflight.done()
	// No handler is above this goroutine: a panic here would end the
	// process, and every restart and command under way with it.
	defer func() {
		if p := recover(); p != nil {
			b.watchPanicked(ctx, log, job, p)
		}
	}()
	m := commands.Notify(b.notice(job, recovery{phase: commands.PhaseRequested}))
	b.announce(ctx, log, job, m)
	b.respond(ctx, log, job.card, job.onCard(m), true)

	r := b.await(ctx, log, job)
	// The restart is over: free the service before the channel hears of
	// it, so whoever reacts to the news can restart it again.
	b.unlock(job.lock)
	b.endQuiet(ctx, log, job)
	b.report(ctx, log, job, r)
}

// watchPanicked frees the service and tells the channel and the card
// that the outcome is unknown, with a reference to the panic's log line.
// A second panic while telling them is only logged.
func (b *Bot) watchPanicked(ctx context.Context, log *slog.Logger, job *restartJob, p any) {
	ref := newNonce()[:8]
	log.Error("restart watch panicked", "ref", ref, "room", job.t.Room,
		"service", job.t.Service, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	b.unlock(job.lock)
	b.endQuiet(ctx, log, job)
	defer func() {
		if p := recover(); p != nil {
			log.Error("restart watch panicked again while reporting", "ref", ref,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	b.met.restart(string(commands.PhaseUnknown))
	why := "roombot asked the room, but lost track of the service before it came back"
	r := recovery{phase: commands.PhaseUnknown, why: why, ref: ref}
	b.update(ctx, log, job, commands.Notify(b.notice(job, r)))
}

// markPerformed tells the room watch that this restart is roombot's own,
// so that channels watching the room hear of it once, from the
// notification, and not again as a restart nobody asked for.
func (b *Bot) markPerformed(ctx context.Context, log *slog.Logger, job *restartJob) {
	if b.cfg.Watcher == nil {
		return
	}
	err := b.cfg.Watcher.Performed(ctx, job.t.Room, job.t.ServiceID, b.cfg.RecoveryTimeout)
	if err != nil {
		log.Warn("restart not marked for the room watch; it may be announced twice",
			"room", job.t.Room, "service", job.t.Service, "err", err)
	}
}

// quietTimeout bounds endQuiet: one write to the claim store, which
// answers in milliseconds when it answers at all. It runs after a drain
// ran out too, before the outcome is posted, so it must not take long.
const quietTimeout = 5 * time.Second

// endQuiet tells the room watch that roombot no longer follows the
// restart, so it is quiet about the service only until it has looked at
// it once more (Performed adds two of its intervals), not for the whole
// recovery timeout: a service that crashes again soon after it came back
// is then announced, not kept quiet for minutes.
func (b *Bot) endQuiet(ctx context.Context, log *slog.Logger, job *restartJob) {
	if b.cfg.Watcher == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), quietTimeout)
	defer cancel()
	if err := b.cfg.Watcher.Performed(ctx, job.t.Room, job.t.ServiceID, 0); err != nil {
		log.Warn("room watch not told the restart is over; it stays quiet about the service longer",
			"room", job.t.Room, "service", job.t.Service, "err", err)
	}
}

// report updates the notification with the outcome, or the card when the
// notification could not be posted.
func (b *Bot) report(ctx context.Context, log *slog.Logger, job *restartJob, r recovery) {
	b.met.restart(string(r.phase))
	log.Info("restart outcome", "room", job.t.Room, "service", job.t.Service,
		"outcome", string(r.phase), "took", r.took)
	b.update(ctx, log, job, commands.Notify(b.notice(job, r)))
}

// update replaces the notification, if it was posted, and the card with
// m. The card too, or it would say "waiting" after the service is back:
// its response_url is good for 5 uses in 30 minutes, and this is the
// third, well within the recovery timeout.
func (b *Bot) update(ctx context.Context, log *slog.Logger, job *restartJob, m commands.Message) {
	// The outcome is owed even when ctx was cancelled by the drain.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.SlackTimeout)
	defer cancel()
	if job.ts != "" {
		if err := b.notifier.Update(ctx, job.channel, job.ts, m); err != nil {
			log.Warn("restart notification not updated", "notify_channel", job.channel, "err", err)
		}
	}
	b.respond(ctx, log, job.card, job.onCard(m), true)
}

// onCard is m as the card shows it. When the channel could not be told of
// the restart, the card says so, or the requester would think it had been.
// TODO(bot): a Notice field for this would let commands render the note.
func (j *restartJob) onCard(m commands.Message) commands.Message {
	if j.unposted == "" {
		return m
	}
	note := commands.Footnote(j.unposted)
	m.Blocks = append(m.Blocks[:len(m.Blocks):len(m.Blocks)], note.Blocks...)
	return m
}

// unpostedText says why channel did not hear of a restart. Only Slack's
// own error code is shown; other errors may hold URLs, and go to the log.
// Without one, as after a 5xx, the post may have landed all the same.
func unpostedText(channel string, err error) string {
	var (
		se slack.SlackErrorResponse
		rl *slack.RateLimitedError
	)
	if errors.As(err, &rl) {
		return fmt.Sprintf("Channel %s was not told of this restart: Slack is "+
			"rate-limiting roombot's posts there.", channel)
	}
	if !errors.As(err, &se) {
		return fmt.Sprintf("Channel %s may not have been told of this restart: "+
			"posting there failed.", channel)
	}
	text := fmt.Sprintf("Channel %s was not told of this restart: Slack answered %s.",
		channel, se.Err)
	switch se.Err {
	case "not_in_channel", "channel_not_found":
		text += " Invite roombot to the channel, or set ROOMBOT_NOTIFY_CHANNEL to one it is in."
	}
	return text
}
