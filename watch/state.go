package watch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/roomops/roombot/claims"
)

// A StateStore keeps what the watch of each room knows between polls:
// the room's last list as Diff needs it, the episodes still open with
// their messages, and whether the room answers. Whoever polls the room
// next, another replica that takes over its lease or this one after a
// restart, carries on from it: it updates the messages already posted
// and tells the recovery of a service that went down before. The state
// is a few kilobytes a room. Implementations are safe for concurrent
// use.
type StateStore interface {
	// Load returns the state last saved for room, or nil when none was
	// saved within its ttl.
	Load(ctx context.Context, room string) ([]byte, error)

	// Save replaces the state of room, to be forgotten after ttl, on
	// behalf of holder, the replica that holds the room's lease. A store
	// beside the claim store refuses it when another replica holds the
	// lease; one in memory trusts its caller.
	Save(ctx context.Context, room, holder string, state []byte, ttl time.Duration) error
}

// MemoryState is a StateStore held in this process: right for one
// replica without Redis. It keeps a room's episodes while the watch
// lets go of the room and takes it again, but not across a restart.
type MemoryState struct {
	now func() time.Time

	// mu guards rooms.
	mu    sync.Mutex
	rooms map[string]memoryEntry
}

type memoryEntry struct {
	state []byte
	until time.Time
}

// NewMemoryState returns an empty MemoryState whose ttls run on now,
// time.Now when nil.
func NewMemoryState(now func() time.Time) *MemoryState {
	if now == nil {
		now = time.Now
	}
	return &MemoryState{now: now, rooms: map[string]memoryEntry{}}
}

// Load implements StateStore.
func (m *MemoryState) Load(_ context.Context, room string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.rooms[room]
	if !ok || !m.now().Before(e.until) {
		return nil, nil
	}
	return e.state, nil
}

// Save implements StateStore. The holder is not checked: in one process
// the watcher saves only the rooms it holds.
func (m *MemoryState) Save(_ context.Context, room, _ string, state []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	// Rooms no longer watched would stay for good; a pass over a map of
	// a few hundred rooms costs less than a timer each.
	for r, e := range m.rooms {
		if !now.Before(e.until) {
			delete(m.rooms, r)
		}
	}
	m.rooms[room] = memoryEntry{state: state, until: now.Add(ttl)}
	return nil
}

// RedisState is a StateStore in Redis, beside the claim store's keys:
// one string a room, under prefix+"watch-state:"+room, that expires on
// its own. It is shared by every replica on the same Redis and kept
// across restarts.
type RedisState struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedisState returns a store on rdb. prefix must be the claim store's
// (claims.NewRedis), where the rooms' poll leases are: a save is refused
// when another replica holds the room's lease, so a replica that lost it
// without noticing yet cannot undo its successor's state.
func NewRedisState(rdb redis.UniversalClient, prefix string) *RedisState {
	return &RedisState{rdb: rdb, prefix: prefix}
}

func (r *RedisState) key(room string) string {
	return r.prefix + "watch-state:" + room
}

// Load implements StateStore.
func (r *RedisState) Load(ctx context.Context, room string) ([]byte, error) {
	b, err := r.rdb.Get(ctx, r.key(room)).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("loading the watch state of room %q: %w", room, err)
	}
	return b, nil
}

// saveScript sets the state unless the lease is held by someone else,
// in one step. A lease nobody holds, lapsed while the holder was slow,
// does not refuse it: nobody else has carried on from the state yet.
var saveScript = redis.NewScript(claims.RedisHolderLua + `
local h = redis.call('GET', KEYS[1])
if h and holder(h) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
`)

// Save implements StateStore.
func (r *RedisState) Save(ctx context.Context, room, holder string, state []byte, ttl time.Duration) error {
	keys := []string{r.prefix + leaseKey(room), r.key(room)}
	ms := max(ttl.Milliseconds(), 1)
	n, err := saveScript.Run(ctx, r.rdb, keys, holder, state, ms).Int()
	switch {
	case err != nil:
		return fmt.Errorf("saving the watch state of room %q: %w", room, err)
	case n == 0:
		return fmt.Errorf("saving the watch state of room %q: "+
			"its lease is held by another replica", room)
	}
	return nil
}
