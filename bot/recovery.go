package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

// A recovery is what the watch of a restart found.
type recovery struct {
	phase commands.Phase
	state *roomclient.State // the last state seen; nil if none
	took  time.Duration     // from the restart to the service back, or to the end of the wait
	note  string            // for PhaseNotBack, the state in words when State alone misleads; plain words, which the notice shows outside a code span
	why   string            // for PhaseUnknown, why, in roombot's plain words; empty for a shutdown
	ref   string            // for PhaseUnknown, the ref of the log line that says more
}

// await polls the room until the service is back, RecoveryTimeout passes
// or ctx is done.
//
// Back means running in a new container, seen at two polls at least
// and still the same run RecoverySteady after it started (runStart),
// with every port the room checks ready. A crash-looping service comes up in a new container and
// dies seconds later; taken as back at the first sight of it, or at the
// next poll, the channel heard "back" of a service that had died again
// (a crash every 6 s, polled every 500 ms, in the demo's staging room).
//
// Polls end with the wait, so that a room that stopped answering does
// not hold the outcome past RecoveryTimeout in the room client's
// redials. When no poll reached the room after the restart, the state
// last seen is from before it, and the outcome is unknown.
func (b *Bot) await(ctx context.Context, log *slog.Logger, job *restartJob) recovery {
	wait, cancel := context.WithTimeout(ctx, b.cfg.RecoveryTimeout)
	defer cancel()
	tick := time.NewTicker(b.cfg.RecoveryPoll)
	defer tick.Stop()

	last := job.service.State
	seen := false            // a poll has found the service's state since the restart
	answered := false        // a poll has had the room's answer since the restart
	var lastErr error        // why the last poll failed, if it did
	var up *roomclient.State // the new run seen at the last poll
	var upAt time.Time
	for {
		select {
		case <-wait.Done():
		case <-tick.C:
		}
		switch {
		case ctx.Err() != nil:
			return recovery{phase: commands.PhaseUnknown, state: last, took: b.now().Sub(job.asked)}
		case wait.Err() != nil && !seen:
			return b.unseen(log, job, answered, lastErr)
		case wait.Err() != nil:
			return job.notBack(last, up != nil, b.now().Sub(job.asked))
		}
		st, err := b.pollState(wait, job)
		if lastErr = err; err != nil {
			log.Debug("recovery poll failed", "room", job.t.Room, "err", err)
			continue
		}
		answered = true
		if st == nil {
			continue
		}
		seen, last = true, st
		switch {
		case !job.restarted(st):
			up = nil
		case up == nil || !sameRun(up, st):
			up, upAt = st, job.runStart(st, b.now())
		case portsReady(st) && b.now().Sub(upAt) >= b.cfg.RecoverySteady:
			return recovery{phase: commands.PhaseBack, state: st, took: upAt.Sub(job.asked)}
		}
	}
}

// pollState returns the service's state as the room tells it now: nil,
// without an error, when the room lists no state for it.
func (b *Bot) pollState(ctx context.Context, job *restartJob) (*roomclient.State, error) {
	l, err := b.poll(ctx, job.t.Room)
	if err != nil {
		return nil, err
	}
	if s, ok := l.ByID(job.t.ServiceID); ok {
		return s.State, nil
	}
	return nil, nil
}

// unseen is the recovery of a restart after which no poll found the
// service's state: the room answered without it, or never answered. The
// state known is from before the restart, and says nothing of after.
// Whether the room answered at all is what tells the two apart: the last
// poll may be one that the end of the wait cut short.
func (b *Bot) unseen(log *slog.Logger, job *restartJob, answered bool, lastErr error) recovery {
	r := recovery{phase: commands.PhaseUnknown, took: b.now().Sub(job.asked)}
	if answered {
		r.why = "the room has not listed the service's state since the restart"
		return r
	}
	if lastErr == nil {
		lastErr = errors.New("no poll of the room ended before the recovery timeout")
	}
	r.why = "roombot could not reach the room after the restart to see whether it came back"
	r.ref = b.logRef(log, "restart outcome unknown", job.t.Room, lastErr)
	return r
}

// poll lists room for the recovery watch. It asks the room itself, never
// joining a list of the room already under way, as b.list would: that
// one may have begun before the restart, and tell of the old container.
func (b *Bot) poll(ctx context.Context, room string) (*roomclient.List, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
	defer cancel()
	start := time.Now()
	l, err := b.rooms.List(ctx, room)
	b.met.roomCall("list", time.Since(start), err)
	return l, err
}

// restarted reports whether st shows the service running in a container
// other than the one it had before the restart.
func (j *restartJob) restarted(st *roomclient.State) bool {
	if st.State != "running" {
		return false
	}
	return st.ContainerID != j.oldContainer || st.RestartCount > j.oldCount
}

// runStart is when the run st shows began, by the room's clock where it
// says, kept between the restart and now: a room that could not be
// polled for a while may show a run that has long been steady. A room's
// clock ahead of roombot's, or a run said to start before the restart,
// is not believed past those bounds.
func (j *restartJob) runStart(st *roomclient.State, now time.Time) time.Time {
	if st.StartedAt.IsZero() || st.StartedAt.After(now) {
		return now
	}
	if st.StartedAt.Before(j.asked) {
		return j.asked
	}
	return st.StartedAt
}

// sameRun reports whether a and b are one run of the service: same
// container, same start, no restart between.
func sameRun(a, b *roomclient.State) bool {
	return a.ContainerID == b.ContainerID && a.RestartCount == b.RestartCount &&
		a.StartedAt.Equal(b.StartedAt)
}

// portsReady reports whether no port the room checks is failing its
// check. A port with no check says nothing either way.
func portsReady(st *roomclient.State) bool {
	for _, p := range st.Ports {
		if p.LivenessStatus == "not_ready" {
			return false
		}
	}
	return true
}

// notBack is the recovery of a service not back when the wait ended. A
// service running in a new container then is not back for a reason its
// state does not say, so the note says it.
func (j *restartJob) notBack(last *roomclient.State, seenUp bool, took time.Duration) recovery {
	r := recovery{phase: commands.PhaseNotBack, state: last, took: took}
	switch {
	case last != nil && last.RestartCount > j.oldCount+1:
		// Restarted again after roombot's restart, by the room: whatever
		// its state this moment, it is crashing over and over.
		r.note = fmt.Sprintf("crash-looping with %d more restarts", last.RestartCount-j.oldCount-1)
	case last == nil || !j.restarted(last):
	case !portsReady(last):
		r.note = "running with ports not ready"
	case seenUp:
		r.note = "running but not yet steady"
	}
	return r
}

func (b *Bot) notice(job *restartJob, r recovery) commands.Notice {
	n := commands.Notice{
		Requester: job.by, Room: job.t.Room, Service: job.service,
		Phase: r.phase, Took: r.took,
	}
	if n.Service.Name == "" {
		n.Service = roomclient.Service{ID: job.t.ServiceID, Name: job.t.Service}
	}
	if st := r.state; st != nil {
		n.State, n.ExitCode, n.StartError = st.State, st.LastExitCode, st.LastStartError
		n.Service.State = st
	}
	if r.note != "" {
		n.State = r.note
	}
	n.Why, n.Ref = r.why, r.ref
	return n
}
