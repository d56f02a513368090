package roomtest

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/roomops/roombot/roomclient/internal/wire"
)

// TestSessionEndsAfterItsWriterFails drops a session while its handler
// is between two messages of one answer. The writer dies on the failed
// write; the handler's next send used to wait for it forever, and
// Server.Close with it. (TestRetryGivesUp hung CI so, through refuse.)
func TestSessionEndsAfterItsWriterFails(t *testing.T) {
	var s *Server
	dropped := make(chan struct{})
	var once sync.Once
	// The hook runs on the writer, after the first answer: held here, the
	// writer cannot take the second answer's noise, whose call the
	// handler has read once Calls says 2.
	hook := func(AnswerTime) {
		once.Do(func() {
			defer close(dropped)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := s.Await(ctx, func() bool { return s.Calls("lobby", "list") == 2 })
			if err != nil {
				t.Errorf("waiting for the second call: %v", err)
			}
			s.CloseConnections("lobby", Abrupt)
		})
	}
	s = demoServer(t, WithAnswerTimes(hook))
	r, _, err := dialRaw(t, s, "lobby", bearer("t"), "")
	if err != nil {
		t.Fatal(err)
	}
	r.handshake()
	if err := s.SetFaults("lobby", Faults{Noise: true}); err != nil {
		t.Fatal(err)
	}
	r.send(1, "room.invoke_tool", listCall)
	r.send(2, "room.invoke_tool", listCall)
	select {
	case <-dropped:
	case <-time.After(10 * time.Second):
		t.Fatal("the first answer was never written")
	}

	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Server.Close hung on a session whose writer had failed")
	}
}

// TestFrameOverReadLimit: a client that announces a frame longer than
// any message could need is closed with 1009, not read until it ends.
func TestFrameOverReadLimit(t *testing.T) {
	s := demoServer(t)
	r, _, err := dialRaw(t, s, "lobby", bearer("t"), "")
	if err != nil {
		t.Fatal(err)
	}
	r.handshake()
	// A masked binary frame's header with a 64-bit length, then its mask.
	hdr := []byte{0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}
	binary.BigEndian.PutUint64(hdr[2:10], wire.MaxFrame+1)
	if _, err := r.ws.NetConn().Write(hdr); err != nil {
		t.Fatal(err)
	}
	r.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err = r.ws.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Errorf("reading after an oversized frame: %v, want a 1009 close", err)
	}
}
