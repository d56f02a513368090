package roomclient

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/roomops/roombot/roomclient/roomtest"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no credentials", Config{}, "token or an API key is required"},
		{"both", Config{Token: "t", APIKey: "ma-a-b-c"}, "not both"},
		{"not ma-", Config{APIKey: "sk-123"}, "invalid API key"},
		{"too few parts", Config{APIKey: "ma-abc"}, "invalid API key"},
		{"bad base64", Config{APIKey: "ma-!!!-???-secret"}, "invalid API key"},
		{"bad scheme", Config{Token: "t", URL: "ftp://x"}, "not a ws"},
		{"no host", Config{Token: "t", URL: "ws://"}, "not a ws"},
		{"query", Config{Token: "t", URL: "ws://h/?a=1"}, "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%v) = %v, want %q", tt.cfg, err, tt.want)
			}
			if err != nil && tt.cfg.APIKey != "" && strings.Contains(err.Error(), tt.cfg.APIKey) {
				t.Errorf("error %q quotes the key", err)
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.meshagent.com/": "wss://api.meshagent.com",
		"http://127.0.0.1:8080":      "ws://127.0.0.1:8080",
		"ws://127.0.0.1:9/prefix//":  "ws://127.0.0.1:9/prefix",
		"wss://api.meshagent.com":    "wss://api.meshagent.com",
	} {
		if got, err := baseURL(in); err != nil || got != want {
			t.Errorf("baseURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestRoomPathEscaped checks that a room name with a slash or a space
// reaches the simulator as one path segment.
func TestRoomPathEscaped(t *testing.T) {
	name := "a b/c"
	fx := &roomtest.Fixture{Rooms: map[string]*roomtest.Room{name: {}}}
	srv := roomtest.NewServer(t, fx)
	list, err := newClient(t, srv).List(testCtx(t), name)
	if err != nil || list.Room != name {
		t.Errorf("List(%q) = %+v, %v", name, list, err)
	}
}

func TestConfigRedacted(t *testing.T) {
	cfg := Config{URL: "ws://h", Token: "tok-SECRET", APIKey: "ma-k-p-SECRET"}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cfg", cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg),
		fmt.Sprintf("%#v", cfg), logged.String()} {
		if strings.Contains(s, "SECRET") || !strings.Contains(s, "redacted") {
			t.Errorf("printed config %q shows a secret or hides the auth kind", s)
		}
	}
}

func TestParseAPIKey(t *testing.T) {
	// The project's base64 is all "-", which a key writes as ".".
	kid := "AAECAwQFBgcICQoLDA0ODw"
	project := ".....................A"
	key, err := parseAPIKey("ma-" + kid + "-" + project + "-sec-ret-")
	if err != nil {
		t.Fatalf("parseAPIKey: %v", err)
	}
	if key.kid != "00010203-0405-0607-0809-0a0b0c0d0e0f" || string(key.secret) != "sec-ret-" {
		t.Errorf("parseAPIKey = kid %s, secret %q", key.kid, key.secret)
	}
	if key.project != "fbefbefb-efbe-fbef-befb-efbefbefbef8" {
		t.Errorf("project = %s", key.project)
	}
}

func TestMintClaims(t *testing.T) {
	key, err := parseAPIKey(roomtest.APIKey("k-e-y"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	tok, err := newMinter(key, "roombot", 10*time.Minute, func() time.Time { return now }).token("lobby")
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) {
		return []byte("k-e-y"), nil
	}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		t.Fatalf("minted token does not verify: %v", err)
	}
	want := fmt.Sprintf(`map[exp:%v grants:[map[name:room scope:lobby] map[name:role scope:user] `+
		`map[name:api scope:map[services:map[]]]] kid:%s name:roombot sub:%s version:0.50.1]`,
		float64(now.Add(10*time.Minute).Unix()), key.kid, key.project)
	if got := fmt.Sprint(claims); got != want {
		t.Errorf("claims = %s\nwant     %s", got, want)
	}
}

func TestToolCallID(t *testing.T) {
	a, b := newToolCallID(), newToolCallID()
	if len(a) != 32 || strings.Trim(a, "0123456789abcdef") != "" || a == b {
		t.Errorf("newToolCallID() = %q, %q; want two distinct 32-hex-digit ids", a, b)
	}
}

// syncBuffer is a bytes.Buffer safe for the client's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNoSecretsLogged goes through retries, errors and closes with debug
// logging on, and looks for the token and the key in everything logged.
func TestNoSecretsLogged(t *testing.T) {
	const secret = "SECRET-part"
	srv := roomtest.NewServer(t, nil, roomtest.WithSecret(secret))
	setFaults(t, srv, "lobby", roomtest.Faults{RefuseHandshakes: 2})
	var logs syncBuffer
	key := roomtest.APIKey(secret)
	c := newClient(t, srv, func(cfg *Config) {
		cfg.Token, cfg.APIKey = "", key
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	_, err1 := c.List(testCtx(t), "lobby")
	err2 := c.Restart(testCtx(t), "lobby", "nope")
	_, err3 := c.List(testCtx(t), "nowhere")
	c.Close()
	text := fmt.Sprint(logs.String(), err1, err2, err3)
	// "eyJ" starts every JWT: no token of any kind may show.
	for _, s := range []string{secret, key, "eyJ"} {
		if strings.Contains(text, s) {
			t.Errorf("logs or errors contain %q:\n%s", s, text)
		}
	}
	if !strings.Contains(text, "room connection failed") {
		t.Errorf("logs lack the retries:\n%s", text)
	}
}

// TestNothingPrintsASecret formats everything that holds a token or a
// key, with every verb that prints a struct's fields and through slog,
// and looks for the secrets, plain or in hex, and for any minted token.
func TestNothingPrintsASecret(t *testing.T) {
	const tok, secret = "tok-SECRET", "key-SECRET"
	withToken, err := New(Config{URL: "ws://h", Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	defer withToken.Close()
	withKey, err := New(Config{URL: "ws://h", APIKey: roomtest.APIKey(secret)})
	if err != nil {
		t.Fatal(err)
	}
	defer withKey.Close()
	if _, err := withKey.tokens.token("lobby"); err != nil {
		t.Fatal(err) // so that the cache holds a minted token
	}
	key, err := parseAPIKey(roomtest.APIKey(secret))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{URL: "ws://h", Token: tok}

	values := map[string]any{
		"token client": withToken, "key client": withKey,
		"config": cfg, "config pointer": &cfg,
		"key": key, "token": staticToken(tok), "minter": withKey.tokens,
	}
	leaks := []string{"SECRET", fmt.Sprintf("%x", "SECRET"), fmt.Sprintf("%X", "SECRET"), "eyJ"}
	for name, v := range values {
		var out []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q"} {
			out = append(out, verb+" "+fmt.Sprintf(verb, v))
		}
		for _, h := range []func(io.Writer) slog.Handler{
			func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
			func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
		} {
			var b bytes.Buffer
			slog.New(h(&b)).Info("value", "v", v)
			out = append(out, "slog "+b.String())
		}
		for _, s := range out {
			for _, leak := range leaks {
				if strings.Contains(s, leak) {
					t.Errorf("%s printed as %s: shows %q", name, s, leak)
				}
			}
		}
	}
}

// TestMintedTokensExpire: the minter keeps a token per room, and room
// names come from Slack users, so tokens due for renewal are dropped as
// new ones are minted rather than kept for good.
func TestMintedTokensExpire(t *testing.T) {
	key, err := parseAPIKey(roomtest.APIKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	m := newMinter(key, "roombot", 8*time.Minute, func() time.Time { return now })
	mint := func(rooms ...string) {
		t.Helper()
		for _, r := range rooms {
			if _, err := m.token(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	mint("a", "b", "c")
	now = now.Add(4 * time.Minute)
	mint("d")
	now = now.Add(2 * time.Minute) // a, b and c are due for renewal at 6
	mint("e")
	var got []string
	for r := range m.cache {
		got = append(got, r)
	}
	slices.Sort(got)
	if want := []string{"d", "e"}; !slices.Equal(got, want) {
		t.Errorf("minter keeps tokens for %v, want %v", got, want)
	}
}
