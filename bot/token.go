package bot

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// A ticket is what a confirmation card promises: restart this service of
// this room, asked for by this user in this channel at this time. It
// travels inside the Restart button's value, signed, so that whichever
// replica receives the click can check it without shared state.
type ticket struct {
	Room      string `json:"r"`
	ServiceID string `json:"i"`
	Service   string `json:"n"`
	Requester string `json:"u"`
	Channel   string `json:"c"`
	Issued    int64  `json:"t"` // Unix seconds
	Nonce     string `json:"x"`
}

// tokenVersion prefixes every token so the format can change without
// old cards being misread.
const tokenVersion = "v1"

var (
	errTokenInvalid = errors.New("confirmation token is not valid")
	errTokenExpired = errors.New("confirmation token has expired")
)

// b64 reads the parts of a token. Strict refuses the spare bits of a last
// character set other than as sign sets them, so a token has one
// spelling: the lenient decoder took four for every MAC.
var b64 = base64.RawURLEncoding.Strict()

// signer signs and checks tickets with an HMAC key.
type signer struct {
	key []byte
	ttl time.Duration
}

func newNonce() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// sign returns "v1.<payload>.<mac>", both parts unpadded base64url.
func (s signer) sign(t ticket) string {
	// HTML escaping would turn each < into six bytes; the token has to
	// fit a 2,000-character button value.
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(t); err != nil {
		// A ticket holds only strings and an int; Encode cannot fail.
		panic(err)
	}
	b := bytes.TrimSuffix(body.Bytes(), []byte("\n"))
	payload := tokenVersion + "." + base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

func (s signer) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// verify checks the signature first and only then reads the ticket, so
// nothing from an unsigned value is ever trusted. An expired ticket is
// returned with errTokenExpired, since the caller still names it in the
// reply.
func (s signer) verify(token string, now time.Time) (ticket, error) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 || !strings.HasPrefix(token, tokenVersion+".") {
		return ticket{}, errTokenInvalid
	}
	payload, sig := token[:i], token[i+1:]
	// The decoder skips \r and \n wherever they stand, so the MAC must
	// also encode back to sig: only the spelling sign makes is accepted.
	mac, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.mac(payload)) || b64.EncodeToString(mac) != sig {
		return ticket{}, errTokenInvalid
	}
	body, err := b64.DecodeString(payload[len(tokenVersion)+1:])
	if err != nil {
		return ticket{}, errTokenInvalid
	}
	var t ticket
	if err := json.Unmarshal(body, &t); err != nil || t.Nonce == "" {
		return ticket{}, errTokenInvalid
	}
	issued := time.Unix(t.Issued, 0)
	// A little clock skew between replicas is tolerated; a ticket from
	// far in the future is not.
	if issued.After(now.Add(time.Minute)) {
		return ticket{}, errTokenInvalid
	}
	if !now.Before(issued.Add(s.ttl)) {
		return t, errTokenExpired
	}
	return t, nil
}
