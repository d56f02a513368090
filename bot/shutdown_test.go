package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/roomops/roombot/roomclient/roomtest"
	"github.com/roomops/roombot/slacksim"
)

// stopBot cancels the bot's context and returns a channel with what Run
// returns; the harness's cleanup then has nothing left to stop.
func (h *harness) stopBot() <-chan error {
	stop := h.stop
	h.stop = nil
	stop()
	return h.result
}

// runResult waits for Run to return.
func (h *harness) runResult(done <-chan error) error {
	h.t.Helper()
	select {
	case err := <-done:
		return err
	case <-h.ctx.Done():
		h.t.Fatalf("Run did not return after shutdown\nlogs:\n%s", h.logs)
		return nil
	}
}

// restartStuck confirms a restart of web that does not come back until
// the test recovers it, and waits for its notification.
func (h *harness) restartStuck() {
	h.t.Helper()
	oom := &roomtest.Failure{ExitCode: 137, StartError: "oom"}
	if err := h.room.FailRestarts("lobby", "svc-web", oom); err != nil {
		h.t.Fatal(err)
	}
	card := h.card(alice, "web")
	h.reply(h.click(alice, card.TS, confirmID))
	h.notification(func(m slacksim.Message) bool { return strings.HasPrefix(m.Text, "Restarting") })
}

// TestShutdownReportsUnknownOutcome: the bot is stopped while a restart is
// still being watched and the service does not come back within the
// drain. Run returns nil, and the notification says the outcome is
// unknown rather than staying at "waiting".
func TestShutdownReportsUnknownOutcome(t *testing.T) {
	const drain = 300 * time.Millisecond
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) { c.DrainTimeout = drain }
	})
	h.restartStuck()

	start := time.Now()
	if err := h.runResult(h.stopBot()); err != nil {
		t.Errorf("Run() = %v after shutdown, want nil", err)
	}
	if took := time.Since(start); took < drain {
		t.Errorf("Run returned %v after shutdown, before the %v drain", took, drain)
	}
	n := h.notification(func(m slacksim.Message) bool { return strings.Contains(m.Text, "unknown") })
	wantText(t, "notification after shutdown", n.Render(), "outcome unknown", "<@"+alice+">")
	if len(n.History) != 1 {
		t.Errorf("notification edited %d times, want once", len(n.History))
	}
	h.noViolations()
}

// TestShutdownWaitsForWork: while draining, new commands are told the bot
// is stopping, and a watch that ends within the drain posts its real
// outcome before Run returns nil.
func TestShutdownWaitsForWork(t *testing.T) {
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) { c.DrainTimeout = wait }
	})
	h.restartStuck()

	done := h.stopBot()
	h.waitLog("draining", func(l logLine) bool { return l.str("msg") == "draining" })
	wantText(t, "list lobby while draining", h.command(vera, "list lobby").Render(), "restarting")

	if err := h.room.Recover("lobby", "svc-web"); err != nil {
		t.Fatal(err)
	}
	if err := h.runResult(done); err != nil {
		t.Errorf("Run() = %v after shutdown, want nil", err)
	}
	// Run returned after the update was posted, so no waiting is needed.
	var back bool
	for _, m := range h.slack.Messages(ops) {
		back = back || strings.Contains(m.Text, "web is back after")
	}
	if !back {
		t.Errorf("notification not updated to back before Run returned\nlogs:\n%s", h.logs)
	}
}
