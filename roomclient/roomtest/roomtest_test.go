package roomtest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/roomops/roombot/roomclient/internal/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// raw is a bare protocol client, so these tests see exactly what the
// simulator sends.
type raw struct {
	t   *testing.T
	ws  *websocket.Conn
	asm wire.Assembler
}

func dialRaw(t *testing.T, s *Server, room string, hdr http.Header, query string) (*raw, *http.Response, error) {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(s.roomURL(room)+query, hdr)
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { ws.Close() })
	return &raw{t: t, ws: ws}, resp, nil
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// next returns the next whole message.
func (r *raw) next() wire.Message {
	r.t.Helper()
	r.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, data, err := r.ws.ReadMessage()
		if err != nil {
			r.t.Fatalf("reading: %v", err)
		}
		if msg, done, _ := r.asm.Feed(data); done {
			return msg
		}
	}
}

func (r *raw) handshake() {
	r.t.Helper()
	for _, want := range []string{wire.TypeRoomReady, wire.TypeConnected} {
		if m := r.next(); m.Type != want {
			r.t.Fatalf("got %q, want %q", m.Type, want)
		}
	}
}

func (r *raw) send(id uint64, typ, header string) {
	r.t.Helper()
	for _, f := range wire.Encode(id, typ, wire.Pack([]byte(header), nil), 0) {
		if err := r.ws.WriteMessage(websocket.BinaryMessage, f); err != nil {
			r.t.Fatal(err)
		}
	}
}

// answer reads until the __response__ to id and returns its header.
func (r *raw) answer(id uint64) map[string]any {
	r.t.Helper()
	for {
		m := r.next()
		if m.Type != wire.TypeResponse || m.ID != id {
			continue
		}
		h, _, err := wire.Unpack(m.Body)
		if err != nil {
			r.t.Fatal(err)
		}
		var v map[string]any
		json.Unmarshal(h, &v)
		return v
	}
}

func demoServer(t *testing.T, opts ...Option) *Server {
	return NewServer(t, DemoFixture(), opts...)
}

func TestErrorAnswers(t *testing.T) {
	s := demoServer(t)
	r, _, err := dialRaw(t, s, "lobby", bearer("t"), "")
	if err != nil {
		t.Fatal(err)
	}
	r.handshake()
	tests := []struct {
		typ, header string
		code        float64
		text        string
	}{
		{"room.list_participants", `{}`, 1002, "unsupported request type: room.list_participants"},
		{wire.TypeInvokeTool, `{"toolkit":"services","tool":"restart","arguments":{"type":"json","json":{}},"tool_call_id":"x"}`,
			1002, "service_id is required"},
		{wire.TypeInvokeTool, `{"toolkit":"services","tool":"stop","arguments":{"type":"json","json":{}},"tool_call_id":"x"}`,
			1002, "unknown tool"},
		{wire.TypeInvokeTool, `{"toolkit":"storage","tool":"list","arguments":{"type":"json","json":{}},"tool_call_id":"x"}`,
			1002, "unknown toolkit"},
		{wire.TypeInvokeTool, `{"toolkit":"services","tool":"list"}`, 1002, "required"},
		{wire.TypeInvokeTool, `{"toolkit":"services","tool":"restart","arguments":{"type":"json","json":{"service_id":"zzz"}},"tool_call_id":"x","participant_id":null}`,
			7001, "service not found"},
		{wire.TypeInvokeTool, `{"toolkit":"services","tool":"restart","arguments":{"type":"json","json":{"service_id":"stg-docs"}},"tool_call_id":"x"}`,
			7001, "not found"}, // stg-docs lives in staging, not lobby
	}
	for i, tt := range tests {
		id := uint64(100 + i)
		r.send(id, tt.typ, tt.header)
		a := r.answer(id)
		if a["type"] != "error" || a["code"] != tt.code || !strings.Contains(a["text"].(string), tt.text) {
			t.Errorf("%s %s answered %v, want code %v with %q", tt.typ, tt.header, a, tt.code, tt.text)
		}
	}
}

func TestAuthModes(t *testing.T) {
	s := demoServer(t)
	if _, resp, err := dialRaw(t, s, "lobby", nil, ""); err == nil || resp.StatusCode != 401 {
		t.Errorf("no token: err %v, want HTTP 401", err)
	}
	if _, resp, err := dialRaw(t, s, "nowhere", bearer("t"), ""); err == nil || resp.StatusCode != 404 {
		t.Errorf("unknown room: err %v, want HTTP 404", err)
	}

	hdr := http.Header{"Sec-WebSocket-Protocol": {"meshagent-room.tok"}}
	r, _, err := dialRaw(t, s, "lobby", hdr, "")
	if err != nil {
		t.Fatalf("subprotocol: %v", err)
	}
	if p := r.ws.Subprotocol(); p != "meshagent-room.tok" {
		t.Errorf("subprotocol echoed %q, want meshagent-room.tok", p)
	}
	r.handshake()
	q, _, err := dialRaw(t, s, "lobby", nil, "?v=0.50.1&token=tok")
	if err != nil {
		t.Fatalf("query token: %v", err)
	}
	q.handshake()
	a := s.Auths()
	if len(a) != 2 || a[0].Method != "subprotocol" || a[1].Method != "query" {
		t.Errorf("Auths = %+v", a)
	}
}

// TestListNotAllowed presents a verified token whose services grant turns
// listing off.
func TestListNotAllowed(t *testing.T) {
	s := demoServer(t, WithSecret("k"))
	tok := signed(t, "k", map[string]any{
		"name": "n", "exp": time.Now().Add(time.Hour).Unix(),
		"grants": []any{
			map[string]any{"name": "room", "scope": "lobby"},
			map[string]any{"name": "api", "scope": map[string]any{"services": map[string]any{"list": false}}},
		},
	})
	r, _, err := dialRaw(t, s, "lobby", bearer(tok), "")
	if err != nil {
		t.Fatal(err)
	}
	r.handshake()
	r.send(1, wire.TypeInvokeTool, `{"toolkit":"services","tool":"list","arguments":{"type":"json","json":{}},"tool_call_id":"x"}`)
	if a := r.answer(1); a["code"] != 1001.0 {
		t.Errorf("list with list:false answered %v, want 1001", a)
	}

	noAPI := signed(t, "k", map[string]any{"name": "n", "exp": time.Now().Add(time.Hour).Unix(),
		"grants": []any{map[string]any{"name": "room", "scope": "lobby"}}})
	if _, resp, err := dialRaw(t, s, "lobby", bearer(noAPI), ""); err == nil || resp.StatusCode != 403 {
		t.Errorf("token without api grant: %v, want HTTP 403", err)
	}
}

func TestBrokenSequenceCounted(t *testing.T) {
	s := demoServer(t)
	r, _, err := dialRaw(t, s, "lobby", bearer("t"), "")
	if err != nil {
		t.Fatal(err)
	}
	r.handshake()
	frames := wire.Encode(1, wire.TypeInvokeTool, make([]byte, 3000), 0)
	for _, f := range [][]byte{frames[0], frames[2]} {
		r.ws.WriteMessage(websocket.BinaryMessage, f)
	}
	s.WaitFor(t, "a broken sequence", func() bool { return s.Broken() == 1 })
}

func TestLoadFixtures(t *testing.T) {
	f, err := os.Open("testdata/edge.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fx, err := LoadFixture(f)
	if err != nil {
		t.Fatalf("LoadFixture(edge.json): %v", err)
	}
	if n := len(fx.Rooms["edge"].Services); n != 4 {
		t.Errorf("edge room has %d services, want 4", n)
	}
	if d := DemoFixture(); len(d.Rooms) != 3 || d.Rooms["staging"].Services[0].CrashLoop == nil ||
		len(d.Rooms["fleet"].Services) != 14 {
		t.Errorf("demo fixture = %+v", d.Rooms)
	}
}

func TestFixtureValidation(t *testing.T) {
	tests := map[string]string{
		"unknown key": `{"version":"v1","kind":"Service","metadata":{"name":"a"},"color":"red"}`,
		"port 8078":   `{"version":"v1","kind":"Service","metadata":{"name":"a"},"ports":[{"num":8078}]}`,
		"version":     `{"version":"v2","kind":"Service","metadata":{"name":"a"}}`,
		"no name":     `{"version":"v1","kind":"Service","metadata":{}}`,
		"no image":    `{"version":"v1","kind":"Service","metadata":{"name":"a"},"container":{}}`,
		"port num":    `{"version":"v1","kind":"Service","metadata":{"name":"a"},"ports":[{"num":"http"}]}`,
		"meta key":    `{"version":"v1","kind":"Service","metadata":{"name":"a","owner":"x"}}`,
	}
	for name, spec := range tests {
		fx := &Fixture{Rooms: map[string]*Room{"r": {Services: []Service{{Spec: json.RawMessage(spec)}}}}}
		if err := fx.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %s", name, spec)
		}
	}
	st := &State{ServiceID: "other", State: "running"}
	fx := &Fixture{Rooms: map[string]*Room{"r": {Services: []Service{{
		Spec: json.RawMessage(`{"version":"v1","kind":"Service","id":"a","metadata":{"name":"a"}}`), State: st}}}}}
	if err := fx.Validate(); err == nil {
		t.Error("Validate accepted a state for another id")
	}
	_, err := LoadFixture(strings.NewReader(`{"rooms":{},"extra":1}`))
	if err == nil {
		t.Error("LoadFixture accepted an unknown top-level key")
	}
}

// TestDemoFixtureIsCurrent: the demo's services started hours ago, not on
// the day the fixture was written, and its scheduled restart is ahead.
func TestDemoFixtureIsCurrent(t *testing.T) {
	now := time.Now()
	for name, r := range DemoFixture().Rooms {
		for _, svc := range r.Services {
			st := svc.State
			if st == nil {
				continue
			}
			if st.StartedAt != nil {
				age := now.Sub(time.Unix(int64(*st.StartedAt), 0))
				if age < 0 || age > 24*time.Hour {
					t.Errorf("%s/%s started %s ago, want within the last day", name, st.ServiceID, age)
				}
			}
			if st.RestartScheduledAt != nil && time.Unix(int64(*st.RestartScheduledAt), 0).Before(now) {
				t.Errorf("%s/%s has its scheduled restart in the past", name, st.ServiceID)
			}
		}
	}
}

// TestAnswerTimes: each answer is reported once it is written, with the
// room's own time, AnswerDelay included.
func TestAnswerTimes(t *testing.T) {
	times := make(chan AnswerTime, 4)
	s := demoServer(t, WithAnswerTimes(func(a AnswerTime) { times <- a }))
	r, _, err := dialRaw(t, s, "lobby", bearer("t"), "")
	if err != nil {
		t.Fatal(err)
	}
	r.handshake()
	const delay = 30 * time.Millisecond
	if err := s.SetFaults("lobby", Faults{AnswerDelay: delay, Noise: true}); err != nil {
		t.Fatal(err)
	}
	r.send(1, wire.TypeInvokeTool, `{"toolkit":"services","tool":"list",`+
		`"arguments":{"type":"json","json":{}},"tool_call_id":"x"}`)
	r.answer(1)

	select {
	case a := <-times:
		if a.Room != "lobby" || a.Tool != "list" || a.Took < delay || a.Took > 10*time.Second {
			t.Errorf("answer time = %+v, want lobby list taking at least %s", a, delay)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer time reported")
	}
	select {
	case a := <-times:
		t.Errorf("a second answer time, %+v, for one call (noise is not an answer)", a)
	default:
	}
}

// TestTLS: with WithTLS the rooms are served over wss only, and a client
// that trusts LoopbackTLS's certificate speaks the protocol as before.
func TestTLS(t *testing.T) {
	cfg, certPEM, err := LoopbackTLS()
	if err != nil {
		t.Fatal(err)
	}
	s := demoServer(t, WithTLS(cfg))
	if !strings.HasPrefix(s.URL(), "wss://") {
		t.Fatalf("URL() = %q, want wss://", s.URL())
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(certPEM) {
		t.Fatal("LoopbackTLS's PEM holds no certificate")
	}
	dialer := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: roots}}
	ws, _, err := dialer.Dial(s.roomURL("lobby"), bearer("t"))
	if err != nil {
		t.Fatalf("dialing %s with the certificate trusted: %v", s.roomURL("lobby"), err)
	}
	t.Cleanup(func() { ws.Close() })
	r := &raw{t: t, ws: ws}
	r.handshake()
	r.send(1, wire.TypeInvokeTool, `{"toolkit":"services","tool":"list",`+
		`"arguments":{"type":"json","json":{}},"tool_call_id":"x"}`)
	if got := r.answer(1); got["type"] != "json" {
		t.Errorf("list over wss answered %v, want a json content", got)
	}

	plain := "ws" + strings.TrimPrefix(s.roomURL("lobby"), "wss")
	if _, _, err := websocket.DefaultDialer.Dial(plain, bearer("t")); err == nil {
		t.Errorf("a plain ws dial to %s succeeded", plain)
	}
}

// until reads messages up to and including the __response__ to id.
func (r *raw) until(id uint64) []wire.Message {
	r.t.Helper()
	var seen []wire.Message
	for {
		m := r.next()
		seen = append(seen, m)
		if m.Type == wire.TypeResponse && m.ID == id {
			return seen
		}
	}
}

const listCall = `{"toolkit":"services","tool":"list",` +
	`"arguments":{"type":"json","json":{}},"tool_call_id":"x"}`

// TestFaultsOnTheWire: each framing fault changes what the room sends,
// not only what a client copes with.
func TestFaultsOnTheWire(t *testing.T) {
	open := func(t *testing.T, f Faults) (*raw, *Server) {
		s := demoServer(t)
		r, _, err := dialRaw(t, s, "lobby", bearer("t"), "")
		if err != nil {
			t.Fatal(err)
		}
		r.handshake()
		if err := s.SetFaults("lobby", f); err != nil {
			t.Fatal(err)
		}
		return r, s
	}

	t.Run("ChunkSize", func(t *testing.T) {
		r, _ := open(t, Faults{ChunkSize: 7})
		r.send(1, wire.TypeInvokeTool, listCall)
		r.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		var asm wire.Assembler
		data := 0
		for {
			_, frame, err := r.ws.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			// Bytes 8 to 12 are the frame's index; 0 is a header.
			if idx := frame[8:12]; string(idx) != "\x00\x00\x00\x00" {
				data++
				if n := len(frame) - 12; n > 7 {
					t.Fatalf("data frame of %d body bytes with ChunkSize 7", n)
				}
			}
			if m, done, _ := asm.Feed(frame); done && m.Type == wire.TypeResponse {
				break
			}
		}
		if data < 2 {
			t.Errorf("the list answer came in %d data frames, want many of 7 bytes", data)
		}
	})

	t.Run("Noise", func(t *testing.T) {
		r, _ := open(t, Faults{Noise: true})
		r.send(1, wire.TypeInvokeTool, listCall)
		seen := r.until(1)
		if len(seen) < 2 || seen[0].Type == wire.TypeResponse {
			t.Errorf("messages before the answer: %d, want noise first", len(seen)-1)
		}
	})

	t.Run("StrayAnswers", func(t *testing.T) {
		r, _ := open(t, Faults{StrayAnswers: true})
		r.send(1, wire.TypeInvokeTool, listCall)
		stray := 0
		for _, m := range r.until(1) {
			if m.Type == wire.TypeResponse && m.ID != 1 {
				stray++
			}
		}
		if stray == 0 {
			t.Error("no answer to an unused id came before the answer")
		}
	})

	t.Run("ExtraHeaderKeys", func(t *testing.T) {
		r, _ := open(t, Faults{ExtraHeaderKeys: true})
		r.send(1, wire.TypeInvokeTool, listCall)
		h := r.answer(1)
		for _, key := range []string{"__meshagent__", "x_roomtest", "type"} {
			if _, ok := h[key]; !ok {
				t.Errorf("answer header %v lacks %q", h, key)
			}
		}
	})

	t.Run("SwapHandshake", func(t *testing.T) {
		s := demoServer(t)
		if err := s.SetFaults("lobby", Faults{SwapHandshake: true}); err != nil {
			t.Fatal(err)
		}
		r, _, err := dialRaw(t, s, "lobby", bearer("t"), "")
		if err != nil {
			t.Fatal(err)
		}
		first, second := r.next(), r.next()
		if first.Type != wire.TypeConnected || second.Type != wire.TypeRoomReady {
			t.Errorf("handshake came as %q then %q, want connected first", first.Type, second.Type)
		}
	})

	t.Run("Reorder", func(t *testing.T) {
		r, _ := open(t, Faults{Reorder: 2})
		r.send(1, wire.TypeInvokeTool, listCall)
		r.send(2, wire.TypeInvokeTool, listCall)
		var order []uint64
		for len(order) < 2 {
			if m := r.next(); m.Type == wire.TypeResponse {
				order = append(order, m.ID)
			}
		}
		if order[0] != 2 || order[1] != 1 {
			t.Errorf("answers came in order %v, want [2 1]", order)
		}
	})
}
