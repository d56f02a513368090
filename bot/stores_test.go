package bot_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/internal/redistest"
)

// eachStore runs test once with the claim store in memory and once with
// it in Redis, as replicas share it: what keeps an action to once must
// hold in both. The Redis run is skipped when no Redis is at hand.
func eachStore(t *testing.T, test func(t *testing.T, store func(*options))) {
	t.Run("memory", func(t *testing.T) { test(t, func(*options) {}) })
	t.Run("redis", func(t *testing.T) {
		s := redisClaims(t)
		test(t, func(o *options) {
			prev := o.conf
			o.conf = func(c *botConfig) {
				if prev != nil {
					prev(c)
				}
				c.Claims = s
			}
		})
	})
}

// redisClaims returns a Redis claim store under a prefix of the test's
// own, so no two tests see each other's keys.
func redisClaims(t *testing.T) *claims.Redis {
	t.Helper()
	prefix := fmt.Sprintf("bot-test:%s:%d:", t.Name(), time.Now().UnixNano())
	s, err := claims.OpenRedis(redistest.URL(t), prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
