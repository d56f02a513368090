package roomclient

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/roomops/roombot/roomclient/roomtest"
)

// patience bounds every wait in these tests. It is generous because it
// only matters when something is broken.
const patience = 10 * time.Second

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}

// newClient returns a Client for srv, closed when the test ends.
func newClient(t *testing.T, srv *roomtest.Server, edit ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{URL: srv.URL(), Token: "test-token", RetryDelay: time.Millisecond}
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// demo starts a simulator with the demo rooms.
func demo(t *testing.T, opts ...roomtest.Option) *roomtest.Server {
	t.Helper()
	return roomtest.NewServer(t, roomtest.DemoFixture(), opts...)
}

func setFaults(t *testing.T, srv *roomtest.Server, room string, f roomtest.Faults) {
	t.Helper()
	if err := srv.SetFaults(room, f); err != nil {
		t.Fatal(err)
	}
}

// logWatch is a slog handler that hands every message to a channel, so a
// test can wait for the client to log something instead of sleeping.
type logWatch struct {
	msgs chan string
}

func newLogWatch() *logWatch { return &logWatch{msgs: make(chan string, 1000)} }

func (w *logWatch) Enabled(context.Context, slog.Level) bool { return true }
func (w *logWatch) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w *logWatch) WithGroup(string) slog.Handler            { return w }

func (w *logWatch) Handle(_ context.Context, r slog.Record) error {
	select {
	case w.msgs <- r.Message:
	default:
	}
	return nil
}

// await waits for message msg, failing the test after patience.
func (w *logWatch) await(t *testing.T, msg string) {
	t.Helper()
	timeout := time.After(patience)
	for {
		select {
		case m := <-w.msgs:
			if m == msg {
				return
			}
		case <-timeout:
			t.Fatalf("client never logged %q", msg)
		}
	}
}

func fixture(t *testing.T, name string) *roomtest.Fixture {
	t.Helper()
	f, err := os.Open("roomtest/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fx, err := roomtest.LoadFixture(f)
	if err != nil {
		t.Fatal(err)
	}
	return fx
}
