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

	o.send(opsChannel, msgKey{"lobby", 1}, text("one"))
	<-g.entered // the first post is under way, held at the gate
	for _, v := range []string{"v1", "v2", "v3"} {
		o.send(opsChannel, msgKey{"lobby", 2}, text(v))
	}
	o.send(opsChannel, msgKey{}, text("notice"))
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
	o.send(opsChannel, msgKey{"lobby", 3}, text("stuck"))
	o.send(opsChannel, msgKey{"lobby", 4}, text("never"))
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

// A heldPoster holds the posts of messages whose text is held until the
// test opens its gate, and lets every other call through.
type heldPoster struct {
	*recorder
	held    string
	gate    chan struct{}
	entered chan struct{}
}

func (h *heldPoster) Post(ctx context.Context, ch string, m commands.Message) (string, error) {
	if m.Text == h.held {
		h.entered <- struct{}{}
		<-h.gate
	}
	return h.recorder.Post(ctx, ch, m)
}

func newHeld(t *testing.T, held string) *heldPoster {
	return &heldPoster{recorder: newRecorder(t), held: held,
		gate: make(chan struct{}), entered: make(chan struct{}, 1)}
}

// An update that waits its turn when its episode is forgotten (as Run's
// stop and a lost lease do) is still delivered as an update of its
// message, never as a new message with the episode told twice.
func TestOutboxForgetDeliversWaitingUpdate(t *testing.T) {
	p := newHeld(t, "slow")
	o := newOutbox(p, slog.New(slog.DiscardHandler))
	o.send(opsChannel, msgKey{"lobby", 3}, commands.Message{Text: "v1"})
	o.wait()
	o.send(opsChannel, msgKey{}, commands.Message{Text: "slow"})
	<-p.entered // k's update now waits behind the slow post
	o.send(opsChannel, msgKey{"lobby", 3}, commands.Message{Text: "v2"})
	o.forget(msgKey{"lobby", 3})
	close(p.gate)
	o.wait()

	msgs := p.messages(opsChannel)
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2 (k updated, and the slow one):\n%s",
			len(msgs), dump(msgs))
	}
	if k := msgs[0]; len(k.versions) != 2 || !strings.Contains(k.last(), "v2") {
		t.Errorf("k's message = %s (%d versions), want v2 as its second version",
			k.last(), len(k.versions))
	}
	if n := len(o.queues); n != 0 {
		t.Errorf("%d channel queues left after every episode ended, want 0", n)
	}
	o.close(time.Second)
}

// An episode forgotten while its first post is under way does not leave
// the message's ts behind once the post lands.
func TestOutboxForgetDuringFirstPost(t *testing.T) {
	p := newHeld(t, "first")
	o := newOutbox(p, slog.New(slog.DiscardHandler))
	o.send(opsChannel, msgKey{"lobby", 3}, commands.Message{Text: "first"})
	<-p.entered
	o.forget(msgKey{"lobby", 3})
	close(p.gate)
	o.wait()

	if n := len(p.messages(opsChannel)); n != 1 {
		t.Errorf("%d messages, want the one post", n)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if q := o.queues[opsChannel]; q != nil {
		t.Errorf("channel queue kept after its only episode ended: ts %v", q.ts)
	}
}
