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
func (b *Bot) await(ctx context.Context, log *slog.Logger, job *restartJob) recovery {
	deadline := time.NewTimer(b.cfg.RecoveryTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(b.cfg.RecoveryPoll)
	defer tick.Stop()

	last := job.service.State
	var up *roomclient.State // the new run seen at the last poll
	var upAt time.Time
	for {
		select {
		case <-ctx.Done():
			return recovery{phase: commands.PhaseUnknown, state: last}
		case <-deadline.C:
			return job.notBack(last, up != nil, b.now().Sub(job.asked))
		case <-tick.C:
		}
		st, ok := b.pollState(ctx, log, job)
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

// pollState returns the service's state as the room tells it now.
func (b *Bot) pollState(ctx context.Context, log *slog.Logger, job *restartJob) (*roomclient.State, bool) {
	l, err := b.poll(ctx, job.t.Room)
	if err != nil {
		log.Debug("recovery poll failed", "room", job.t.Room, "err", err)
		return nil, false
	}
	s, ok := l.ByID(job.t.ServiceID)
	if !ok || s.State == nil {
		return nil, false
	}
	return s.State, true
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
	return n
}
