package bot

import (
	"context"
	"sync"
)

// tracker counts work in flight so shutdown can wait for it. Unlike a
// sync.WaitGroup, work may start while someone waits: envelopes keep
// arriving during the drain and are answered.
type tracker struct {
	// mu guards n and idle.
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed while n == 0
}

func newTracker() *tracker {
	t := &tracker{idle: make(chan struct{})}
	close(t.idle)
	return t
}

func (t *tracker) add() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		t.idle = make(chan struct{})
	}
	t.n++
}

func (t *tracker) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n--
	if t.n == 0 {
		close(t.idle)
	}
}

// wait returns when nothing is in flight or ctx is done.
func (t *tracker) wait(ctx context.Context) error {
	for {
		t.mu.Lock()
		idle, n := t.idle, t.n
		t.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
