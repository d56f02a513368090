package claims_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/roomops/roombot/claims"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestMemoryConformance(t *testing.T) {
	testStore(t, func(t *testing.T) claims.Store {
		return claims.NewMemory(nil)
	})
}

func TestMemoryExpiry(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	m := claims.NewMemory(clk.Now)

	if err := m.Claim(ctx, "k", "a", time.Minute); err != nil {
		t.Fatalf("Claim(k, a) = %v, want nil", err)
	}
	clk.Advance(59 * time.Second)
	if err := m.Claim(ctx, "k", "b", time.Minute); !errors.Is(err, claims.ErrHeld) {
		t.Fatalf("Claim(k, b) before expiry = %v, want ErrHeld", err)
	}
	clk.Advance(time.Second)
	if err := m.Claim(ctx, "k", "b", time.Minute); err != nil {
		t.Fatalf("Claim(k, b) at expiry = %v, want nil", err)
	}
	if err := m.Renew(ctx, "k", "a", time.Minute); !errors.Is(err, claims.ErrHeld) {
		t.Errorf("Renew(k, a) after b took it = %v, want ErrHeld", err)
	}
}

func TestMemoryRenewExtends(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	m := claims.NewMemory(clk.Now)

	if err := m.Claim(ctx, "lease", "a", time.Minute); err != nil {
		t.Fatal(err)
	}
	clk.Advance(50 * time.Second)
	if err := m.Renew(ctx, "lease", "a", time.Minute); err != nil {
		t.Fatalf("Renew = %v, want nil", err)
	}
	clk.Advance(50 * time.Second)
	if err := m.Claim(ctx, "lease", "b", time.Minute); !errors.Is(err, claims.ErrHeld) {
		t.Errorf("Claim after renew = %v, want ErrHeld", err)
	}
	clk.Advance(11 * time.Second)
	if err := m.Renew(ctx, "lease", "a", time.Minute); !errors.Is(err, claims.ErrNotHeld) {
		t.Errorf("Renew after expiry = %v, want ErrNotHeld", err)
	}
}

func TestMemorySweepsExpired(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	m := claims.NewMemory(clk.Now)

	for _, k := range []string{"a", "b", "c"} {
		if err := m.Claim(ctx, k, "v", time.Second); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(2 * time.Minute)
	if err := m.Claim(ctx, "d", "v", time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := m.Len(); got != 1 {
		t.Errorf("Len after sweep = %d, want 1", got)
	}
}
