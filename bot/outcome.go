package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

// The ways a confirmed restart can end short of its watch. Which one it
// is decides what the card and the channel are told: that nothing was
// restarted, that the room refused, or that nobody knows. Saying a
// restart failed when the room may have done it would have an operator
// restart the service a second time.

// notStarted answers a restart that ended before the room was asked: the
// list that comes first failed, or the bot began to stop. Nothing was
// restarted, so no restart is counted, and the card says so.
func (b *Bot) notStarted(ctx context.Context, log *slog.Logger, d *decision, job *restartJob, err error) {
	b.unlock(job.lock)
	d.outcome = "not_restarted"
	format, args := b.notStartedWhy(log, job.t.Room, err)
	m := commands.Errorf("Did not restart %s in %s: "+sentence(format)+" Nothing was restarted.",
		append([]any{job.t.Service, job.t.Room}, args...)...)
	b.respond(ctx, log, job.card, m, true)
}

// sentence ends format with a full stop, for one that ends with a
// room's words in a code span, which has none of its own.
func sentence(format string) string {
	if strings.HasSuffix(format, ".") {
		return format
	}
	return format + "."
}

// notStartedWhy says why a restart ended before the room was asked, in
// words and data for commands.Errorf.
func (b *Bot) notStartedWhy(log *slog.Logger, room string, err error) (format string, args []any) {
	if errors.Is(err, context.Canceled) {
		log.Warn("restart not started: roombot is stopping", "room", room)
		return "roombot is shutting down.", nil
	}
	format, args, known := roomError(room, err, b.cfg.CallTimeout)
	if known {
		log.Warn("restart not started", "room", room, "err", err)
		return format, args
	}
	ref := b.logRef(log, "restart not started", room, err)
	return "roombot could not look at the service first (ref %s).", []any{ref}
}

// restartFailed answers a restart call that returned an error. Only a
// refusal proves the room did nothing; after any other error the
// restart may have happened, and the outcome is unknown.
func (b *Bot) restartFailed(ctx context.Context, log *slog.Logger, d *decision, job *restartJob, err error) {
	b.unlock(job.lock)
	if !refused(err) {
		b.outcomeUnknown(ctx, log, d, job, err)
		return
	}
	b.endQuiet(ctx, log, job)
	b.met.restart("failed")
	d.outcome = "restart_failed"
	log.Warn("restart refused", "room", job.t.Room, "service", job.t.Service, "err", err)
	text, _ := roomErrorText(job.t.Room, err, b.cfg.CallTimeout)
	b.respond(ctx, log, job.card, commands.RestartFailed(job.t.Room, job.t.Service, text), true)
}

// refused reports whether err shows that the room did not restart the
// service: it answered with an error, refused the connection, or could
// not be dialled, so the request never left.
func refused(err error) bool {
	var (
		re *roomclient.Error
		se *roomclient.StatusError
		de *net.DNSError
		oe *net.OpError
		te *roomclient.TLSError
	)
	switch {
	case errors.As(err, &re):
		// An answer the client could not read is the client's error, not
		// the room's refusal: the room may well have restarted it.
		return re.Code != roomclient.CodeUnexpectedResponse
	case errors.As(err, &se), errors.As(err, &de), errors.As(err, &te):
		return true
	case errors.As(err, &oe):
		return oe.Op == "dial"
	}
	return false
}

// outcomeUnknown tells the card and the channel that the restart may or
// may not have happened. When the bot is stopping, the notification says
// so in its own words; otherwise the room's answer was lost, and the
// reason is logged under a reference the message gives.
func (b *Bot) outcomeUnknown(ctx context.Context, log *slog.Logger, d *decision, job *restartJob, err error) {
	b.endQuiet(ctx, log, job)
	b.met.restart(string(commands.PhaseUnknown))
	d.outcome = "outcome_unknown"
	ref := b.logRef(log, "restart outcome unknown", job.t.Room, err)
	r := recovery{phase: commands.PhaseUnknown}
	if ctx.Err() == nil {
		r.why = "roombot asked the room, but " + b.lostAnswer(err) +
			", so the restart may or may not have happened"
		r.ref = ref
	}
	b.tell(ctx, log, job, commands.Notify(b.notice(job, r)))
}

// lostAnswer says why the room's answer to a restart never came.
func (b *Bot) lostAnswer(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("the room did not answer within %s", b.cfg.CallTimeout)
	case errors.Is(err, roomclient.ErrDisconnected):
		return "the connection to the room was lost before it answered"
	}
	return "its answer never came"
}

// tell posts m to the restart's channel and puts it on the card, with a
// note when the channel could not be told.
func (b *Bot) tell(ctx context.Context, log *slog.Logger, job *restartJob, m commands.Message) {
	b.announce(ctx, log, job, m)
	b.respond(ctx, log, job.card, job.onCard(m), true)
}

// announce posts m to the restart's channel and keeps its ts, or why it
// was not posted.
func (b *Bot) announce(ctx context.Context, log *slog.Logger, job *restartJob, m commands.Message) {
	ts, err := b.post(ctx, job.channel, m)
	if err != nil {
		log.Warn("restart notification not posted", "notify_channel", job.channel, "err", err)
		job.unposted = unpostedText(job.channel, err)
	}
	job.ts = ts
}

// logRef logs err under a new reference, which the user is given.
func (b *Bot) logRef(log *slog.Logger, msg, room string, err error) string {
	ref := newNonce()[:8]
	attrs := []any{"room", room, "err", err, "ref", ref}
	var pe *panicError
	if errors.As(err, &pe) {
		attrs = append(attrs, "stack", string(pe.stack))
	}
	log.Error(msg, attrs...)
	return ref
}
