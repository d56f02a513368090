package watch

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/internal/redistest"
)

// testStateStore checks what every StateStore must do. expire makes
// time pass beyond a ttl of a minute.
func testStateStore(t *testing.T, s StateStore, expire func()) {
	t.Helper()
	ctx := context.Background()
	if b, err := s.Load(ctx, "lobby"); b != nil || err != nil {
		t.Fatalf("Load(lobby) of a new store = %q, %v; want nil, nil", b, err)
	}
	for _, v := range []string{`{"fails":1}`, `{"fails":2}`} {
		if err := s.Save(ctx, "lobby", "a", []byte(v), time.Minute); err != nil {
			t.Fatalf("Save(lobby, %s) = %v", v, err)
		}
	}
	s.Save(ctx, "r&d=x.y", "a", []byte(`{"listed":true}`), time.Minute)
	if b, err := s.Load(ctx, "lobby"); string(b) != `{"fails":2}` || err != nil {
		t.Errorf("Load(lobby) = %q, %v; want the last state saved", b, err)
	}
	if b, _ := s.Load(ctx, "r&d=x.y"); string(b) != `{"listed":true}` {
		t.Errorf("Load(r&d=x.y) = %q; want its own state", b)
	}

	expire()
	if b, err := s.Load(ctx, "lobby"); b != nil || err != nil {
		t.Errorf("Load(lobby) past its ttl = %q, %v; want nil, nil", b, err)
	}
}

func TestMemoryState(t *testing.T) {
	clk := &clock{t: t0}
	testStateStore(t, NewMemoryState(clk.now), func() { clk.add(time.Minute) })
}

func TestRedisState(t *testing.T) {
	rdb, err := claims.RedisClient(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	prefix := fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano())
	s := NewRedisState(rdb, prefix)
	ctx := context.Background()
	var ttl time.Duration
	testStateStore(t, s, func() {
		// Redis keeps its own time: the ttl is read, and the key then
		// aged past it.
		ttl = rdb.PTTL(ctx, s.key("lobby")).Val()
		rdb.PExpireAt(ctx, s.key("lobby"), time.Unix(1, 0))
	})
	if ttl <= 0 || ttl > time.Minute {
		t.Errorf("state saved with a ttl of %v, want up to a minute", ttl)
	}

	// A save on behalf of a replica that lost the room's lease to
	// another is refused and changes nothing.
	lease := claims.NewRedis(rdb, prefix)
	if err := lease.Claim(ctx, leaseKey("lobby"), "b", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, "lobby", "b", []byte(`{"fails":3}`), time.Minute); err != nil {
		t.Errorf("Save by the lease holder = %v", err)
	}
	err = s.Save(ctx, "lobby", "a", []byte(`{"fails":9}`), time.Minute)
	if err == nil || !strings.Contains(err.Error(), "held by another replica") {
		t.Errorf("Save by a replica without the lease = %v, want a refusal", err)
	}
	if b, _ := s.Load(ctx, "lobby"); string(b) != `{"fails":3}` {
		t.Errorf("Load(lobby) = %q after a refused save, want the holder's state", b)
	}
}
