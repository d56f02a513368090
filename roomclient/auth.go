package roomclient

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// tokenVersion is the token schema version put in minted tokens: the SDK
// release whose claims this package copies.
const tokenVersion = "0.50.1"

// A tokenSource gives the participant token to present to one room.
type tokenSource interface {
	token(room string) (string, error)
}

// staticToken is a participant token used as is for every room.
type staticToken string

func (t staticToken) token(string) (string, error) { return string(t), nil }

// An apiKey is a parsed project API key. It never prints its secret (see
// redact.go).
type apiKey struct {
	kid, project string // UUIDs
	secret       []byte
}

// errBadKey never quotes the key: a half-right key is still mostly secret.
var errBadKey = errors.New(`invalid API key: want "ma-<key id>-<project id>-<secret>"`)

// CheckAPIKey reports whether key has the shape of a project API key, so
// that a bad MESHAGENT_API_KEY is refused at start. Its error never quotes
// the key.
func CheckAPIKey(key string) error {
	_, err := parseAPIKey(key)
	return err
}

// parseAPIKey reads "ma-<kid>-<project>-<secret>". The ids are UUIDs in
// URL-safe base64 with "-" swapped for "." so that they hold no dash; the
// secret is everything after the second dash, dashes included.
func parseAPIKey(key string) (apiKey, error) {
	rest, ok := strings.CutPrefix(key, "ma-")
	if !ok {
		return apiKey{}, errBadKey
	}
	parts := strings.SplitN(rest, "-", 3)
	if len(parts) != 3 || parts[2] == "" {
		return apiKey{}, errBadKey
	}
	kid, err1 := decodeUUID(parts[0])
	project, err2 := decodeUUID(parts[1])
	if err1 != nil || err2 != nil {
		return apiKey{}, errBadKey
	}
	return apiKey{kid: kid, project: project, secret: []byte(parts[2])}, nil
}

func decodeUUID(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.ReplaceAll(s, ".", "-"))
	if err != nil || len(b) != 16 {
		return "", errBadKey
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// minter mints a short-lived participant token per room from an API key
// and keeps it until it nears expiry.
type minter struct {
	key  apiKey
	name string
	ttl  time.Duration
	now  func() time.Time

	// mu guards cache, which holds no token past its renewal time for
	// longer than until the next mint.
	mu    sync.Mutex
	cache map[string]minted
}

type minted struct {
	token string
	renew time.Time // when to mint a new one, a quarter TTL before exp
}

func newMinter(key apiKey, name string, ttl time.Duration, now func() time.Time) *minter {
	return &minter{key: key, name: name, ttl: ttl, now: now, cache: map[string]minted{}}
}

func (m *minter) token(room string) (string, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.cache[room]; ok && now.Before(t.renew) {
		return t.token, nil
	}
	tok, err := m.mint(room, now)
	if err != nil {
		return "", err
	}
	m.sweepLocked(now)
	m.cache[room] = minted{token: tok, renew: now.Add(m.ttl * 3 / 4)}
	return tok, nil
}

// sweepLocked drops the tokens due for renewal, which token would never
// hand out again. Room names come from Slack users, so without it the
// cache would keep one token for every name ever tried. Sweeping at every
// mint costs a pass over the rooms minted for in the last three quarters
// of a TTL, little next to the dial that a mint comes before.
func (m *minter) sweepLocked(now time.Time) {
	for room, t := range m.cache {
		if !now.Before(t.renew) {
			delete(m.cache, room)
		}
	}
}

// mint signs the claims section 2.4 of the protocol lists. The api grant
// holds only "services": this client needs nothing else from a room.
func (m *minter) mint(room string, now time.Time) (string, error) {
	claims := jwt.MapClaims{
		"name": m.name,
		"grants": []any{
			map[string]any{"name": "room", "scope": room},
			// The CLI acts with a user token, so a minted one does too.
			map[string]any{"name": "role", "scope": "user"},
			map[string]any{"name": "api", "scope": map[string]any{
				"services": map[string]any{},
			}},
		},
		"sub":     m.key.project,
		"kid":     m.key.kid,
		"version": tokenVersion,
		"exp":     now.Add(m.ttl).Unix(),
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(m.key.secret)
	if err != nil {
		return "", fmt.Errorf("minting a token for room %q: %w", room, err)
	}
	return tok, nil
}
