package roomclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/roomops/roombot/roomclient/internal/wire"
)

// DefaultURL is the MeshAgent room base used when Config.URL is empty.
const DefaultURL = "wss://api.meshagent.com"

// Config configures a Client. Exactly one of Token and APIKey must be set.
// Zero durations take the defaults in their comments.
//
// A Config prints and logs without its token or key (see Format and
// LogValue). encoding/json would show both, being exported fields; no
// Config is marshalled today.
// TODO(roomclient): redact them there too if one ever is.
type Config struct {
	// URL is the room base, e.g. "ws://127.0.0.1:8080": an http or https
	// scheme is rewritten to ws or wss, a trailing slash is dropped, and
	// "/rooms/<room>" is appended. Empty means DefaultURL. The bot reads it
	// from MESHAGENT_ROOM_URL.
	URL string

	// Token is a participant token, presented as is to every room
	// (MESHAGENT_TOKEN).
	Token string

	// APIKey is a project API key, "ma-…", from which the client mints a
	// short-lived token per room (MESHAGENT_API_KEY).
	APIKey string

	// Participant is the name in minted tokens; default "roombot".
	Participant string

	CallTimeout time.Duration // per call when ctx has no deadline; 30s
	DialTimeout time.Duration // dial, handshake and retries; 30s
	IdleTimeout time.Duration // close an unused connection; 5m; <0 never

	// PingInterval is how often a websocket ping goes out; a connection
	// that sends nothing back for one and a half intervals is dropped.
	// Default 30s; negative disables pings.
	PingInterval time.Duration

	TokenTTL   time.Duration // lifetime of a minted token; 10m
	RetryDelay time.Duration // first wait before redialling; 500ms, doubling to 10s

	// Logger receives connection events; nil discards them.
	Logger *slog.Logger

	now func() time.Time // the clock for token expiry; tests replace it

	// dial opens the connection under the websocket, when tests replace
	// the network; nil dials TCP.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// cutGrace is how long a write in progress may go on once its
	// connection stops, by Close or a failure, before the socket is cut
	// under it; 200ms.
	cutGrace time.Duration
}

// maxRetryDelay caps the dial backoff. It is short next to the SDKs' 30s
// because the caller is a person waiting in Slack or a terminal.
const maxRetryDelay = 10 * time.Second

// LogValue shows a Config without its token or key.
func (cfg Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", cfg.URL),
		slog.String("auth", cfg.authKind()),
		slog.String("participant", cfg.Participant),
		slog.Duration("call_timeout", cfg.CallTimeout),
		slog.Duration("dial_timeout", cfg.DialTimeout),
		slog.Duration("idle_timeout", cfg.IdleTimeout),
	)
}

// String shows a Config without its token or key, so that printing one by
// mistake leaks nothing.
func (cfg Config) String() string {
	return fmt.Sprintf("roomclient.Config{URL: %q, Auth: %s, Participant: %q}",
		cfg.URL, cfg.authKind(), cfg.Participant)
}

// GoString is String, for callers of GoString; fmt itself goes through
// Format.
func (cfg Config) GoString() string { return cfg.String() }

func (cfg Config) authKind() string {
	switch {
	case cfg.Token != "" && cfg.APIKey != "":
		return "token and API key (redacted)"
	case cfg.Token != "":
		return "token (redacted)"
	case cfg.APIKey != "":
		return "API key (redacted)"
	}
	return "none"
}

func (cfg *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.CallTimeout, 30*time.Second)
	def(&cfg.DialTimeout, 30*time.Second)
	def(&cfg.IdleTimeout, 5*time.Minute)
	def(&cfg.PingInterval, 30*time.Second)
	def(&cfg.TokenTTL, 10*time.Minute)
	def(&cfg.RetryDelay, 500*time.Millisecond)
	def(&cfg.cutGrace, 200*time.Millisecond)
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	if cfg.Participant == "" {
		cfg.Participant = "roombot"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
}

// A Client talks to MeshAgent rooms. It keeps one connection per room,
// shared by concurrent calls and closed when idle. It is safe for
// concurrent use; Close releases everything it holds.
type Client struct {
	cfg    Config
	base   string
	tokens tokenSource
	log    *slog.Logger

	// ctx ends with the Client: it bounds dials, which outlive the call
	// that started them because other calls may be waiting on them.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // dials and connection goroutines

	// mu guards closed, conns and dials, and the users and lastUsed
	// fields of every conn.
	mu     sync.Mutex
	closed bool
	conns  map[string]*conn
	dials  map[string]*dial
}

// New checks cfg and returns a Client. It dials nothing until a call.
func New(cfg Config) (*Client, error) {
	cfg.setDefaults()
	base, err := baseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	tokens, err := newTokenSource(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Client{
		cfg:    cfg,
		base:   base,
		tokens: tokens,
		log:    cfg.Logger,
		ctx:    ctx,
		cancel: cancel,
		conns:  map[string]*conn{},
		dials:  map[string]*dial{},
	}, nil
}

func newTokenSource(cfg Config) (tokenSource, error) {
	switch {
	case cfg.Token != "" && cfg.APIKey != "":
		return nil, errors.New("roomclient: set a token or an API key, not both")
	case cfg.Token != "":
		return staticToken(cfg.Token), nil
	case cfg.APIKey == "":
		return nil, errors.New("roomclient: a token or an API key is required")
	}
	key, err := parseAPIKey(cfg.APIKey)
	if err != nil {
		return nil, fmt.Errorf("roomclient: %w", err)
	}
	return newMinter(key, cfg.Participant, cfg.TokenTTL, cfg.now), nil
}

// baseURL normalises a room base as the SDKs do, with http(s) taken as
// ws(s), and checks that a room path can be appended to it.
func baseURL(raw string) (string, error) {
	s := strings.TrimRight(raw, "/")
	switch {
	case strings.HasPrefix(s, "http://"):
		s = "ws://" + s[len("http://"):]
	case strings.HasPrefix(s, "https://"):
		s = "wss://" + s[len("https://"):]
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return "", fmt.Errorf("roomclient: room URL %q is not a ws, wss, http or https URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("roomclient: room URL %q must not have a query", raw)
	}
	return s, nil
}

// List returns the services of room with their runtime state. Each List
// is one room call; sharing one among concurrent callers is the bot's
// choice (it does, with a singleflight.Group).
func (c *Client) List(ctx context.Context, room string) (*List, error) {
	header, err := c.call(ctx, room, wire.ListCall(newToolCallID()))
	if err != nil {
		return nil, fmt.Errorf("listing services of room %q: %w", room, err)
	}
	list, err := decodeList(room, header)
	if err != nil {
		return nil, fmt.Errorf("listing services of room %q: %w", room, err)
	}
	return list, nil
}

// Restart asks room to restart the service with id serviceID. It returns
// once the room has accepted, not once the service runs again.
func (c *Client) Restart(ctx context.Context, room, serviceID string) error {
	if serviceID == "" {
		return fmt.Errorf("restarting a service of room %q: no service id "+
			"(a service without an id cannot be restarted)", room)
	}
	header, err := c.call(ctx, room, wire.RestartCall(serviceID, newToolCallID()))
	if err == nil {
		err = restartAnswer(header)
	}
	if err != nil {
		return fmt.Errorf("restarting service %q of room %q: %w", serviceID, room, err)
	}
	return nil
}

// restartAnswer accepts any content but an error, as protocol §4.3 says
// and the Python SDK does: rooms send empty, the TS SDK takes json too,
// and a later room may say more. Control is refused, as it would make
// the call a stream, and so is a content without a type.
func restartAnswer(header []byte) error {
	a, err := parseAnswer(header, false)
	if err != nil {
		return err
	}
	if err := a.errorOrNil(); err != nil {
		return err
	}
	if a.Type == "" || a.Type == "control" {
		return a.unexpected()
	}
	return nil
}

// Resolve returns the one service of room named name. It fails with a
// *NameError when there is none or more than one.
func (c *Client) Resolve(ctx context.Context, room, name string) (Service, error) {
	list, err := c.List(ctx, room)
	if err != nil {
		return Service{}, err
	}
	return list.Find(name)
}

// Close closes every connection with a normal close frame and fails the
// calls still waiting with ErrClosed. It waits for the client's
// goroutines to end.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	conns := make([]*conn, 0, len(c.conns))
	for _, cn := range c.conns {
		conns = append(conns, cn)
	}
	c.mu.Unlock()

	c.cancel()
	for _, cn := range conns {
		cn.stop(ErrClosed)
	}
	c.wg.Wait()
	return nil
}

// call sends one tool call to room and returns the JSON header of the
// answer.
func (c *Client) call(ctx context.Context, room string, req wire.ToolCall) ([]byte, error) {
	switch room {
	case "":
		return nil, errors.New("no room name")
	case ".", "..":
		// The room's URL path would name the folder, or the one above.
		return nil, fmt.Errorf("%q is not a room name", room)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.CallTimeout)
		defer cancel()
	}
	body, err := wire.PackJSON(req)
	if err != nil {
		return nil, err
	}

	cn, err := c.acquire(ctx, room)
	if err != nil {
		return nil, err
	}
	defer c.release(cn)
	answer, err := cn.roundTrip(ctx, body)
	if err != nil {
		return nil, err
	}
	header, _, err := wire.Unpack(answer)
	if err != nil {
		return nil, &Error{Code: CodeUnexpectedResponse, Text: err.Error()}
	}
	return header, nil
}
