package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/roomclient"
	"github.com/roomops/roombot/roomclient/roomtest"
)

// Restarts stay "restarting" until the test calls Recover, so a poll can
// see a service down.
var slowRestarts = roomtest.WithRestartDelays(time.Hour, time.Hour)

func TestRestartBehindTheBotsBack(t *testing.T) {
	h := newHarness(t, nil, slowRestarts)
	w := h.watcher("a", Pair{Room: "lobby", Channel: opsChannel})
	if err := w.Watch(h.ctx, "lobby", devChannel); err != nil {
		t.Fatal(err)
	}
	h.start(w)

	// The worker had 2 restarts and exited 0 last; the room kills it.
	if err := h.srv.RestartService("lobby", "svc-worker", 137); err != nil {
		t.Fatal(err)
	}
	h.tick(w)
	first := map[string]string{}
	for _, ch := range []string{opsChannel, devChannel} {
		m := h.one(ch)
		says(t, "message in "+ch, m.last(), "`worker` in `lobby` restarted by itself",
			"restart count 3", "last exit 137", "Now restarting")
		first[ch] = m.ts
	}

	h.tick(w) // still restarting: nothing new to say
	for _, ch := range []string{opsChannel, devChannel} {
		if m := h.one(ch); len(m.versions) != 1 {
			t.Errorf("channel %s: message updated with nothing new:\n%s", ch, m.last())
		}
	}

	if err := h.srv.Recover("lobby", "svc-worker"); err != nil {
		t.Fatal(err)
	}
	h.tick(w)
	h.tick(w)
	for _, ch := range []string{opsChannel, devChannel} {
		m := h.one(ch)
		if m.ts != first[ch] || len(m.versions) != 2 {
			t.Errorf("channel %s: got message %s with %d versions, want %s updated once",
				ch, m.ts, len(m.versions), first[ch])
		}
		says(t, "updated message in "+ch, m.last(), "`worker` in `lobby`",
			"restart count 3", "last exit 137", "Running again")
	}
}

func TestCrashLoopIsOneMessage(t *testing.T) {
	h := newHarness(t, nil, slowRestarts)
	w := h.watcher("a", Pair{Room: "lobby", Channel: opsChannel})
	h.start(w)

	// Ten restarts, two between polls: 5 polls, 82.5 s.
	start := h.clock.now()
	for range 5 {
		for range 2 {
			if err := h.srv.RestartService("lobby", "svc-api", 137); err != nil {
				t.Fatal(err)
			}
		}
		h.tick(w)
	}
	if took := h.clock.now().Sub(start); took > 2*time.Minute {
		t.Fatalf("the crash loop took %s; the test wants it within 2 min", took)
	}
	m := h.one(opsChannel)
	if len(m.versions) != 5 {
		t.Errorf("message has %d versions, want 5 (one per poll)", len(m.versions))
	}
	says(t, "crash loop message", m.last(), "`api` in `lobby` restarted 10 times",
		"restart count 10", "last exit 137")

	if err := h.srv.Recover("lobby", "svc-api"); err != nil {
		t.Fatal(err)
	}
	h.tick(w)
	m = h.one(opsChannel)
	says(t, "crash loop message", m.last(), "restarted 10 times", "Running again")

	// Once the message has been quiet for a Window, a new restart is a
	// new message.
	for quiet := time.Duration(0); quiet <= Window; quiet += tickStep {
		h.tick(w)
	}
	h.srv.RestartService("lobby", "svc-api", 1)
	h.tick(w)
	msgs := h.post.messages(opsChannel)
	if len(msgs) != 2 {
		t.Fatalf("after a quiet Window: %d messages, want 2:\n%s", len(msgs), dump(msgs))
	}
	says(t, "new message", msgs[1].last(), "restarted by itself", "restart count 11", "last exit 1")
}

func TestPerformedRestartIsNotAnnounced(t *testing.T) {
	h := newHarness(t, nil, slowRestarts)
	w := h.watcher("a", Pair{Room: "lobby", Channel: opsChannel})
	h.start(w)

	// As the bot does: mark, then restart through the room.
	if err := w.Performed(h.ctx, "lobby", "svc-web", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := h.client.Restart(h.ctx, "lobby", "svc-web"); err != nil {
		t.Fatal(err)
	}
	h.tick(w)
	h.srv.Recover("lobby", "svc-web")
	h.tick(w)
	if msgs := h.post.messages(opsChannel); len(msgs) != 0 {
		t.Fatalf("roombot's own restart was announced:\n%s", dump(msgs))
	}

	// Other services are not kept quiet.
	h.srv.RestartService("lobby", "svc-worker", 137)
	h.tick(w)
	says(t, "worker message", h.one(opsChannel).last(), "`worker`")

	// The mark lasts a minute and two intervals; after that a restart
	// nobody asked for is told.
	for waited := 2 * tickStep; waited <= time.Minute+2*interval; waited += tickStep {
		h.tick(w)
	}
	h.srv.RestartService("lobby", "svc-web", 137)
	h.tick(w)
	msgs := h.post.messages(opsChannel)
	if len(msgs) != 2 {
		t.Fatalf("after the mark: %d messages, want 2:\n%s", len(msgs), dump(msgs))
	}
	says(t, "web message", msgs[1].last(), "`web` in `lobby` restarted by itself",
		"restart count 3", "last exit 137")
}

func TestUnreachableRoomIsToldOnce(t *testing.T) {
	h := newHarness(t, nil, slowRestarts)
	w := h.watcher("a", Pair{Room: "lobby", Channel: opsChannel},
		Pair{Room: "lobby", Channel: devChannel})
	h.start(w)

	h.srv.SetReachable("lobby", false)
	for range UnreachableAfter - 1 {
		h.tick(w)
	}
	if msgs := h.post.messages(opsChannel); len(msgs) != 0 {
		t.Fatalf("unreachable reported after %d polls:\n%s", UnreachableAfter-1, dump(msgs))
	}
	for range 5 {
		h.tick(w)
	}
	for _, ch := range []string{opsChannel, devChannel} {
		says(t, "message in "+ch, h.one(ch).last(), "Room `lobby` is unreachable since",
			"connection refused with HTTP 503")
	}

	// A restart during the outage is told once the room answers.
	h.srv.RestartService("lobby", "svc-worker", 137)
	h.srv.SetReachable("lobby", true)
	h.tick(w)
	h.tick(w)
	h.tick(w)
	for _, ch := range []string{opsChannel, devChannel} {
		msgs := h.post.messages(ch)
		if len(msgs) != 3 {
			t.Fatalf("channel %s: %d messages, want 3:\n%s", ch, len(msgs), dump(msgs))
		}
		says(t, "second message in "+ch, msgs[1].last(), "Room `lobby` answers again after 1 min")
		says(t, "third message in "+ch, msgs[2].last(), "`worker` in `lobby` restarted by itself",
			"restart count 3")
	}
}

// twoRooms is a fixture of n rooms r0…, each with three running services.
func rooms(n int) *roomtest.Fixture {
	fx := &roomtest.Fixture{Rooms: map[string]*roomtest.Room{}}
	for i := range n {
		r := &roomtest.Room{}
		for j := range 3 {
			id := fmt.Sprintf("s%d", j)
			r.Services = append(r.Services, roomtest.Service{
				Spec: []byte(fmt.Sprintf(`{"version":"v1","kind":"Service","id":%q,`+
					`"metadata":{"name":"svc-%d"},"container":{"image":"img"}}`, id, j)),
				State: &roomtest.State{ServiceID: id, State: "running",
					ContainerID: roomtest.Ptr("c-" + id), RestartCount: 0},
			})
		}
		fx.Rooms[fmt.Sprintf("r%d", i)] = r
	}
	return fx
}

func TestReplicasPollEachRoomOnce(t *testing.T) {
	names := []string{"r0", "r1", "r2", "r3", "r4", "r5"}
	h := newHarness(t, rooms(len(names)), slowRestarts)
	var conf []Pair
	for _, r := range names {
		conf = append(conf, Pair{Room: r, Channel: opsChannel})
	}
	a, b := h.watcher("a", conf...), h.watcher("b", conf...)
	// Added on one replica, heard from whichever polls the room.
	if err := a.Watch(h.ctx, "r1", devChannel); err != nil {
		t.Fatal(err)
	}
	// b held r3…r5 before it restarted under the same name.
	for _, r := range names[3:] {
		h.claims.Claim(h.ctx, leaseKey(r), "b", 3*interval)
	}
	h.start(a, b)

	// Each room is polled once a round, by the replica with its lease.
	for range 3 {
		onePollEach(t, h, names, a, b)
	}
	if ha, hb := held(a), held(b); ha != 3 || hb != 3 {
		t.Errorf("leases: a holds %d rooms, b %d; want 3 each", ha, hb)
	}

	// A restart in every room; and a restart roombot performs, marked
	// on b while a polls the room.
	if err := b.Performed(h.ctx, "r0", "s1", time.Minute); err != nil {
		t.Fatal(err)
	}
	restartAll(h, names, "s0")
	h.client.Restart(h.ctx, "r0", "s1")
	h.tick(a, b)
	heardOnce(t, h, opsChannel, len(names))
	heardOnce(t, h, devChannel, 1)

	// b stops; once its leases lapse, a takes its rooms and carries on
	// from the state b saved, and tells what happens after.
	untilLapsed(h, b.leaseTTL, a)
	if held(a) != len(names) {
		t.Fatalf("after b's leases lapsed, a holds %d rooms, want %d", held(a), len(names))
	}
	onePollEach(t, h, names, a)
	restartAll(h, names, "s2")
	h.tick(a)
	heardOnce(t, h, opsChannel, 2*len(names))

	// a stops, and b comes back: the state it saved itself before must
	// not make it tell a's news again.
	untilLapsed(h, a.leaseTTL, b)
	if held(b) != len(names) {
		t.Fatalf("after a's leases lapsed, b holds %d rooms, want %d", held(b), len(names))
	}
	onePollEach(t, h, names, b)
	restartAll(h, names, "s1")
	h.tick(b)
	heardOnce(t, h, opsChannel, 3*len(names))
	heardOnce(t, h, devChannel, 3)
}

// untilLapsed runs rounds of w until leases of ttl taken before have
// lapsed, and one more for w to poll the rooms it then took.
func untilLapsed(h *harness, ttl time.Duration, w *Watcher) {
	for waited := time.Duration(0); waited <= ttl+tickStep; waited += tickStep {
		h.tick(w)
	}
}

func held(w *Watcher) (n int) {
	for _, r := range w.rooms {
		if r.leased {
			n++
		}
	}
	return n
}

func restartAll(h *harness, rooms []string, id string) {
	h.t.Helper()
	for _, r := range rooms {
		if err := h.srv.RestartService(r, id, 137); err != nil {
			h.t.Fatal(err)
		}
	}
}

// onePollEach runs a round of the replicas and checks that each room
// was listed once in it.
func onePollEach(t *testing.T, h *harness, names []string, ws ...*Watcher) {
	t.Helper()
	before := h.lists(names...)
	h.tick(ws...)
	for r, n := range h.lists(names...) {
		if n != before[r]+1 {
			t.Errorf("room %s: %d list calls in a round, want 1", r, n-before[r])
		}
	}
}

// heardOnce checks that channel has want messages, and that no two tell
// the same restart of the same service.
func heardOnce(t *testing.T, h *harness, channel string, want int) {
	t.Helper()
	msgs := h.post.messages(channel)
	if len(msgs) != want {
		t.Fatalf("channel %s: %d messages, want %d:\n%s", channel, len(msgs), want, dump(msgs))
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		head, _, _ := strings.Cut(m.versions[0], "restarted")
		if seen[head] {
			t.Errorf("channel %s heard twice: %s", channel, head)
		}
		seen[head] = true
	}
}

func TestUndeliverableMessagesAreLoggedOnce(t *testing.T) {
	h := newHarness(t, nil, slowRestarts)
	w := h.watcher("a", Pair{Room: "lobby", Channel: opsChannel},
		Pair{Room: "lobby", Channel: devChannel})
	h.start(w)
	h.post.failChannel(opsChannel, errors.New("channel_not_found"))

	for _, id := range []string{"svc-web", "svc-api", "svc-worker"} {
		h.srv.RestartService("lobby", id, 137)
		h.tick(w)
	}
	if n := h.logs.count(`level=WARN msg="watch message not delivered"`); n != 1 {
		t.Errorf("failed deliveries logged %d times at WARN, want once", n)
	}
	if msgs := h.post.messages(devChannel); len(msgs) != 3 {
		t.Errorf("the healthy channel got %d messages, want 3:\n%s", len(msgs), dump(msgs))
	}
	for _, m := range h.post.messages(devChannel) {
		if strings.Contains(m.last(), "channel_not_found") {
			t.Errorf("a Slack error went to Slack: %s", m.last())
		}
	}

	h.post.failChannel(opsChannel, nil)
	h.srv.Recover("lobby", "svc-web")
	h.tick(w)
	if n := h.logs.count(`msg="watch messages delivered again"`); n != 1 {
		t.Errorf("recovery of deliveries logged %d times, want once", n)
	}
}

func TestWatchAndUnwatch(t *testing.T) {
	h := newHarness(t, nil)
	w := h.watcher("a", Pair{Room: "lobby", Channel: opsChannel})
	ctx := h.ctx

	for _, ch := range []string{"D0DIRECT1", "#ops", "", "U0ALICE01"} {
		if err := w.Watch(ctx, "lobby", ch); !errors.Is(err, ErrNotChannel) {
			t.Errorf("Watch(lobby, %q) = %v, want ErrNotChannel", ch, err)
		}
		if err := w.Unwatch(ctx, "lobby", ch); !errors.Is(err, ErrNotChannel) {
			t.Errorf("Unwatch(lobby, %q) = %v, want ErrNotChannel", ch, err)
		}
	}
	if err := w.Watch(ctx, "<#C0OPS0001>", devChannel); err == nil {
		t.Errorf("Watch(<#C0OPS0001>, dev) = nil, want a refusal of the room name")
	}
	if err := w.Watch(ctx, "lobby", opsChannel); !errors.Is(err, ErrWatched) {
		t.Errorf("Watch of a configured pair = %v, want ErrWatched", err)
	}
	if err := w.Unwatch(ctx, "lobby", opsChannel); !errors.Is(err, ErrConfigured) {
		t.Errorf("Unwatch of a configured pair = %v, want ErrConfigured", err)
	}
	if err := w.Unwatch(ctx, "staging", devChannel); !errors.Is(err, ErrNotWatched) {
		t.Errorf("Unwatch of an unwatched pair = %v, want ErrNotWatched", err)
	}
	for _, r := range []string{"staging", "lobby"} {
		if err := w.Watch(ctx, r, devChannel); err != nil {
			t.Fatalf("Watch(%s, dev) = %v", r, err)
		}
	}
	if err := w.Watch(ctx, "staging", devChannel); !errors.Is(err, ErrWatched) {
		t.Errorf("Watch(staging, dev) again = %v, want ErrWatched", err)
	}
	got, err := w.Pairs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Pair{
		{Room: "lobby", Channel: opsChannel, Configured: true},
		{Room: "lobby", Channel: devChannel},
		{Room: "staging", Channel: devChannel},
	}
	sortPairs(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Pairs() = %v, want %v", got, want)
	}
	if err := w.Unwatch(ctx, "staging", devChannel); err != nil {
		t.Errorf("Unwatch(staging, dev) = %v", err)
	}
	if w.Durable() {
		t.Errorf("Durable() with memory pairs = true")
	}
}

// A room dropped from the pairs is let go: its lease is released.
func TestUnwatchedRoomIsReleased(t *testing.T) {
	h := newHarness(t, nil)
	w := h.watcher("a")
	w.Watch(h.ctx, "lobby", devChannel)
	h.start(w)
	if err := h.claims.Claim(h.ctx, leaseKey("lobby"), "b", time.Minute); err == nil {
		t.Fatal("the lease of a watched room was free")
	}
	w.Unwatch(h.ctx, "lobby", devChannel)
	before := h.srv.Calls("lobby", "list")
	h.tick(w)
	if n := h.srv.Calls("lobby", "list"); n != before {
		t.Errorf("an unwatched room was polled %d more times", n-before)
	}
	if err := h.claims.Claim(h.ctx, leaseKey("lobby"), "b", time.Minute); err != nil {
		t.Errorf("the lease of an unwatched room is still held: %v", err)
	}
}

// Run polls on its own clock, tells of a restart, and once its context
// is done returns with its leases released.
func TestRun(t *testing.T) {
	h := newHarness(t, nil)
	store := claims.NewMemory(nil)
	w := New(Config{
		Lister: h.client, Poster: h.post, Claims: store,
		Configured: []Pair{{Room: "lobby", Channel: opsChannel}},
		Interval:   20 * time.Millisecond, Instance: "a",
	})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()

	h.srv.WaitFor(t, "a baseline poll", func() bool { return h.srv.Calls("lobby", "list") >= 2 })
	h.srv.RestartService("lobby", "svc-worker", 137)
	h.post.await(t, "restart message", func() bool { return len(h.post.messages(opsChannel)) == 1 })
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of its context ending")
	}
	says(t, "message", h.post.messages(opsChannel)[0].last(), "`worker` in `lobby`")
	if err := store.Claim(h.ctx, leaseKey("lobby"), "b", time.Minute); err != nil {
		t.Errorf("the lease is still held after Run returned: %v", err)
	}
}

// Every kind of change, made through the simulator's own controls and
// read back through the real client, is told in the words it deserves.
func TestEveryKindOfChange(t *testing.T) {
	// Without restart delays, a crash fails its start at once.
	h := newHarness(t, nil)
	w := h.watcher("a", Pair{Room: "lobby", Channel: opsChannel})
	h.start(w)

	h.srv.Crash("lobby", "svc-api", 1, "exec: /app/api: no such file")
	at := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Minute)
	h.srv.ScheduleRestart("lobby", "svc-agent", at)
	h.srv.AddService("lobby", roomtest.Service{Spec: []byte(`{"version":"v1",` +
		`"kind":"Service","id":"svc-new","metadata":{"name":"search"},` +
		`"container":{"image":"img"}}`)})
	h.srv.RemoveService("lobby", "svc-web")
	h.tick(w)

	msgs := h.post.messages(opsChannel)
	if len(msgs) != 4 {
		t.Fatalf("%d messages, want 4:\n%s", len(msgs), dump(msgs))
	}
	says(t, "crash", msgs[0].last(), "`api` in `lobby` failed to start",
		"last exit 1", "start error `exec: /app/api: no such file`", "Now starting")
	says(t, "schedule", msgs[1].last(), "`assistant` in `lobby` has a restart scheduled",
		"restart scheduled for "+at.Format("2006-01-02 15:04 UTC"))
	says(t, "addition", msgs[2].last(), "`search` in `lobby` was added to the room")
	says(t, "removal", msgs[3].last(), "`web` in `lobby` was removed from the room")

	h.srv.Recover("lobby", "svc-api")
	h.tick(w)
	msgs = h.post.messages(opsChannel)
	if len(msgs) != 4 {
		t.Fatalf("%d messages after the recovery, want still 4:\n%s", len(msgs), dump(msgs))
	}
	says(t, "crash, updated", msgs[0].last(), "failed to start", "Running again")
}

// A crash the channel heard of, then a restart through roombot that
// brings the service back: the mark keeps the restart itself quiet, but
// the message told before says the service runs again, and the episode
// ends there. It used to stay "Now restarting" and, kept down, lend its
// old outage to the next restart's "Running again after …".
func TestPerformedRestartEndsTheToldEpisode(t *testing.T) {
	h := newHarness(t, nil, slowRestarts)
	w := h.watcher("a", Pair{Room: "lobby", Channel: opsChannel})
	h.start(w)
	h.srv.Crash("lobby", "svc-api", 1, "exec: /app/api: no such file")
	h.tick(w)
	says(t, "crash message", h.one(opsChannel).last(), "`api` in `lobby`")

	// As the bot does: mark, then restart through the room.
	if err := w.Performed(h.ctx, "lobby", "svc-api", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := h.client.Restart(h.ctx, "lobby", "svc-api"); err != nil {
		t.Fatal(err)
	}
	h.tick(w)
	h.srv.Recover("lobby", "svc-api")
	h.tick(w)
	m := h.one(opsChannel)
	says(t, "crash message after roombot's restart", m.last(), "Running again")
	if len(m.versions) != 2 {
		t.Errorf("crash message has %d versions, want 2: the crash, then back", len(m.versions))
	}
	if s := w.rooms["lobby"].stories["svc-api"]; s != nil && !s.down.IsZero() {
		t.Errorf("episode still down since %v while the service runs", s.down)
	}

	// Past the mark and a quiet Window, a restart nobody asked for is a
	// new episode, down since its own exit.
	for quiet := time.Duration(0); quiet <= Window+time.Minute; quiet += tickStep {
		h.tick(w)
	}
	h.srv.RestartService("lobby", "svc-api", 137)
	h.tick(w)
	if n := len(h.post.messages(opsChannel)); n != 2 {
		t.Fatalf("%d messages after a new restart, want 2", n)
	}
	l, err := h.client.List(h.ctx, "lobby")
	if err != nil {
		t.Fatal(err)
	}
	exitAt := serviceOf(t, l, "svc-api").State.LastExitAt
	if s := w.rooms["lobby"].stories["svc-api"]; s == nil || !s.down.Equal(exitAt) {
		t.Errorf("new episode down since %v, want its own exit at %v", s.down, exitAt)
	}
}

func serviceOf(t *testing.T, l *roomclient.List, id string) roomclient.Service {
	t.Helper()
	for _, s := range l.Services {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("room %s has no service %s", l.Room, id)
	return roomclient.Service{}
}

// Two replicas left to name themselves differ even when they share a
// host name and a pid, as two pods each running the bot as pid 1 do:
// with one name, both would hold every lease and both would poll.
func TestDefaultInstancesDiffer(t *testing.T) {
	h := newHarness(t, nil)
	cfg := Config{Lister: h.client, Poster: h.post}
	a, b := New(cfg), New(cfg)
	if a.instance == b.instance {
		t.Errorf("two watchers in one process both named %q", a.instance)
	}
	host, _ := os.Hostname()
	want := fmt.Sprintf("%s:%d:", host, os.Getpid())
	if !strings.HasPrefix(a.instance, want) {
		t.Errorf("instance = %q, want it to start with %q for the logs", a.instance, want)
	}
}

// The first list a watch gets of a room is its baseline and tells
// nothing, even of a service down then; polls that fail before it, or
// after, keep the baseline as it was, so what changed meanwhile is told
// once the room answers.
func TestFirstListIsASilentBaseline(t *testing.T) {
	h := newHarness(t, nil, slowRestarts)
	h.srv.RestartService("lobby", "svc-worker", 137) // down before anyone looks
	h.srv.SetReachable("lobby", false)
	w := h.watcher("a", lobbyOps)
	h.start(w)
	h.tick(w)
	h.srv.SetReachable("lobby", true)
	h.tick(w) // the baseline
	h.tick(w)
	if msgs := h.post.messages(opsChannel); len(msgs) != 0 {
		t.Fatalf("the first list told something:\n%s", dump(msgs))
	}

	h.srv.SetReachable("lobby", false)
	h.tick(w)
	h.srv.RestartService("lobby", "svc-api", 1)
	h.srv.SetReachable("lobby", true)
	h.tick(w)
	says(t, "message", h.one(opsChannel).last(), "`api` in `lobby` restarted by itself")
}
