package bot

import (
	"errors"
	"testing"
	"time"
)

// TestLinkState: /readyz's view of the socket is down until connected,
// ready while bytes arrive within the ping window, quiet once they stop
// for longer, and ready again with the next byte.
func TestLinkState(t *testing.T) {
	now := time.Unix(1767250000, 0)
	clock := func() time.Time { return now }
	l := newLinkState(clock, 30*time.Second)

	if err := l.ready(); !errors.Is(err, errLinkDown) {
		t.Fatalf("before connecting, ready() = %v, want %v", err, errLinkDown)
	}
	l.setUp(true)
	now = now.Add(30 * time.Second)
	if err := l.ready(); err != nil {
		t.Fatalf("connected and heard from 30s ago, ready() = %v, want nil", err)
	}
	now = now.Add(time.Second)
	if err := l.ready(); !errors.Is(err, errLinkQuiet) {
		t.Fatalf("silent for 31s with a 30s window, ready() = %v, want %v", err, errLinkQuiet)
	}
	l.heard()
	if err := l.ready(); err != nil {
		t.Fatalf("after a byte, ready() = %v, want nil", err)
	}
	l.setUp(false)
	if err := l.ready(); !errors.Is(err, errLinkDown) {
		t.Fatalf("after the link dropped, ready() = %v, want %v", err, errLinkDown)
	}
}
