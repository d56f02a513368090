package watch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"go.uber.org/goleak"

	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/internal/redistest"
	"github.com/roomops/roombot/roomclient"
	"github.com/roomops/roombot/roomclient/roomtest"
	"github.com/roomops/roombot/slacksim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	opsChannel = "C0OPS0001"
	devChannel = "G0DEV0002"
	interval   = 15 * time.Second

	// tickStep moves the clock past the latest a room can be due again:
	// an interval and a tenth of jitter.
	tickStep = interval + interval/10 + time.Millisecond
)

// A clock is a settable time source, shared by the watchers and the
// claim store of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// A recorder is a Poster that keeps every message, as a channel would
// show it, and checks each against Slack's limits.
type recorder struct {
	t testing.TB

	// mu guards everything below.
	mu      sync.Mutex
	msgs    map[string][]*posted // by channel, oldest first
	byTS    map[string]*posted
	calls   int
	fail    map[string]error // every call to the channel fails so
	changed chan struct{}    // closed and replaced on every message
}

// A posted message, with every version it had, the first as posted.
type posted struct {
	channel, ts string
	versions    []string // the message as JSON
}

func (p posted) last() string { return p.versions[len(p.versions)-1] }

func newRecorder(t testing.TB) *recorder {
	return &recorder{t: t, msgs: map[string][]*posted{},
		byTS: map[string]*posted{}, fail: map[string]error{},
		changed: make(chan struct{})}
}

// await blocks until cond holds, checking it after every message, or
// fails the test after 10 s.
func (r *recorder) await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		ch := r.changed
		r.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no %s within 10s", what)
		}
	}
}

func (r *recorder) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) Post(_ context.Context, channel string, m commands.Message) (string, error) {
	b := r.check(m)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if err := r.fail[channel]; err != nil {
		return "", err
	}
	p := &posted{channel: channel, ts: fmt.Sprintf("1700000000.%06d", r.calls),
		versions: []string{b}}
	r.msgs[channel] = append(r.msgs[channel], p)
	r.byTS[p.ts] = p
	r.notifyLocked()
	return p.ts, nil
}

func (r *recorder) Update(_ context.Context, channel, ts string, m commands.Message) error {
	b := r.check(m)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if err := r.fail[channel]; err != nil {
		return err
	}
	p := r.byTS[ts]
	if p == nil || p.channel != channel {
		r.t.Errorf("Update(%s, %s): no such message", channel, ts)
		return slack.SlackErrorResponse{Err: "message_not_found"}
	}
	p.versions = append(p.versions, b)
	r.notifyLocked()
	return nil
}

func (r *recorder) check(m commands.Message) string {
	b, err := json.Marshal(map[string]any{"text": m.Text, "blocks": m.Blocks})
	if err != nil {
		r.t.Errorf("marshalling a message: %v", err)
	}
	if err := slacksim.CheckMessage(b); err != nil {
		r.t.Errorf("message breaks Slack's limits: %v\n%s", err, b)
	}
	return string(b)
}

// messages returns copies of what channel shows.
func (r *recorder) messages(channel string) []posted {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []posted
	for _, p := range r.msgs[channel] {
		c := *p
		c.versions = append([]string(nil), p.versions...)
		out = append(out, c)
	}
	return out
}

func (r *recorder) failChannel(channel string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail[channel] = err
}

// A harness is a room simulator, a real room client, a shared claim
// store, pair store, state store and clock, and a recording Poster: what
// several replicas of the bot would share.
type harness struct {
	t      testing.TB
	ctx    context.Context
	srv    *roomtest.Server
	client *roomclient.Client
	clock  *clock
	claims claims.Store
	pairs  *MemoryPairs
	state  StateStore
	post   *recorder
	logs   *syncBuffer
}

func newHarness(t testing.TB, fx *roomtest.Fixture, opts ...roomtest.Option) *harness {
	t.Helper()
	srv := roomtest.NewServer(t, fx, opts...)
	client, err := roomclient.New(roomclient.Config{
		URL: srv.URL(), Token: "any",
		// An unreachable room fails a poll quickly.
		DialTimeout: 300 * time.Millisecond, RetryDelay: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	clk := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	return &harness{
		t: t, ctx: context.Background(), srv: srv, client: client,
		clock: clk, claims: claims.NewMemory(clk.now),
		pairs: NewMemoryPairs(), state: NewMemoryState(clk.now),
		post: newRecorder(t), logs: &syncBuffer{},
	}
}

// watcher returns a replica named instance, with the configured pairs.
func (h *harness) watcher(instance string, configured ...Pair) *Watcher {
	return h.watcherWith(instance, h.post, configured...)
}

// watcherWith returns a replica that posts through p.
func (h *harness) watcherWith(instance string, p Poster, configured ...Pair) *Watcher {
	return New(Config{
		Lister: h.client, Poster: p, Claims: h.claims, Pairs: h.pairs,
		State: h.state, Configured: configured, Interval: interval, Instance: instance,
		Now:    h.clock.now,
		Logger: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
}

// inRedis makes the replicas of h share their claims and state in the
// test Redis, under a prefix of their own, as replicas on Redis do.
func (h *harness) inRedis(t *testing.T) {
	rdb, err := claims.RedisClient(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	prefix := fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano())
	h.claims = claims.NewRedis(rdb, prefix)
	h.state = NewRedisState(rdb, prefix)
}

// start takes the watchers through their first rounds: the rooms are
// found, then polled once for a baseline.
func (h *harness) start(ws ...*Watcher) {
	h.t.Helper()
	for _, w := range ws {
		w.round(h.ctx)
	}
	h.tick(ws...)
}

// tick moves the clock so every room is due, and runs a round of each
// watcher, one after the other, as replicas would.
func (h *harness) tick(ws ...*Watcher) {
	h.t.Helper()
	h.clock.add(tickStep)
	for _, w := range ws {
		w.round(h.ctx)
	}
}

// round runs Run's loop in place, with the clock as it is: the pairs
// reloaded when due, every room due polled, the messages delivered, and
// the state of rooms whose posts landed saved, before it returns.
func (w *Watcher) round(ctx context.Context) {
	w.turn(ctx)
	w.out.wait()
	w.turn(ctx)
}

// turn is a round that leaves the messages under way.
func (w *Watcher) turn(ctx context.Context) {
	jobs := w.schedule(ctx)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() { w.run(ctx, j) })
	}
	wg.Wait()
	for _, j := range jobs {
		w.finish(ctx, j)
	}
}

// shutDown stops w as Run does once its context is done.
func shutDown(w *Watcher) { w.stop(new(sync.WaitGroup)) }

// lists returns how many list calls each room received.
func (h *harness) lists(rooms ...string) map[string]int {
	out := map[string]int{}
	for _, r := range rooms {
		out[r] = h.srv.Calls(r, "list")
	}
	return out
}

// one asserts that channel shows exactly one message, and returns it.
func (h *harness) one(channel string) posted {
	h.t.Helper()
	msgs := h.post.messages(channel)
	if len(msgs) != 1 {
		h.t.Fatalf("channel %s has %d messages, want 1:\n%s",
			channel, len(msgs), dump(msgs))
	}
	return msgs[0]
}

func dump(msgs []posted) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "  %s (%d versions): %s\n", m.ts, len(m.versions), m.last())
	}
	return b.String()
}

// says fails the test unless the message s contains every want.
func says(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s = %s\nwant it to contain %q", what, s, w)
		}
	}
}

// A syncBuffer is a log sink that tests may read while watchers write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) count(substr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Count(s.b.String(), substr)
}
