package roomclient

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/roomops/roombot/roomclient/internal/wire"
	"github.com/roomops/roombot/roomclient/roomtest"
)

// TestOutOfOrderAnswers has the room hold five answers and send them
// newest first; each call must still get its own.
func TestOutOfOrderAnswers(t *testing.T) {
	srv := demo(t)
	setFaults(t, srv, "lobby", roomtest.Faults{Reorder: 5})
	c := newClient(t, srv)
	ctx := testCtx(t)

	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			id := fmt.Sprintf("svc-missing-%d", i)
			err := c.Restart(ctx, "lobby", id)
			var re *Error
			if !errors.As(err, &re) || !strings.HasSuffix(re.Text, id) {
				t.Errorf("Restart(%s) = %v, want the room's not-found for that id", id, err)
			}
		})
	}
	wg.Wait()
}

// TestLargeMessagesDoNotInterleave sends two streams of requests over 10
// KB at once. Their frames would break the simulator's reassembly if they
// interleaved.
func TestLargeMessagesDoNotInterleave(t *testing.T) {
	srv := demo(t)
	c := newClient(t, srv)
	ctx := testCtx(t)

	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := range 20 {
				id := strings.Repeat(string(rune('a'+g)), 12<<10) + fmt.Sprint(i)
				err := c.Restart(ctx, "lobby", id)
				var re *Error
				if !errors.As(err, &re) || !strings.HasSuffix(re.Text, id) {
					t.Errorf("Restart(large id %d/%d) = %.80v", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := srv.Broken(); n != 0 {
		t.Errorf("simulator saw %d broken frame sequences, want 0", n)
	}
	if n := srv.Calls("lobby", "restart"); n != 40 {
		t.Errorf("simulator saw %d restart calls, want 40", n)
	}
}

func TestRetryAfter1013(t *testing.T) {
	srv := demo(t)
	setFaults(t, srv, "lobby", roomtest.Faults{RefuseHandshakes: 2})
	logs := newLogWatch()
	c := newClient(t, srv, func(cfg *Config) { cfg.Logger = slog.New(logs) })

	if _, err := c.List(testCtx(t), "lobby"); err != nil {
		t.Fatalf("List after two 1013 closes: %v", err)
	}
	if n := srv.Connections("lobby"); n != 3 {
		t.Errorf("simulator accepted %d connections, want 3", n)
	}
	logs.await(t, "room connection failed")
	logs.await(t, "room connection failed")
}

func TestRetryGivesUp(t *testing.T) {
	srv := demo(t)
	setFaults(t, srv, "lobby", roomtest.Faults{RefuseHandshakes: 1000})
	c := newClient(t, srv, func(cfg *Config) { cfg.DialTimeout = 100 * time.Millisecond })
	_, err := c.List(testCtx(t), "lobby")
	if err == nil || !strings.Contains(err.Error(), "code 1013") {
		t.Errorf("List = %v, want a give-up naming the 1013 close", err)
	}
}

func TestReadyDelay(t *testing.T) {
	srv := demo(t)
	setFaults(t, srv, "lobby", roomtest.Faults{ReadyDelay: 300 * time.Millisecond})
	c := newClient(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := c.List(ctx, "lobby"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("List before the room is ready = %v, want DeadlineExceeded", err)
	}
	// The dial goes on for the calls that wait longer.
	if _, err := c.List(testCtx(t), "lobby"); err != nil {
		t.Errorf("List once ready: %v", err)
	}
	if n := srv.Connections("lobby"); n != 1 {
		t.Errorf("simulator accepted %d connections, want 1", n)
	}
}

func TestPermanentStatuses(t *testing.T) {
	const secret = "s3cret-with-dashes"
	srv := demo(t, roomtest.WithSecret(secret))
	if err := srv.SetDisabled("staging", true); err != nil {
		t.Fatal(err)
	}
	otherRoom := mintFor(t, secret, "elsewhere")
	tests := []struct {
		name, room string
		cfg        Config
		status     int
		text       string
	}{
		{"bad token", "lobby", Config{Token: "not-a-jwt"}, 401, "refused the token"},
		{"other room's token", "lobby", Config{Token: otherRoom}, 403, "refused access"},
		{"unknown room", "nowhere", Config{APIKey: roomtest.APIKey(secret)}, 404, "not found"},
		{"disabled room", "staging", Config{APIKey: roomtest.APIKey(secret)}, 423, "disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, srv, func(cfg *Config) {
				cfg.Token, cfg.APIKey = tt.cfg.Token, tt.cfg.APIKey
			})
			_, err := c.List(testCtx(t), tt.room)
			var se *StatusError
			if !errors.As(err, &se) || se.Status != tt.status || !se.Permanent() ||
				!strings.Contains(err.Error(), tt.text) {
				t.Fatalf("List(%s) = %v, want permanent HTTP %d", tt.room, err, tt.status)
			}
			if strings.Contains(err.Error(), secret) || tt.cfg.Token != "" &&
				strings.Contains(err.Error(), tt.cfg.Token) {
				t.Errorf("error %q shows a secret", err)
			}
		})
	}
	if n := srv.Rejected("lobby"); n != 2 {
		t.Errorf("simulator rejected %d upgrades to lobby, want 2 (no retries)", n)
	}
}

// TestRedirectIsPermanent: a room server that answers the upgrade with a
// redirect is not dialled again and again. The websocket dialer follows
// no redirect, so each retry would get the same answer; the client used
// to take it for a room not ready yet and retry until DialTimeout.
func TestRedirectIsPermanent(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	c, err := New(Config{URL: srv.URL, Token: "t", RetryDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })

	_, err = c.List(testCtx(t), "lobby")
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 307 || !se.Permanent() || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("List = %v, want a permanent HTTP 307 that says redirect", err)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("the server was asked %d times, want once", n)
	}
}

// TestDotRoomNames: "." and ".." are refused before any dial: in the
// room's URL they would name another path of the server.
func TestDotRoomNames(t *testing.T) {
	srv := demo(t)
	c := newClient(t, srv)
	for _, room := range []string{".", ".."} {
		if _, err := c.List(testCtx(t), room); err == nil || !strings.Contains(err.Error(), "not a room name") {
			t.Errorf("List(%q) = %v, want it refused as no room name", room, err)
		}
	}
	if n := len(srv.Auths()); n != 0 {
		t.Errorf("simulator accepted %d connections, want none", n)
	}
}

func mintFor(t *testing.T, secret, room string) string {
	t.Helper()
	key, err := parseAPIKey(roomtest.APIKey(secret))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := newMinter(key, "x", time.Minute, time.Now).token(room)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestUnreachableRoom(t *testing.T) {
	srv := demo(t)
	logs := newLogWatch()
	c := newClient(t, srv, func(cfg *Config) {
		cfg.DialTimeout = 100 * time.Millisecond
		cfg.Logger = slog.New(logs)
	})
	if _, err := c.List(testCtx(t), "lobby"); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetReachable("lobby", false); err != nil {
		t.Fatal(err)
	}
	// A call racing the drop would fail with ErrDisconnected instead.
	logs.await(t, "room connection closed")
	_, err := c.List(testCtx(t), "lobby")
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 503 || se.Permanent() {
		t.Fatalf("List of an unreachable room = %v, want HTTP 503 after retries", err)
	}
	srv.SetReachable("lobby", true)
	if _, err := c.List(testCtx(t), "lobby"); err != nil {
		t.Fatalf("List once reachable again: %v", err)
	}
}

// TestAPIKeyMinting has the simulator verify HS256 tokens minted from an
// API key whose secret holds dashes.
func TestAPIKeyMinting(t *testing.T) {
	const secret = "abc-def-ghi"
	srv := demo(t, roomtest.WithSecret(secret))
	c := newClient(t, srv, func(cfg *Config) {
		cfg.Token, cfg.APIKey, cfg.Participant = "", roomtest.APIKey(secret), "bot-7"
	})
	for _, room := range []string{"lobby", "staging"} {
		if _, err := c.List(testCtx(t), room); err != nil {
			t.Fatalf("List(%s) with a minted token: %v", room, err)
		}
	}
	auths := srv.Auths()
	if len(auths) != 2 || auths[0].Name != "bot-7" || auths[0].Method != "header" ||
		time.Until(auths[0].Expires) <= 0 {
		t.Errorf("simulator saw %+v, want two header tokens for bot-7", auths)
	}
}

// TestTokenRenewal advances the client's clock past three quarters of
// the token's life: the next dial must present a fresh token.
func TestTokenRenewal(t *testing.T) {
	const secret = "renew"
	srv := demo(t, roomtest.WithSecret(secret))
	var mu sync.Mutex
	now := time.Now()
	logs := newLogWatch()
	c := newClient(t, srv, func(cfg *Config) {
		cfg.Token, cfg.APIKey, cfg.TokenTTL = "", roomtest.APIKey(secret), 10*time.Minute
		cfg.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		cfg.Logger = slog.New(logs)
	})
	redial := func() {
		t.Helper()
		open := srv.Connections("lobby")
		srv.CloseConnections("lobby", 1000)
		logs.await(t, "room connection closed")
		if _, err := c.List(testCtx(t), "lobby"); err != nil {
			t.Fatal(err)
		}
		if srv.Connections("lobby") != open+1 {
			t.Fatal("List did not dial again")
		}
	}
	if _, err := c.List(testCtx(t), "lobby"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(5 * time.Minute) // still fresh
	mu.Unlock()
	redial()
	mu.Lock()
	now = now.Add(3 * time.Minute) // past 7.5 of 10 minutes
	mu.Unlock()
	redial()

	a := srv.Auths()
	if len(a) != 3 || !a[0].Expires.Equal(a[1].Expires) || !a[2].Expires.After(a[1].Expires) {
		t.Errorf("token expiries %v, %v, %v: want the second reused, the third renewed",
			a[0].Expires, a[1].Expires, a[2].Expires)
	}
}

func TestIdleClose(t *testing.T) {
	srv := demo(t)
	c := newClient(t, srv, func(cfg *Config) { cfg.IdleTimeout = 50 * time.Millisecond })
	if _, err := c.List(testCtx(t), "lobby"); err != nil {
		t.Fatal(err)
	}
	srv.WaitFor(t, "the idle connection to close", func() bool {
		return srv.Open("lobby") == 0 && srv.ClientCloses(1000) == 1
	})
	if _, err := c.List(testCtx(t), "lobby"); err != nil {
		t.Fatalf("List after the idle close: %v", err)
	}
	if n := srv.Connections("lobby"); n != 2 {
		t.Errorf("simulator accepted %d connections, want 2", n)
	}
}

// TestPingTimeout talks to a room that answers no ping and sends nothing:
// the client must give up on it rather than wait for the call's deadline.
func TestPingTimeout(t *testing.T) {
	srv := demo(t)
	setFaults(t, srv, "lobby", roomtest.Faults{IgnorePings: true, NeverAnswer: true})
	c := newClient(t, srv, func(cfg *Config) { cfg.PingInterval = 20 * time.Millisecond })
	_, err := c.List(testCtx(t), "lobby")
	if !errors.Is(err, ErrDisconnected) {
		t.Fatalf("List on a room deaf to pings = %v, want ErrDisconnected", err)
	}
}

// TestPingsKeepALiveRoom is the other side: an answer that takes four ping
// intervals, well past the client's timeout of one and a half, still
// arrives over a connection that shows signs of life: pongs to the
// client's pings, or, from a room deaf to those, pings of its own.
func TestPingsKeepALiveRoom(t *testing.T) {
	// Intervals long next to how long a loaded machine (-race, busy
	// cores) may keep a goroutine waiting; the 20 ms this test had made
	// it fail under load.
	const interval = 400 * time.Millisecond
	tests := []struct {
		name string
		opt  roomtest.Option
		f    roomtest.Faults
	}{
		{"pongs", roomtest.WithPing(0), roomtest.Faults{}},
		{"the room's pings", roomtest.WithPing(interval / 4), roomtest.Faults{IgnorePings: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := demo(t, tt.opt)
			tt.f.AnswerDelay = 4 * interval
			setFaults(t, srv, "lobby", tt.f)
			c := newClient(t, srv, func(cfg *Config) { cfg.PingInterval = interval })
			if _, err := c.List(testCtx(t), "lobby"); err != nil {
				t.Fatalf("List over a pinged connection: %v", err)
			}
		})
	}
}

func TestClose(t *testing.T) {
	srv := demo(t)
	setFaults(t, srv, "lobby", roomtest.Faults{NeverAnswer: true})
	c := newClient(t, srv)
	errc := make(chan error, 1)
	go func() {
		_, err := c.List(testCtx(t), "lobby")
		errc <- err
	}()
	srv.WaitFor(t, "a pending call", func() bool { return srv.Unanswered("lobby") == 1 })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("pending List = %v, want ErrClosed", err)
	}
	srv.WaitFor(t, "a 1000 close frame", func() bool { return srv.ClientCloses(1000) == 1 })
	if _, err := c.List(testCtx(t), "lobby"); !errors.Is(err, ErrClosed) {
		t.Errorf("List after Close = %v, want ErrClosed", err)
	}
}

// TestCloseDuringDial closes the client while a dial waits for a room that
// is slow to be ready.
func TestCloseDuringDial(t *testing.T) {
	srv := demo(t)
	setFaults(t, srv, "lobby", roomtest.Faults{ReadyDelay: time.Hour})
	c := newClient(t, srv)
	errc := make(chan error, 1)
	go func() {
		_, err := c.List(testCtx(t), "lobby")
		errc <- err
	}()
	srv.WaitFor(t, "the dial", func() bool { return srv.Open("lobby") == 1 })
	c.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("List during Close = %v, want ErrClosed", err)
	}
}

// TestNothingListening: a room server that refuses connections is given
// up on after a few attempts, with the network error, long before the
// call's deadline: a user should hear "cannot reach" in seconds.
func TestNothingListening(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	c, err := New(Config{URL: "ws://" + addr, Token: "t", RetryDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = c.List(ctx, "lobby")
	var oe *net.OpError
	if !errors.As(err, &oe) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("List with nothing listening = %v, want the dial error before the deadline", err)
	}
}

// TestDeadlineCarriesDialError: a call whose deadline passes while the
// room keeps refusing says why, not only that time ran out.
func TestDeadlineCarriesDialError(t *testing.T) {
	srv := demo(t)
	c := newClient(t, srv, func(cfg *Config) { cfg.RetryDelay = 20 * time.Millisecond })
	if err := srv.SetReachable("lobby", false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.List(ctx, "lobby")
	var se *StatusError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &se) || se.Status != 503 {
		t.Fatalf("List past its deadline = %v, want DeadlineExceeded carrying HTTP 503", err)
	}
}

// TestConnectedMustBeInit: only a connected message of type init makes a
// room ready (protocol §2.5); one of another type is ignored.
func TestConnectedMustBeInit(t *testing.T) {
	const joined = `{"type":"participant_joined","participantId":"p-9","attributes":{}}`
	t.Run("other types ignored", func(t *testing.T) {
		room := newScriptRoom(t, func(ws *websocket.Conn, _ <-chan struct{}) {
			sendMsg(ws, 1, wire.TypeRoomReady, roomReady)
			sendMsg(ws, 2, wire.TypeConnected, joined)
			sendMsg(ws, 3, wire.TypeConnected, initialized)
			serveEmptyLists(ws)
		})
		c := newScriptClient(t, room.config())
		if _, err := c.List(testCtx(t), "r"); err != nil {
			t.Fatalf("List after a participant_joined and an init: %v", err)
		}
	})
	t.Run("no init, not ready", func(t *testing.T) {
		// A client that took the first connected for init sends its call
		// and sees the close as a lost connection.
		room := newScriptRoom(t, func(ws *websocket.Conn, _ <-chan struct{}) {
			sendMsg(ws, 1, wire.TypeRoomReady, roomReady)
			sendMsg(ws, 2, wire.TypeConnected, joined)
			ws.WriteMessage(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			ws.ReadMessage() // until the client has gone
		})
		c := newScriptClient(t, room.config())
		_, err := c.List(testCtx(t), "r")
		if errors.Is(err, ErrDisconnected) || err == nil ||
			!strings.Contains(err.Error(), "before the room became ready") {
			t.Errorf("List = %v, want closed before the room became ready", err)
		}
	})
}

func newScriptClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestCloseCutsAStuckWrite: a room that stops reading holds the writer in
// the middle of a call. Close must not wait out the write timeout for a
// write that will never finish, and the call must fail with ErrClosed.
func TestCloseCutsAStuckWrite(t *testing.T) {
	inCall := make(chan struct{})
	room := newPipedRoom(t, func(ws *websocket.Conn, done <-chan struct{}) {
		if handshake(ws) != nil {
			return
		}
		// The call's header frame; its data frame is never read.
		if _, _, err := ws.NextReader(); err == nil {
			close(inCall)
		}
		<-done
	})
	c := newScriptClient(t, room.config())
	errc := restartInFlight(t, c, "svc-1", inCall)

	closed := make(chan struct{})
	go func() {
		c.Close()
		close(closed)
	}()
	// Well inside writeTimeout, which Close used to wait out.
	guard := time.After(2 * time.Second)
	select {
	case <-closed:
	case <-guard:
		t.Fatal("Close waited for a write the room does not read")
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Restart = %v, want ErrClosed", err)
		}
	case <-guard:
		t.Fatal("the call in flight did not fail when the client closed")
	}
}

// TestBackoff: the waits between dial attempts double from the first up
// to maxRetryDelay, and each is jittered between half and all of its
// step, so that clients a room refused together spread out.
func TestBackoff(t *testing.T) {
	b := backoff{next: 500 * time.Millisecond}
	step := 500 * time.Millisecond
	for i := range 12 {
		if w := b.wait(); w < step/2 || w > step {
			t.Errorf("wait %d = %v, want between %v and %v", i+1, w, step/2, step)
		}
		step = min(2*step, maxRetryDelay)
	}
	if b.next != maxRetryDelay {
		t.Fatalf("after 12 waits the next step is %v, want the cap %v", b.next, maxRetryDelay)
	}

	seen := map[time.Duration]bool{}
	for range 50 {
		seen[(&backoff{next: time.Second}).wait()] = true
	}
	if len(seen) < 10 {
		t.Errorf("50 first waits took %d values, want them spread", len(seen))
	}
}

// TestCloseLetsAMovingWriteEnd: Close while the writer is in the middle
// of a call the room is still reading lets the frame being written end,
// leaves out the rest of the call, and says goodbye with a 1000 close
// frame. Close used to cut every write in progress at once, so a Close
// just after a call went out dropped the socket without one (TestClose,
// about once in 300 runs under -race).
func TestCloseLetsAMovingWriteEnd(t *testing.T) {
	tests := []struct {
		name string
		id   string // the id restarted: its length sets the call's frames
	}{
		{"one data frame", "svc-1"},
		{"four data frames", strings.Repeat("s", 3*wire.ChunkSize)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, code := closeDuringCall(t, tt.id)
			if frames > 1 {
				t.Errorf("the room read %d data frames after Close, want at most the one being written", frames)
			}
			if code != websocket.CloseNormalClosure {
				t.Errorf("the room saw close code %d after the call, want 1000", code)
			}
		})
	}
}

// closeDuringCall restarts id on a piped room, closes the client once the
// room has read the call's header frame, and returns how many frames the
// room read after that, and the code of the close frame that ended them
// (-1 for none).
func closeDuringCall(t *testing.T, id string) (frames, code int) {
	t.Helper()
	inCall := make(chan struct{})
	closing := make(chan struct{})
	type seen struct{ frames, code int }
	seenc := make(chan seen, 1)
	room := newPipedRoom(t, func(ws *websocket.Conn, done <-chan struct{}) {
		if handshake(ws) != nil {
			return
		}
		// The call's header frame; its data frames wait for Close.
		if _, _, err := ws.ReadMessage(); err != nil {
			return
		}
		close(inCall)
		select {
		case <-closing:
		case <-done:
			return
		}
		var s seen
		for {
			_, _, err := ws.ReadMessage()
			if err == nil {
				s.frames++
				continue
			}
			s.code = -1
			if ce, ok := errors.AsType[*websocket.CloseError](err); ok {
				s.code = ce.Code
			}
			seenc <- s
			return
		}
	})
	cfg := room.config()
	// Longer than the room can take to read a frame, however busy the
	// machine; the default is for rooms that do not read at all.
	cfg.cutGrace = patience
	c := newScriptClient(t, cfg)
	errc := restartInFlight(t, c, id, inCall)

	cn := onlyConn(t, c)
	go c.Close()
	select {
	case <-cn.quit:
	case <-time.After(patience):
		t.Fatal("Close did not stop the connection")
	}
	close(closing)
	var s seen
	select {
	case s = <-seenc:
	case <-time.After(patience):
		t.Fatal("the room saw neither the rest of the call nor a close frame")
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("Restart = %v, want ErrClosed", err)
	}
	return s.frames, s.code
}

// restartInFlight starts a restart of id on c and waits for inCall,
// which the room closes once the call reaches it. The restart's error
// comes on the channel returned.
func restartInFlight(t *testing.T, c *Client, id string, inCall <-chan struct{}) <-chan error {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- c.Restart(testCtx(t), "r", id) }()
	select {
	case <-inCall:
	case <-time.After(patience):
		t.Fatal("the call never reached the room")
	}
	return errc
}

// onlyConn returns the client's one open connection.
func onlyConn(t *testing.T, c *Client) *conn {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.conns) != 1 {
		t.Fatalf("the client has %d connections, want 1", len(c.conns))
	}
	for _, cn := range c.conns {
		return cn
	}
	return nil
}

// TestFrameOverReadLimit: a room that announces a frame longer than any
// message could need loses the connection at once, rather than have the
// client wait for, or drain, what it would refuse anyway.
func TestFrameOverReadLimit(t *testing.T) {
	room := newScriptRoom(t, func(ws *websocket.Conn, done <-chan struct{}) {
		if handshake(ws) != nil {
			return
		}
		// Once a call is in flight, so that it is the call that fails.
		if _, _, err := ws.NextReader(); err != nil {
			return
		}
		// A binary frame's header with a 64-bit length, and nothing else.
		hdr := []byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint64(hdr[2:], wire.MaxFrame+1)
		ws.NetConn().Write(hdr)
		<-done
	})
	c := newScriptClient(t, room.config())
	_, err := c.List(testCtx(t), "r")
	if !errors.Is(err, ErrDisconnected) || !strings.Contains(err.Error(), "read limit") {
		t.Errorf("List = %v, want ErrDisconnected at the read limit", err)
	}
}

// TestUntrustedCertificateIsPermanent: a room server whose certificate
// roombot does not trust is dialled once, not until DialTimeout: no retry
// can make the certificate good, and the person who asked should hear
// why at once.
func TestUntrustedCertificateIsPermanent(t *testing.T) {
	tlsCfg, _, err := roomtest.LoopbackTLS()
	if err != nil {
		t.Fatal(err)
	}
	srv := demo(t, roomtest.WithTLS(tlsCfg))
	var dials atomic.Int32
	c := newClient(t, srv, func(cfg *Config) {
		cfg.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	})
	_, err = c.List(testCtx(t), "lobby")
	var ve *tls.CertificateVerificationError
	if !errors.As(err, &ve) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("List from an untrusted server = %v, want the certificate error before the deadline", err)
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("the server was dialled %d times, want once", n)
	}
}

// TestDisconnectedHidesItsCause: a call cut off by a lost connection is
// not taken for one that never left. Its error says what broke but does
// not wrap it, since a network or TLS error in an error's chain reads as
// a dial that failed, before anything was sent.
func TestDisconnectedHidesItsCause(t *testing.T) {
	err := disconnected(tls.RecordHeaderError{Msg: "oversized record received"})
	var he tls.RecordHeaderError
	var oe *net.OpError
	if errors.As(err, &he) || errors.As(err, &oe) || !errors.Is(err, ErrDisconnected) ||
		!strings.Contains(err.Error(), "oversized record") {
		t.Errorf("disconnected = %v, want ErrDisconnected saying the cause without wrapping it", err)
	}
	err = disconnected(&net.OpError{Op: "read", Err: errors.New("connection reset")})
	if errors.As(err, &oe) {
		t.Errorf("disconnected(%v) wraps the *net.OpError", err)
	}
}
