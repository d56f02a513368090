package bot

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTokenRoundTrip(t *testing.T) {
	s := signer{key: []byte("k1"), ttl: 10 * time.Minute}
	now := time.Unix(1_800_000_000, 0)
	want := ticket{
		Room: "myroom.dev", ServiceID: "svc-1", Service: "web <&>",
		Requester: "U0ALICE01", Channel: "C0OPS0001",
		Issued: now.Unix(), Nonce: newNonce(),
	}
	tok := s.sign(want)
	got, err := s.verify(tok, now.Add(9*time.Minute))
	if err != nil || got != want {
		t.Fatalf("verify(sign(%+v)) = %+v, %v", want, got, err)
	}
}

func TestTokenRejects(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := signer{key: []byte("k1"), ttl: 10 * time.Minute}
	tk := ticket{Room: "r", ServiceID: "s", Requester: "U1", Issued: now.Unix(), Nonce: "n"}
	good := s.sign(tk)
	parts := strings.Split(good, ".")

	other := signer{key: []byte("k2"), ttl: 10 * time.Minute}
	forged := tk
	forged.Room = "prod"
	swapped := parts[0] + "." + strings.Split(s.sign(forged), ".")[1] + "." + parts[2]
	future := tk
	future.Issued = now.Add(time.Hour).Unix()

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", errTokenInvalid},
		{"no version", strings.TrimPrefix(good, "v1."), errTokenInvalid},
		{"other key", other.sign(tk), errTokenInvalid},
		{"payload swapped", swapped, errTokenInvalid},
		{"mac truncated", good[:len(good)-2], errTokenInvalid},
		{"garbage", "v1.!!!.???", errTokenInvalid},
		{"issued in the future", s.sign(future), errTokenInvalid},
		{"expired", good, errTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := now
			if tt.want == errTokenExpired {
				at = now.Add(10 * time.Minute)
			}
			if _, err := s.verify(tt.token, at); !errors.Is(err, tt.want) {
				t.Errorf("verify(%q) = %v, want %v", tt.token, err, tt.want)
			}
		})
	}
}

func TestTokenFitsButtonValue(t *testing.T) {
	// Slack caps a button value at 2,000 characters; names are capped at
	// 128 by the parser, so the longest ticket must still fit.
	long := strings.Repeat("é<", 64)
	s := signer{key: []byte("k"), ttl: time.Minute}
	tok := s.sign(ticket{Room: long, ServiceID: long, Service: long,
		Requester: "U0ALICE01", Channel: "C0OPS0001", Issued: 1, Nonce: newNonce()})
	if len(tok) > 2000 {
		t.Fatalf("token of %d bytes, want at most 2000", len(tok))
	}
}

// FuzzTokenVerify: verify never panics, and a token it accepts is one
// sign made: signing its ticket again gives the token back, byte for
// byte. Any other accepted form would be a second spelling of a signed
// ticket, or a forgery.
func FuzzTokenVerify(f *testing.F) {
	s := signer{key: []byte("k"), ttl: time.Minute}
	good := s.sign(ticket{Room: "r", Nonce: "n", Issued: 1})
	f.Add(good)
	f.Add(good[:len(good)-1] + "B")
	f.Add("v1..")
	f.Fuzz(func(t *testing.T, tok string) {
		tk, err := s.verify(tok, time.Unix(2, 0))
		if err != nil && !errors.Is(err, errTokenExpired) {
			return
		}
		if again := s.sign(tk); again != tok {
			t.Fatalf("verify(%q) accepted it, but its ticket signs as %q", tok, again)
		}
	})
}

// TestTokenOneSpelling: base64 leaves spare bits in the last character of
// the MAC, and a lenient decoder ignores them, so several spellings of
// one token verified. Only the one sign makes does.
func TestTokenOneSpelling(t *testing.T) {
	s := signer{key: []byte("k"), ttl: time.Minute}
	tok := s.sign(ticket{Room: "r", Nonce: "n", Issued: 1})
	last := tok[len(tok)-1]
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
		if c == last {
			continue
		}
		other := tok[:len(tok)-1] + string(c)
		if _, err := s.verify(other, time.Unix(2, 0)); !errors.Is(err, errTokenInvalid) {
			t.Errorf("verify(%q), the token with its last character %q for %q, = %v, want errTokenInvalid",
				other, c, last, err)
		}
	}
}
