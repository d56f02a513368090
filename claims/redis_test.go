package claims_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/internal/redistest"
)

func redisURL(t testing.TB) string { return redistest.URL(t) }

// newRedisStore returns a store under a prefix of its own, so tests never
// see each other's keys in a shared Redis.
func newRedisStore(t testing.TB, url string) *claims.Redis {
	t.Helper()
	prefix := fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano())
	s, err := claims.OpenRedis(url, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Redis at ROOMBOT_TEST_REDIS_URL unreachable: %v", err)
	}
	return s
}

func TestRedisConformance(t *testing.T) {
	url := redisURL(t)
	testStore(t, func(t *testing.T) claims.Store { return newRedisStore(t, url) })
}

func TestRedisExpiry(t *testing.T) {
	s := newRedisStore(t, redisURL(t))
	ctx := context.Background()
	if err := s.Claim(ctx, "k", "a", 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := s.Claim(ctx, "k", "b", time.Minute); !errors.Is(err, claims.ErrHeld) {
		t.Fatalf("Claim before expiry = %v, want ErrHeld", err)
	}
	// Redis expires keys on its own clock; wait for it, bounded.
	deadline := time.Now().Add(5 * time.Second)
	for s.Claim(ctx, "k", "b", time.Minute) != nil {
		if time.Now().After(deadline) {
			t.Fatal("claim with a 50ms TTL still held after 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRedisUnreachable(t *testing.T) {
	// A port nothing listens on: every call must fail with an error that
	// is not ErrHeld, so callers refuse rather than assume.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	s, err := claims.OpenRedis("redis://"+addr+"/0", "x:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Claim(ctx, "k", "v", time.Minute); err == nil || errors.Is(err, claims.ErrHeld) {
		t.Errorf("Claim on dead Redis = %v, want a store error", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping on dead Redis = nil, want error")
	}
}

func TestOpenRedisHidesPassword(t *testing.T) {
	_, err := claims.OpenRedis("redis://:hunter2@[bad", "x:")
	if err == nil {
		t.Fatal("OpenRedis(bad URL) = nil error")
	}
	if msg := err.Error(); strings.Contains(msg, "hunter2") {
		t.Errorf("error %q shows the password", msg)
	}
}
