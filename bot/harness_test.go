package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"go.uber.org/goleak"

	"github.com/roomops/roombot/authz"
	"github.com/roomops/roombot/bot"
	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/roomclient"
	"github.com/roomops/roombot/roomclient/roomtest"
	"github.com/roomops/roombot/slacksim"
	"github.com/roomops/roombot/watch"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Users of the test workspace.
const (
	alice   = "U0ALICE01" // may restart
	vera    = "U0VERA001" // may only view
	mallory = "U0MALL001" // on no list
	ops     = "C0OPS0001"
	notify  = "C0NOTIFY1"
)

// wait bounds every wait in these tests: generous, so a slow machine does
// not fail them, and still a failure rather than a hang.
const wait = 20 * time.Second

// service builds a fixture service whose spec has the given id and name,
// running in container c-<id>.
func service(id, name string) roomtest.Service {
	spec, _ := json.Marshal(map[string]any{
		"version": "v1", "kind": "Service", "id": id,
		"metadata":  map[string]any{"name": name},
		"container": map[string]any{"image": "ghcr.io/acme/" + name + ":1"},
		"ports":     []any{map[string]any{"num": 8080, "liveness": "/healthz"}},
	})
	return roomtest.Service{Spec: spec, State: &roomtest.State{
		ServiceID: id, State: "running",
		ContainerID:  roomtest.Ptr("c-" + id),
		StartedAt:    roomtest.At(time.Now().Add(-time.Hour)),
		RestartCount: 2,
	}}
}

// lobby is the room most tests use.
func lobby() *roomtest.Fixture {
	noState := service("svc-cron", "cron")
	noState.State = nil
	return &roomtest.Fixture{Rooms: map[string]*roomtest.Room{
		"lobby": {Services: []roomtest.Service{
			service("svc-web", "web"),
			service("svc-api-1", "api"),
			service("svc-api-2", "api"),
			service("svc-worker", "worker"),
			noState,
		}},
	}}
}

type harness struct {
	t      *testing.T
	ctx    context.Context
	slack  *slacksim.Server
	room   *roomtest.Server
	rooms  *roomclient.Client
	spy    *roomSpy // what the bot asked of rooms
	pol    *authz.Policy
	bot    *bot.Bot
	cfg    bot.Config     // the bot's configuration, for replicas
	watch  *watch.Watcher // nil unless options.watch
	logs   *syncBuffer
	stop   context.CancelFunc
	result chan error
}

type options struct {
	fixture    *roomtest.Fixture
	roomOpts   []roomtest.Option
	slackConf  slacksim.Config
	viewers    []string
	restarters []string
	authzOpts  []authz.Option
	conf       func(*bot.Config)
	start      bool

	// roomConf adjusts the room client's configuration; botToken, when
	// set, replaces the bot token the stand-in expects in the client.
	roomConf func(*roomclient.Config)
	botToken string

	// watch runs a real room watch beside the bot, as cmd/bot wires it:
	// the bot's claims, one Notifier for both, polls every
	// watchInterval. watchConf adjusts its configuration.
	watch     bool
	watchConf func(*watch.Config)
}

func defaults() options {
	return options{
		fixture:    lobby(),
		roomOpts:   []roomtest.Option{roomtest.WithRestartDelays(20*time.Millisecond, 20*time.Millisecond)},
		viewers:    []string{vera},
		restarters: []string{alice},
		start:      true,
	}
}

// newHarness starts the Slack stand-in, the room simulator and a bot
// wired to both through the real slack-go and room clients.
func newHarness(t *testing.T, opt ...func(*options)) *harness {
	t.Helper()
	o := defaults()
	for _, f := range opt {
		f(&o)
	}
	if o.slackConf.PingInterval == 0 {
		o.slackConf.PingInterval = 200 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	t.Cleanup(cancel)

	h := &harness{t: t, ctx: ctx, logs: &syncBuffer{}}
	h.slack = slacksim.NewServer(t, o.slackConf)
	h.room = roomtest.NewServer(t, o.fixture, o.roomOpts...)
	rcConf := roomclient.Config{URL: h.room.URL(), Token: "room-token"}
	if o.roomConf != nil {
		o.roomConf(&rcConf)
	}
	rc, err := roomclient.New(rcConf)
	if err != nil {
		t.Fatal(err)
	}
	h.rooms = rc
	h.spy = &roomSpy{next: rc}
	t.Cleanup(func() { rc.Close() })

	sc := h.slack.Config()
	botToken := sc.BotToken
	if o.botToken != "" {
		botToken = o.botToken
	}
	api := slack.New(botToken, slack.OptionAppLevelToken(sc.AppToken),
		slack.OptionAPIURL(h.slack.APIURL()), slack.OptionHTTPClient(bot.HTTPClient()))
	pol, err := authz.New(o.viewers, o.restarters, api, o.authzOpts...)
	if err != nil {
		t.Fatal(err)
	}
	h.pol = pol
	cfg := bot.Config{
		API: api, Rooms: h.spy, Policy: pol,
		Claims:          claims.NewMemory(nil),
		SocketOptions:   []socketmode.Option{},
		PingInterval:    2 * time.Second,
		SigningKey:      []byte("test-signing-key-0123456789"),
		CallTimeout:     5 * time.Second,
		RecoveryPoll:    20 * time.Millisecond,
		RecoverySteady:  60 * time.Millisecond,
		RecoveryTimeout: 5 * time.Second,
		DrainTimeout:    5 * time.Second,
		Logger:          slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if o.conf != nil {
		o.conf(&cfg)
	}
	if o.watch {
		h.watch = h.startWatch(rc, api, &cfg, o.watchConf)
	}
	h.cfg = cfg
	h.bot, err = bot.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if o.start {
		h.start()
	}
	return h
}

// watchInterval is how often the harness's room watch polls a room.
const watchInterval = 50 * time.Millisecond

// startWatch builds a room watch the way cmd/bot does, sets it as the
// bot's Watcher, and runs it until the test ends. It lists rooms through
// the room client itself, not the spy, which sees the bot's calls only.
func (h *harness) startWatch(rc *roomclient.Client, api *slack.Client, cfg *bot.Config, edit func(*watch.Config)) *watch.Watcher {
	if cfg.Notifier == nil {
		cfg.Notifier = bot.NewNotifier(api, nil, cfg.Logger)
	}
	wc := watch.Config{
		Lister: rc, Poster: cfg.Notifier, Claims: cfg.Claims,
		Interval: watchInterval, Instance: "harness",
		Logger: cfg.Logger.With("component", "watch"),
	}
	if edit != nil {
		edit(&wc)
	}
	w := watch.New(wc)
	cfg.Watcher = w

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	h.t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			h.t.Errorf("watch Run: %v", err)
		}
	})
	return w
}

// start runs the bot until the test ends, and waits for its connection.
func (h *harness) start() {
	h.t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	h.stop = stop
	h.result = make(chan error, 1)
	go func() { h.result <- h.bot.Run(ctx) }()
	h.t.Cleanup(func() { h.shutdown() })
	if err := h.slack.WaitConnections(h.ctx, 1); err != nil {
		h.t.Fatalf("bot never connected: %v\nlogs:\n%s", err, h.logs)
	}
}

// replica starts a second bot on the same Slack app and rooms, with the
// harness bot's configuration as edit leaves it, and has the stand-in
// deliver every envelope to it from then on.
func (h *harness) replica(edit func(*bot.Config)) *bot.Bot {
	h.t.Helper()
	cfg := h.cfg
	edit(&cfg)
	b, err := bot.New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	before := map[int]bool{}
	for _, c := range h.slack.Connections() {
		before[c.ID] = true
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	h.t.Cleanup(func() { stop(); <-done })
	if err := h.slack.WaitConnections(h.ctx, len(before)+1); err != nil {
		h.t.Fatalf("replica never connected: %v", err)
	}
	for _, c := range h.slack.Connections() {
		if !before[c.ID] {
			h.slack.Pin(c.ID)
		}
	}
	return b
}

// shutdown stops the bot and returns what Run returned.
func (h *harness) shutdown() error {
	if h.stop == nil {
		return nil
	}
	h.stop()
	h.stop = nil
	select {
	case err := <-h.result:
		return err
	case <-time.After(wait):
		h.t.Fatal("bot did not stop")
		return nil
	}
}

// command types a slash command as user and returns the bot's reply.
func (h *harness) command(user, text string) slacksim.Message {
	h.t.Helper()
	env, err := h.slack.SlashCommand(h.ctx, slacksim.SlashCommand{
		UserID: user, ChannelID: ops, Text: text})
	if err != nil {
		h.t.Fatalf("SlashCommand(%q): %v", text, err)
	}
	return h.reply(env)
}

func (h *harness) reply(env *slacksim.Envelope) slacksim.Message {
	h.t.Helper()
	ev, err := h.slack.WaitReply(h.ctx, env)
	if err != nil {
		h.t.Fatalf("no reply to envelope %s: %v\nlogs:\n%s", env.ID, err, h.logs)
	}
	return ev.Message
}

// click presses the button with actionID on message ts, as user.
func (h *harness) click(user, ts, actionID string) *slacksim.Envelope {
	h.t.Helper()
	env, err := h.slack.Click(h.ctx, slacksim.Click{
		UserID: user, TS: ts, ActionID: actionID, IgnoreVisibility: true})
	if err != nil {
		h.t.Fatalf("Click(%s on %s): %v", actionID, ts, err)
	}
	return env
}

// card asks for a restart of service in lobby and returns the card.
func (h *harness) card(user, svc string) slacksim.Message {
	h.t.Helper()
	m := h.command(user, "restart lobby "+svc)
	if !hasButton(m, "rs.restart.confirm") {
		h.t.Fatalf("restart lobby %s: reply has no confirm button:\n%s", svc, m.Render())
	}
	return m
}

func hasButton(m slacksim.Message, actionID string) bool {
	return strings.Contains(string(mustJSON(m.Blocks)), `"action_id":"`+actionID+`"`)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// noViolations fails the test if any message broke Slack's limits.
func (h *harness) noViolations() {
	h.t.Helper()
	for _, v := range h.slack.Violations() {
		h.t.Errorf("slack limit violated: %v", v)
	}
}

// restarts returns how many restarts of id the simulator received.
func (h *harness) restarts(id string) int {
	return h.room.Restarts("lobby", id)
}

// syncBuffer is a log sink that tests read while the bot writes. Each
// write wakes whoever waits for a line, so tests need not poll.
type syncBuffer struct {
	// mu guards buf and changed.
	mu      sync.Mutex
	buf     strings.Builder
	changed chan struct{} // closed at the next write
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return b.buf.Write(p)
}

// next returns the log so far and a channel closed at the next write.
func (b *syncBuffer) next() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.buf.String(), b.changed
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var _ = fmt.Sprint

type botConfig = bot.Config

// notification waits for a message in the notify channel that matches.
func (h *harness) notification(match func(slacksim.Message) bool) slacksim.Message {
	h.t.Helper()
	m, err := h.slack.WaitMessage(h.ctx, func(m slacksim.Message) bool {
		return !m.Ephemeral && match(m)
	})
	if err != nil {
		h.t.Fatalf("no such notification: %v\nlogs:\n%s", err, h.logs)
	}
	return m
}
