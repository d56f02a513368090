package roomclient

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/roomops/roombot/roomclient/internal/wire"
)

// A scriptRoom is a room made by hand, for what the simulator cannot be
// told to do: every websocket it accepts runs its script, which should
// return once done is closed, at the end of the test.
type scriptRoom struct {
	srv   *httptest.Server
	pipes *pipeListener // nil when the room listens on TCP
}

type script func(ws *websocket.Conn, done <-chan struct{})

func newScriptRoom(t *testing.T, run script) *scriptRoom {
	t.Helper()
	return startScriptRoom(t, nil, run)
}

// newPipedRoom serves run over net.Pipe instead of TCP. A pipe buffers
// nothing, so a room that stops reading stops the client's next write
// at once, whatever the sizes of socket buffers.
func newPipedRoom(t *testing.T, run script) *scriptRoom {
	t.Helper()
	return startScriptRoom(t, newPipeListener(), run)
}

func startScriptRoom(t *testing.T, pipes *pipeListener, run script) *scriptRoom {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	srv := httptest.NewUnstartedServer(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			// Counted before the upgrade, while srv.Close still waits
			// for the handler, so that wg.Wait below cannot miss it.
			wg.Add(1)
			defer wg.Done()
			ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer ws.Close()
			run(ws, done)
		}))
	if pipes != nil {
		srv.Listener.Close()
		srv.Listener = pipes
	}
	srv.Start()
	t.Cleanup(func() {
		close(done)
		srv.Close()
		wg.Wait()
	})
	return &scriptRoom{srv: srv, pipes: pipes}
}

// config is a client configuration for the room.
func (r *scriptRoom) config() Config {
	cfg := Config{URL: r.srv.URL, Token: "t", RetryDelay: time.Millisecond}
	if r.pipes != nil {
		// A loopback URL, so that no proxy from the environment is used.
		cfg.URL = "ws://127.0.0.1:1"
		cfg.dial = r.pipes.dial
	}
	return cfg
}

// sendMsg writes one protocol message whose body is header alone.
func sendMsg(ws *websocket.Conn, id uint64, typ, header string) error {
	for _, f := range wire.Encode(id, typ, wire.Pack([]byte(header), nil), 0) {
		if err := ws.WriteMessage(websocket.BinaryMessage, f); err != nil {
			return err
		}
	}
	return nil
}

const (
	roomReady   = `{"room_name":"r","room_url":"ws://r","session_id":"s"}`
	initialized = `{"type":"init","participantId":"p","attributes":{}}`
)

// handshake sends room_ready and connected, as a room that is ready does.
func handshake(ws *websocket.Conn) error {
	if err := sendMsg(ws, 1, wire.TypeRoomReady, roomReady); err != nil {
		return err
	}
	return sendMsg(ws, 2, wire.TypeConnected, initialized)
}

// serveEmptyLists answers every tool call with an empty list, until the
// client goes away.
func serveEmptyLists(ws *websocket.Conn) {
	var asm wire.Assembler
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		if m, done, _ := asm.Feed(data); done && m.Type == wire.TypeInvokeTool {
			sendMsg(ws, m.ID, wire.TypeResponse,
				`{"type":"json","json":{"services_json":[],"service_states":[]}}`)
		}
	}
}

// A pipeListener hands the server ends of net.Pipe connections to an
// http.Server; dial makes them.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
