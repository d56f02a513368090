package watch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/internal/redistest"
)

func TestParsePairs(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Pair
		wantErr string // a part of the error; "" for none
	}{
		{name: "empty", in: "", want: nil},
		{name: "blank", in: " \n\t,", want: nil},
		{name: "one", in: "lobby=C0OPS0001",
			want: []Pair{{Room: "lobby", Channel: "C0OPS0001"}}},
		{name: "several, mixed separators",
			in: "lobby=C0OPS0001, staging=G0DEV0002;lobby=G0DEV0002\nqa=C0QA00003",
			want: []Pair{
				{Room: "lobby", Channel: "C0OPS0001"},
				{Room: "staging", Channel: "G0DEV0002"},
				{Room: "lobby", Channel: "G0DEV0002"},
				{Room: "qa", Channel: "C0QA00003"},
			}},
		{name: "duplicates dropped", in: "lobby=C0OPS0001 lobby=c0ops0001",
			want: []Pair{{Room: "lobby", Channel: "C0OPS0001"}}},
		{name: "room with an equals sign", in: "a=b=C0OPS0001",
			want: []Pair{{Room: "a=b", Channel: "C0OPS0001"}}},
		{name: "no channel", in: "lobby",
			wantErr: `ROOMBOT_WATCH: entry "lobby": not of the form room=channel`},
		{name: "empty channel", in: "lobby=",
			wantErr: `ROOMBOT_WATCH: entry "lobby=": the channel is missing`},
		{name: "empty room", in: "=C0OPS0001", wantErr: "the room name is empty"},
		{name: "channel name", in: "lobby=#ops", wantErr: "channel names are not accepted"},
		{name: "direct message", in: "lobby=D0DIRECT1", wantErr: "a direct message cannot watch a room"},
		{name: "user id", in: "lobby=U0ALICE01", wantErr: "not a channel id (C… or G…)"},
		{name: "mention as room", in: "<@U0ALICE01>=C0OPS0001", wantErr: "looks like a Slack mention"},
		{name: "invisible character in room", in: "lob\u200bby=C0OPS0001",
			wantErr: "invisible character"},
		{name: "one bad entry fails all", in: "lobby=C0OPS0001,staging", wantErr: `entry "staging"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePairs("ROOMBOT_WATCH", tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePairs(%q) = %v, %v; want an error containing %q",
						tt.in, got, err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "ROOMBOT_WATCH: entry ") {
					t.Errorf("ParsePairs(%q) error %q does not name the variable and entry",
						tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePairs(%q) = %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParsePairs(%q) differs (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// testPairStore checks what every PairStore must do.
func testPairStore(t *testing.T, s PairStore) {
	t.Helper()
	ctx := context.Background()
	lobbyOps := Pair{Room: "lobby", Channel: opsChannel}
	lobbyDev := Pair{Room: "lobby", Channel: devChannel}
	odd := Pair{Room: "r&d=x.y", Channel: opsChannel}

	if got, err := s.List(ctx); err != nil || len(got) != 0 {
		t.Fatalf("List() of a new store = %v, %v; want nothing", got, err)
	}
	for i, p := range []Pair{lobbyOps, odd, lobbyDev, lobbyOps} {
		if added, err := s.Add(ctx, p); err != nil || added != (i < 3) {
			t.Fatalf("Add(%v) = %v, %v; want %v, nil", p, added, err, i < 3)
		}
	}
	// Configured says where a pair comes from; a store keeps none.
	if added, err := s.Add(ctx, Pair{Room: "lobby", Channel: devChannel, Configured: true}); added || err != nil {
		t.Fatalf("Add(a held pair, marked configured) = %v, %v; want false, nil", added, err)
	}
	got, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Pair{lobbyOps, lobbyDev, odd}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List() differs (-want +got):\n%s", diff)
	}

	if had, err := s.Remove(ctx, lobbyOps); !had || err != nil {
		t.Errorf("Remove(held pair) = %v, %v; want true, nil", had, err)
	}
	if had, err := s.Remove(ctx, lobbyOps); had || err != nil {
		t.Errorf("Remove(removed pair) = %v, %v; want false, nil", had, err)
	}
	if got, _ := s.List(ctx); len(got) != 2 {
		t.Errorf("List() after Remove = %v, want 2 pairs", got)
	}
}

func TestMemoryPairs(t *testing.T) {
	s := NewMemoryPairs()
	testPairStore(t, s)
	if s.Durable() {
		t.Error("MemoryPairs.Durable() = true")
	}
}

func TestRedisPairs(t *testing.T) {
	url := redistest.URL(t)
	open := func() *RedisPairs {
		prefix := fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano())
		rdb, err := claims.RedisClient(url)
		if err != nil {
			t.Fatal(err)
		}
		s := NewRedisPairs(rdb, prefix)
		t.Cleanup(func() { s.Close() })
		return s
	}
	s := open()
	testPairStore(t, s)
	if !s.Durable() {
		t.Error("RedisPairs.Durable() = false")
	}

	// Another process on the same Redis and prefix sees the same pairs:
	// that is what survives a restart and what replicas share.
	again := NewRedisPairs(redis.NewClient(mustParse(t, url)), s.key[:len(s.key)-len("watch-pairs")])
	t.Cleanup(func() { again.Close() })
	got, err := again.List(context.Background())
	if err != nil || len(got) != 2 {
		t.Errorf("List() from a second client = %v, %v; want the 2 pairs", got, err)
	}

	// A member no pair can be is skipped, not passed on.
	again.rdb.SAdd(context.Background(), again.key, "junk", "lobby=D0DIRECT1")
	if got, _ := again.List(context.Background()); len(got) != 2 {
		t.Errorf("List() with junk members = %v, want the 2 pairs", got)
	}
}

func mustParse(t *testing.T, url string) *redis.Options {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return opt
}

func TestRedisPairsUnreachable(t *testing.T) {
	rdb, err := claims.RedisClient("redis://127.0.0.1:1/0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewRedisPairs(rdb, "x:")
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.List(ctx); err == nil {
		t.Error("List() on an unreachable Redis = nil error")
	}
	if _, err := s.Add(ctx, Pair{Room: "lobby", Channel: opsChannel}); err == nil {
		t.Error("Add() on an unreachable Redis = nil error")
	}
}

// A watcher whose pair store fails keeps polling what it polled.
func TestPairStoreOutageKeepsRooms(t *testing.T) {
	h := newHarness(t, nil)
	flaky := &flakyPairs{PairStore: h.pairs}
	w := New(Config{Lister: h.client, Poster: h.post, Claims: h.claims,
		Pairs: flaky, Interval: interval, Instance: "a", Now: h.clock.now})
	w.Watch(h.ctx, "lobby", devChannel)
	h.start(w)

	flaky.err = errors.New("redis down")
	before := h.srv.Calls("lobby", "list")
	h.tick(w)
	h.tick(w)
	if n := h.srv.Calls("lobby", "list") - before; n != 2 {
		t.Errorf("with the pair store down, lobby was polled %d times in 2 rounds, want 2", n)
	}
}

type flakyPairs struct {
	PairStore
	err error
}

func (f *flakyPairs) List(ctx context.Context) ([]Pair, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.PairStore.List(ctx)
}
