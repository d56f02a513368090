package claims_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/roomops/roombot/claims"
)

// testStore checks the behaviour every Store must share. Expiry is left to
// each implementation's own tests, since only some can move their clock.
func testStore(t *testing.T, newStore func(t *testing.T) claims.Store) {
	t.Run("ClaimOnce", func(t *testing.T) {
		s, ctx := newStore(t), context.Background()
		if err := s.Claim(ctx, "k", "alice", time.Minute); err != nil {
			t.Fatalf("first Claim = %v, want nil", err)
		}
		err := s.Claim(ctx, "k", "bob", time.Minute)
		var held *claims.HeldError
		if !errors.As(err, &held) || held.Holder != "alice" {
			t.Fatalf("second Claim = %v, want HeldError with holder alice", err)
		}
	})

	// A claim is refused whoever asks, the holder included: a claimer
	// that asks again with its value, or two that share one, must not
	// both think they won. A store that retries its own command hides
	// that retry, so its first answer is the only one the caller sees.
	t.Run("SameValueTwice", func(t *testing.T) {
		s, ctx := newStore(t), context.Background()
		if err := s.Claim(ctx, "k", "alice", time.Minute); err != nil {
			t.Fatalf("first Claim(k, alice) = %v, want nil", err)
		}
		err := s.Claim(ctx, "k", "alice", time.Minute)
		var held *claims.HeldError
		if !errors.As(err, &held) || held.Holder != "alice" {
			t.Fatalf("second Claim(k, alice) = %v, want HeldError with holder alice", err)
		}
	})

	t.Run("ValueWithNUL", func(t *testing.T) {
		s, ctx := newStore(t), context.Background()
		if err := s.Claim(ctx, "k", "a\x00b", time.Minute); !errors.Is(err, claims.ErrValueNUL) {
			t.Fatalf("Claim with a NUL in the value = %v, want ErrValueNUL", err)
		}
	})

	t.Run("ReleaseOnlyByHolder", func(t *testing.T) {
		s, ctx := newStore(t), context.Background()
		if err := s.Claim(ctx, "k", "alice", time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.Release(ctx, "k", "bob"); err != nil {
			t.Fatalf("Release by bob = %v", err)
		}
		if err := s.Claim(ctx, "k", "carol", time.Minute); !errors.Is(err, claims.ErrHeld) {
			t.Fatalf("Claim after release by non-holder = %v, want ErrHeld", err)
		}
		if err := s.Release(ctx, "k", "alice"); err != nil {
			t.Fatalf("Release by alice = %v", err)
		}
		if err := s.Claim(ctx, "k", "carol", time.Minute); err != nil {
			t.Fatalf("Claim after release by holder = %v, want nil", err)
		}
	})

	t.Run("Renew", func(t *testing.T) {
		s, ctx := newStore(t), context.Background()
		if err := s.Renew(ctx, "k", "alice", time.Minute); !errors.Is(err, claims.ErrNotHeld) {
			t.Fatalf("Renew of free key = %v, want ErrNotHeld", err)
		}
		if err := s.Claim(ctx, "k", "alice", time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.Renew(ctx, "k", "alice", time.Minute); err != nil {
			t.Fatalf("Renew by holder = %v, want nil", err)
		}
		if err := s.Renew(ctx, "k", "bob", time.Minute); !errors.Is(err, claims.ErrHeld) {
			t.Fatalf("Renew by other = %v, want ErrHeld", err)
		}
	})

	t.Run("ConcurrentClaimsOneWinner", func(t *testing.T) {
		s, ctx := newStore(t), context.Background()
		const n = 50
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins []string
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v := fmt.Sprint("claimer-", i)
				err := s.Claim(ctx, "race", v, time.Minute)
				if err == nil {
					mu.Lock()
					wins = append(wins, v)
					mu.Unlock()
				} else if !errors.Is(err, claims.ErrHeld) {
					t.Errorf("Claim(%s) = %v", v, err)
				}
			}()
		}
		wg.Wait()
		if len(wins) != 1 {
			t.Fatalf("%d of %d concurrent claims won (%v), want exactly 1", len(wins), n, wins)
		}
	})

	t.Run("Ping", func(t *testing.T) {
		if err := newStore(t).Ping(context.Background()); err != nil {
			t.Fatalf("Ping = %v", err)
		}
	})
}
