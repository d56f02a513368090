package watch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

// A room is one watched room. The scheduling fields belong to Run's
// goroutine; the others to the job of the room (a poll, or a save), of
// which there is at most one at a time (busy).
type room struct {
	name string

	channels []string
	due      time.Time
	busy     bool // a job is under way
	gone     bool // no longer watched; let go once the job is over
	unsaved  bool // a message got its ts since the last job began

	leased  bool
	until   time.Time         // while the store is silent, poll until then
	silent  bool              // the store did not answer; logged
	base    *roomclient.List  // trimmed
	stories map[string]*story // by service id

	fails     int // polls in a row without an answer
	downSince time.Time
	reported  bool // the channels heard that the room is unreachable

	changed     bool // the state changed since it was last saved
	savedAt     time.Time
	saveFailing bool // the state store refused the last save; logged
}

func newRoom(name string, due time.Time) *room {
	return &room{name: name, due: due, stories: map[string]*story{}}
}

// poll is one turn of a room: take or keep the lease, list the room,
// tell the channels what changed since the last list, and save the
// room's state for whoever polls it next.
func (w *Watcher) poll(ctx context.Context, r *room, channels []string) {
	taken := !r.leased
	if !w.lease(ctx, r) {
		return
	}
	if taken {
		w.restore(ctx, r)
	}
	callCtx, cancel := context.WithTimeout(ctx, w.timeout)
	list, err := w.lister.List(callCtx, r.name)
	cancel()
	if ctx.Err() != nil {
		return // Run's stop saves the state
	}
	now := w.now()
	if err != nil {
		w.unanswered(r, channels, err, now)
	} else {
		w.answered(r, channels, now)
		events := Diff(r.base, list, now)
		next := trim(list)
		if !sameBase(r.base, next) {
			r.changed = true
		}
		r.base = next
		w.tell(ctx, r, channels, events, now)
		w.expire(r, now)
	}
	w.save(ctx, r, now)
}

// lease takes or renews the lease on r, and reports whether this replica
// may poll it. A lease lost, or one that lapses while the store is
// silent, drops what this replica knew of the room: the next holder
// carries on from the state saved in the StateStore.
func (w *Watcher) lease(ctx context.Context, r *room) bool {
	now := w.now()
	key := leaseKey(r.name)
	var err error
	if r.leased {
		err = w.claims.Renew(ctx, key, w.instance, w.leaseTTL)
	} else {
		err = w.claims.Claim(ctx, key, w.instance, w.leaseTTL)
		var held *claims.HeldError
		if errors.As(err, &held) && held.Holder == w.instance {
			// Ours, from before a restart with the same name.
			err = w.claims.Renew(ctx, key, w.instance, w.leaseTTL)
		}
	}

	switch {
	case err == nil:
		if !r.leased {
			w.log.Info("watch lease taken", "room", r.name)
		}
		r.leased, r.silent = true, false
		r.until = now.Add(w.leaseTTL - w.interval)
		return true
	case errors.Is(err, claims.ErrHeld), errors.Is(err, claims.ErrNotHeld):
		if r.leased {
			w.log.Info("watch lease lost", "room", r.name, "err", err)
			w.reset(r)
		}
		return false
	}
	if !r.silent {
		w.log.Warn("watch lease not renewed", "room", r.name, "err", err)
		r.silent = true
	}
	if r.leased && now.Before(r.until) {
		return true
	}
	w.reset(r)
	return false
}

// leave saves r's state and releases its lease, if held, and forgets
// its messages. The state goes first, so that whoever takes the lease
// carries on from all this replica knew.
//
// TODO(watch): a room no longer watched keeps its state for a Window;
// watched again within it, its first poll tells what changed while
// nobody watched, against the old baseline.
func (w *Watcher) leave(ctx context.Context, r *room) {
	if r.leased {
		r.changed = true // posts landed since the last save may have ts
		w.save(ctx, r, w.now())
		w.claims.Release(ctx, leaseKey(r.name), w.instance)
	}
	w.reset(r)
}

// reset forgets everything learnt while holding the lease. Messages
// under way are still delivered: the state saved tells of them, so the
// next holder takes them as shown.
//
// TODO(watch): after a lease lapsed (not one let go), such an update
// may land after the next holder's own, newer one, and show an older
// version until the episode changes again.
func (w *Watcher) reset(r *room) {
	for _, s := range r.stories {
		w.out.forget(s.key)
	}
	clear(r.stories)
	r.leased, r.base = false, nil
	r.fails, r.downSince, r.reported = 0, time.Time{}, false
	r.changed, r.savedAt, r.saveFailing = false, time.Time{}, false
}

// The state of a room lasts a Window in the StateStore: a holder that
// takes a room no replica polled for longer starts from a fresh
// baseline, as its episodes' messages take no updates any more. Saved
// when it changes, the state is saved again when it did not for half
// its ttl, so that a quiet room's, with a service down, stays.
const (
	stateTTL     = Window
	stateRefresh = stateTTL / 2
)

// restore takes up the state the room's last holder saved, if it is
// fresh: its baseline, so that the first poll tells what changed since,
// and its episodes, whose messages are updated, not posted again. With
// none, the first poll is a silent baseline.
func (w *Watcher) restore(ctx context.Context, r *room) {
	log := w.log.With("room", r.name)
	b, err := w.state.Load(ctx, r.name)
	if err != nil {
		// TODO(watch): the next save overwrites the state that could not
		// be read, and its episodes' messages take no more updates.
		log.Warn("watch state not loaded; starting from a fresh baseline", "err", err)
		return
	}
	if b == nil {
		return
	}
	var sn snapshot
	if err := json.Unmarshal(b, &sn); err != nil {
		log.Warn("watch state unreadable; starting from a fresh baseline", "err", err)
		return
	}
	w.takeUp(r, sn)
	log.Info("watch state taken up", "episodes", len(sn.Stories),
		"failed_polls", sn.Fails)
}

// save writes r's state to the StateStore when it changed since the
// last save, or when that is stateRefresh old. A store that refuses it
// is logged once until it takes one again; the watch goes on, and tries
// again after the next poll.
func (w *Watcher) save(ctx context.Context, r *room, now time.Time) {
	if !r.changed && now.Sub(r.savedAt) < stateRefresh {
		return
	}
	b, err := json.Marshal(w.stateOf(r))
	if err != nil {
		w.log.Error("watch state not encoded", "room", r.name, "err", err)
		return
	}
	err = w.state.Save(ctx, r.name, w.instance, b, stateTTL)
	switch {
	case err != nil && !r.saveFailing:
		w.log.Warn("watch state not saved", "room", r.name, "err", err)
		r.saveFailing = true
		return
	case err != nil:
		return
	case r.saveFailing:
		w.log.Info("watch state saved again", "room", r.name)
	}
	r.changed, r.savedAt, r.saveFailing = false, now, false
}

// unanswered counts a failed poll, and tells the channels once when the
// room has failed UnreachableAfter in a row. The baseline stays, so the
// changes made meanwhile are told when the room answers again.
func (w *Watcher) unanswered(r *room, channels []string, err error, now time.Time) {
	r.fails++
	r.changed = true
	if r.fails == 1 {
		r.downSince = now
	}
	log := w.log.With("room", r.name)
	log.Debug("watched room did not answer", "attempt", r.fails, "err", err)
	if r.reported || r.fails < UnreachableAfter {
		return
	}
	r.reported = true
	log.Warn("watched room unreachable", "since", r.downSince, "err", err)
	m := commands.Unreachable(r.name, r.downSince, w.reason(err))
	w.broadcast(channels, msgKey{}, m)
}

// answered tells the channels that heard the room was unreachable that it
// answers again.
func (w *Watcher) answered(r *room, channels []string, now time.Time) {
	if r.reported {
		down := now.Sub(r.downSince)
		w.log.Info("watched room reachable again", "room", r.name, "took", down)
		w.broadcast(channels, msgKey{}, commands.Reachable(r.name, down))
	}
	if r.fails > 0 || r.reported {
		r.changed = true
	}
	r.fails, r.reported = 0, false
}

// reason says in a few words why a room did not answer, for a channel:
// no host names or addresses, which go to the log only.
func (w *Watcher) reason(err error) string {
	var se *roomclient.StatusError
	var re *roomclient.Error
	var te *roomclient.TLSError
	switch {
	case errors.As(err, &te) && te.NotTLS():
		return "the room server does not speak TLS"
	case errors.As(err, &te):
		return "roombot could not verify the room server's TLS certificate"
	case errors.As(err, &se) && se.Status == 404:
		return "no such room (HTTP 404)"
	case errors.As(err, &se):
		return fmt.Sprintf("connection refused with HTTP %d", se.Status)
	case errors.As(err, &re):
		return "the room answered with an error: " + re.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", w.timeout)
	case errors.Is(err, roomclient.ErrDisconnected):
		return "the connection dropped"
	}
	return "cannot connect"
}

func (w *Watcher) broadcast(channels []string, key msgKey, m commands.Message) {
	for _, ch := range channels {
		w.out.send(ch, key, m)
	}
}

// A story is the episode of one service that one message tells.
type story struct {
	key     msgKey
	view    commands.Episode
	changed time.Time // when the watcher last saw it change
	down    time.Time // when the service stopped running; zero while it runs
}

// tell announces events, one message per service, unless roombot itself
// restarted the service lately (Performed).
//
// TODO(watch): many services restarting at once (a node lost) make as
// many messages, which the per-channel pace of one a second spreads over
// minutes; one message per room and poll would say it at once.
func (w *Watcher) tell(ctx context.Context, r *room, channels []string,
	events []Event, now time.Time) {
	for len(events) > 0 {
		id := events[0].ServiceID
		n := 1
		for n < len(events) && events[n].ServiceID == id {
			n++
		}
		evs := events[:n]
		events = events[n:]

		if w.marked(ctx, r.name, id) {
			w.log.Debug("change not announced: roombot restarted the service",
				"room", r.name, "service_id", id, "events", len(evs))
			// The bot's notification tells its restart. But a service it
			// brings back ends an episode told before, whose message
			// would say "restarting" for good and whose outage would
			// count into the next one's.
			if evs = recoveries(evs); len(evs) == 0 {
				continue
			}
		}
		s := w.storyFor(r, id, evs, now)
		if s == nil || !s.apply(evs) {
			continue
		}
		s.changed, r.changed = now, true
		w.broadcast(channels, s.key, commands.Announce(s.view))
	}
}

// recoveries returns the Recovered events of evs.
func recoveries(evs []Event) []Event {
	var out []Event
	for _, ev := range evs {
		if ev.Kind == Recovered {
			out = append(out, ev)
		}
	}
	return out
}

// storyFor returns the story that evs belong to: the service's current
// one while its message is recent, or while the service is down and evs
// only say it runs again; else a new one. It returns nil when evs are
// only a recovery nobody heard the start of.
func (w *Watcher) storyFor(r *room, id string, evs []Event, now time.Time) *story {
	s := r.stories[id]
	recovery := true
	for _, ev := range evs {
		recovery = recovery && ev.Kind == Recovered
	}
	if s != nil && (now.Sub(s.changed) <= Window || recovery && !s.down.IsZero()) {
		return s
	}
	if recovery {
		return nil
	}
	fresh := &story{
		key:  w.newKey(r.name),
		view: commands.Episode{Room: r.name, ID: id},
	}
	if s != nil {
		// Still down from before: the recovery counts from then.
		fresh.down = s.down
		w.out.forget(s.key)
	}
	r.stories[id] = fresh
	return fresh
}

// expire ends the stories whose message has been quiet for Window and
// whose service runs.
func (w *Watcher) expire(r *room, now time.Time) {
	for id, s := range r.stories {
		if s.down.IsZero() && now.Sub(s.changed) > Window {
			w.out.forget(s.key)
			delete(r.stories, id)
			r.changed = true
		}
	}
}

// apply adds evs to the story and reports whether it changed.
func (s *story) apply(evs []Event) bool {
	changed := false
	for _, ev := range evs {
		changed = s.add(ev) || changed
	}
	return changed
}

func (s *story) add(ev Event) bool {
	v := &s.view
	if ev.Kind == Recovered {
		if s.down.IsZero() {
			return false
		}
		v.Back, v.Took, v.State = true, max(ev.At.Sub(s.down), 0), ev.State
		s.down = time.Time{}
		return true
	}

	v.Service, v.State = ev.Service, ev.State
	if v.First.IsZero() {
		v.First = ev.At
	}
	if ev.At.After(v.Last) {
		v.Last = ev.At
	}
	switch ev.Kind {
	case Restarted:
		v.Restarts += ev.Restarts
		v.RestartCount, v.ExitCode = ev.RestartCount, ev.ExitCode
		s.stopped(ev.At)
	case Crashed:
		if ev.StartError != "" {
			v.StartError = ev.StartError
		}
		if ev.ExitCode != nil {
			v.ExitCode = ev.ExitCode
		}
		s.stopped(ev.At)
	case Scheduled:
		v.ScheduledAt = ev.ScheduledAt
	case Added:
		v.Added, v.Removed = true, false
		if !strings.EqualFold(ev.State, "running") {
			s.stopped(ev.At)
		}
	case Removed:
		v.Removed = true
		s.down = time.Time{}
	}
	return true
}

// stopped notes that the service is down since at, unless it was
// already.
func (s *story) stopped(at time.Time) {
	s.view.Back, s.view.Took = false, 0
	if s.down.IsZero() {
		s.down = at
	}
}
