package bot_test

import (
	"net/http"
	"slices"
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
func (h *harness) restartStuck() (cardTS string) {
	h.t.Helper()
	oom := &roomtest.Failure{ExitCode: 137, StartError: "oom"}
	if err := h.room.FailRestarts("lobby", "svc-web", oom); err != nil {
		h.t.Fatal(err)
	}
	card := h.card(alice, "web")
	h.reply(h.click(alice, card.TS, confirmID))
	h.notification(func(m slacksim.Message) bool { return strings.HasPrefix(m.Text, "Restarting") })
	return card.TS
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
	// Closing the socket fails the read under way, and any reconnect
	// slack-go had begun; neither is a warning.
	for _, l := range h.logLines(func(l logLine) bool { return l.str("level") == "WARN" }) {
		if strings.HasPrefix(l.str("msg"), "socket mode") {
			t.Errorf("a clean shutdown warned: %v", l)
		}
	}
	h.noViolations()
}

// TestShutdownWaitsOutASlowSlack: after a drain that ran out, the bot
// waits for the outcome-unknown update of the notification and then of
// the card, each of which may take up to SlackTimeout when Slack asks it
// to wait. The wait used to cover one such call, and Run returned while
// the card still said the restart was under way.
func TestShutdownWaitsOutASlowSlack(t *testing.T) {
	const slackTimeout = 2500 * time.Millisecond
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) {
			c.DrainTimeout = 300 * time.Millisecond
			c.SlackTimeout = slackTimeout
		}
	})
	cardTS := h.restartStuck()
	// Each wait fits in one SlackTimeout; the two together do not.
	limited := slacksim.Fault{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second}
	h.slack.FailNext("chat.update", limited)
	h.slack.FailNext("response_url", limited)

	if err := h.runResult(h.stopBot()); err != nil {
		t.Errorf("Run() = %v after shutdown, want nil", err)
	}
	card, _ := h.slack.Message(cardTS)
	wantText(t, "the card after shutdown", card.Render(), "outcome unknown")
	n := h.notification(func(m slacksim.Message) bool { return strings.Contains(m.Text, "unknown") })
	wantText(t, "the notification after shutdown", n.Render(), "outcome unknown")
	if strings.Contains(h.logs.String(), "work still in flight at exit") {
		t.Errorf("the bot exited with work in flight:\n%s", h.logs)
	}
}

// TestShutdownWaitsForWork: the bot closes its Socket Mode connection as
// soon as it starts to drain, so Slack hands new commands to the other
// replicas' connections, where they are answered in full; it used to
// keep its connection and answer its share "roombot is restarting". A
// watch that ends within the drain posts its real outcome before Run
// returns nil.
func TestShutdownWaitsForWork(t *testing.T) {
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) { c.DrainTimeout = wait }
	})
	h.restartStuck()
	var first []int
	for _, c := range h.slack.Connections() {
		first = append(first, c.ID)
	}
	h.replica(func(*botConfig) {})
	h.slack.Pin(0)
	h.slack.SetRouting(slacksim.RoundRobin)

	done := h.stopBot()
	h.waitLog("the socket closed for the drain", func(l logLine) bool {
		return l.str("msg") == "socket mode closed for the drain"
	})
	// Slack, like the stand-in, routes to the connections left open; the
	// stand-in sees the closed one go within moments of its close.
	for i := range 4 {
		env := h.send(vera, "list lobby")
		text := h.replyText(env)
		if slices.Contains(first, env.ConnID) || !strings.Contains(text, "5 services") {
			t.Errorf("command %d while draining went to connection %d (the draining bot's: %v) "+
				"and was answered:\n%s", i, env.ConnID, first, text)
		}
	}

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

// TestShutdownAnswersReceivedWork: an envelope the bot received and acked
// before it began to drain, still waiting for a worker, is answered that
// roombot is restarting, through its response_url, once a worker is free.
func TestShutdownAnswersReceivedWork(t *testing.T) {
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) { c.Workers = 1; c.DrainTimeout = wait }
	})
	g := h.spy.hold("list", "lobby")
	busy := h.send(vera, "list lobby")
	g.wait(h.ctx, t)
	queued := h.send(vera, "list lobby")
	if _, err := h.slack.WaitAck(h.ctx, queued.ID); err != nil {
		t.Fatal(err)
	}

	done := h.stopBot()
	h.waitLog("draining", func(l logLine) bool { return l.str("msg") == "draining" })
	close(g.release)
	wantText(t, "the held list", h.replyText(busy), "5 services")
	wantText(t, "the list waiting for a worker", h.replyText(queued), "restarting")
	if err := h.runResult(done); err != nil {
		t.Errorf("Run() = %v after shutdown, want nil", err)
	}
}

// TestShutdownCutsAList: a list still waiting on its room when the drain
// runs out is cut off, and its asker is told the bot is restarting, not
// given an internal error to report.
func TestShutdownCutsAList(t *testing.T) {
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) { c.DrainTimeout = 200 * time.Millisecond }
	})
	g := h.spy.hold("list", "lobby")
	env := h.send(vera, "list lobby")
	g.wait(h.ctx, t)

	if err := h.runResult(h.stopBot()); err != nil {
		t.Errorf("Run() = %v after shutdown, want nil", err)
	}
	text := h.replyText(env)
	wantText(t, "list cut off by shutdown", text, "restarting")
	if strings.Contains(text, "went wrong") {
		t.Errorf("list cut off by shutdown answered as an internal error:\n%s", text)
	}
}
