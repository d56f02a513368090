package slacksim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// Defaults for Config fields left empty.
const (
	DefaultAppToken  = "xapp-1-A0APP0001-slacksim"
	DefaultBotToken  = "xoxb-slacksim-bot"
	DefaultTeamID    = "T0ACME001"
	DefaultAppID     = "A0APP0001"
	DefaultBotUserID = "U0BOT0001"
	DefaultBotID     = "B0BOT0001"
)

// Slack's own figures, used when Config leaves them zero.
const (
	defaultPingInterval = 5 * time.Second
	defaultAckDeadline  = 3 * time.Second // slash commands and clicks
	defaultMaxConns     = 10              // Socket Mode connections per app
	defaultPostRate     = 1               // chat.postMessage a second, per channel
	defaultPostBurst    = 4
	hookUses            = 5 // posts per response_url
	hookLifetime        = 30 * time.Minute
	writeTimeout        = 10 * time.Second
	maxFrameBytes       = 1 << 20 // read limit; acks over 20 KB must still be seen
)

// ErrClosed is returned by calls that wait on a server that has been closed.
var ErrClosed = errors.New("slacksim: server closed")

// Config describes the workspace the stand-in pretends to be. The zero
// value works: tokens and ids take the Default… values.
type Config struct {
	// AppToken is the app-level token that apps.connections.open expects
	// as "Authorization: Bearer …"; BotToken is the bot token the other
	// methods expect in the form field token (or a Bearer header).
	// Anything else is answered with invalid_auth.
	AppToken, BotToken string

	TeamID, TeamDomain string // default T0ACME001, "acme"
	AppID              string // default A0APP0001
	BotUserID, BotID   string // default U0BOT0001, B0BOT0001

	// PingInterval is how often each connection gets a websocket PING.
	// slack-go drops a connection that has not been pinged for its own
	// OptionPingInterval (30 s by default), so keep this well under it.
	// Default 5s.
	PingInterval time.Duration

	// AckDeadline is how long Slack waits for an ack before the user sees
	// an error. A delivery not acked by then is recorded as a violation
	// at that moment, and a late ack's payload is not shown. Default 3s.
	AckDeadline time.Duration

	// MaxConnections is how many Socket Mode connections may be open at
	// once; one more is told too_many_websockets. Default 10.
	MaxConnections int

	// PostRate is how many chat.postMessage calls a second one channel
	// takes, and PostBurst how many at once: Slack allows about one a
	// second per channel and tolerates short bursts. A call past them is
	// answered 429 with Retry-After, posts nothing, and is a violation.
	// Default 1 a second in bursts of 4; rate.Inf turns the limit off,
	// for tests that post in bursts on purpose. chat.update and
	// chat.postEphemeral have no such limit: Slack counts them per
	// workspace, in tiers. The limit runs on real time, not on Clock,
	// which a test may freeze.
	PostRate  rate.Limit
	PostBurst int

	// Clock gives the time used for response_url expiry and message
	// timestamps. Default time.Now.
	Clock func() time.Time

	// Logger gets lifecycle and fault lines, never tokens or bodies.
	// Default: discard.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.AppToken, DefaultAppToken)
	def(&c.BotToken, DefaultBotToken)
	def(&c.TeamID, DefaultTeamID)
	def(&c.TeamDomain, "acme")
	def(&c.AppID, DefaultAppID)
	def(&c.BotUserID, DefaultBotUserID)
	def(&c.BotID, DefaultBotID)
	if c.PingInterval <= 0 {
		c.PingInterval = defaultPingInterval
	}
	if c.AckDeadline <= 0 {
		c.AckDeadline = defaultAckDeadline
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = defaultMaxConns
	}
	if c.PostRate <= 0 {
		c.PostRate = defaultPostRate
	}
	if c.PostBurst <= 0 {
		c.PostBurst = defaultPostBurst
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// A Server is a running Slack stand-in on 127.0.0.1. All its methods are
// safe for concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	base     string // http://127.0.0.1:PORT
	http     *http.Server
	upgrader websocket.Upgrader
	done     chan struct{} // closed by Close
	wg       sync.WaitGroup

	// mu guards everything below, which is the whole recorded state.
	// TODO(slacksim): calls, acks and messages are kept for the server's
	// life; a long load run grows without bound.
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	closed  bool
	seq     int // ids, tickets and timestamps

	conns      map[int]*conn
	nextConn   int
	tickets    map[string]bool
	opens      int
	routing    Routing
	pinned     int
	rrNext     int
	pingsOff   bool
	rejectAuth bool

	faults     map[string][]Fault
	postLimits map[string]*rate.Limiter // chat.postMessage, by channel
	calls      []Call
	groups     map[string][]string
	envelopes  map[string]*envelopeRec
	acks       []Ack
	firstAck   map[string]int // envelope id → index in acks
	violations []error

	messages    []*Message
	byTS        map[string]*Message
	events      []MessageEvent
	eventsByEnv map[string][]int // envelope id → indexes in events
	hooks       map[string]*hook
}

// New starts a Server on a loopback port.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening on loopback: %w", err)
	}

	s := &Server{
		cfg:         cfg,
		log:         cfg.Logger,
		base:        "http://" + ln.Addr().String(),
		done:        make(chan struct{}),
		changed:     make(chan struct{}),
		conns:       map[int]*conn{},
		tickets:     map[string]bool{},
		faults:      map[string][]Fault{},
		postLimits:  map[string]*rate.Limiter{},
		groups:      map[string][]string{},
		envelopes:   map[string]*envelopeRec{},
		firstAck:    map[string]int{},
		byTS:        map[string]*Message{},
		eventsByEnv: map[string][]int{},
		hooks:       map[string]*hook{},
	}
	// slack-go dials with Origin: https://api.slack.com, which gorilla's
	// default same-origin check refuses.
	s.upgrader.CheckOrigin = func(*http.Request) bool { return true }

	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{method}", s.serveAPI)
	mux.HandleFunc("POST /hooks/{id}", s.serveHook)
	mux.HandleFunc("GET /link/", s.serveLink)
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	s.wg.Go(func() {
		if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("slack stand-in stopped serving", "err", err)
		}
	})
	s.log.Info("slack stand-in listening", "url", s.APIURL())
	return s, nil
}

// NewServer starts a Server for a test and closes it when the test ends.
func NewServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("slacksim.New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// APIURL is the Web API base to give slack.OptionAPIURL. The trailing
// slash matters: slack-go appends method names as they are.
func (s *Server) APIURL() string { return s.base + "/api/" }

// Config returns the configuration in use, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Close drops every connection, stops the server and waits for its
// goroutines. Waiting calls return ErrClosed.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	s.stopTimersLocked()
	conns := s.connList()
	s.notifyLocked()
	s.mu.Unlock()

	for _, c := range conns {
		c.end()
	}
	_ = s.http.Close()
	s.wg.Wait()
	s.log.Info("slack stand-in closed")
}

// notifyLocked wakes every waiter. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// wait blocks until cond, called with s.mu held, reports true.
func (s *Server) wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		if cond() {
			s.mu.Unlock()
			return nil
		}
		ch, closed := s.changed, s.closed
		s.mu.Unlock()

		if closed {
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// nextIDLocked returns a fresh id with the given prefix. s.mu must be held.
func (s *Server) nextIDLocked(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%06d", prefix, s.seq)
}

// tsLocked returns a fresh message timestamp in Slack's "seconds.micros"
// form; the sequence keeps it unique under a frozen Clock.
func (s *Server) tsLocked() string {
	s.seq++
	return fmt.Sprintf("%d.%06d", s.cfg.Clock().Unix(), s.seq%1000000)
}

// violationLocked records a broken Slack rule. s.mu must be held.
func (s *Server) violationLocked(err error) {
	s.violations = append(s.violations, err)
	s.log.Warn("slack limit broken", "err", err)
}

// Violations returns every limit violation seen so far, in order: broken
// message limits (unpack them with LimitErrors), oversized or malformed
// acks, deliveries not acked by the deadline (whether the ack comes late
// or never), acks of unknown or already-acked envelopes, and posts over
// a channel's rate.
func (s *Server) Violations() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.violations...)
}

// hookURL is the response_url of a hook id.
func (s *Server) hookURL(id string) string { return s.base + "/hooks/" + id }

// hookID extracts the hook id from a response_url of this server.
func (s *Server) hookID(url string) string {
	return strings.TrimPrefix(url, s.base+"/hooks/")
}
