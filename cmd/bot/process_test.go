package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roomops/roombot/roomclient/roomtest"
	"github.com/roomops/roombot/slacksim"
)

// These tests run the bot as its own process, the way an operator does,
// against the Slack stand-in and the room simulator in the test process.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// botBinary builds cmd/bot once per test run.
func botBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "roombot-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "roombot")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building the bot: %v", buildErr)
	}
	return binPath
}

// proc is a running bot process and everything it printed.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	out  *lines
	done chan error
}

// lines collects a process's output and lets a test wait for a line.
type lines struct {
	mu   sync.Mutex
	all  []string
	more chan struct{}
}

func (l *lines) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, s)
	close(l.more)
	l.more = make(chan struct{})
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}

func (l *lines) waitFor(ctx context.Context, sub string) error {
	for {
		l.mu.Lock()
		for _, s := range l.all {
			if strings.Contains(s, sub) {
				l.mu.Unlock()
				return nil
			}
		}
		more := l.more
		l.mu.Unlock()
		select {
		case <-more:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// startBot runs the bot binary with exactly env (plus PATH and HOME). Its
// standard output and error are read as one stream of lines, so a test
// looking at what the bot printed sees both.
func startBot(t *testing.T, env map[string]string) *proc {
	t.Helper()
	cmd := exec.Command(botBinary(t))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Start()
	w.Close() // the child holds its own copy; ours would keep r from ending
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, out: &lines{more: make(chan struct{})}, done: make(chan error, 1)}
	read := make(chan struct{})
	go func() {
		defer close(read)
		defer r.Close()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.out.add(sc.Text())
		}
	}()
	go func() {
		<-read
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-read
	})
	return p
}

// exit waits for the process to end and returns its exit code.
func (p *proc) exit(within time.Duration) int {
	p.t.Helper()
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			p.t.Fatalf("waiting for the bot: %v", err)
		}
		return 0
	case <-time.After(within):
		p.t.Fatalf("bot still running after %s; output:\n%s", within, p.out)
		return -1
	}
}

// world is the Slack stand-in and room simulator a bot process talks to.
type world struct {
	slack *slacksim.Server
	room  *roomtest.Server
	env   map[string]string
}

func newWorld(t *testing.T, opts ...roomtest.Option) *world {
	t.Helper()
	sl := slacksim.NewServer(t, slacksim.Config{PingInterval: 200 * time.Millisecond})
	rm := roomtest.NewServer(t, roomtest.DemoFixture(), opts...)
	sc := sl.Config()
	return &world{slack: sl, room: rm, env: map[string]string{
		"SLACK_APP_TOKEN":        sc.AppToken,
		"SLACK_BOT_TOKEN":        sc.BotToken,
		"SLACK_API_URL":          sl.APIURL(),
		"MESHAGENT_ROOM_URL":     rm.URL(),
		"MESHAGENT_TOKEN":        "room-token-for-tests",
		"ROOMBOT_RESTART_USERS":  "U0ALICE01",
		"ROOMBOT_NOTIFY_CHANNEL": "C0NOTIFY1",
		"ROOMBOT_HTTP_ADDR":      "127.0.0.1:0",
	}}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestProcessConfigErrorExits(t *testing.T) {
	p := startBot(t, map[string]string{"SLACK_BOT_TOKEN": "xoxp-user"})
	if code := p.exit(30 * time.Second); code != 1 {
		t.Fatalf("exit code %d, want 1; output:\n%s", code, p.out)
	}
	out := p.out.String()
	for _, want := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN: not a bot token", "MESHAGENT_API_KEY or MESHAGENT_TOKEN"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestProcessInvalidAuthExits: Slack refusing a token ends the process with
// the variable named, instead of a retry loop.
func TestProcessInvalidAuthExits(t *testing.T) {
	t.Run("app token", func(t *testing.T) {
		w := newWorld(t)
		w.slack.RejectAuth(true)
		p := startBot(t, w.env)
		wantAuthExit(t, p, "SLACK_APP_TOKEN")
		if n := w.slack.Opens(); n > 1 {
			t.Errorf("apps.connections.open called %d times, want at most 1", n)
		}
	})
	t.Run("bot token", func(t *testing.T) {
		w := newWorld(t)
		w.env["SLACK_BOT_TOKEN"] = "xoxb-not-the-right-one"
		p := startBot(t, w.env)
		wantAuthExit(t, p, "SLACK_BOT_TOKEN")
	})
}

func wantAuthExit(t *testing.T, p *proc, variable string) {
	t.Helper()
	if code := p.exit(30 * time.Second); code != 1 {
		t.Fatalf("exit code %d, want 1; output:\n%s", code, p.out)
	}
	out := p.out.String()
	if !strings.Contains(out, variable) || !strings.Contains(out, "invalid_auth") {
		t.Errorf("output does not name %s and invalid_auth:\n%s", variable, out)
	}
}

// TestProcessSIGTERMDuringRestart: a restart still being watched when
// SIGTERM arrives gets its outcome posted, and the bot exits 0 within the
// drain.
func TestProcessSIGTERMDuringRestart(t *testing.T) {
	// The service takes a minute to come back: longer than the drain.
	w := newWorld(t, roomtest.WithRestartDelays(time.Minute, time.Minute))
	w.env["ROOMBOT_DRAIN_TIMEOUT"] = "1s"
	ctx := testContext(t)
	p := startBot(t, w.env)
	if err := w.slack.WaitConnections(ctx, 1); err != nil {
		t.Fatalf("bot never connected: %v\n%s", err, p.out)
	}

	card := command(t, ctx, w.slack, "U0ALICE01", "restart lobby web")
	confirmEnv, err := w.slack.Click(ctx, slacksim.Click{UserID: "U0ALICE01", TS: card.TS, ActionID: "rs.restart.confirm"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.slack.WaitReply(ctx, confirmEnv); err != nil {
		t.Fatal(err)
	}
	posted, err := w.slack.WaitMessage(ctx, func(m slacksim.Message) bool { return m.Channel == "C0NOTIFY1" })
	if err != nil {
		t.Fatalf("no notification: %v\n%s", err, p.out)
	}

	sent := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.exit(15 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; output:\n%s", code, p.out)
	}
	if took := time.Since(sent); took > 10*time.Second {
		t.Errorf("exit took %s after SIGTERM with a 1s drain", took)
	}
	m, ok := w.slack.Message(posted.TS)
	if !ok || !strings.Contains(m.Render(), "unknown") {
		t.Errorf("notification after shutdown:\n%s\nwant it to say the outcome is unknown", m.Render())
	}
	if got := w.room.Restarts("lobby", "svc-web"); got != 1 {
		t.Errorf("room saw %d restarts, want 1", got)
	}
}

// TestProcessLogsCarryNoSecrets runs a whole session at debug level, with
// each kind of room credential, and looks for every token and key in
// everything the process printed.
func TestProcessLogsCarryNoSecrets(t *testing.T) {
	const roomSecret = "room-secret-0123456789"
	key := roomtest.APIKey(roomSecret)
	keySecret := key[strings.Index(key[3:], "-")+4:]
	keySecret = keySecret[strings.Index(keySecret, "-")+1:]

	t.Run("api key", func(t *testing.T) {
		w := newWorld(t, roomtest.WithSecret(roomSecret))
		delete(w.env, "MESHAGENT_TOKEN")
		w.env["MESHAGENT_API_KEY"] = key
		out := secretSession(t, w)
		wantNoSecrets(t, out, w.env, map[string]string{"the API key's secret": keySecret})
		if strings.Contains(out, "eyJ") {
			t.Error("the log shows something that looks like a JWT")
		}
	})
	t.Run("participant token", func(t *testing.T) {
		w := newWorld(t)
		w.env["MESHAGENT_TOKEN"] = "participant-token-0123456789"
		out := secretSession(t, w)
		wantNoSecrets(t, out, w.env, nil)
	})
}

// secretSession runs list, a refusal and a restart through a bot process
// at debug level, stops it, and returns all it printed.
func secretSession(t *testing.T, w *world) string {
	t.Helper()
	w.env["ROOMBOT_SIGNING_KEY"] = "signing-key-0123456789"
	w.env["ROOMBOT_LOG_LEVEL"] = "debug"
	w.env["ROOMBOT_ALLOWED_USERS"] = "U0VERA001"
	ctx := testContext(t)
	p := startBot(t, w.env)
	if err := w.slack.WaitConnections(ctx, 1); err != nil {
		t.Fatalf("bot never connected: %v\n%s", err, p.out)
	}

	command(t, ctx, w.slack, "U0VERA001", "list lobby")
	command(t, ctx, w.slack, "U0MALL001", "list lobby")
	card := command(t, ctx, w.slack, "U0ALICE01", "restart lobby web")
	env, err := w.slack.Click(ctx, slacksim.Click{UserID: "U0ALICE01", TS: card.TS, ActionID: "rs.restart.confirm"})
	if err != nil {
		t.Fatal(err)
	}
	w.slack.WaitReply(ctx, env)
	if _, err := w.slack.WaitMessage(ctx, func(m slacksim.Message) bool {
		return m.Channel == "C0NOTIFY1" && strings.Contains(m.Render(), "back")
	}); err != nil {
		t.Fatalf("restart never reported back: %v\n%s", err, p.out)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.exit(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}

	out := p.out.String()
	if !strings.Contains(out, `"level":"DEBUG"`) || !strings.Contains(out, `"msg":"audit"`) {
		t.Fatalf("expected debug and audit lines in the output:\n%s", out)
	}
	return out
}

// wantNoSecrets fails for every secret variable of env, and every one of
// more, that out shows.
func wantNoSecrets(t *testing.T, out string, env, more map[string]string) {
	t.Helper()
	for _, name := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "MESHAGENT_API_KEY",
		"MESHAGENT_TOKEN", "ROOMBOT_SIGNING_KEY"} {
		if s := env[name]; s != "" && strings.Contains(out, s) {
			t.Errorf("the log shows %s", name)
		}
	}
	for name, s := range more {
		if strings.Contains(out, s) {
			t.Errorf("the log shows %s", name)
		}
	}
}

// command types text as user and returns the bot's reply.
func command(t *testing.T, ctx context.Context, sl *slacksim.Server, user, text string) slacksim.Message {
	t.Helper()
	env, err := sl.SlashCommand(ctx, slacksim.SlashCommand{UserID: user, ChannelID: "C0OPS0001", Text: text})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := sl.WaitReply(ctx, env)
	if err != nil {
		t.Fatalf("no reply to %q: %v", text, err)
	}
	return ev.Message
}

// TestProcessRedisDownLogsJSON: with Redis unreachable, every line the
// bot writes is one of its JSON log lines. go-redis printed a line of its
// own to stderr for every failed dial, outside the log's format.
func TestProcessRedisDownLogsJSON(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	w := newWorld(t)
	w.env["ROOMBOT_REDIS_URL"] = "redis://" + dead + "/0"
	w.env["ROOMBOT_SIGNING_KEY"] = "replica-signing-key-0123456789"
	ctx := testContext(t)
	p := startBot(t, w.env)
	if err := w.slack.WaitConnections(ctx, 1); err != nil {
		t.Fatalf("bot never connected: %v\n%s", err, p.out)
	}
	// A restart asks Redis first, and every ask dials again.
	if m := command(t, ctx, w.slack, "U0ALICE01", "restart lobby web"); !strings.Contains(m.Render(), "cannot record") {
		t.Fatalf("restart with Redis down answered:\n%s", m.Render())
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.exit(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	for _, line := range strings.Split(strings.TrimSpace(p.out.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("a line of output is not a JSON log line: %q", line)
		}
	}
}

// TestProcessLogsUnresolvedGroups: a user group Slack does not know is
// named in the log at start, with Slack's answer, while the bot runs on
// for the users the lists name directly.
func TestProcessLogsUnresolvedGroups(t *testing.T) {
	w := newWorld(t)
	w.slack.SetUserGroup("S0OPS0001", "U0BOB0002")
	w.env["ROOMBOT_ALLOWED_USERS"] = "S0OPS0001,S0NOSUCH1"
	ctx := testContext(t)
	p := startBot(t, w.env)
	if err := p.out.waitFor(ctx, "user groups not resolved"); err != nil {
		t.Fatalf("no log line for the unknown group: %v\n%s", err, p.out)
	}
	out := p.out.String()
	for _, want := range []string{"S0NOSUCH1", "no_such_subteam"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "S0OPS0001:") {
		t.Errorf("the log names the group Slack resolved as failed:\n%s", out)
	}
	if m := command(t, ctx, w.slack, "U0ALICE01", "list lobby"); !strings.Contains(m.Render(), "web") {
		t.Errorf("list lobby after the warning answered:\n%s", m.Render())
	}
}
