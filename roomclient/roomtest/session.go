package roomtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/roomops/roombot/roomclient/internal/wire"
)

// Faults make a room misbehave, each in one way the protocol allows or a
// client must survive. The zero value is a well-behaved room.
type Faults struct {
	AnswerDelay time.Duration // wait this long before each answer
	NeverAnswer bool          // swallow every tool call

	// ChunkSize is the body bytes per data frame the room sends; zero
	// means 1024. 1 sends one data frame per byte.
	ChunkSize int

	// ExtraHeaderKeys adds "__meshagent__" and an unknown key to every
	// JSON header the room sends, as the Python SDK and future rooms do.
	ExtraHeaderKeys bool

	// Noise sends room.status before the handshake and room.status and
	// messaging.send messages before every answer; StrayAnswers sends an
	// answer to an id nobody used before every answer.
	Noise        bool
	StrayAnswers bool

	// SwapHandshake sends connected before room_ready.
	SwapHandshake bool

	// Reorder holds answers until this many are waiting, then sends them
	// newest first.
	Reorder int

	// RefuseHandshakes makes the next this many connections get a
	// room.status and a 1013 close instead of the handshake.
	RefuseHandshakes int

	ReadyDelay  time.Duration // wait before the handshake
	IgnorePings bool          // never answer a websocket ping

	// PermissionDenied answers every tool call with code 1001, as a room
	// does for a token without the services grant.
	PermissionDenied bool
}

// Abrupt, given to CloseConnections, drops connections without a close
// frame, as a crashed room or a broken network does.
const Abrupt = 0

// A session is one websocket to one room. Its handler goroutine reads and
// decides; its writer goroutine alone writes messages.
type session struct {
	s     *Server
	rm    *roomState
	ws    *websocket.Conn
	grant grant
	id    string
	out   chan outMsg
	done  chan struct{} // closed when the reader stops
	dead  chan struct{} // closed when the writer stops
	wg    sync.WaitGroup

	// Only the handler goroutine touches these.
	nextID uint64
	held   []outMsg
}

type outMsg struct {
	id    uint64
	typ   string
	body  []byte
	close int // when non-zero, send a close frame with this code instead

	// An answer carries when its request was read and what it called,
	// for WithAnswerTimes.
	read time.Time
	tool string
}

func (s *Server) serveSession(rm *roomState, ws *websocket.Conn, g grant) {
	ss := &session{s: s, rm: rm, ws: ws, grant: g,
		out: make(chan outMsg), done: make(chan struct{}), dead: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		// Close has already dropped the sessions it knew of.
		s.mu.Unlock()
		ws.Close()
		return
	}
	s.nextSess++
	ss.id = fmt.Sprintf("sess-%d", s.nextSess)
	s.sessions[ss] = true
	s.stats.connections[rm.name]++
	s.stats.open[rm.name]++
	s.stats.auths = append(s.stats.auths, g.auth)
	refuse := rm.faults.RefuseHandshakes > 0
	if refuse {
		rm.faults.RefuseHandshakes--
	}
	f := rm.faults
	s.notifyLocked()
	s.mu.Unlock()
	defer ss.end()

	if f.IgnorePings {
		ws.SetPingHandler(func(string) error { return nil })
	}
	ss.wg.Add(1)
	go ss.writeLoop()
	if refuse {
		ss.refuse()
	} else if ss.wait(f.ReadyDelay) {
		ss.handshake(f)
	}
	ss.readLoop()
}

func (ss *session) end() {
	close(ss.done)
	ss.ws.Close()
	ss.wg.Wait()
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, ss)
	s.stats.open[ss.rm.name]--
	s.notifyLocked()
}

// wait sleeps for d unless the session or the Server ends first.
func (ss *session) wait(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ss.done:
	case <-ss.s.quit:
	}
	return false
}

// refuse does what a room that is still starting does: a status message,
// then a close that asks the client to try again later.
func (ss *session) refuse() {
	ss.message(wire.TypeRoomStatus, map[string]string{
		"status": "error", "message": "room is starting",
	})
	ss.send(outMsg{close: websocket.CloseTryAgainLater})
}

// handshake sends room_ready then connected, or the other way round with
// the SwapHandshake fault: clients must accept either order.
func (ss *session) handshake(f Faults) {
	if f.Noise {
		ss.message(wire.TypeRoomStatus, map[string]string{
			"status": "starting", "message": "room is starting",
		})
	}
	name := ss.grant.auth.Name
	if name == "" {
		name = "participant"
	}
	ready := func() {
		ss.message(wire.TypeRoomReady, map[string]string{
			"room_name":  ss.rm.name,
			"room_url":   ss.s.roomURL(ss.rm.name),
			"session_id": ss.id,
		})
	}
	connected := func() {
		ss.message(wire.TypeConnected, map[string]any{
			"type":          "init",
			"participantId": "p-" + ss.id,
			"attributes":    map[string]string{"name": name},
		})
	}
	if f.SwapHandshake {
		connected()
		ready()
		return
	}
	ready()
	connected()
}

// message sends a server message with the room's own next message id.
func (ss *session) message(typ string, header any) {
	b, err := json.Marshal(header)
	if err != nil {
		panic(err) // only this package's own maps get here
	}
	ss.nextID++
	ss.send(outMsg{id: ss.nextID, typ: typ, body: ss.pack(b)})
}

// pack builds a body, with the extra header keys when that fault is on.
func (ss *session) pack(header []byte) []byte {
	if ss.s.faultsOf(ss.rm).ExtraHeaderKeys && len(header) > 2 {
		extra := `{"__meshagent__":{"v":1,"otel":{}},"x_roomtest":[1,{"a":null}],`
		header = append([]byte(extra), header[1:]...)
	}
	return wire.Pack(header, nil)
}

// send hands m to the writer, or drops it once nobody will write it.
// The writer stops on a failed write while the handler, which may have
// more of an answer to send, goes on until its next read fails: waiting
// on done alone, that handler would wait for itself.
func (ss *session) send(m outMsg) {
	select {
	case ss.out <- m:
	case <-ss.dead:
	case <-ss.done:
	case <-ss.s.quit:
	}
}

func (ss *session) writeLoop() {
	defer ss.wg.Done()
	defer close(ss.dead)
	pings, stop := tick(ss.s.pingGap)
	defer stop()
	for {
		select {
		case m := <-ss.out:
			if m.close != 0 {
				ss.closeWith(m.close)
				return
			}
			if err := ss.write(m); err != nil {
				ss.ws.Close()
				return
			}
			ss.timed(m)
		case <-pings:
			ss.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
		case <-ss.done:
			return
		}
	}
}

func tick(d time.Duration) (<-chan time.Time, func()) {
	if d <= 0 {
		return nil, func() {}
	}
	t := time.NewTicker(d)
	return t.C, t.Stop
}

func (ss *session) write(m outMsg) error {
	chunk := ss.s.faultsOf(ss.rm).ChunkSize
	ss.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return wire.Frames(m.id, m.typ, m.body, chunk, func(prefix, data []byte) error {
		w, err := ss.ws.NextWriter(websocket.BinaryMessage)
		if err != nil {
			return err
		}
		w.Write(prefix)
		w.Write(data)
		return w.Close()
	})
}

// timed reports an answer's time to the WithAnswerTimes hook.
func (ss *session) timed(m outMsg) {
	if ss.s.onAns == nil || m.read.IsZero() {
		return
	}
	ss.s.onAns(AnswerTime{Room: ss.rm.name, Tool: m.tool, Took: time.Since(m.read)})
}

// closeWith sends a close frame, then drops the connection.
func (ss *session) closeWith(code int) {
	msg := websocket.FormatCloseMessage(code, "")
	ss.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	ss.ws.Close()
}

// drop ends the session from outside, with a close frame of code, or
// without one when code is Abrupt.
func (ss *session) drop(code int) {
	if code == Abrupt {
		ss.ws.Close()
		return
	}
	ss.closeWith(code)
}

func (ss *session) readLoop() {
	var asm wire.Assembler
	for {
		typ, data, err := ss.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
				ss.s.count(func(st *stats) { st.closes[ce.Code]++ })
			}
			return
		}
		if typ != websocket.BinaryMessage {
			continue
		}
		msg, done, err := asm.Feed(data)
		if err != nil {
			ss.s.count(func(st *stats) { st.broken++ })
		}
		if done {
			ss.handle(msg)
		}
	}
}

// handle answers one complete message from the client.
func (ss *session) handle(msg wire.Message) {
	read := time.Now()
	f := ss.s.faultsOf(ss.rm)
	header, _, err := wire.Unpack(msg.Body)
	var ans []byte
	tool := msg.Type
	switch {
	case msg.Type != wire.TypeInvokeTool:
		ss.countCall(msg.Type)
		ans = errContent(1002, "unsupported request type: "+msg.Type)
	case err != nil:
		ss.countCall(msg.Type)
		ans = errContent(1002, "invalid request: "+err.Error())
	default:
		ans, tool = ss.invoke(header, f)
	}
	ss.answer(outMsg{id: msg.ID, read: read, tool: tool}, ans, f)
}

func (ss *session) countCall(tool string) {
	ss.s.count(func(st *stats) { st.calls[[2]string{ss.rm.name, tool}]++ })
}

// answer sends content as the __response__ to req, as the faults say.
func (ss *session) answer(req outMsg, content []byte, f Faults) {
	id := req.id
	if f.NeverAnswer {
		ss.s.count(func(st *stats) { st.unanswered[ss.rm.name]++ })
		return
	}
	if f.Noise {
		ss.message(wire.TypeRoomStatus, map[string]string{"status": "ok", "message": "noise"})
		ss.message("messaging.send", map[string]any{"to": "everyone", "text": "hi"})
	}
	if f.StrayAnswers {
		stray := outMsg{id: 1<<40 + id, typ: wire.TypeResponse,
			body: ss.pack([]byte(`{"type":"error","text":"stray"}`))}
		ss.send(stray)
	}
	m := req
	m.typ, m.body = wire.TypeResponse, ss.pack(content)
	switch {
	case f.AnswerDelay > 0:
		ss.later(f.AnswerDelay, m)
	case f.Reorder > 1:
		ss.hold(m, f.Reorder)
	default:
		ss.send(m)
	}
}

func (ss *session) later(d time.Duration, m outMsg) {
	ss.wg.Add(1)
	go func() {
		defer ss.wg.Done()
		if ss.wait(d) {
			ss.send(m)
		}
	}()
}

// hold keeps answers until n wait, then sends them newest first, so
// several calls in flight are answered out of order.
func (ss *session) hold(m outMsg, n int) {
	ss.held = append(ss.held, m)
	if len(ss.held) < n {
		return
	}
	for i := len(ss.held) - 1; i >= 0; i-- {
		ss.send(ss.held[i])
	}
	ss.held = ss.held[:0]
}

func errContent(code int, text string) []byte {
	b, _ := json.Marshal(struct {
		Type string `json:"type"`
		Text string `json:"text"`
		Code int    `json:"code"`
	}{"error", text, code})
	return b
}

// toolCall is a room.invoke_tool header as a room reads it: pointers tell
// a missing key from an empty one.
type toolCall struct {
	Toolkit   *string `json:"toolkit"`
	Tool      *string `json:"tool"`
	Arguments *struct {
		Type string          `json:"type"`
		JSON json.RawMessage `json:"json"`
	} `json:"arguments"`
	ToolCallID *string `json:"tool_call_id"`
}

// invoke answers a tool call as section 9.5 of the protocol describes,
// and says which tool was called.
func (ss *session) invoke(header []byte, f Faults) ([]byte, string) {
	var tc toolCall
	if err := json.Unmarshal(header, &tc); err != nil {
		ss.countCall(wire.TypeInvokeTool)
		return errContent(1002, "invalid request: "+err.Error()), wire.TypeInvokeTool
	}
	tool := wire.TypeInvokeTool
	if tc.Tool != nil {
		tool = *tc.Tool
	}
	ss.countCall(tool)
	return ss.tool(tc, f), tool
}

// tool answers a counted tool call.
func (ss *session) tool(tc toolCall, f Faults) []byte {
	if tc.Toolkit == nil || tc.Tool == nil || tc.Arguments == nil || tc.ToolCallID == nil {
		return errContent(1002, "invalid request: toolkit, tool, arguments "+
			"and tool_call_id are required")
	}
	if *tc.Toolkit != "services" {
		return errContent(1002, "unknown toolkit: "+*tc.Toolkit)
	}
	switch *tc.Tool {
	case "list":
		if f.PermissionDenied || !ss.grant.listAllowed {
			return errContent(1001, "permission denied: services.list")
		}
		return ss.s.listAnswer(ss.rm)
	case "restart":
		if f.PermissionDenied {
			return errContent(1001, "permission denied: services.restart")
		}
		var args struct {
			ServiceID *string `json:"service_id"`
		}
		json.Unmarshal(tc.Arguments.JSON, &args)
		if tc.Arguments.Type != "json" || args.ServiceID == nil || *args.ServiceID == "" {
			return errContent(1002, "invalid request: service_id is required")
		}
		return ss.s.clientRestart(ss.rm, *args.ServiceID)
	}
	return errContent(1002, "unknown tool: services."+*tc.Tool)
}
