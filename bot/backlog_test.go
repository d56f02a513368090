package bot_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/roomops/roombot/slacksim"
)

// TestBacklogIsBounded: with every worker busy, envelopes wait in a
// bounded backlog; past it, each is told at once that roombot is busy,
// in its ack, at no cost of a goroutine. Each envelope used to get a
// goroutine of its own parked on the workers, however many came.
func TestBacklogIsBounded(t *testing.T) {
	const backlog = 10
	const burst = 200
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) { c.Workers = 1; c.Backlog = backlog }
	})
	g := h.spy.hold("list", "lobby")
	held := h.send(vera, "list lobby")
	g.wait(h.ctx, t)

	before := runtime.NumGoroutine()
	var envs []*slacksim.Envelope
	for range burst {
		envs = append(envs, h.send(vera, "help"))
	}
	for _, env := range envs {
		if _, err := h.slack.WaitAck(h.ctx, env.ID); err != nil {
			t.Fatal(err)
		}
	}
	// Goroutines come and go around the bot (HTTP, the stand-in), so the
	// bound is loose; a goroutine per envelope would pass it many times.
	if grew := runtime.NumGoroutine() - before; grew > burst/4 {
		t.Errorf("goroutines grew by %d with %d envelopes waiting for one worker, want a bound", grew, burst)
	}
	close(g.release)
	h.reply(held)

	var busy, answered int
	for _, env := range envs {
		m := h.reply(env)
		switch text := m.Render(); {
		case strings.Contains(text, "busy"):
			busy++
			if m.Source != "ack" {
				t.Errorf("busy answer came through %s, want the ack", m.Source)
			}
		case strings.Contains(text, "What you can run"):
			answered++
		}
	}
	if busy != burst-backlog || answered != backlog {
		t.Errorf("of %d envelopes behind a busy worker, %d were told busy and %d answered; want %d and %d",
			burst, busy, answered, burst-backlog, backlog)
	}
	full := h.logLines(func(l logLine) bool { return strings.HasPrefix(l.str("msg"), "backlog full") })
	if len(full) != 1 {
		t.Errorf("backlog full logged %d times, want once", len(full))
	}
	h.noViolations()
}
