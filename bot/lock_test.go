package bot_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/roomclient/roomtest"
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
// lock (it crashed, or lost Redis) holds the service for seconds, not for
// the whole recovery timeout: another replica can restart it soon after.
func TestLockLapsesWithItsReplica(t *testing.T) {
	shared := claims.NewMemory(nil)
	first := &cutClaims{Store: shared}
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) {
			c.Claims = first
			c.CallTimeout = 300 * time.Millisecond
			c.RecoveryTimeout = time.Minute
			// Both replicas end the test mid-watch; do not wait it out.
			c.DrainTimeout = 200 * time.Millisecond
		}
	})
	// web never comes back, so the first replica keeps watching it.
	h.room.FailRestarts("lobby", "svc-web", &roomtest.Failure{ExitCode: 1, StartError: "no"})
	card := h.card(alice, "web")
	h.reply(h.click(alice, card.TS, confirmID))
	h.room.WaitFor(t, "the first restart", func() bool { return h.restarts("svc-web") == 1 })

	first.cut.Store(true)
	h.replica(func(c *botConfig) { c.Claims = shared })

	// The second replica refuses while the lock holds, then restarts.
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for h.restarts("svc-web") < 2 {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("web still locked %s after its replica stopped renewing", time.Since(start))
		}
		c := h.card(alice, "web")
		h.reply(h.click(alice, c.TS, confirmID))
		<-tick.C
	}
}
