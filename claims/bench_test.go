package claims_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/roomops/roombot/claims"
)

// BenchmarkClaim measures one claim round trip (claim a fresh key), the
// cost the bot pays per envelope for dedup.
func BenchmarkClaim(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		benchClaim(b, claims.NewMemory(nil))
	})
	b.Run("redis", func(b *testing.B) {
		benchClaim(b, newRedisStore(b, redisURL(b)))
	})
}

func benchClaim(b *testing.B, s claims.Store) {
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if err := s.Claim(ctx, fmt.Sprint("env-", i), "me", time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}
