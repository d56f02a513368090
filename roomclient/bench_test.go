package roomclient

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/roomops/roombot/roomclient/internal/wire"
	"github.com/roomops/roombot/roomclient/roomtest"
)

// bigRoom returns a fixture room of n running services, each with a port
// and an event, as a busy production room might look.
func bigRoom(n int) *roomtest.Room {
	r := &roomtest.Room{}
	for i := range n {
		id := fmt.Sprintf("svc-%04d", i)
		spec := fmt.Sprintf(`{"version":"v1","kind":"Service","id":%q,`+
			`"metadata":{"name":"service-%d","description":"benchmark service"},`+
			`"container":{"image":"ghcr.io/acme/app:%d"},`+
			`"ports":[{"num":8080,"liveness":"/healthz"}]}`, id, i, i)
		r.Services = append(r.Services, roomtest.Service{
			Spec: json.RawMessage(spec),
			State: &roomtest.State{
				ServiceID: id, State: "running",
				ContainerID:  roomtest.Ptr("c-" + id),
				StartedAt:    roomtest.Ptr(1767250000.25),
				RestartCount: i % 5, LastExitCode: roomtest.Ptr(137),
				LastExitAt: roomtest.Ptr(1767249990.5),
				Status: roomtest.Status{Ports: []roomtest.PortState{{
					Num: "8080", Liveness: roomtest.Ptr("/healthz"),
					LivenessStatus: "ready", LastCheckedAt: roomtest.Ptr(1767260000.5),
				}}},
				Events: []roomtest.Event{{Type: "Normal", Reason: "Started",
					Message: "started container", Count: 1,
					FirstTimestamp: 1767250000.25, LastTimestamp: 1767250000.25}},
			},
		})
	}
	return r
}

// listContent builds the services/list answer for r the way the
// simulator does.
func listContent(tb testing.TB, r *roomtest.Room) []byte {
	var body struct {
		Type string `json:"type"`
		JSON struct {
			ServicesJSON  []string         `json:"services_json"`
			ServiceStates []roomtest.State `json:"service_states"`
		} `json:"json"`
	}
	body.Type = "json"
	for _, s := range r.Services {
		body.JSON.ServicesJSON = append(body.JSON.ServicesJSON, string(s.Spec))
		body.JSON.ServiceStates = append(body.JSON.ServiceStates, *s.State)
	}
	b, err := json.Marshal(body)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkEncodeList1000 is the sending side of a 1,000-service list:
// the JSON answer, packed, cut into frames.
func BenchmarkEncodeList1000(b *testing.B) {
	r := bigRoom(1000)
	b.ReportAllocs()
	for b.Loop() {
		body := wire.Pack(listContent(b, r), nil)
		frames := 0
		wire.Frames(7, wire.TypeResponse, body, 0, func(_, _ []byte) error {
			frames++
			return nil
		})
	}
}

// BenchmarkDecodeList1000 is the client's hot path: the frames of a
// 1,000-service answer reassembled, unpacked and decoded into a List.
func BenchmarkDecodeList1000(b *testing.B) {
	frames := wire.Encode(7, wire.TypeResponse, wire.Pack(listContent(b, bigRoom(1000)), nil), 0)
	var size int
	for _, f := range frames {
		size += len(f)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		var asm wire.Assembler
		var msg wire.Message
		for _, f := range frames {
			msg, _, _ = asm.Feed(f)
		}
		header, _, err := wire.Unpack(msg.Body)
		if err != nil {
			b.Fatal(err)
		}
		list, err := decodeList("big", header)
		if err != nil || len(list.Services) != 1000 {
			b.Fatalf("decodeList: %d services, %v", len(list.Services), err)
		}
	}
}

// BenchmarkListWarm is a list of the demo lobby on an open connection.
func BenchmarkListWarm(b *testing.B) {
	srv := roomtest.NewServer(b, nil)
	c, err := New(Config{URL: srv.URL(), Token: "t"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.List(ctx, "lobby"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListFresh is what the CLI does per command: a new client, a
// dial and handshake, one list, and a close.
func BenchmarkListFresh(b *testing.B) {
	srv := roomtest.NewServer(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, err := New(Config{URL: srv.URL(), Token: "t"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.List(ctx, "lobby"); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// BenchmarkListWarm1000 is a warm list of a 1,000-service room over
// loopback: the simulator's encoding, the socket and the client's decoding.
func BenchmarkListWarm1000(b *testing.B) {
	fx := &roomtest.Fixture{Rooms: map[string]*roomtest.Room{"big": bigRoom(1000)}}
	srv := roomtest.NewServer(b, fx)
	c, err := New(Config{URL: srv.URL(), Token: "t"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.List(ctx, "big"); err != nil {
			b.Fatal(err)
		}
	}
}
