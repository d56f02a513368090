package bot_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/roomops/roombot/bot"
	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/roomclient/roomtest"
	"github.com/roomops/roombot/slacksim"
)

var errCut = errors.New("claim store cut off")

// cutClaims is a shared claim store as one replica sees it: once cut, every
// call fails, as a crashed or partitioned replica's calls do.
type cutClaims struct {
	claims.Store
	cut atomic.Bool
}

func (c *cutClaims) Claim(ctx context.Context, key, value string, ttl time.Duration) error {
	if c.cut.Load() {
		return errCut
	}
	return c.Store.Claim(ctx, key, value, ttl)
}

func (c *cutClaims) Renew(ctx context.Context, key, value string, ttl time.Duration) error {
	if c.cut.Load() {
		return errCut
	}
	return c.Store.Renew(ctx, key, value, ttl)
}

func (c *cutClaims) Release(ctx context.Context, key, value string) error {
	if c.cut.Load() {
		return errCut
	}
	return c.Store.Release(ctx, key, value)
}

// TestLockLapsesWithItsReplica: a replica that stops renewing its restart
// lock (it crashed, or lost Redis) holds the service only until the lock
// lapses, not for the whole recovery timeout. Until then, another replica
// refuses to restart it; once the lock has lapsed, it restarts it. The
// shared store runs on a clock the test moves, so the lapse comes when
// the test says.
func TestLockLapsesWithItsReplica(t *testing.T) {
	const callTimeout = 300 * time.Millisecond
	// The bot's lock TTL: two call timeouts and ten recovery polls.
	const lockTTL = 2*callTimeout + 10*20*time.Millisecond
	clock := newClock()
	shared := claims.NewMemory(clock.Now)
	first := &cutClaims{Store: shared}
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) {
			c.Claims = first
			c.CallTimeout = callTimeout
			c.RecoveryTimeout = time.Minute
			// Both replicas end the test mid-watch; do not wait it out.
			c.DrainTimeout = 200 * time.Millisecond
		}
	})
	// web never comes back, so the first replica keeps watching it.
	if err := h.room.FailRestarts("lobby", "svc-web", &roomtest.Failure{ExitCode: 1, StartError: "no"}); err != nil {
		t.Fatal(err)
	}
	card := h.card(alice, "web")
	h.reply(h.click(alice, card.TS, confirmID))
	h.room.WaitFor(t, "the first restart", func() bool { return h.restarts("svc-web") == 1 })
	h.replica(func(c *botConfig) { c.Claims = shared })
	first.cut.Store(true)

	// The lock holds: the second replica refuses.
	second := h.card(alice, "web")
	text := h.replyText(h.click(alice, second.TS, confirmID))
	wantText(t, "a confirm on the second replica while the lock holds", text, "already in progress")
	if got := h.restarts("svc-web"); got != 1 {
		t.Fatalf("room saw %d restarts of web while the lock held, want 1", got)
	}

	// One TTL after its last renewal, the lock has lapsed.
	clock.advance(lockTTL + time.Millisecond)
	env := h.click(alice, second.TS, confirmID)
	wantText(t, "a confirm on the second replica after the lapse", h.replyText(env), "Restarting")
	h.room.WaitFor(t, "the second restart", func() bool { return h.restarts("svc-web") == 2 })
}

// lockSpy is the real claim store, telling the test when the restart
// lock was taken and each time it was renewed.
type lockSpy struct {
	claims.Store

	// mu guards claimed.
	mu      sync.Mutex
	claimed time.Time
	renewed chan time.Time // each successful renewal of a restart lock
}

func newLockSpy() *lockSpy {
	return &lockSpy{Store: claims.NewMemory(nil), renewed: make(chan time.Time, 1000)}
}

func (s *lockSpy) Claim(ctx context.Context, key, value string, ttl time.Duration) error {
	err := s.Store.Claim(ctx, key, value, ttl)
	if err == nil && strings.HasPrefix(key, "restart:") {
		s.mu.Lock()
		s.claimed = time.Now()
		s.mu.Unlock()
	}
	return err
}

func (s *lockSpy) Renew(ctx context.Context, key, value string, ttl time.Duration) error {
	err := s.Store.Renew(ctx, key, value, ttl)
	if err == nil && strings.HasPrefix(key, "restart:") {
		select {
		case s.renewed <- time.Now():
		default:
		}
	}
	return err
}

// renewedAfter waits for a renewal of the restart lock later than d
// after it was taken, and fails the test if none comes within guard.
func (s *lockSpy) renewedAfter(t *testing.T, d, guard time.Duration) {
	t.Helper()
	s.mu.Lock()
	claimed := s.claimed
	s.mu.Unlock()
	if claimed.IsZero() {
		t.Fatal("the restart lock was never taken")
	}
	timeout := time.After(guard)
	for {
		select {
		case at := <-s.renewed:
			if at.Sub(claimed) > d {
				return
			}
		case <-timeout:
			t.Fatalf("restart lock not renewed %v after it was taken", d)
		}
	}
}

// stuckSlack is a Web API that takes every call and answers none until
// the test ends, as Slack does on a bad day.
type stuckSlack struct {
	api     *slack.Client
	entered chan struct{} // gets a value as each call arrives

	release func() // lets every call go, with an empty answer
}

func newStuckSlack(t *testing.T) *stuckSlack {
	t.Helper()
	s := &stuckSlack{entered: make(chan struct{}, 100)}
	release := make(chan struct{})
	s.release = sync.OnceFunc(func() { close(release) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.entered <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { s.release(); srv.Close() })
	s.api = slack.New("xoxb-stuck", slack.OptionAPIURL(srv.URL+"/api/"),
		slack.OptionHTTPClient(bot.HTTPClient()))
	return s
}

// wait blocks until a call has reached the stuck API.
func (s *stuckSlack) wait(ctx context.Context, t *testing.T) {
	t.Helper()
	select {
	case <-s.entered:
	case <-ctx.Done():
		t.Fatal("no call reached the stuck Slack")
	}
}

// TestLockHeldWhileNotifying: the restart lock is held from the moment it
// is taken, not only once the recovery watch starts. Here the channel
// notification hangs for many times the lock's TTL after the restart;
// the lock was only renewed by the watch, so it lapsed, and a second card
// restarted the service while the first restart was still under way.
func TestLockHeldWhileNotifying(t *testing.T) {
	const callTimeout = 200 * time.Millisecond
	// The bot's lock TTL: two call timeouts and ten recovery polls.
	const lockTTL = 2*callTimeout + 10*20*time.Millisecond
	stuck := newStuckSlack(t)
	spy := newLockSpy()
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) {
			c.Claims = spy
			c.NotifyChannel = notify
			c.Notifier = bot.NewNotifier(stuck.api, nil, nil)
			c.CallTimeout = callTimeout
			c.SlackTimeout = wait
		}
	})
	card1 := h.card(alice, "web")
	card2 := h.card(alice, "web")

	h.click(alice, card1.TS, confirmID)
	stuck.wait(h.ctx, t)
	defer stuck.release()
	spy.renewedAfter(t, lockTTL, 10*lockTTL)

	text := h.replyText(h.click(alice, card2.TS, confirmID))
	wantText(t, "second card's confirm", text, "already in progress")
	if got := h.restarts("svc-web"); got != 1 {
		t.Errorf("room saw %d restarts of web, want 1", got)
	}
}

// TestNotificationPostHasDeadline: a channel notification that Slack
// never answers is given up after SlackTimeout; the handler ends, and
// the card says the channel may not have heard.
func TestNotificationPostHasDeadline(t *testing.T) {
	stuck := newStuckSlack(t)
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) {
			c.NotifyChannel = notify
			c.Notifier = bot.NewNotifier(stuck.api, nil, nil)
			c.SlackTimeout = 300 * time.Millisecond
		}
	})
	card := h.card(alice, "web")
	env := h.click(alice, card.TS, confirmID)
	stuck.wait(h.ctx, t)

	m, err := h.slack.WaitMessage(h.ctx, func(m slacksim.Message) bool {
		return m.TS == card.TS && strings.Contains(m.Render(), "may not have been told")
	})
	if err != nil {
		t.Fatalf("the card never said the channel may not have heard: %v\nlogs:\n%s", err, h.logs)
	}
	wantText(t, "the card", m.Render(), notify)
	h.waitAudit(env.ID)
}
