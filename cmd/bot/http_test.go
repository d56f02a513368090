package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack/socketmode"

	"github.com/roomops/roombot/bot"
	"github.com/roomops/roombot/slacksim"
)

// served is the whole bot running in this process through serve, the
// way main runs it.
type served struct {
	*world
	addr string
	stop context.CancelFunc
	done chan error
}

func serveWorld(t *testing.T, env ...string) *served {
	t.Helper()
	w := newWorld(t)
	for i := 0; i+1 < len(env); i += 2 {
		w.env[env[i]] = env[i+1]
	}
	setEnv(t, w.env)
	t.Setenv("MESHAGENT_API_KEY", "")
	c, err := loadChecked(t)
	if err != nil {
		t.Fatal(err)
	}

	ctx, stop := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, c, slog.New(slog.DiscardHandler), serveOptions{
			ready:   ready,
			botConf: func(bc *bot.Config) { bc.PingInterval = time.Second },
			socket:  []socketmode.Option{},
		})
	}()
	s := &served{world: w, stop: stop, done: done}
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v, want nil", err)
		}
	})
	select {
	case s.addr = <-ready:
	case err := <-done:
		t.Fatalf("serve ended at start: %v", err)
	}
	return s
}

func (s *served) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + s.addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitStatus polls path until it answers want. Readiness is observed
// from outside, as a kubelet would, so polling is the honest way to see it.
func (s *served) waitStatus(t *testing.T, path string, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := s.get(t, path)
		if code == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s = %d %q for 20s, want %d", path, code, body, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *served) waitBody(t *testing.T, path, sub string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body := s.get(t, path)
		if strings.Contains(body, sub) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s never contained %q; last:\n%s", path, sub, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHealthz(t *testing.T) {
	s := serveWorld(t)
	if code, body := s.get(t, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 ok", code, body)
	}
}

// TestReadyzFollowsTheSocket: /readyz is 503 while Slack has dropped the
// socket and the bot cannot get a new one, and 200 once it has.
func TestReadyzFollowsTheSocket(t *testing.T) {
	s := serveWorld(t)
	s.waitStatus(t, "/readyz", 200)

	// Keep the bot from reconnecting for a while: slack-go backs off
	// after each failed apps.connections.open.
	for range 4 {
		s.slack.FailNext("apps.connections.open", slacksim.Fault{Status: 500})
	}
	opens := s.slack.Opens()
	s.slack.DropConnections()
	s.waitStatus(t, "/readyz", 503)
	s.waitStatus(t, "/readyz", 200)
	if got := s.slack.Opens(); got <= opens {
		t.Errorf("apps.connections.open calls %d → %d, want a reconnect", opens, got)
	}
}

func TestMetricsCountACommand(t *testing.T) {
	s := serveWorld(t)
	ctx := testContext(t)
	s.slack.WaitConnections(ctx, 1)
	command(t, ctx, s.slack, "U0ALICE01", "list lobby")

	// The count is taken as the handler finishes, just after the reply
	// goes out, so wait for it.
	want := `roombot_commands_total{outcome="ok",verb="list"} 1`
	body := s.waitBody(t, "/metrics", want)
	for _, want := range []string{
		`roombot_commands_total{outcome="ok",verb="list"} 1`,
		`roombot_ack_seconds_count`,
		`roombot_room_call_seconds_count{op="list",result="ok"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestMetricsStartAtZero: the series an alert watches are there before
// the first event, at 0, so rate() sees the first one.
func TestMetricsStartAtZero(t *testing.T) {
	s := serveWorld(t)
	body := s.waitBody(t, "/metrics", "roombot_socket_reconnects_total 0\n")
	for _, want := range []string{
		`roombot_restarts_total{outcome="failed"} 0` + "\n",
		`roombot_restarts_total{outcome="unknown"} 0` + "\n",
		`roombot_restarts_total{outcome="not_back"} 0` + "\n",
		`roombot_denials_total{verb="restart"} 0` + "\n",
		`roombot_denials_total{verb="confirm"} 0` + "\n",
		`roombot_slack_rate_limited_total{method="chat.postMessage"} 0` + "\n",
		"roombot_socket_reconnects_total 0\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics at start lacks %q", want)
		}
	}
}

// TestMetricsCountFaults: a refusal, a 429 from Slack and a lost socket
// each show in their counter, as an operator alerting on them needs.
func TestMetricsCountFaults(t *testing.T) {
	s := serveWorld(t)
	ctx := testContext(t)
	s.slack.WaitConnections(ctx, 1)

	m := command(t, ctx, s.slack, "U0STRANGE1", "list lobby")
	if !strings.Contains(m.Render(), "not allowed") {
		t.Errorf("a stranger's list answered:\n%s", m.Render())
	}
	s.slack.FailNext("response_url", slacksim.Fault{
		Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	m = command(t, ctx, s.slack, "U0ALICE01", "list lobby")
	if !strings.Contains(m.Render(), "web") {
		t.Errorf("list after a 429 answered:\n%s", m.Render())
	}
	s.slack.DropConnections()

	// Each figure ends its line: "… 1" alone would take 12 too.
	s.waitBody(t, "/metrics", "roombot_socket_reconnects_total 1\n")
	body := s.waitBody(t, "/metrics", `roombot_commands_total{outcome="ok",verb="list"} 1`+"\n")
	for _, want := range []string{
		`roombot_denials_total{verb="list"} 1` + "\n",
		`roombot_slack_rate_limited_total{method="response_url"} 1` + "\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestRedisUnreachable: with the shared claim store down, /readyz says so,
// a restart is refused rather than risk running twice, and list works.
func TestRedisUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	s := serveWorld(t, "ROOMBOT_REDIS_URL", "redis://"+dead+"/0",
		"ROOMBOT_SIGNING_KEY", "replica-signing-key-0123456789")
	ctx := testContext(t)
	s.slack.WaitConnections(ctx, 1)

	// The socket comes up first; then only the claim store keeps the
	// bot unready.
	s.waitBody(t, "/readyz", "claim store")
	if code, body := s.get(t, "/readyz"); code != 503 {
		t.Errorf("GET /readyz = %d %q, want 503", code, body)
	}
	if m := command(t, ctx, s.slack, "U0ALICE01", "list lobby"); !strings.Contains(m.Render(), "web") {
		t.Errorf("list with Redis down:\n%s", m.Render())
	}
	// No card is handed out that could not be confirmed, and what is
	// watched, kept in Redis too, is neither shown nor changed; each says
	// why rather than "something went wrong".
	for text, want := range map[string]string{
		"restart lobby web": "cannot record confirmations right now",
		"watch lobby":       "cannot reach its list of watched rooms right now. Nothing was changed.",
		"unwatch lobby":     "cannot reach its list of watched rooms right now. Nothing was changed.",
		"watching":          "cannot reach its list of watched rooms right now. Try again",
	} {
		m := command(t, ctx, s.slack, "U0ALICE01", text)
		if r := m.Render(); !strings.Contains(r, want) || strings.Contains(r, "went wrong") {
			t.Errorf("%s with Redis down answered:\n%s\nwant it to say it %s", text, r, want)
		}
	}
	if got := s.room.Restarts("lobby", "svc-web"); got != 0 {
		t.Errorf("room saw %d restarts with Redis down, want 0", got)
	}
}
