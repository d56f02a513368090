package main

import (
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"go.uber.org/goleak"
)

// demoWait bounds every wait on the demo. A restart takes about 5 s of
// simulated room time; the rest is milliseconds, even under -race.
const demoWait = 30 * time.Second

// A demoSession is bot -demo running in the background, driven through
// its stdin and stdout the way a person at a terminal drives it.
type demoSession struct {
	t      *testing.T
	in     *io.PipeWriter
	cancel context.CancelFunc
	done   chan error // what run returned

	// mu guards out, seen, grew and ended.
	mu    sync.Mutex
	out   strings.Builder
	seen  int           // where the next expect starts looking
	grew  chan struct{} // closed and replaced when out grows or ends
	ended bool
}

// startDemo runs "bot -demo" with an environment that would break it if
// the demo read it.
func startDemo(t *testing.T) *demoSession {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Setenv("TMPDIR", t.TempDir()) // where the demo's log goes
	for k, v := range map[string]string{
		"SLACK_APP_TOKEN":       "xapp-not-for-the-demo",
		"SLACK_API_URL":         "http://127.0.0.1:1/api/",
		"MESHAGENT_ROOM_URL":    "ws://127.0.0.1:1",
		"ROOMBOT_ALLOWED_USERS": "nobody at all",
		"ROOMBOT_HTTP_ADDR":     "256.0.0.1:1",
	} {
		t.Setenv(k, v)
	}

	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	d := &demoSession{t: t, in: inW, cancel: cancel,
		done: make(chan error, 1), grew: make(chan struct{})}
	go func() {
		err := run(ctx, os.Getenv, []string{"-demo"}, inR, outW, io.Discard)
		outW.Close()
		d.done <- err
	}()
	go d.collect(outR)

	t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(demoWait):
			t.Fatal("the demo did not stop")
		}
		// The demo's stdin reader ends with its input, as at a terminal.
		inR.Close()
		goleak.VerifyNone(t, ignore)
	})
	return d
}

func (d *demoSession) collect(r io.Reader) {
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		d.mu.Lock()
		d.out.Write(buf[:n])
		d.ended = err != nil
		close(d.grew)
		d.grew = make(chan struct{})
		d.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// expect waits for sub in the output after the previous match, and
// returns the output up to the end of sub.
func (d *demoSession) expect(sub string) string {
	d.t.Helper()
	deadline := time.After(demoWait)
	for {
		d.mu.Lock()
		rest := d.out.String()[d.seen:]
		grew, ended := d.grew, d.ended
		if i := strings.Index(rest, sub); i >= 0 {
			d.seen += i + len(sub)
			d.mu.Unlock()
			return rest[:i+len(sub)]
		}
		d.mu.Unlock()

		if ended {
			d.t.Fatalf("demo output ended without %q; after the last match:\n%s", sub, rest)
		}
		select {
		case <-grew:
		case <-deadline:
			d.t.Fatalf("no %q in the demo's output within %s; after the last match:\n%s",
				sub, demoWait, rest)
		}
	}
}

// send types a line.
func (d *demoSession) send(line string) {
	d.t.Helper()
	written := make(chan error, 1)
	go func() {
		_, err := io.WriteString(d.in, line+"\n")
		written <- err
	}()
	select {
	case err := <-written:
		if err != nil {
			d.t.Fatalf("typing %q: %v", line, err)
		}
	case <-time.After(demoWait):
		d.t.Fatalf("the demo did not read %q", line)
	}
}

// wait returns what run returned once the demo has stopped by itself.
func (d *demoSession) wait() error {
	d.t.Helper()
	select {
	case err := <-d.done:
		d.done <- err // for the cleanup
		return err
	case <-time.After(demoWait):
		d.t.Fatal("the demo did not stop")
		return nil
	}
}

func (d *demoSession) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

func wantAll(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

// TestDemoRestart is the newcomer's first five minutes: list a room,
// restart a service, confirm in the dialog and see the channel told.
func TestDemoRestart(t *testing.T) {
	d := startDemo(t)
	welcome := d.expect("@U0DEMO001> ")
	wantAll(t, "welcome", welcome, "lobby, staging", "restart lobby web",
		"bot log", "/metrics", "quit")

	d.send("list lobby")
	list := d.expect("(as of")
	wantAll(t, "list lobby", list, "only you can see this", "Services in lobby",
		"🟢 `web` · running", "[1 Restart]", "`assistant`")

	// Typed at once: the click waits until the card is shown, so it
	// presses the card's button and not the list's.
	d.send("restart lobby web")
	d.send("1")
	card := d.expect("only you can see it)")
	wantAll(t, "restart card", card, "── message 2 · #general · only you can see this",
		"Restart `web` in `lobby`?", "[1 Restart] [2 Cancel]", "asked by @U0DEMO001")
	dialog := d.expect("Restart? [y/N] ")
	wantAll(t, "dialog", dialog, "Restart web?", "will stop and start again", "[Keep running]")

	d.send("y")
	d.expect("── message 2 · #general · only you can see this · edited")
	note := d.expect("waiting for it to come back")
	wantAll(t, "notification", note, "── message 3 · #ops\n",
		"@U0DEMO001 restarted `web` in `lobby`")
	d.expect("── message 3 · #ops · edited")
	d.expect("back after")

	d.send("quit")
	d.expect("demo: stopped.")
	if err := d.wait(); err != nil {
		t.Errorf("run -demo after quit = %v, want nil", err)
	}
	if out := d.output(); strings.Contains(out, "level=") || strings.Contains(out, "&lt;") {
		t.Errorf("demo output holds log lines or raw entities:\n%s", out)
	}
}

func TestDemoRefusalsAndMistakes(t *testing.T) {
	d := startDemo(t)
	d.expect("@U0DEMO001> ")

	d.send("as U0VIEWER1")
	d.expect("you are @U0VIEWER1, who may only look.")
	d.send("/room-services restart lobby web")
	d.expect("not allowed to restart")
	d.send("list lobby")
	list := d.expect("(as of")
	if strings.Contains(list, "[1 Restart]") {
		t.Errorf("a viewer's list offers Restart:\n%s", list)
	}
	d.send("1")
	d.expect("demo: no message you can see has buttons.")
	d.send("click 1 of 1")
	d.expect("demo: message 1 has no buttons.")
	d.send("?")
	d.expect("Type a button's number to press it")
	d.send("as nobody")
	d.expect(`demo: say "as U0DEMO001"`)

	d.send("as U0DEMO001")
	d.send("restart")
	d.expect("usage: /room-services restart ROOM SERVICE")
	d.send("/deploy lobby")
	d.expect("only /room-services is installed here")
	d.send("click 1 of 9")
	d.expect("demo: there is no message 9.")
	d.send("click one")
	d.expect(`demo: say "click N"`)
	d.send("click 1 of 2")
	d.expect("demo: only @U0VIEWER1 can see message 2.")
	d.send("y")
	d.expect("demo: no dialog is open")
	d.send("1.5")
	d.expect("demo: 1.5 is no button")
	// Typed as Slack delivers it, with & < > as entities, which the
	// parser reads back: "<c>" is refused as markup, not lost as a link.
	d.send("list a<c>d")
	d.expect("contains")
	// A line past bufio.Scanner's 64 KiB is refused, and the demo goes on.
	d.send("list " + strings.Repeat("a", 70000))
	d.expect("characters")
	d.send("help")
	d.expect("/room-services list ROOM")

	// Saying no to the dialog sends nothing: web has restarted once, as
	// the room had it, and no notification was posted.
	d.send("restart lobby web")
	d.send("0")
	d.expect("demo: buttons are numbered from 1.")
	d.send("1")
	d.expect("Restart? [y/N] ")
	d.send("n")
	d.expect("demo: you chose Keep running; nothing was sent.")
	// Anything else is asked again, and sends nothing.
	d.send("1")
	d.expect("Restart? [y/N] ")
	for _, garbage := range []string{"maybe", "YES please"} {
		d.send(garbage)
		d.expect("demo: answer y for Restart or n for Keep running.")
	}
	d.send("n")
	d.expect("demo: you chose Keep running; nothing was sent.")
	// A command typed while a dialog is open closes it unsent, as
	// clicking away does in Slack, and runs.
	d.send("1")
	d.expect("Restart? [y/N] ")
	d.send("list lobby")
	d.expect("demo: you chose Keep running; nothing was sent.")
	list = d.expect("(as of")
	wantAll(t, "list after no", list, "`web` · running · up", "· 1 restart ·")
	if out := d.output(); strings.Contains(out, "· #ops") {
		t.Errorf("a notification was posted after the dialog was refused:\n%s", out)
	}
}

func TestDemoStops(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(*demoSession)
	}{
		{"interrupt", func(d *demoSession) { d.cancel() }},
		{"end of input", func(d *demoSession) { d.in.Close() }},
		{"exit", func(d *demoSession) { d.send("exit") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDemo(t)
			d.expect("@U0DEMO001> ")
			tc.stop(d)
			d.expect("demo: stopped.")
			if err := d.wait(); err != nil {
				t.Errorf("run -demo = %v, want nil", err)
			}
		})
	}
}

// TestDemoTTY pins the test for a terminal, which decides whether the
// demo repeats what is typed: a terminal has shown it already.
func TestDemoTTY(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	r, w := io.Pipe()
	defer r.Close()
	defer w.Close()

	for _, tc := range []struct {
		name string
		in   io.Reader
		want bool
	}{
		{"terminal", tty, true},
		{"pipe", r, false},
		{"string", strings.NewReader("list lobby\n"), false},
	} {
		if got := demoTTY(tc.in); got != tc.want {
			t.Errorf("demoTTY(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestDemoFleet: the third room shows paging and a shared name, which a
// newcomer could otherwise try only against the simulator.
func TestDemoFleet(t *testing.T) {
	d := startDemo(t)
	d.expect("@U0DEMO001> ")
	d.send("list fleet")
	list := d.expect("as of")
	wantAll(t, "list fleet", list, "14 services", "Next", "page 1 of 2")
	d.send("status fleet worker")
	cands := d.expect("flt-worker-b")
	wantAll(t, "status fleet worker", cands, "2 services", "flt-worker-a")
	d.send("status fleet flt-worker-b")
	wantAll(t, "status by id", d.expect("(as of"), "queue worker, pool b")
}
