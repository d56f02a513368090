package roomclient_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
	"github.com/roomops/roombot/roomclient/internal/wire"
	"github.com/roomops/roombot/roomclient/roomtest"
)

// roomAnswer is the services/list answer for a room of n services, each
// with a port and an event, as the simulator encodes it, cut into the
// frames a client reads.
func roomAnswer(tb testing.TB, n int) [][]byte {
	var body struct {
		Type string `json:"type"`
		JSON struct {
			ServicesJSON  []string         `json:"services_json"`
			ServiceStates []roomtest.State `json:"service_states"`
		} `json:"json"`
	}
	body.Type = "json"
	for i := range n {
		id := fmt.Sprintf("svc-%05d", i)
		body.JSON.ServicesJSON = append(body.JSON.ServicesJSON, fmt.Sprintf(
			`{"version":"v1","kind":"Service","id":%q,"metadata":{"name":"app-%d",`+
				`"description":"service %d"},"container":{"image":"ghcr.io/acme/app:%d"},`+
				`"ports":[{"num":8080,"liveness":"/healthz"}]}`, id, i, i, i))
		body.JSON.ServiceStates = append(body.JSON.ServiceStates, roomtest.State{
			ServiceID: id, State: "running", ContainerID: roomtest.Ptr("c-" + id),
			StartedAt: roomtest.Ptr(1767250000.25), RestartCount: i % 4,
			LastExitCode: roomtest.Ptr(137), LastExitAt: roomtest.Ptr(1767249990.5),
			Status: roomtest.Status{Ports: []roomtest.PortState{{Num: "8080",
				Liveness: roomtest.Ptr("/healthz"), LivenessStatus: "ready",
				LastCheckedAt: roomtest.Ptr(1767260000.5)}}},
			Events: []roomtest.Event{{Type: "Normal", Reason: "Started",
				Message: "started container", Count: 1,
				FirstTimestamp: 1767250000.25, LastTimestamp: 1767250000.25}},
		})
	}
	b, err := json.Marshal(body)
	if err != nil {
		tb.Fatal(err)
	}
	return wire.Encode(7, wire.TypeResponse, wire.Pack(b, nil), 0)
}

// decode reassembles frames and decodes the list, as the client's reader
// and List do.
func decode(tb testing.TB, frames [][]byte) *roomclient.List {
	var asm wire.Assembler
	var msg wire.Message
	for _, f := range frames {
		msg, _, _ = asm.Feed(f)
	}
	header, _, err := wire.Unpack(msg.Body)
	if err != nil {
		tb.Fatal(err)
	}
	l, err := roomclient.DecodeList("load", header)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// page renders page 2 (the first page past the top) and encodes it as
// the bot posts it.
func page(tb testing.TB, l *roomclient.List) []byte {
	m := commands.List(l, 2, true, time.Unix(1767260000, 0))
	b, err := json.Marshal(m.Blocks)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkListPipeline is a list command's CPU work on the bot, room
// call aside: the answer's frames reassembled and decoded, the page
// rendered and encoded. cpu-ms/op is the process's CPU time per list,
// garbage collection included, which is what the two cores pay; ns/op
// is wall time and moves with the machine's other load.
func BenchmarkListPipeline(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		frames := roomAnswer(b, n)
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				page(b, decode(b, frames))
			}
			b.ReportMetric(float64(cpuTime()-start)/1e6/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkListHeap measures memory, not time: list-B is the heap a
// decoded List holds, which grows with the room, and page-B what
// rendering and encoding one page allocate, which does not.
func BenchmarkListHeap(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		frames := roomAnswer(b, n)
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			var held, paged float64
			for b.Loop() {
				before := heap()
				l := decode(b, frames)
				held = float64(heap() - before)
				paged = allocated(func() { page(b, l) })
				runtime.KeepAlive(l)
			}
			b.ReportMetric(held, "list-B")
			b.ReportMetric(held/float64(n), "list-B/service")
			b.ReportMetric(paged, "page-B")
		})
	}
}

// heap is the live heap after a collection.
func heap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// allocated is how many bytes f allocates.
func allocated(f func()) float64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc - before.TotalAlloc)
}

// cpuTime is the process's user and system CPU time, in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
