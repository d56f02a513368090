package watch

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roomops/roombot/roomclient"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func code(n int) *int { return &n }

// svc is a running service with one restart behind it.
func svc(id string, edit ...func(*roomclient.State)) roomclient.Service {
	st := &roomclient.State{
		ServiceID: id, State: "running", ContainerID: "c-" + id + "-1",
		StartedAt: t0.Add(-time.Hour), RestartCount: 1,
		LastExitCode: code(0), LastExitAt: t0.Add(-time.Hour - time.Second),
	}
	for _, e := range edit {
		e(st)
	}
	return roomclient.Service{ID: id, Name: "name-" + id, State: st}
}

func listOf(services ...roomclient.Service) *roomclient.List {
	return &roomclient.List{Room: "lobby", Services: services}
}

func restarted(exit int, at time.Time, state string) func(*roomclient.State) {
	return func(st *roomclient.State) {
		st.RestartCount++
		st.ContainerID += "x"
		st.LastExitCode, st.LastExitAt = code(exit), at
		st.State = state
		st.StartedAt = time.Time{}
		if state == "running" {
			st.StartedAt = at.Add(3 * time.Second)
		}
	}
}

func TestDiff(t *testing.T) {
	now := t0.Add(time.Minute)
	exitAt := t0.Add(30 * time.Second)
	tests := []struct {
		name      string
		prev, cur *roomclient.List
		want      []Event
	}{
		{name: "first list", prev: nil, cur: listOf(svc("a")), want: nil},
		{name: "nothing changed", prev: listOf(svc("a"), svc("b")),
			cur: listOf(svc("a"), svc("b")), want: nil},
		{name: "restarted, not back yet", prev: listOf(svc("a")),
			cur: listOf(svc("a", restarted(137, exitAt, "restarting"))),
			want: []Event{{Kind: Restarted, ServiceID: "a", Service: "name-a",
				State: "restarting", At: exitAt, Restarts: 1, RestartCount: 2,
				ExitCode: code(137)}}},
		{name: "restarted and back between polls", prev: listOf(svc("a")),
			cur: listOf(svc("a", restarted(137, exitAt, "running"))),
			want: []Event{
				{Kind: Restarted, ServiceID: "a", Service: "name-a", State: "running",
					At: exitAt, Restarts: 1, RestartCount: 2, ExitCode: code(137)},
				{Kind: Recovered, ServiceID: "a", Service: "name-a", State: "running",
					At: exitAt.Add(3 * time.Second)},
			}},
		{name: "several restarts between polls", prev: listOf(svc("a")),
			cur: listOf(svc("a", func(st *roomclient.State) {
				st.RestartCount, st.State = 6, "starting"
				st.LastExitCode, st.LastExitAt = code(1), exitAt
			})),
			want: []Event{{Kind: Restarted, ServiceID: "a", Service: "name-a",
				State: "starting", At: exitAt, Restarts: 5, RestartCount: 6,
				ExitCode: code(1)}}},
		{name: "new container, same count", prev: listOf(svc("a")),
			cur: listOf(svc("a", func(st *roomclient.State) { st.ContainerID = "c-new" })),
			want: []Event{
				{Kind: Restarted, ServiceID: "a", Service: "name-a",
					State: "running", At: t0.Add(-time.Hour - time.Second),
					Restarts: 1, RestartCount: 1, ExitCode: code(0)},
				{Kind: Recovered, ServiceID: "a", Service: "name-a",
					State: "running", At: t0.Add(-time.Hour)},
			}},
		{name: "container gone while restarting is not a second restart",
			prev: listOf(svc("a", func(st *roomclient.State) {
				st.ContainerID, st.State = "", "restarting"
			})),
			cur: listOf(svc("a", func(st *roomclient.State) {
				st.ContainerID, st.State = "c-2", "starting"
			})),
			want: nil},
		{name: "failed start", prev: listOf(svc("a")),
			cur: listOf(svc("a", restarted(1, exitAt, "starting"), func(st *roomclient.State) {
				st.LastStartError, st.LastStartErrorAt = "exec: no such file", exitAt.Add(time.Second)
			})),
			want: []Event{
				{Kind: Restarted, ServiceID: "a", Service: "name-a", State: "starting",
					At: exitAt, Restarts: 1, RestartCount: 2, ExitCode: code(1)},
				{Kind: Crashed, ServiceID: "a", Service: "name-a", State: "starting",
					At: exitAt.Add(time.Second), ExitCode: code(1),
					StartError: "exec: no such file"},
			}},
		{name: "same start error again, later", prev: listOf(svc("a", func(st *roomclient.State) {
			st.State, st.LastStartError, st.LastStartErrorAt = "starting", "boom", t0
		})),
			cur: listOf(svc("a", func(st *roomclient.State) {
				st.State, st.LastStartError, st.LastStartErrorAt = "starting", "boom", exitAt
			})),
			want: []Event{{Kind: Crashed, ServiceID: "a", Service: "name-a",
				State: "starting", At: exitAt, ExitCode: code(0), StartError: "boom"}}},
		{name: "same start error, same time, is not told again",
			prev: listOf(svc("a", func(st *roomclient.State) {
				st.State, st.LastStartError, st.LastStartErrorAt = "starting", "boom", t0
			})),
			cur: listOf(svc("a", func(st *roomclient.State) {
				st.State, st.LastStartError, st.LastStartErrorAt = "starting", "boom", t0
			})),
			want: nil},
		{name: "non-zero exit without a restart", prev: listOf(svc("a")),
			cur: listOf(svc("a", func(st *roomclient.State) {
				st.State, st.LastExitCode, st.LastExitAt = "exited", code(137), exitAt
			})),
			want: []Event{{Kind: Crashed, ServiceID: "a", Service: "name-a",
				State: "exited", At: exitAt, ExitCode: code(137)}}},
		{name: "zero exit without a restart is no crash", prev: listOf(svc("a")),
			cur: listOf(svc("a", func(st *roomclient.State) {
				st.State, st.LastExitAt = "exited", exitAt
			})),
			want: nil},
		{name: "restart scheduled", prev: listOf(svc("a")),
			cur: listOf(svc("a", func(st *roomclient.State) {
				st.RestartScheduledAt = t0.Add(time.Hour)
			})),
			want: []Event{{Kind: Scheduled, ServiceID: "a", Service: "name-a",
				State: "running", At: now, ScheduledAt: t0.Add(time.Hour)}}},
		{name: "scheduled restart kept is not told again",
			prev: listOf(svc("a", func(st *roomclient.State) { st.RestartScheduledAt = t0 })),
			cur:  listOf(svc("a", func(st *roomclient.State) { st.RestartScheduledAt = t0 })),
			want: nil},
		{name: "back after starting", prev: listOf(svc("a", func(st *roomclient.State) {
			st.State, st.StartedAt = "starting", time.Time{}
		})),
			cur: listOf(svc("a", func(st *roomclient.State) { st.StartedAt = exitAt })),
			want: []Event{{Kind: Recovered, ServiceID: "a", Service: "name-a",
				State: "running", At: exitAt}}},
		{name: "running in any case", prev: listOf(svc("a", func(st *roomclient.State) {
			st.State = "starting"
		})),
			cur:  listOf(svc("a", func(st *roomclient.State) { st.State, st.StartedAt = "Running", time.Time{} })),
			want: []Event{{Kind: Recovered, ServiceID: "a", Service: "name-a", State: "Running", At: now}}},
		{name: "added and removed", prev: listOf(svc("a"), svc("b")),
			cur: listOf(svc("b"), svc("c", func(st *roomclient.State) { st.State = "starting" })),
			want: []Event{
				{Kind: Added, ServiceID: "c", Service: "name-c", State: "starting", At: now},
				{Kind: Removed, ServiceID: "a", Service: "name-a", At: now},
			}},
		{name: "services without id are skipped",
			prev: listOf(roomclient.Service{Name: "legacy"}, svc("a")),
			cur:  listOf(svc("a"), roomclient.Service{Name: "other"}),
			want: nil},
		{name: "state appearing or vanishing is no event",
			prev: listOf(roomclient.Service{ID: "a", Name: "a"}, svc("b")),
			cur:  listOf(svc("a", restarted(1, exitAt, "starting")), roomclient.Service{ID: "b", Name: "b"}),
			want: nil},
		{name: "a duplicated id counts once", prev: listOf(svc("a"), svc("a")),
			cur:  listOf(svc("a"), svc("a", restarted(1, exitAt, "starting"))),
			want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(tt.prev, tt.cur, now)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Diff(prev, cur) differs (-want +got):\n%s", diff)
			}
			if tt.prev == nil {
				return
			}
			// What the watch keeps of a list, and what another replica
			// reads back from the StateStore, compares as the list does.
			got = Diff(resaved(t, tt.prev), tt.cur, now)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Diff(prev as saved, cur) differs (-want +got):\n%s", diff)
			}
		})
	}
}

// resaved is l trimmed, saved as JSON and read back.
func resaved(t *testing.T, l *roomclient.List) *roomclient.List {
	t.Helper()
	b, err := json.Marshal(encodeBase(trim(l)))
	if err != nil {
		t.Fatal(err)
	}
	var base []baseService
	if err := json.Unmarshal(b, &base); err != nil {
		t.Fatal(err)
	}
	return decodeBase(l.Room, base)
}

func TestDiffNilCurrent(t *testing.T) {
	if got := Diff(listOf(svc("a")), nil, t0); got != nil {
		t.Errorf("Diff(list, nil) = %v, want nil", got)
	}
}

// sameBase tells a poll whether the baseline it saves changed: every
// field Diff reads of an older list must count, or a replica taking the
// room over would compare with a stale one.
func TestSameBase(t *testing.T) {
	edits := map[string]func(*roomclient.Service){
		"name":              func(s *roomclient.Service) { s.Name = "other" },
		"id":                func(s *roomclient.Service) { s.ID = "b" },
		"no state":          func(s *roomclient.Service) { s.State = nil },
		"state":             func(s *roomclient.Service) { s.State.State = "starting" },
		"container":         func(s *roomclient.Service) { s.State.ContainerID = "c-2" },
		"restart count":     func(s *roomclient.Service) { s.State.RestartCount++ },
		"exit code":         func(s *roomclient.Service) { s.State.LastExitCode = code(1) },
		"no exit code":      func(s *roomclient.Service) { s.State.LastExitCode = nil },
		"exit time":         func(s *roomclient.Service) { s.State.LastExitAt = t0 },
		"start error":       func(s *roomclient.Service) { s.State.LastStartError = "boom" },
		"start error time":  func(s *roomclient.Service) { s.State.LastStartErrorAt = t0 },
		"restart scheduled": func(s *roomclient.Service) { s.State.RestartScheduledAt = t0 },
	}
	base := trim(listOf(svc("a")))
	if !sameBase(base, trim(listOf(svc("a")))) {
		t.Errorf("sameBase of two equal lists = false")
	}
	if sameBase(base, trim(listOf(svc("a"), svc("c")))) || sameBase(nil, base) {
		t.Errorf("sameBase of lists of different services, or of none, = true")
	}
	for name, edit := range edits {
		cur := listOf(svc("a"))
		edit(&cur.Services[0])
		if sameBase(base, trim(cur)) {
			t.Errorf("sameBase = true with a different %s", name)
		}
	}
}

// TestReason: a channel hears in a few words why its room did not
// answer, with no host or address in them.
func TestReason(t *testing.T) {
	w := &Watcher{timeout: 15 * time.Second}
	tests := []struct {
		err  error
		want string
	}{
		{&roomclient.StatusError{Room: "lobby", Status: 503}, "connection refused with HTTP 503"},
		{&roomclient.StatusError{Room: "nope", Status: 404}, "no such room (HTTP 404)"},
		{fmt.Errorf("connecting: %w", &roomclient.TLSError{
			Err: &tls.CertificateVerificationError{Err: errors.New("x509: unknown authority")}}),
			"roombot could not verify the room server's TLS certificate"},
		{fmt.Errorf("connecting: %w", &roomclient.TLSError{
			Err: tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}}),
			"the room server does not speak TLS"},
		{fmt.Errorf("listing: %w", context.DeadlineExceeded), "no answer within 15s"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}, "cannot connect"},
	}
	for _, tt := range tests {
		if got := w.reason(tt.err); got != tt.want {
			t.Errorf("reason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
