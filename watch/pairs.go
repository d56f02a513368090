package watch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/redis/go-redis/v9"

	"github.com/roomops/roombot/commands"
)

// A Pair is one room watched for one channel. It is commands.WatchPair,
// so a list of pairs goes to commands.Watching as it is.
type Pair = commands.WatchPair

// ParsePairs reads the room=channel pairs of the configuration variable
// varName (ROOMBOT_WATCH), separated by commas, semicolons or white
// space. A room may appear with several channels. Rooms must pass
// commands.ValidName; channels must be channel ids (C… or G…, lower case
// is upper-cased), never direct messages or #names. Duplicates are
// dropped. An entry that is wrong is an error naming varName and the
// entry, so a watch is never quietly missing.
func ParsePairs(varName, s string) ([]Pair, error) {
	var out []Pair
	seen := map[Pair]bool{}
	var errs []error
	for _, entry := range strings.FieldsFunc(s, isSeparator) {
		p, err := parsePair(entry)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: entry %s: %w",
				varName, strconv.Quote(entry), err))
			continue
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(errs) > 0 {
		// Each wrong entry is named, so that one start fixes them all.
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func isSeparator(r rune) bool {
	return r == ',' || r == ';' || unicode.IsSpace(r)
}

func parsePair(entry string) (Pair, error) {
	// A channel id has no "=", so the last one splits: room names may
	// hold one.
	i := strings.LastIndexByte(entry, '=')
	if i < 0 {
		return Pair{}, errors.New("not of the form room=channel")
	}
	room, channel := entry[:i], strings.ToUpper(entry[i+1:])
	if err := commands.ValidName("room", room); err != nil {
		return Pair{}, err
	}
	if err := checkChannel(channel); err != nil {
		return Pair{}, err
	}
	return Pair{Room: room, Channel: channel}, nil
}

// ErrNotChannel is matched by the error of Watch and Unwatch for a
// channel that is not a channel id, such as a direct message.
var ErrNotChannel = errors.New("watch: not a channel id")

// checkChannel explains what a string that is not a channel id looks like
// instead.
func checkChannel(id string) error {
	switch {
	case commands.IsChannel(id):
		return nil
	case id == "":
		return errors.New("the channel is missing")
	case strings.HasPrefix(id, "#"):
		return errors.New("channel names are not accepted; use the " +
			"channel id (C…), from the channel's details")
	case id[0] == 'D':
		return errors.New("a direct message cannot watch a room; " +
			"use a channel id (C… or G…)")
	}
	return errors.New("not a channel id (C… or G…)")
}

// A PairStore keeps the pairs added at run time with /room-services
// watch. Implementations are safe for concurrent use.
type PairStore interface {
	// Add records p and reports whether it was new; adding a pair held
	// already does nothing.
	Add(ctx context.Context, p Pair) (bool, error)

	// Remove forgets p and reports whether it was there.
	Remove(ctx context.Context, p Pair) (bool, error)

	// List returns every pair held, sorted by room and channel.
	List(ctx context.Context) ([]Pair, error)

	// Durable reports whether the pairs survive a restart of the bot.
	Durable() bool
}

func sortPairs(ps []Pair) {
	slices.SortFunc(ps, func(a, b Pair) int {
		return cmp.Or(cmp.Compare(a.Room, b.Room),
			cmp.Compare(a.Channel, b.Channel))
	})
}

// key is p as stored: only the room and the channel count.
func key(p Pair) Pair { return Pair{Room: p.Room, Channel: p.Channel} }

// MemoryPairs is a PairStore held in this process: right for one replica
// without Redis, and lost when the process ends.
type MemoryPairs struct {
	// mu guards set.
	mu  sync.Mutex
	set map[Pair]bool
}

// NewMemoryPairs returns an empty MemoryPairs.
func NewMemoryPairs() *MemoryPairs {
	return &MemoryPairs{set: map[Pair]bool{}}
}

// Add implements PairStore.
func (m *MemoryPairs) Add(_ context.Context, p Pair) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	had := m.set[key(p)]
	m.set[key(p)] = true
	return !had, nil
}

// Remove implements PairStore.
func (m *MemoryPairs) Remove(_ context.Context, p Pair) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	had := m.set[key(p)]
	delete(m.set, key(p))
	return had, nil
}

// List implements PairStore.
func (m *MemoryPairs) List(context.Context) ([]Pair, error) {
	m.mu.Lock()
	out := make([]Pair, 0, len(m.set))
	for p := range m.set {
		out = append(out, p)
	}
	m.mu.Unlock()
	sortPairs(out)
	return out, nil
}

// Durable implements PairStore: memory does not survive a restart.
func (m *MemoryPairs) Durable() bool { return false }

// RedisPairs is a PairStore in a Redis set, shared by every replica that
// points at the same Redis and kept across restarts. Members are written
// room=channel, as in ROOMBOT_WATCH.
type RedisPairs struct {
	rdb redis.UniversalClient
	key string
}

// NewRedisPairs returns a store on rdb in the set prefix+"watch-pairs".
// With the claims' prefix it sits beside their keys, none of which it can
// be: theirs have a colon after the first word.
func NewRedisPairs(rdb redis.UniversalClient, prefix string) *RedisPairs {
	return &RedisPairs{rdb: rdb, key: prefix + "watch-pairs"}
}

// Close closes the connection pool.
func (r *RedisPairs) Close() error { return r.rdb.Close() }

// Add implements PairStore.
func (r *RedisPairs) Add(ctx context.Context, p Pair) (bool, error) {
	n, err := r.rdb.SAdd(ctx, r.key, member(p)).Result()
	if err != nil {
		return false, fmt.Errorf("adding watch pair: %w", err)
	}
	return n > 0, nil
}

// Remove implements PairStore.
func (r *RedisPairs) Remove(ctx context.Context, p Pair) (bool, error) {
	n, err := r.rdb.SRem(ctx, r.key, member(p)).Result()
	if err != nil {
		return false, fmt.Errorf("removing watch pair: %w", err)
	}
	return n > 0, nil
}

// List implements PairStore. A member that is not a valid pair, which
// only a hand edit of Redis can make, is left out.
func (r *RedisPairs) List(ctx context.Context) ([]Pair, error) {
	members, err := r.rdb.SMembers(ctx, r.key).Result()
	if err != nil {
		return nil, fmt.Errorf("listing watch pairs: %w", err)
	}
	out := make([]Pair, 0, len(members))
	for _, m := range members {
		if p, err := parsePair(m); err == nil {
			out = append(out, p)
		}
	}
	sortPairs(out)
	return out, nil
}

// Durable implements PairStore: Redis keeps the pairs across restarts.
func (r *RedisPairs) Durable() bool { return true }

func member(p Pair) string { return p.Room + "=" + p.Channel }
