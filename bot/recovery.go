package bot

import (
	"context"
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
// Back means running in a new container, still the same run
// RecoverySteady after it was first seen, with every port the room
// checks ready. A crash-looping service comes up in a new container and
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
	seen := false            // a poll has reached the room since the restart
	var up *roomclient.State // the new run seen at the last poll
	var upAt time.Time
	for {
		select {
		case <-wait.Done():
		case <-tick.C:
		}
		switch {
		case ctx.Err() != nil:
			return recovery{phase: commands.PhaseUnknown, state: last}
		case wait.Err() != nil && !seen:
			return recovery{phase: commands.PhaseUnknown, took: b.now().Sub(job.asked),
				why: "roombot could not reach the room after the restart to see whether it came back"}
		case wait.Err() != nil:
			return job.notBack(last, up != nil, b.now().Sub(job.asked))
		}
		st, reached, ok := b.pollState(wait, log, job)
		seen = seen || reached
		if !ok {
			continue
		}
		last = st
		switch {
		case !job.restarted(st):
			up = nil
		case up == nil || !sameRun(up, st):
			up, upAt = st, b.now()
		case portsReady(st) && b.now().Sub(upAt) >= b.cfg.RecoverySteady:
			return recovery{phase: commands.PhaseBack, state: st, took: upAt.Sub(job.asked)}
		}
	}
}

// pollState returns the service's state as the room tells it now, and
// whether the room answered at all.
func (b *Bot) pollState(ctx context.Context, log *slog.Logger, job *restartJob) (st *roomclient.State, reached, ok bool) {
	l, err := b.poll(ctx, job.t.Room)
	if err != nil {
		log.Debug("recovery poll failed", "room", job.t.Room, "err", err)
		return nil, false, false
	}
	s, ok := l.ByID(job.t.ServiceID)
	if !ok || s.State == nil {
		return nil, true, false
	}
	return s.State, true, true
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
