package roomclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roomops/roombot/roomclient/roomtest"
)

func TestListJoinsStates(t *testing.T) {
	srv := roomtest.NewServer(t, fixture(t, "edge.json"))
	c := newClient(t, srv)
	list, err := c.List(testCtx(t), "edge")
	if err != nil {
		t.Fatalf("List(edge): %v", err)
	}

	var got []string
	for _, s := range list.Services {
		got = append(got, fmt.Sprintf("%s/%s/%s/state=%v", s.ID, s.Name, s.Image, s.State != nil))
	}
	want := []string{
		"e-1/dup/img/dup:1/state=true",
		"e-2/dup/img/dup:2/state=false",
		"/no-id/img/noid:1/state=false",
		"e-ext/external <b>&//state=false",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List(edge) services (-want +got):\n%s", diff)
	}
	if len(list.Orphans) != 1 || list.Orphans[0].ServiceID != "gone" {
		t.Errorf("List(edge) orphans = %+v, want the state of gone", list.Orphans)
	}

	st := list.Services[0].State
	wantPorts := []PortStatus{
		{Num: "*", Liveness: "/a", LivenessStatus: "ready", LastCheckedAt: time.Unix(1700000100, 0)},
		{Num: "8080", Liveness: "/b", LivenessStatus: "not_ready",
			LastCheckedAt: time.Unix(1700000100, 0), LastError: "503"},
		{Num: "9090", LivenessStatus: "not_configured"},
	}
	if diff := cmp.Diff(wantPorts, st.Ports); diff != "" {
		t.Errorf("port states (-want +got):\n%s", diff)
	}
	if !st.StartedAt.Equal(time.Unix(1700000000, 5e8)) || st.RestartCount != 3 ||
		st.LastExitCode == nil || *st.LastExitCode != 137 || len(st.Events) != 1 {
		t.Errorf("state of e-1 = %+v", st)
	}
	if p := list.Services[0].Ports; len(p) != 3 || p[0].Num != "*" || p[1].Type != "http" {
		t.Errorf("spec ports of e-1 = %+v", p)
	}
	if u := list.Services[3].ExternalURL; u != "https://example.com" {
		t.Errorf("external url = %q", u)
	}
}

func TestListEmptyRoom(t *testing.T) {
	srv := roomtest.NewServer(t, fixture(t, "edge.json"))
	list, err := newClient(t, srv).List(testCtx(t), "empty")
	if err != nil || len(list.Services) != 0 || list.Room != "empty" {
		t.Fatalf("List(empty) = %+v, %v; want no services", list, err)
	}
}

func TestRestart(t *testing.T) {
	srv := demo(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	before, _ := srv.State("lobby", "svc-web")

	if err := c.Restart(ctx, "lobby", "svc-web"); err != nil {
		t.Fatalf("Restart(lobby, svc-web): %v", err)
	}
	if n := srv.Restarts("lobby", "svc-web"); n != 1 {
		t.Errorf("simulator saw %d restarts, want exactly 1", n)
	}
	list, err := c.List(ctx, "lobby")
	if err != nil {
		t.Fatal(err)
	}
	st := list.Services[0].State
	if st.State != "running" || st.RestartCount != before.RestartCount+1 ||
		st.ContainerID == *before.ContainerID || *st.LastExitCode != 137 {
		t.Errorf("after restart, state = %+v", st)
	}
}

func TestRestartErrors(t *testing.T) {
	srv := demo(t)
	c := newClient(t, srv)
	tests := []struct {
		name, room, id string
		want           error
	}{
		{"unknown id", "lobby", "svc-nope", CodeServiceNotFound},
		{"not allowed", "staging", "stg-docs", CodeServiceRestartForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Restart(testCtx(t), tt.room, tt.id)
			var re *Error
			if !errors.Is(err, tt.want) || !errors.As(err, &re) || re.Text == "" {
				t.Errorf("Restart(%s, %s) = %v, want %v with text", tt.room, tt.id, err, tt.want)
			}
		})
	}

	calls := srv.Calls("lobby", "restart")
	err := c.Restart(testCtx(t), "lobby", "")
	if err == nil || !strings.Contains(err.Error(), "no service id") {
		t.Errorf("Restart with empty id = %v, want a local error", err)
	}
	if n := srv.Calls("lobby", "restart"); n != calls {
		t.Errorf("an empty id reached the room (%d restart calls, want %d)", n, calls)
	}
}

func TestResolve(t *testing.T) {
	srv := roomtest.NewServer(t, fixture(t, "edge.json"))
	c := newClient(t, srv)
	ctx := testCtx(t)

	s, err := c.Resolve(ctx, "edge", "no-id")
	if err != nil || s.Image != "img/noid:1" {
		t.Errorf("Resolve(no-id) = %+v, %v", s, err)
	}
	_, err = c.Resolve(ctx, "edge", "dup")
	var ne *NameError
	if !errors.Is(err, ErrAmbiguousName) || !errors.As(err, &ne) || len(ne.Candidates) != 2 ||
		!strings.Contains(err.Error(), "e-1, e-2") {
		t.Errorf("Resolve(dup) = %v, want ambiguous with e-1 and e-2", err)
	}
	if _, err := c.Resolve(ctx, "edge", "missing"); !errors.Is(err, ErrNoSuchService) {
		t.Errorf("Resolve(missing) = %v, want ErrNoSuchService", err)
	}
}

func TestPermissionDenied(t *testing.T) {
	srv := demo(t)
	setFaults(t, srv, "lobby", roomtest.Faults{PermissionDenied: true})
	_, err := newClient(t, srv).List(testCtx(t), "lobby")
	if !errors.Is(err, CodePermissionDenied) {
		t.Errorf("List = %v, want code 1001", err)
	}
}

// Test200ConcurrentLists runs 200 lists at once over what must be one
// connection, with answers coming back in any order.
func Test200ConcurrentLists(t *testing.T) {
	srv := demo(t)
	c := newClient(t, srv)
	ctx := testCtx(t)

	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 200 {
		wg.Go(func() {
			list, err := c.List(ctx, "lobby")
			if err == nil && len(list.Services) != 4 {
				err = fmt.Errorf("%d services", len(list.Services))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
	}
	if n := srv.Connections("lobby"); n != 1 {
		t.Errorf("simulator accepted %d connections, want 1", n)
	}
	if n := srv.Calls("lobby", "list"); n != 200 {
		t.Errorf("simulator saw %d list calls, want 200", n)
	}
}

// TestFirstCallsShareOneDial holds the handshake back so that every call
// arrives while the first dial is still in progress.
func TestFirstCallsShareOneDial(t *testing.T) {
	srv := demo(t)
	setFaults(t, srv, "lobby", roomtest.Faults{ReadyDelay: 100 * time.Millisecond})
	c := newClient(t, srv)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := c.List(ctx, "lobby"); err != nil {
				t.Errorf("List: %v", err)
			}
		})
	}
	wg.Wait()
	if n := srv.Connections("lobby"); n != 1 {
		t.Errorf("20 first calls made %d connections, want 1", n)
	}
}

func TestDropWithPendingCalls(t *testing.T) {
	srv := demo(t)
	setFaults(t, srv, "lobby", roomtest.Faults{NeverAnswer: true})
	c := newClient(t, srv)
	ctx := testCtx(t)

	errs := make(chan error, 10)
	for range 10 {
		go func() {
			_, err := c.List(ctx, "lobby")
			errs <- err
		}()
	}
	srv.WaitFor(t, "10 calls pending", func() bool { return srv.Unanswered("lobby") == 10 })
	srv.CloseConnections("lobby", roomtest.Abrupt)

	// Promptly: well before the calls' own deadline.
	timeout := time.After(patience / 2)
	for range 10 {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrDisconnected) {
				t.Errorf("pending List = %v, want ErrDisconnected", err)
			}
		case <-timeout:
			t.Fatal("pending calls did not fail after the connection dropped")
		}
	}

	setFaults(t, srv, "lobby", roomtest.Faults{})
	if _, err := c.List(ctx, "lobby"); err != nil {
		t.Fatalf("List after the drop: %v", err)
	}
	if n := srv.Connections("lobby"); n != 2 {
		t.Errorf("simulator accepted %d connections, want 2", n)
	}
}

// TestServerCloses closes the connection under a pending call in each way
// a room can.
func TestServerCloses(t *testing.T) {
	for _, code := range []int{1000, 1001, 1013, 1011, roomtest.Abrupt} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			srv := demo(t)
			setFaults(t, srv, "lobby", roomtest.Faults{NeverAnswer: true})
			c := newClient(t, srv)
			ctx := testCtx(t)
			errc := make(chan error, 1)
			go func() {
				_, err := c.List(ctx, "lobby")
				errc <- err
			}()
			srv.WaitFor(t, "a pending call", func() bool { return srv.Unanswered("lobby") == 1 })
			srv.CloseConnections("lobby", code)
			if err := <-errc; !errors.Is(err, ErrDisconnected) {
				t.Fatalf("List = %v, want ErrDisconnected", err)
			}
			setFaults(t, srv, "lobby", roomtest.Faults{})
			if _, err := c.List(ctx, "lobby"); err != nil {
				t.Fatalf("List after close %d: %v", code, err)
			}
		})
	}
}

// TestDeadline waits on an answer that never comes: the call returns at
// its deadline, and the answer that comes later is dropped.
func TestDeadline(t *testing.T) {
	srv := demo(t)
	logs := newLogWatch()
	c := newClient(t, srv, func(cfg *Config) {
		cfg.Logger = slog.New(logs)
	})
	if _, err := c.List(testCtx(t), "lobby"); err != nil {
		t.Fatal(err)
	}

	setFaults(t, srv, "lobby", roomtest.Faults{NeverAnswer: true})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.List(ctx, "lobby")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("List = %v, want DeadlineExceeded", err)
	}
	if took := time.Since(start); took > patience/2 {
		t.Errorf("List returned after %v, long past its 50ms deadline", took)
	}

	// Now a late answer: delayed past the caller's deadline.
	setFaults(t, srv, "lobby", roomtest.Faults{AnswerDelay: 200 * time.Millisecond})
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if _, err := c.List(ctx2, "lobby"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("List with a late answer = %v, want DeadlineExceeded", err)
	}
	logs.await(t, "room answered an unknown message id")
	if _, err := c.List(testCtx(t), "lobby"); err != nil {
		t.Fatalf("List after the late answer: %v", err)
	}
}

func TestCallTimeoutDefault(t *testing.T) {
	srv := demo(t)
	setFaults(t, srv, "lobby", roomtest.Faults{NeverAnswer: true})
	c := newClient(t, srv, func(cfg *Config) { cfg.CallTimeout = 30 * time.Millisecond })
	_, err := c.List(context.Background(), "lobby")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("List without a deadline = %v, want CallTimeout to end it", err)
	}
}

func TestAnswerDelay(t *testing.T) {
	srv := demo(t)
	setFaults(t, srv, "lobby", roomtest.Faults{AnswerDelay: 30 * time.Millisecond})
	list, err := newClient(t, srv).List(testCtx(t), "lobby")
	if err != nil || len(list.Services) != 4 {
		t.Fatalf("List with delayed answers = %v, %v", list, err)
	}
}

// TestFramingFaults checks that what the room sends is read the same way
// whatever its chunking and whatever it adds around the answers.
func TestFramingFaults(t *testing.T) {
	srv := demo(t)
	want, err := newClient(t, srv).List(testCtx(t), "lobby")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    roomtest.Faults
	}{
		{"one byte per frame", roomtest.Faults{ChunkSize: 1}},
		{"chunks of 7", roomtest.Faults{ChunkSize: 7}},
		{"chunks of 1000", roomtest.Faults{ChunkSize: 1000}},
		{"extra header keys", roomtest.Faults{ExtraHeaderKeys: true}},
		{"noise", roomtest.Faults{Noise: true}},
		{"stray answers", roomtest.Faults{StrayAnswers: true}},
		{"connected first", roomtest.Faults{SwapHandshake: true}},
		{"all at once", roomtest.Faults{ChunkSize: 3, ExtraHeaderKeys: true,
			Noise: true, StrayAnswers: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setFaults(t, srv, "lobby", tt.f)
			c := newClient(t, srv) // a fresh connection, handshake included
			got, err := c.List(testCtx(t), "lobby")
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("List differs (-want +got):\n%s", diff)
			}
			err = c.Restart(testCtx(t), "lobby", "svc-nope")
			if !errors.Is(err, CodeServiceNotFound) {
				t.Errorf("Restart(svc-nope) = %v, want code 7001", err)
			}
		})
	}
}
