package watch

import (
	"strings"
	"time"

	"github.com/roomops/roombot/roomclient"
)

// A Kind is what happened to a service between two lists. Its value is a
// short word, fit for logs.
type Kind string

// The kinds of Event.
const (
	Restarted Kind = "restarted" // a new container, or a higher restart count
	Crashed   Kind = "crashed"   // a new start error, or a new non-zero exit
	Scheduled Kind = "scheduled" // the room scheduled a restart
	Added     Kind = "added"     // the service appeared in the room
	Removed   Kind = "removed"   // the service left the room
	Recovered Kind = "recovered" // running again after one of the above
)

// An Event is one change Diff found in one service.
type Event struct {
	Kind      Kind
	ServiceID string
	Service   string // the service's name
	State     string // its state in the newer list; "" when it has none

	// At is when it happened: by the room's own clock when the room
	// says (the last exit, the last start error, the start), else the
	// time given to Diff.
	At time.Time

	// Restarted: how many restarts since the older list (at least 1)
	// and the room's count now. Restarted and Crashed: the last exit
	// code, nil when the room sent none.
	Restarts     int
	RestartCount int
	ExitCode     *int

	StartError  string    // Crashed: the last start error, if new
	ScheduledAt time.Time // Scheduled: when the restart will happen
}

// Diff compares two successive lists of one room and returns what changed,
// in the order of the newer list, removed services last. A nil prev (the
// first list seen) yields nothing: it is the baseline.
//
// Services are matched by id. A service without an id is skipped: the
// room joins states to services by id, so it has no state to compare,
// and it cannot be restarted either. A service whose state appears or
// disappears between the lists yields nothing either, as there is no
// earlier state to compare with.
//
// Recovered is reported whenever a service runs and, in prev, did not,
// or restarted or crashed in between; it says nothing of how long ago
// the trouble began, which the caller, who keeps the history, knows.
func Diff(prev, cur *roomclient.List, now time.Time) []Event {
	if prev == nil || cur == nil {
		return nil
	}
	before := index(prev)
	seen := make(map[string]bool, len(cur.Services))
	var out []Event
	for _, s := range cur.Services {
		if s.ID == "" || seen[s.ID] {
			continue
		}
		seen[s.ID] = true
		i, ok := before[s.ID]
		if !ok {
			out = append(out, event(Added, s, now))
			continue
		}
		out = changes(out, prev.Services[i], s, now)
	}
	for _, s := range prev.Services {
		if s.ID != "" && !seen[s.ID] {
			seen[s.ID] = true
			out = append(out, Event{Kind: Removed, ServiceID: s.ID,
				Service: s.Name, At: now})
		}
	}
	return out
}

// index maps the ids of the services of l to their place; the first of
// a duplicated id wins.
func index(l *roomclient.List) map[string]int {
	m := make(map[string]int, len(l.Services))
	for i, s := range l.Services {
		if _, dup := m[s.ID]; s.ID != "" && !dup {
			m[s.ID] = i
		}
	}
	return m
}

// changes appends the events of one service present in both lists.
func changes(out []Event, prev, cur roomclient.Service, now time.Time) []Event {
	p, c := prev.State, cur.State
	if p == nil || c == nil {
		return out
	}
	restarted := c.RestartCount > p.RestartCount ||
		(c.ContainerID != "" && p.ContainerID != "" && c.ContainerID != p.ContainerID)
	if restarted {
		ev := event(Restarted, cur, when(c.LastExitAt, now))
		ev.Restarts = max(c.RestartCount-p.RestartCount, 1)
		ev.RestartCount = c.RestartCount
		ev.ExitCode = c.LastExitCode
		out = append(out, ev)
	}
	newError := c.LastStartError != "" &&
		(c.LastStartError != p.LastStartError ||
			!c.LastStartErrorAt.Equal(p.LastStartErrorAt))
	if newError || (!restarted && newExit(p, c)) {
		ev := event(Crashed, cur, when(c.LastExitAt, now))
		if newError {
			ev.StartError = c.LastStartError
			ev.At = when(c.LastStartErrorAt, ev.At)
		}
		ev.ExitCode = c.LastExitCode
		out = append(out, ev)
	}
	if !c.RestartScheduledAt.IsZero() &&
		!c.RestartScheduledAt.Equal(p.RestartScheduledAt) {
		ev := event(Scheduled, cur, now)
		ev.ScheduledAt = c.RestartScheduledAt
		out = append(out, ev)
	}
	if running(c) && (!running(p) || restarted || newError) {
		out = append(out, event(Recovered, cur, when(c.StartedAt, now)))
	}
	return out
}

// newExit reports a non-zero last exit code that prev did not have.
func newExit(p, c *roomclient.State) bool {
	if c.LastExitCode == nil || *c.LastExitCode == 0 {
		return false
	}
	return p.LastExitCode == nil || *p.LastExitCode != *c.LastExitCode ||
		!c.LastExitAt.Equal(p.LastExitAt)
}

func event(k Kind, s roomclient.Service, at time.Time) Event {
	ev := Event{Kind: k, ServiceID: s.ID, Service: s.Name, At: at}
	if s.State != nil {
		ev.State = s.State.State
	}
	return ev
}

// running reports whether st says the service runs. States are free
// strings; rooms send "running".
func running(st *roomclient.State) bool {
	return st != nil && strings.EqualFold(st.State, "running")
}

func when(t, otherwise time.Time) time.Time {
	if t.IsZero() {
		return otherwise
	}
	return t
}
