package claims_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
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

// TestRedisClaimHidesItsOwnRetry: the claim script runs in Redis, but its
// answer is lost on the way back, as when the connection drops or the
// reply is late. go-redis sends it again, and the second run finds the
// first one's claim. That is this Claim's own, and it wins; a claim
// made earlier with the same value would not.
func TestRedisClaimHidesItsOwnRetry(t *testing.T) {
	u, err := url.Parse(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := newLossyProxy(t, u.Host)
	s := newRedisStore(t, p.url())
	ctx := context.Background()
	// Load the script, so the answer lost is the one of a run, not
	// Redis asking for the script.
	if err := s.Claim(ctx, "warm", "a", time.Minute); err != nil {
		t.Fatal(err)
	}

	p.loseNextScriptAnswer()
	if err := s.Claim(ctx, "k", "alice", time.Minute); err != nil {
		t.Fatalf("Claim(k, alice) whose first answer was lost = %v, want nil", err)
	}
	if !p.lost() {
		t.Fatal("no script answer was lost: the test did not test")
	}
	err = s.Claim(ctx, "k", "alice", time.Minute)
	if !errors.Is(err, claims.ErrHeld) {
		t.Errorf("Claim(k, alice) again = %v, want ErrHeld", err)
	}
}

// lossyProxy relays Redis traffic, and on request drops the connection
// that carries the next script call once Redis has answered it.
type lossyProxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	// mu guards armed and dropped.
	mu      sync.Mutex
	armed   bool
	dropped bool
}

func newLossyProxy(t *testing.T, target string) *lossyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &lossyProxy{t: t, ln: ln, target: target}
	var wg sync.WaitGroup
	wg.Go(p.serve)
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return p
}

func (p *lossyProxy) url() string { return "redis://" + p.ln.Addr().String() + "/0" }

func (p *lossyProxy) loseNextScriptAnswer() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = true
}

func (p *lossyProxy) lost() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped
}

func (p *lossyProxy) serve() {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		wg.Go(func() { p.relay(c) })
	}
}

// relay copies one client connection to Redis and back. A script call
// seen while armed marks the connection; Redis's next answer on it is
// swallowed and both ends closed.
func (p *lossyProxy) relay(c net.Conn) {
	defer c.Close()
	r, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer r.Close()
	var doomed atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		defer r.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if bytes.Contains(bytes.ToLower(buf[:n]), []byte("evalsha")) && p.disarm() {
					doomed.Store(true)
				}
				if _, werr := r.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 && doomed.Load() {
			p.mu.Lock()
			p.dropped = true
			p.mu.Unlock()
			break
		}
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	c.Close()
	r.Close()
	wg.Wait()
}

// disarm reports whether the proxy was armed, and disarms it.
func (p *lossyProxy) disarm() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	armed := p.armed
	p.armed = false
	return armed
}
