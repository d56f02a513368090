//go:build unix

package watch

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
	"github.com/roomops/roombot/roomclient/roomtest"
)

const (
	benchRooms    = 50
	benchServices = 10
)

// BenchmarkPoll50Rooms measures one round of polls of 50 rooms of 10
// services each, every room watched by two channels, with one service
// restarting somewhere in every round, as the watcher would do once an
// interval:
//
//   - simulator: the real room client against roomtest on loopback. The
//     CPU figures are the whole process's, so they include the
//     simulator's side of every call too: an upper bound.
//   - watcher: a Lister that hands out fresh lists without a network,
//     which leaves the watcher's own cost: leases, Diff, state saves,
//     messages.
//
// Beside ns/op and allocations it reports CPU time per round; the room
// calls per round, as the simulator or the Lister counted them; and,
// at DefaultInterval, where each room is polled once an interval on
// average (give or take a tenth), the room calls and the CPU time a
// minute that these imply. It also reports the heap the watcher keeps
// for 50 rooms (baselines, episodes, outbox; in the simulator case the
// room client's connections too), and the bytes of state a room keeps
// in the StateStore.
//
//	go test ./watch -run '^$' -bench Poll50Rooms -benchtime 200x -count 3
func BenchmarkPoll50Rooms(b *testing.B) {
	b.Run("simulator", func(b *testing.B) {
		h := newHarness(b, benchFixture())
		h.post = nil
		state := NewMemoryState(h.clock.now)
		heap := heapInUse()
		w := New(Config{Lister: h.client, Poster: nopPoster{}, Claims: h.claims,
			State: state, Configured: benchPairs(), Interval: interval,
			Instance: "a", Now: h.clock.now})
		h.start(w)
		h.tick(w) // connections open
		kept := heapInUse() - heap
		calls := func() int {
			n := 0
			for r := range benchRooms {
				n += h.srv.Calls(fmt.Sprintf("room-%02d", r), "list")
			}
			return n
		}
		measure(b, calls, func(i int) {
			room := fmt.Sprintf("room-%02d", i%benchRooms)
			h.srv.RestartService(room, fmt.Sprintf("svc-%02d", i%benchServices), 137)
			h.tick(w)
		})
		reportKept(b, kept, state)
	})
	b.Run("watcher", func(b *testing.B) {
		h := newHarness(b, benchFixture())
		rooms := &churn{restarts: map[string]int{}}
		state := NewMemoryState(h.clock.now)
		heap := heapInUse()
		w := New(Config{Lister: rooms, Poster: nopPoster{}, Claims: h.claims,
			State: state, Configured: benchPairs(), Interval: interval,
			Instance: "a", Now: h.clock.now})
		h.start(w)
		h.tick(w)
		kept := heapInUse() - heap
		measure(b, rooms.listed, func(i int) {
			rooms.restart(fmt.Sprintf("room-%02d", i%benchRooms))
			h.tick(w)
		})
		reportKept(b, kept, state)
	})
}

// measure runs round b.N times and reports the CPU it took, and the room
// calls that calls counted.
func measure(b *testing.B, calls func() int, round func(i int)) {
	b.ReportAllocs()
	cpu, before := cpuTime(), calls()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		round(i)
	}
	b.StopTimer()
	perRound := (cpuTime() - cpu) / time.Duration(b.N)
	callsPerRound := float64(calls()-before) / float64(b.N)
	roundsPerMinute := float64(time.Minute) / float64(DefaultInterval)
	b.ReportMetric(float64(perRound.Microseconds())/1000, "cpu-ms/round")
	b.ReportMetric(callsPerRound, "room-calls/round")
	b.ReportMetric(callsPerRound*roundsPerMinute, "room-calls/min")
	b.ReportMetric(float64(perRound.Microseconds())/1000*roundsPerMinute, "cpu-ms/min")
}

// reportKept reports the heap kept by the watch of 50 rooms, and the
// bytes a room's state takes in the StateStore.
func reportKept(b *testing.B, kept uint64, state *MemoryState) {
	n, size := 0, 0
	state.mu.Lock()
	for _, e := range state.rooms {
		n, size = n+1, size+len(e.state)
	}
	state.mu.Unlock()
	b.ReportMetric(float64(kept)/1024, "kB-kept")
	if n > 0 {
		b.ReportMetric(float64(size)/float64(n), "state-B/room")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func benchPairs() []Pair {
	var out []Pair
	for i := range benchRooms {
		r := fmt.Sprintf("room-%02d", i)
		out = append(out, Pair{Room: r, Channel: opsChannel},
			Pair{Room: r, Channel: devChannel})
	}
	return out
}

// benchFixture has 50 rooms of 10 running services, each with a port,
// a liveness check and a few events, like the demo's lobby.
func benchFixture() *roomtest.Fixture {
	fx := &roomtest.Fixture{Rooms: map[string]*roomtest.Room{}}
	for i := range benchRooms {
		r := &roomtest.Room{}
		for j := range benchServices {
			id := fmt.Sprintf("svc-%02d", j)
			at := roomtest.At(time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC))
			ev := roomtest.Event{Type: "Normal", Reason: "Started",
				Message: "started container c-" + id, Count: 1,
				FirstTimestamp: *at, LastTimestamp: *at}
			r.Services = append(r.Services, roomtest.Service{
				Spec: fmt.Appendf(nil, `{"version":"v1","kind":"Service","id":%q,`+
					`"metadata":{"name":"service-%02d","description":"a service"},`+
					`"container":{"image":"ghcr.io/acme/app:1.%d"},`+
					`"ports":[{"num":8080,"liveness":"/healthz"}]}`, id, j, j),
				State: &roomtest.State{ServiceID: id, State: "running",
					ContainerID: roomtest.Ptr("c-" + id), StartedAt: at,
					RestartCount: 1, LastExitCode: roomtest.Ptr(0), LastExitAt: at,
					Status: roomtest.Status{Ports: []roomtest.PortState{{
						Num: "8080", Liveness: roomtest.Ptr("/healthz"),
						LivenessStatus: "ready", LastCheckedAt: at}}},
					Events: []roomtest.Event{ev, ev, ev}},
			})
		}
		fx.Rooms[fmt.Sprintf("room-%02d", i)] = r
	}
	return fx
}

// nopPoster takes every message and drops it, so that the benchmarks
// measure the watcher rather than a Poster.
type nopPoster struct{}

func (nopPoster) Post(context.Context, string, commands.Message) (string, error) {
	return "1.0", nil
}

func (nopPoster) Update(context.Context, string, string, commands.Message) error {
	return nil
}

// churn lists rooms of benchServices services without a network: each
// call builds a fresh list, as decoding an answer would. restart makes
// the first service of a room restart.
type churn struct {
	// mu guards restarts and calls.
	mu       sync.Mutex
	restarts map[string]int
	calls    int
}

// listed returns how many lists were asked for.
func (c *churn) listed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

func (c *churn) restart(room string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.restarts[room]++
}

func (c *churn) List(_ context.Context, room string) (*roomclient.List, error) {
	c.mu.Lock()
	n := c.restarts[room]
	c.calls++
	c.mu.Unlock()

	l := &roomclient.List{Room: room, Services: make([]roomclient.Service, benchServices)}
	started := time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC)
	for j := range l.Services {
		id := fmt.Sprintf("svc-%02d", j)
		st := &roomclient.State{ServiceID: id, State: "running",
			ContainerID: "c-" + id, StartedAt: started, RestartCount: 1,
			LastExitCode: new(int),
			Ports: []roomclient.PortStatus{{Num: "8080", Liveness: "/healthz",
				LivenessStatus: "ready"}}}
		if j == 0 {
			st.RestartCount += n
		}
		l.Services[j] = roomclient.Service{
			ID: id, Name: "service-" + id, Image: "ghcr.io/acme/app:1", Enabled: true,
			Ports: []roomclient.Port{{Num: "8080", Type: "http", Liveness: "/healthz"}},
			State: st,
		}
	}
	return l, nil
}
