package bot

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestNotifierForgetsIdleChannels: the Notifier keeps a rate limiter per
// channel it posts to. One idle past its refill is the same as a new one,
// and is dropped; they used to be kept for as long as the process ran,
// one for every channel ever told of a restart.
func TestNotifierForgetsIdleChannels(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	n := NewNotifier(nil, nil, nil)
	n.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	for i := range 100 {
		n.limiter(fmt.Sprint("C", i))
	}
	mu.Lock()
	now = now.Add(2 * limiterIdle)
	mu.Unlock()
	n.limiter("C-new")

	n.mu.Lock()
	defer n.mu.Unlock()
	if got := len(n.limits); got != 1 {
		t.Errorf("Notifier holds %d limiters after 100 channels went idle, want 1", got)
	}
}
