// Package bot is roombot's Slack side: the Socket Mode loop that acks each
// envelope at once, drops redeliveries, and hands the work to a bounded
// pool; the command and click handlers that check the allow-list, talk to
// rooms and reply through response_url; and the restart notifications
// with their recovery watch.
//
// The bot sees rooms and the allow-list through small interfaces, and
// Slack through the real slack-go clients, so tests run it against the
// Slack stand-in and the room simulator.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"golang.org/x/sync/singleflight"

	"github.com/roomops/roombot/authz"
	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/roomclient"
	"github.com/roomops/roombot/watch"
)

// rooms is the slice of the room client the bot uses.
type rooms interface {
	List(ctx context.Context, room string) (*roomclient.List, error)
	Restart(ctx context.Context, room, serviceID string) error
}

// watcher is the room watch behind watch, unwatch and watching;
// *watch.Watcher satisfies it.
type watcher interface {
	Watch(ctx context.Context, room, channel string) error
	Unwatch(ctx context.Context, room, channel string) error
	Pairs(ctx context.Context) ([]watch.Pair, error)
	Durable() bool
	Performed(ctx context.Context, room, serviceID string, d time.Duration) error
}

// policy decides who may do what; *authz.Policy satisfies it.
type policy interface {
	Check(ctx context.Context, userID string, perm authz.Permission) error
}

// DefaultWorkers is how many envelopes a Bot handles at once. A handler
// spends most of its time waiting, on a room and then on Slack, so the
// bound is high; the CPU gate bounds the rendering and encoding of
// replies. Behind a 20 ms room, with 500 commands outstanding, replies
// took 15× as long as bare room lists at 16 and 2.8× at 256, in runs
// one after the other (BENCHMARKS.md).
// TODO(bot): decoding room answers runs outside the gate, so up to this
// many lists of different rooms can be decoded and held at once, about
// 9 MB each at 10,000 services; a bound on room calls would cap that.
const DefaultWorkers = 256

// Config is what a Bot needs. Zero durations take the defaults noted.
type Config struct {
	// API is the Web API client, made with slack.OptionAppLevelToken so
	// that Socket Mode can open connections with it, and with
	// slack.OptionHTTPClient(HTTPClient()).
	API           *slack.Client
	SocketOptions []socketmode.Option

	Rooms  rooms
	Policy policy
	Claims claims.Store // nil: in memory

	// Notifier posts channel messages; nil makes one. Share it with the
	// room watch so both keep to Slack's per-channel rate together.
	Notifier *Notifier
	// Watcher serves watch, unwatch and watching; nil turns them off.
	Watcher watcher

	// SigningKey signs confirmation tickets. Replicas must share it; with
	// none, a random key is made and cards die with the process.
	SigningKey    []byte
	ConfirmTTL    time.Duration // default 10m
	NotifyChannel string        // empty: the channel the restart was asked in

	// PingInterval is how often Slack is expected to ping; a link
	// silent for longer is torn down by slack-go and reported not ready.
	PingInterval time.Duration // default 30s, as slack-go's

	Workers      int           // envelopes handled at once, default DefaultWorkers
	Backlog      int           // envelopes waiting for a worker, default 4×Workers
	CallTimeout  time.Duration // one command's room work, default 30s
	DrainTimeout time.Duration // shutdown wait for in-flight work, default 30s

	// SlackTimeout bounds one reply, post or update to Slack, its waits
	// for Retry-After included, default 15s.
	SlackTimeout time.Duration

	// RecoveryPoll, RecoverySteady and RecoveryTimeout shape the watch
	// that follows a restart: how often the room is asked, how long the
	// new run must last before the service counts as back, and when to
	// give up.
	RecoveryPoll    time.Duration // default 2s
	RecoverySteady  time.Duration // default 10s
	RecoveryTimeout time.Duration // default 5m

	Instance string // names this replica in claims; default host:pid
	Logger   *slog.Logger
	Metrics  *Metrics // nil: not recorded
	Now      func() time.Time
}

// Bot is a running roombot. Make one with New and start it with Run.
type Bot struct {
	cfg    Config
	log    *slog.Logger
	api    *slack.Client
	sm     *socketmode.Client
	rooms  rooms
	policy policy
	claims claims.Store
	signer signer
	met    *Metrics
	now    func() time.Time
	link   *linkState

	lists    singleflight.Group
	notifier *Notifier

	pool      *pool         // runs the handlers
	busyPosts chan struct{} // bounds the "busy" answers to clicks under way
	busy      atomic.Bool   // the backlog is full, and the log said so
	cpu       *cpuGate      // bounds rendering and encoding
	inflight  *tracker      // handlers and restart watches
	bypass    sync.Once     // warns that Config.API skips HTTPClient

	// mu guards draining and life.
	mu       sync.Mutex
	draining bool
	// life is Run's work context, cancelled when a drain runs out: room
	// calls shared by several commands, which no one command's context
	// may end, end with it.
	life context.Context
}

// New checks cfg and returns a Bot ready to Run.
func New(cfg Config) (*Bot, error) {
	if cfg.API == nil || cfg.Rooms == nil || cfg.Policy == nil {
		return nil, errors.New("bot: API, Rooms and Policy are required")
	}
	cfg = withDefaults(cfg)

	b := &Bot{
		cfg:       cfg,
		log:       cfg.Logger,
		api:       cfg.API,
		rooms:     cfg.Rooms,
		policy:    cfg.Policy,
		claims:    cfg.Claims,
		signer:    signer{key: cfg.SigningKey, ttl: cfg.ConfirmTTL},
		met:       cfg.Metrics,
		now:       cfg.Now,
		link:      newLinkState(cfg.Now, cfg.PingInterval),
		pool:      newPool(cfg.Workers, cfg.Backlog),
		busyPosts: make(chan struct{}, busyPosts),
		cpu:       newCPUGate(),
		inflight:  newTracker(),
	}
	b.notifier = cfg.Notifier
	if b.notifier == nil {
		b.notifier = NewNotifier(b.api, b.met, b.log)
	}

	opts := append([]socketmode.Option{}, cfg.SocketOptions...)
	opts = append(opts,
		socketmode.OptionPingInterval(cfg.PingInterval),
		socketmode.OptionDialer(b.link.dialer()))
	b.sm = socketmode.New(b.api, opts...)
	return b, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Claims == nil {
		cfg.Claims = claims.NewMemory(cfg.Now)
	}
	if len(cfg.SigningKey) == 0 {
		cfg.SigningKey = []byte(newNonce() + newNonce())
	}
	setDefault(&cfg.ConfirmTTL, 10*time.Minute)
	setDefault(&cfg.CallTimeout, 30*time.Second)
	setDefault(&cfg.DrainTimeout, 30*time.Second)
	setDefault(&cfg.SlackTimeout, 15*time.Second)
	setDefault(&cfg.PingInterval, 30*time.Second)
	setDefault(&cfg.RecoveryPoll, 2*time.Second)
	setDefault(&cfg.RecoverySteady, 10*time.Second)
	setDefault(&cfg.RecoveryTimeout, 5*time.Minute)
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Backlog <= 0 {
		cfg.Backlog = 4 * cfg.Workers
	}
	if cfg.Instance == "" {
		host, _ := os.Hostname()
		cfg.Instance = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Ready reports whether the bot can take commands: Socket Mode is
// connected and Slack has been heard from within the ping window, and the
// claim store answers.
func (b *Bot) Ready(ctx context.Context) error {
	if b.isDraining() {
		return errors.New("shutting down")
	}
	if err := b.link.ready(); err != nil {
		return err
	}
	if err := b.claims.Ping(ctx); err != nil {
		return fmt.Errorf("claim store: %w", err)
	}
	return nil
}
