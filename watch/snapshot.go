package watch

import (
	"cmp"
	"slices"
	"time"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

// A snapshot is the state of one room's watch as the StateStore keeps
// it, in JSON: only what the next poll needs.
type snapshot struct {
	// Base is the last list, as much of it as Diff reads of an older
	// list; Listed tells an empty room from no list yet.
	Listed bool          `json:"listed,omitempty"`
	Base   []baseService `json:"base,omitempty"`

	Stories []savedStory `json:"stories,omitempty"` // by service id

	Fails     int       `json:"fails,omitempty"`
	DownSince time.Time `json:"down_since,omitzero"`
	Reported  bool      `json:"reported,omitempty"`
}

type baseService struct {
	ID    string     `json:"id"`
	Name  string     `json:"name,omitempty"`
	State *baseState `json:"state,omitempty"`
}

type baseState struct {
	State              string    `json:"state,omitempty"`
	ContainerID        string    `json:"container,omitempty"`
	RestartCount       int       `json:"restarts,omitempty"`
	LastExitCode       *int      `json:"exit,omitempty"`
	LastExitAt         time.Time `json:"exit_at,omitzero"`
	LastStartError     string    `json:"start_error,omitempty"`
	LastStartErrorAt   time.Time `json:"start_error_at,omitzero"`
	RestartScheduledAt time.Time `json:"scheduled_at,omitzero"`
}

// A savedStory is an open episode, with its message in each channel.
type savedStory struct {
	View    commands.Episode  `json:"view"`
	Changed time.Time         `json:"changed"`
	Down    time.Time         `json:"down,omitzero"`
	TS      map[string]string `json:"ts,omitempty"` // by channel
}

// trim keeps of l what Diff reads of the older of two lists: the first
// service of each id, its name and the state's restart, exit, start
// error and schedule. A poll keeps its baseline trimmed, so that a
// baseline taken over from the StateStore behaves as its own would.
func trim(l *roomclient.List) *roomclient.List {
	return decodeBase(l.Room, encodeBase(l))
}

// encodeBase returns what trim keeps of l, as saved.
func encodeBase(l *roomclient.List) []baseService {
	out := make([]baseService, 0, len(l.Services))
	seen := make(map[string]bool, len(l.Services))
	for _, s := range l.Services {
		if s.ID == "" || seen[s.ID] {
			continue
		}
		seen[s.ID] = true
		b := baseService{ID: s.ID, Name: s.Name}
		if st := s.State; st != nil {
			b.State = &baseState{
				State: st.State, ContainerID: st.ContainerID,
				RestartCount: st.RestartCount,
				LastExitCode: st.LastExitCode, LastExitAt: st.LastExitAt,
				LastStartError:     st.LastStartError,
				LastStartErrorAt:   st.LastStartErrorAt,
				RestartScheduledAt: st.RestartScheduledAt,
			}
		}
		out = append(out, b)
	}
	return out
}

// sameBase reports whether two trimmed lists tell Diff the same.
func sameBase(a, b *roomclient.List) bool {
	if a == nil || b == nil || len(a.Services) != len(b.Services) {
		return a == nil && b == nil
	}
	for i, s := range a.Services {
		t := b.Services[i]
		if s.ID != t.ID || s.Name != t.Name || !sameState(s.State, t.State) {
			return false
		}
	}
	return true
}

func sameState(a, b *roomclient.State) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.State == b.State && a.ContainerID == b.ContainerID &&
		a.RestartCount == b.RestartCount &&
		(a.LastExitCode == nil) == (b.LastExitCode == nil) &&
		(a.LastExitCode == nil || *a.LastExitCode == *b.LastExitCode) &&
		a.LastExitAt.Equal(b.LastExitAt) &&
		a.LastStartError == b.LastStartError &&
		a.LastStartErrorAt.Equal(b.LastStartErrorAt) &&
		a.RestartScheduledAt.Equal(b.RestartScheduledAt)
}

// decodeBase is the trimmed list of room that encodeBase saved.
func decodeBase(room string, base []baseService) *roomclient.List {
	out := &roomclient.List{Room: room, Services: make([]roomclient.Service, len(base))}
	for i, s := range base {
		out.Services[i] = roomclient.Service{ID: s.ID, Name: s.Name}
		if st := s.State; st != nil {
			out.Services[i].State = &roomclient.State{
				ServiceID: s.ID, State: st.State, ContainerID: st.ContainerID,
				RestartCount: st.RestartCount,
				LastExitCode: st.LastExitCode, LastExitAt: st.LastExitAt,
				LastStartError:     st.LastStartError,
				LastStartErrorAt:   st.LastStartErrorAt,
				RestartScheduledAt: st.RestartScheduledAt,
			}
		}
	}
	return out
}

// stateOf is r's state as saved, with the ts of its messages as the
// outbox knows them now. Stories are in the order of their service ids,
// so that a state that did not change encodes the same.
func (w *Watcher) stateOf(r *room) snapshot {
	sn := snapshot{Fails: r.fails, DownSince: r.downSince, Reported: r.reported}
	if r.base != nil {
		sn.Listed, sn.Base = true, encodeBase(r.base)
	}
	for _, s := range r.stories {
		sn.Stories = append(sn.Stories, savedStory{View: s.view,
			Changed: s.changed, Down: s.down, TS: w.out.posted(s.key)})
	}
	slices.SortFunc(sn.Stories, func(a, b savedStory) int {
		return cmp.Compare(a.View.ID, b.View.ID)
	})
	return sn
}

// takeUp makes sn r's state: its baseline, its episodes, each under a
// new key that names the messages posted already, and its outage.
func (w *Watcher) takeUp(r *room, sn snapshot) {
	if sn.Listed {
		r.base = decodeBase(r.name, sn.Base)
	}
	for _, ss := range sn.Stories {
		s := &story{key: w.newKey(r.name), view: ss.View,
			changed: ss.Changed, down: ss.Down}
		r.stories[ss.View.ID] = s
		w.out.adopt(s.key, ss.TS)
	}
	r.fails, r.downSince, r.reported = sn.Fails, sn.DownSince, sn.Reported
}
