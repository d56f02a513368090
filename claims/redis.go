package claims

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Store shared by every replica that points at the same Redis.
// Each operation is one atomic command or script, so two replicas racing
// for a key can never both win.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedis returns a store on rdb whose keys all start with prefix, so one
// Redis can serve several bots (or environments) without collisions.
func NewRedis(rdb redis.UniversalClient, prefix string) *Redis {
	return &Redis{rdb: rdb, prefix: prefix}
}

// OpenRedis parses a redis:// or rediss:// URL and returns a store on it.
// It does not dial: the first call does, and Ping reports reachability.
func OpenRedis(url, prefix string) (*Redis, error) {
	rdb, err := RedisClient(url)
	if err != nil {
		return nil, err
	}
	return NewRedis(rdb, prefix), nil
}

// RedisClient parses a redis:// or rediss:// URL into a client for
// roombot's stores. It does not dial.
func RedisClient(url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, fmt.Errorf("ROOMBOT_REDIS_URL is not a valid redis:// URL")
	}
	// Claims sit on the path of a user's click; a stalled Redis must
	// fail the click quickly rather than hold it for go-redis's defaults.
	opt.DialTimeout = 2 * time.Second
	opt.ReadTimeout = time.Second
	opt.WriteTimeout = time.Second
	opt.MaxRetries = 1
	return redis.NewClient(opt), nil
}

// Client returns the store's Redis client, so other stores can share its
// connections.
func (r *Redis) Client() redis.UniversalClient { return r.rdb }

// Close closes the connection pool.
func (r *Redis) Close() error { return r.rdb.Close() }

// A claim is stored as its value, a NUL and a tag of tagLen characters
// naming the Claim call that made it. The tag lets Claim tell its own
// SET, landed on a first try whose answer was lost and found by go-redis's
// retry, from an earlier claim with the same value: the first is this
// claim, the second is held. Entries written before tags existed have
// none and read as their whole value.
const tagLen = 16

// RedisHolderLua defines holder(v), which reads the claimer's value out
// of an entry as Redis stores it, for other scripts that check a claim in
// the same step as their own write (the room watch's state saves); 16 is
// tagLen.
const RedisHolderLua = `
local function holder(v)
  if #v > 16 and string.byte(v, -17) == 0 then
    return string.sub(v, 1, -18)
  end
  return v
end
`

// claimScript sets the key only if absent and otherwise returns the
// holder, in one step: a GET after a failed SET NX could see the key
// already expired and report an empty holder.
var claimScript = redis.NewScript(RedisHolderLua + `
local entry = ARGV[1] .. '\0' .. ARGV[3]
if redis.call('SET', KEYS[1], entry, 'NX', 'PX', ARGV[2]) then
  return {1, ''}
end
local v = redis.call('GET', KEYS[1])
if not v then return {0, ''} end
if v == entry then return {1, ''} end
return {0, holder(v)}
`)

// renewScript extends the key only while value holds it.
var renewScript = redis.NewScript(RedisHolderLua + `
local v = redis.call('GET', KEYS[1])
if not v then return {0, ''} end
if holder(v) ~= ARGV[1] then return {2, holder(v)} end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, ''}
`)

// releaseScript deletes the key only while value holds it, so a holder
// whose claim expired cannot delete its successor's.
var releaseScript = redis.NewScript(RedisHolderLua + `
local v = redis.call('GET', KEYS[1])
if v and holder(v) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Claim implements Store.
func (r *Redis) Claim(ctx context.Context, key, value string, ttl time.Duration) error {
	if strings.IndexByte(value, 0) >= 0 {
		return ErrValueNUL
	}
	tag := newTag()
	status, holder, err := r.run(ctx, claimScript, key, ttl, value, tag)
	if err != nil {
		return fmt.Errorf("claiming %q: %w", key, err)
	}
	if status != 1 {
		return &HeldError{Key: key, Holder: holder}
	}
	return nil
}

// Renew implements Store.
func (r *Redis) Renew(ctx context.Context, key, value string, ttl time.Duration) error {
	status, holder, err := r.run(ctx, renewScript, key, ttl, value)
	switch {
	case err != nil:
		return fmt.Errorf("renewing %q: %w", key, err)
	case status == 0:
		return ErrNotHeld
	case status == 2:
		return &HeldError{Key: key, Holder: holder}
	}
	return nil
}

// Release implements Store.
func (r *Redis) Release(ctx context.Context, key, value string) error {
	err := releaseScript.Run(ctx, r.rdb, []string{r.prefix + key}, value).Err()
	if err != nil {
		return fmt.Errorf("releasing %q: %w", key, err)
	}
	return nil
}

func newTag() string {
	var b [tagLen / 2]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Ping implements Store.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

func (r *Redis) run(ctx context.Context, s *redis.Script, key string,
	ttl time.Duration, value string, extra ...any) (int64, string, error) {
	ms := max(ttl.Milliseconds(), 1)
	args := append([]any{value, ms}, extra...)
	res, err := s.Run(ctx, r.rdb, []string{r.prefix + key}, args...).Slice()
	if err != nil {
		return 0, "", err
	}
	if len(res) != 2 {
		return 0, "", fmt.Errorf("unexpected script reply %v", res)
	}
	status, _ := res[0].(int64)
	holder, _ := res[1].(string)
	return status, holder, nil
}
