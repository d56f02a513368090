package watch

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

// A gatedPoster holds every call until the test opens its gate.
type gatedPoster struct {
	*recorder
	gate    chan struct{}
	entered chan struct{}
}

func (g *gatedPoster) Post(ctx context.Context, ch string, m commands.Message) (string, error) {
	g.entered <- struct{}{}
	select {
	case <-g.gate:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return g.recorder.Post(ctx, ch, m)
}

func text(s string) commands.Message {
	return commands.Announce(commands.Episode{Room: "lobby", Service: s, Restarts: 1})
}

// While a channel waits on Slack, newer versions of a waiting message
// replace the older ones, and messages keep their order.
func TestOutboxCoalescesWhileWaiting(t *testing.T) {
	rec := newRecorder(t)
	g := &gatedPoster{recorder: rec, gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	o := newOutbox(g, slog.New(slog.NewTextHandler(io.Discard, nil)))

	o.send(opsChannel, "first", text("one"))
	<-g.entered // the first post is under way, held at the gate
	for _, v := range []string{"v1", "v2", "v3"} {
		o.send(opsChannel, "second", text(v))
	}
	o.send(opsChannel, "", text("notice"))
	close(g.gate)
	o.wait()

	msgs := rec.messages(opsChannel)
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3:\n%s", len(msgs), dump(msgs))
	}
	for i, want := range []string{"`one`", "`v3`", "`notice`"} {
		if len(msgs[i].versions) != 1 || !strings.Contains(msgs[i].last(), want) {
			t.Errorf("message %d = %s (%d versions), want one version with %s",
				i, msgs[i].last(), len(msgs[i].versions), want)
		}
	}
	o.close(time.Second)
}

// close gives up on a Poster that does not answer after its grace.
func TestOutboxCloseIsBounded(t *testing.T) {
	g := &gatedPoster{recorder: newRecorder(t), gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	o := newOutbox(g, slog.New(slog.NewTextHandler(io.Discard, nil)))
	o.send(opsChannel, "k", text("stuck"))
	o.send(opsChannel, "k2", text("never"))
	<-g.entered
	done := make(chan struct{})
	go func() {
		o.close(10 * time.Millisecond)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("close did not return while the Poster hung")
	}
	if n := len(g.messages(opsChannel)); n != 0 {
		t.Errorf("%d messages delivered after close, want 0", n)
	}
}

// fakeRooms lists rooms that never change, and closes enough after n
// calls.
type fakeRooms struct {
	n      int
	enough chan struct{}

	mu    sync.Mutex
	calls int
}

func (f *fakeRooms) List(_ context.Context, room string) (*roomclient.List, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls == f.n {
		close(f.enough)
	}
	return &roomclient.List{Room: room}, nil
}

func TestRunLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	rooms := &fakeRooms{n: 20, enough: make(chan struct{})}
	rec := newRecorder(t)
	w := New(Config{Lister: rooms, Poster: rec,
		Configured: []Pair{{Room: "a", Channel: opsChannel}, {Room: "b", Channel: opsChannel}},
		Interval:   time.Millisecond, Instance: "x"})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()

	select {
	case <-rooms.enough:
	case <-time.After(10 * time.Second):
		t.Fatal("fewer than 20 polls in 10s")
	}
	cancel()
	if err := <-ran; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}
