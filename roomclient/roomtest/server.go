package roomtest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/roomops/roombot/roomclient/internal/wire"
)

// A Server is a MeshAgent room simulator on a loopback address. It speaks
// the room protocol byte for byte, serves the rooms of a Fixture, and has
// knobs to misbehave in every way the protocol allows.
type Server struct {
	url     string
	ln      net.Listener
	srv     *http.Server
	secret  []byte
	delays  [2]time.Duration // restarting→starting, starting→running
	pingGap time.Duration
	onAns   func(AnswerTime)
	tls     *tls.Config
	log     *slog.Logger
	addr    string
	quit    chan struct{} // closed by Close
	wg      sync.WaitGroup

	// mu guards everything below, and all room and session state.
	mu       sync.Mutex
	closed   bool
	rooms    map[string]*roomState
	sessions map[*session]bool
	timers   map[*time.Timer]bool
	stats    stats
	changed  chan struct{} // closed and replaced on every change
	nextSess int
}

// An Option configures a Server.
type Option func(*Server)

// WithSecret makes the Server verify tokens as HS256 JWTs signed with
// secret, unexpired if they carry an exp, with an api grant holding
// "services" and, if they carry room grants, one for the room. Without it
// any non-empty token is accepted.
func WithSecret(secret string) Option {
	return func(s *Server) { s.secret = []byte(secret) }
}

// WithAddr sets the listening address; the default is 127.0.0.1:0.
func WithAddr(addr string) Option {
	return func(s *Server) { s.addr = addr }
}

// WithTLS makes the Server speak wss with cfg, as production rooms do,
// so that a fresh connection pays for a TLS handshake. Clients must
// trust cfg's certificate; for the roomclient in another process,
// SSL_CERT_FILE names it.
func WithTLS(cfg *tls.Config) Option {
	return func(s *Server) { s.tls = cfg }
}

// WithRestartDelays sets how long a restarted service stays "restarting"
// and then "starting" before it runs. Both default to zero: a restart is
// over by the time the room answers.
func WithRestartDelays(restarting, starting time.Duration) Option {
	return func(s *Server) { s.delays = [2]time.Duration{restarting, starting} }
}

// WithPing makes the Server ping every client every d.
func WithPing(d time.Duration) Option {
	return func(s *Server) { s.pingGap = d }
}

// An AnswerTime is how long a room took over one tool call: from the
// last frame of the request read to the last frame of the answer written.
// It counts the room's own work and any AnswerDelay, not the network.
type AnswerTime struct {
	Room string
	Tool string // "list", "restart", or the message type of other requests
	Took time.Duration
}

// WithAnswerTimes makes the Server call f after it has written each
// answer, for load tools that take the room's time out of a latency. f
// runs on the connection's writer, so it should return quickly. Answers
// swallowed by NeverAnswer are not reported.
func WithAnswerTimes(f func(AnswerTime)) Option {
	return func(s *Server) { s.onAns = f }
}

// WithLogger makes the Server log what it does; by default it is silent.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) { s.log = l }
}

// NewServer starts a Server for a test and closes it when the test ends.
// A nil fx serves the demo fixture.
func NewServer(t testing.TB, fx *Fixture, opts ...Option) *Server {
	t.Helper()
	s, err := New(fx, opts...)
	if err != nil {
		t.Fatalf("roomtest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// New starts a Server; the caller must Close it. A nil fx serves the demo
// fixture.
func New(fx *Fixture, opts ...Option) (*Server, error) {
	if fx == nil {
		fx = DemoFixture()
	}
	if err := fx.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		addr:     "127.0.0.1:0",
		log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		quit:     make(chan struct{}),
		rooms:    map[string]*roomState{},
		sessions: map[*session]bool{},
		timers:   map[*time.Timer]bool{},
		changed:  make(chan struct{}),
		stats:    newStats(),
	}
	for _, o := range opts {
		o(s)
	}
	if err := s.load(fx); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("roomtest: %w", err)
	}
	s.ln, s.url = ln, "ws://"+ln.Addr().String()
	if s.tls != nil {
		s.ln, s.url = tls.NewListener(ln, s.tls), "wss://"+ln.Addr().String()
	}
	s.start()
	return s, nil
}

func (s *Server) start() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /rooms/{room}", s.serveRoom)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		// Failed TLS handshakes go to the Server's logger, not stderr.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.srv.Serve(s.ln)
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rooms {
		for _, svc := range r.services {
			s.startCrashLoopLocked(svc)
		}
	}
}

// URL returns the base to put in roomclient.Config.URL, such as
// "ws://127.0.0.1:41234".
func (s *Server) URL() string { return s.url }

// Rooms returns the names of the rooms served, sorted.
func (s *Server) Rooms() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.rooms))
	for n := range s.rooms {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Close drops every connection and stops the Server and its timers. It
// returns once every goroutine of the Server has ended.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.quit)
	for t := range s.timers {
		t.Stop()
	}
	sessions := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()

	s.srv.Close()
	for _, ss := range sessions {
		ss.drop(websocket.CloseGoingAway)
	}
	s.wg.Wait()
}

func (s *Server) serveRoom(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("room")
	s.mu.Lock()
	rm, status, msg := s.admitLocked(name)
	if status == 0 {
		s.wg.Add(1)
		defer s.wg.Done()
	}
	s.mu.Unlock()
	if status != 0 {
		http.Error(w, msg, status)
		return
	}

	grant, proto, status, msg := s.authenticate(r, name)
	if status != 0 {
		s.count(func(st *stats) { st.rejected[name]++ })
		http.Error(w, msg, status)
		return
	}
	hdr := http.Header{}
	if proto != "" {
		// Browsers fail a handshake whose chosen subprotocol is not echoed.
		hdr.Set("Sec-WebSocket-Protocol", proto)
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, hdr)
	if err != nil {
		return
	}
	// Frames are read whole: without a limit, one that announced any
	// length would be allocated.
	ws.SetReadLimit(wire.MaxFrame)
	s.serveSession(rm, ws, grant)
}

// admitLocked checks that the room exists and takes connections.
func (s *Server) admitLocked(name string) (*roomState, int, string) {
	rm := s.rooms[name]
	switch {
	case s.closed:
		return nil, http.StatusServiceUnavailable, "simulator closed"
	case rm == nil:
		return nil, http.StatusNotFound, "room not found"
	case rm.disabled:
		return nil, http.StatusLocked, "This room is currently disabled."
	case rm.unreachable:
		return nil, http.StatusServiceUnavailable, "room unreachable"
	}
	return rm, 0, ""
}

// A grant is what a token allows, and how it came.
type grant struct {
	auth        Auth
	listAllowed bool
}

// An Auth records how one connection authenticated.
type Auth struct {
	Room    string
	Method  string    // "header", "subprotocol" or "query"
	Name    string    // the token's name claim, when verified
	Expires time.Time // the token's exp, when verified and present
}

const subprotocolPrefix = "meshagent-room."

// authenticate finds the token the way section 2.2 of the protocol lists
// them, and checks it when the Server has a secret.
func (s *Server) authenticate(r *http.Request, room string) (grant, string, int, string) {
	tok, method, proto := tokenOf(r)
	if tok == "" {
		return grant{}, "", http.StatusUnauthorized, "missing token"
	}
	g := grant{auth: Auth{Room: room, Method: method}, listAllowed: true}
	if s.secret == nil {
		return g, proto, 0, ""
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) {
		return s.secret, nil
	}, jwt.WithValidMethods([]string{"HS256"})) // exp is optional (§2.3)
	if err != nil {
		return grant{}, "", http.StatusUnauthorized, "invalid token"
	}
	g.auth.Name, _ = claims["name"].(string)
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		g.auth.Expires = exp.Time
	}
	ok, list := checkGrants(claims, room)
	if !ok {
		return grant{}, "", http.StatusForbidden, "token does not grant this room's services"
	}
	g.listAllowed = list
	return g, proto, 0, ""
}

func tokenOf(r *http.Request) (tok, method, proto string) {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && t != "" {
		return t, "header", ""
	}
	for _, p := range websocket.Subprotocols(r) {
		if t, ok := strings.CutPrefix(p, subprotocolPrefix); ok && t != "" {
			return t, "subprotocol", p
		}
	}
	return r.URL.Query().Get("token"), "query", ""
}

// checkGrants wants an api grant with a services entry and, when the
// token has room grants, one naming room: protocol §9.2 checks the room
// "if present", and any of several will do. It also reports whether the
// services entry allows listing.
func checkGrants(claims jwt.MapClaims, room string) (ok, list bool) {
	raw, _ := json.Marshal(claims["grants"])
	var grants []struct {
		Name  string          `json:"name"`
		Scope json.RawMessage `json:"scope"`
	}
	json.Unmarshal(raw, &grants)
	var rooms, roomOK, apiOK bool
	list = true
	for _, g := range grants {
		switch g.Name {
		case "room":
			var r string
			rooms = true
			roomOK = roomOK || json.Unmarshal(g.Scope, &r) == nil && r == room
		case "api":
			var api map[string]*struct {
				List *bool `json:"list"`
			}
			if json.Unmarshal(g.Scope, &api) == nil {
				svc, has := api["services"]
				apiOK = has
				if svc != nil && svc.List != nil {
					list = *svc.List
				}
			}
		}
	}
	return (roomOK || !rooms) && apiOK, list
}

// Await blocks until cond holds or ctx ends. cond is checked after every
// change the Server sees: a call, a restart, a state change, a connection.
func (s *Server) Await(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitFor is Await for tests: it fails t, naming what, when cond does not
// hold within ten seconds.
func (s *Server) WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Await(ctx, cond); err != nil {
		t.Fatalf("roomtest: waiting for %s: %v", what, err)
	}
}

// notifyLocked wakes every Await.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// roomURL is the room_url a room_ready message carries.
func (s *Server) roomURL(room string) string {
	return s.url + "/rooms/" + url.PathEscape(room)
}

var errNoRoom = errors.New("roomtest: no such room")
