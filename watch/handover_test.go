package watch

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

var lobbyOps = Pair{Room: "lobby", Channel: opsChannel}

// handovers runs test with the lease on lobby passing from replica a to
// replica b in each way it does: a stops and lets it go, with the stores
// in memory and in Redis; or a dies and its lease lapses (in memory: a
// lease in Redis lapses on Redis's own clock).
func handovers(t *testing.T, test func(t *testing.T, h *harness, a, b *Watcher, handOver func())) {
	run := func(name string, redis, lapse bool) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, nil, slowRestarts)
			if redis {
				h.inRedis(t)
			}
			a, b := h.watcher("a", lobbyOps), h.watcher("b", lobbyOps)
			handOver := func() {
				shutDown(a)
				h.start(b)
			}
			if lapse {
				handOver = func() { untilLapsed(h, a.leaseTTL, b) }
			}
			test(t, h, a, b, handOver)
		})
	}
	run("stop/memory", false, false)
	run("stop/redis", true, false)
	run("lapse/memory", false, true)
}

// A replica goes while a service it told of is down; the next holder of
// the lease tells, in the same message, that it runs again. It used to
// start from a baseline with the service already down, so the recovery
// was never told and the channel read "Now restarting" for good.
func TestHandoverTellsTheRecovery(t *testing.T) {
	handovers(t, func(t *testing.T, h *harness, a, b *Watcher, handOver func()) {
		h.start(a)
		h.srv.RestartService("lobby", "svc-worker", 137)
		h.tick(a)
		first := h.one(opsChannel)
		says(t, "a's message", first.last(), "restarted by itself", "Now restarting")

		handOver()
		h.srv.Recover("lobby", "svc-worker")
		h.tick(b)

		m := h.one(opsChannel)
		if m.ts != first.ts || len(m.versions) != 2 {
			t.Errorf("got message %s with %d versions, want %s updated once",
				m.ts, len(m.versions), first.ts)
		}
		says(t, "message after the handover", m.last(), "restart count 3", "Running again")
	})
}

// A crash loop that goes on across a handover stays one message. The
// new holder used to post a second one.
func TestHandoverKeepsACrashLoopInOneMessage(t *testing.T) {
	handovers(t, func(t *testing.T, h *harness, a, b *Watcher, handOver func()) {
		h.start(a)
		h.srv.RestartService("lobby", "svc-worker", 137)
		h.tick(a)

		handOver()
		h.srv.RestartService("lobby", "svc-worker", 137)
		h.tick(b)

		m := h.one(opsChannel)
		if len(m.versions) != 2 {
			t.Errorf("message has %d versions, want 2", len(m.versions))
		}
		says(t, "crash loop message", m.last(), "restarted 2 times", "restart count 4")
	})
}

// A room's outage is told once and its end once, whoever polls it, the
// end counted from the first poll that failed. The new holder used to
// say it was unreachable a second time, and never that it answered
// again.
func TestHandoverTellsAnOutageOnce(t *testing.T) {
	handovers(t, func(t *testing.T, h *harness, a, b *Watcher, handOver func()) {
		h.start(a)
		h.srv.SetReachable("lobby", false)
		h.tick(a)
		down := h.clock.now()
		for range UnreachableAfter - 1 {
			h.tick(a)
		}
		says(t, "a's message", h.one(opsChannel).last(), "is unreachable since 2025-03-01 12:00 UTC")

		handOver()
		for range UnreachableAfter + 1 {
			h.tick(b)
		}
		h.srv.SetReachable("lobby", true)
		h.tick(b)
		back := h.clock.now()
		h.tick(b)

		msgs := h.post.messages(opsChannel)
		if len(msgs) != 2 {
			t.Fatalf("%d messages, want 2 (unreachable, then back):\n%s", len(msgs), dump(msgs))
		}
		m := commands.Reachable("lobby", back.Sub(down))
		want, _ := json.Marshal(map[string]any{"text": m.Text, "blocks": m.Blocks})
		if got := msgs[1].last(); got != string(want) {
			t.Errorf("b's message = %s\nwant %s", got, want)
		}
	})
}

// A lease lost and taken again in one process keeps what the watch knew.
func TestLeaseRetakenKeepsTheEpisode(t *testing.T) {
	h := newHarness(t, nil, slowRestarts)
	a := h.watcher("a", lobbyOps)
	h.start(a)
	h.srv.RestartService("lobby", "svc-worker", 137)
	h.tick(a)

	// Someone else holds the lease for a poll.
	h.claims.Release(h.ctx, leaseKey("lobby"), "a")
	if err := h.claims.Claim(h.ctx, leaseKey("lobby"), "x", time.Minute); err != nil {
		t.Fatal(err)
	}
	h.tick(a)
	if held(a) != 0 {
		t.Fatal("a still holds the lease another replica took")
	}
	h.claims.Release(h.ctx, leaseKey("lobby"), "x")
	h.srv.Recover("lobby", "svc-worker")
	h.tick(a)

	m := h.one(opsChannel)
	if len(m.versions) != 2 {
		t.Errorf("message has %d versions, want 2", len(m.versions))
	}
	says(t, "message", m.last(), "Running again")
}

// A replica that dies right after its first post landed: its state
// names that post, saved as soon as the post landed rather than at the
// next poll, so whoever takes over the lapsed lease updates it.
func TestTakeoverAfterALapseUpdatesTheMessage(t *testing.T) {
	h := newHarness(t, nil, slowRestarts)
	g := &gatedPoster{recorder: h.post, gate: make(chan struct{}),
		entered: make(chan struct{}, 1)}
	a, b := h.watcherWith("a", g, lobbyOps), h.watcher("b", lobbyOps)
	h.start(a)
	h.srv.RestartService("lobby", "svc-worker", 137)
	h.clock.add(tickStep)
	a.turn(h.ctx) // the poll saves its state before the post lands
	<-g.entered
	close(g.gate)
	a.out.wait()
	a.round(h.ctx) // nothing due: only the new ts is saved

	// a is gone; b takes over once a's lease lapses.
	untilLapsed(h, a.leaseTTL, b)
	if held(b) != 1 {
		t.Fatal("b did not take the lapsed lease")
	}
	h.srv.Recover("lobby", "svc-worker")
	h.tick(b)
	m := h.one(opsChannel)
	if len(m.versions) != 2 {
		t.Errorf("message has %d versions, want 2", len(m.versions))
	}
	says(t, "message", m.last(), "Running again")
	shutDown(a)
}

// A post under way when a replica stops is let land before the state is
// saved, so the state names it and the next holder updates it. The
// state used to be saved, and the lease released, first.
func TestStopSavesThePostsUnderWay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rooms := newStubRooms("lobby", "svc-worker")
		rec := newRecorder(t)
		g := &gatedPoster{recorder: rec, gate: make(chan struct{}),
			entered: make(chan struct{}, 1)}
		st := NewMemoryState(nil)
		cl := claims.NewMemory(nil)
		replica := func(name string, p Poster) *Watcher {
			return New(Config{Lister: rooms, Poster: p, Claims: cl, State: st,
				Configured: []Pair{lobbyOps}, Interval: interval, Instance: name})
		}
		ctx := context.Background()
		a, b := replica("a", g), replica("b", rec)
		a.round(ctx)
		time.Sleep(tickStep)
		a.round(ctx) // baseline

		rooms.restart("lobby", "svc-worker")
		time.Sleep(tickStep)
		a.turn(ctx)
		<-g.entered
		stopped := make(chan struct{})
		go func() {
			shutDown(a)
			close(stopped)
		}()
		synctest.Wait() // a's stop has gone as far as it can with the post held
		close(g.gate)
		<-stopped

		b.round(ctx)
		time.Sleep(tickStep)
		rooms.restart("lobby", "svc-worker")
		b.round(ctx)
		msgs := rec.messages(opsChannel)
		if len(msgs) != 1 || len(msgs[0].versions) != 2 {
			t.Fatalf("want one message updated once, got:\n%s", dump(msgs))
		}
		if !strings.Contains(msgs[0].last(), "restarted 2 times") {
			t.Errorf("message = %s, want it to count 2 restarts", msgs[0].last())
		}
		shutDown(b)
	})
}

// stubRooms lists rooms from memory, without a network, so that a test
// can run in a synctest bubble.
type stubRooms struct {
	// mu guards rooms.
	mu    sync.Mutex
	rooms map[string][]roomclient.Service
}

// newStubRooms returns room with the services ids, running.
func newStubRooms(room string, ids ...string) *stubRooms {
	var svcs []roomclient.Service
	for _, id := range ids {
		svcs = append(svcs, roomclient.Service{ID: id, Name: strings.TrimPrefix(id, "svc-"),
			State: &roomclient.State{ServiceID: id, State: "running", ContainerID: "c-0"}})
	}
	return &stubRooms{rooms: map[string][]roomclient.Service{room: svcs}}
}

func (s *stubRooms) List(_ context.Context, room string) (*roomclient.List, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := &roomclient.List{Room: room}
	for _, svc := range s.rooms[room] {
		st := *svc.State
		svc.State = &st
		l.Services = append(l.Services, svc)
	}
	return l, nil
}

// restart makes the service exit with 137 and stay "restarting".
func (s *stubRooms) restart(room, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, svc := range s.rooms[room] {
		if svc.ID == id {
			st := svc.State
			st.RestartCount++
			st.ContainerID = "c-" + string(rune('0'+st.RestartCount))
			st.State, st.LastExitCode, st.LastExitAt = "restarting", code(137), time.Now()
		}
	}
}

// A service down for longer than the state's ttl, with nothing new to
// tell: its room's state is saved again now and then, so a replica that
// takes over after that still tells the recovery.
func TestTakeoverAfterAQuietOutageTellsTheRecovery(t *testing.T) {
	h := newHarness(t, nil, slowRestarts)
	a, b := h.watcher("a", lobbyOps), h.watcher("b", lobbyOps)
	h.start(a)
	h.srv.RestartService("lobby", "svc-worker", 137)
	h.tick(a)
	for quiet := time.Duration(0); quiet <= stateTTL; quiet += tickStep {
		h.tick(a)
	}

	// a dies; b takes over once a's lease lapses.
	untilLapsed(h, a.leaseTTL, b)
	h.srv.Recover("lobby", "svc-worker")
	h.tick(b)
	m := h.one(opsChannel)
	if len(m.versions) != 2 {
		t.Errorf("message has %d versions, want 2", len(m.versions))
	}
	says(t, "message", m.last(), "Running again")
	shutDown(a)
}

// A change that tells nothing still changes the baseline saved: here a
// restart through roombot, kept quiet by its mark. Whoever takes the
// room over after the mark has gone must not announce it.
func TestTakeoverKeepsAQuietRestartQuiet(t *testing.T) {
	h := newHarness(t, nil, slowRestarts)
	a, b := h.watcher("a", lobbyOps), h.watcher("b", lobbyOps)
	h.start(a)
	if err := a.Performed(h.ctx, "lobby", "svc-web", 0); err != nil {
		t.Fatal(err)
	}
	if err := h.client.Restart(h.ctx, "lobby", "svc-web"); err != nil {
		t.Fatal(err)
	}
	h.tick(a)
	h.srv.Recover("lobby", "svc-web")
	h.tick(a)

	// a dies; b takes over once a's lease lapses, the mark long gone.
	untilLapsed(h, a.leaseTTL, b)
	h.tick(b)
	if msgs := h.post.messages(opsChannel); len(msgs) != 0 {
		t.Errorf("roombot's own restart announced after a takeover:\n%s", dump(msgs))
	}
	shutDown(a)
}

// An outage over is over for whoever polls the room next: the end is
// told once.
func TestTakeoverAfterAnOutageEndedTellsNothing(t *testing.T) {
	h := newHarness(t, nil, slowRestarts)
	a, b := h.watcher("a", lobbyOps), h.watcher("b", lobbyOps)
	h.start(a)
	h.srv.SetReachable("lobby", false)
	for range UnreachableAfter {
		h.tick(a)
	}
	h.srv.SetReachable("lobby", true)
	h.tick(a)
	if n := len(h.post.messages(opsChannel)); n != 2 {
		t.Fatalf("%d messages, want 2 (unreachable, then back)", n)
	}

	// a dies; b takes over once a's lease lapses.
	untilLapsed(h, a.leaseTTL, b)
	h.tick(b)
	if msgs := h.post.messages(opsChannel); len(msgs) != 2 {
		t.Errorf("after the takeover, %d messages, want still 2:\n%s", len(msgs), dump(msgs))
	}
	shutDown(a)
}
