package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roomops/roombot/bot"
	"github.com/roomops/roombot/roomclient/roomtest"
	"github.com/roomops/roombot/slacksim"
)

// withMetrics records the bot's metrics in a registry of the test's own.
// It keeps the configuration earlier options made, so it goes after them.
func withMetrics(reg *prometheus.Registry) func(*options) {
	return func(o *options) {
		prev := o.conf
		o.conf = func(c *botConfig) {
			if prev != nil {
				prev(c)
			}
			c.Metrics = bot.NewMetrics(reg)
		}
	}
}

// restartsCounted returns roombot_restarts_total by outcome, for the
// outcomes counted at least once.
func restartsCounted(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "roombot_restarts_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && m.GetCounter().GetValue() != 0 {
					got[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return got
}

// cardSays waits for the card at ts to hold want.
func (h *harness) cardSays(ts, want string) slacksim.Message {
	h.t.Helper()
	m, err := h.slack.WaitMessage(h.ctx, func(m slacksim.Message) bool {
		return m.TS == ts && strings.Contains(m.Render(), want)
	})
	if err != nil {
		h.t.Fatalf("the card never said %q: %v\nlogs:\n%s", want, err, h.logs)
	}
	return m
}

// TestRestartNotStartedSaysNothingRestarted: the list the bot takes
// before a restart, to know the old container, runs out of time. No
// restart was sent, so the card says nothing was restarted; it used to
// say the restart might have happened, and count a failed restart.
func TestRestartNotStartedSaysNothingRestarted(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) { c.CallTimeout = 300 * time.Millisecond }
	}, withMetrics(reg))
	card := h.card(alice, "web")
	g := h.spy.hold("list", "lobby")
	defer close(g.release)
	env := h.click(alice, card.TS, confirmID)
	g.wait(h.ctx, t)

	m := h.cardSays(card.TS, "Nothing was restarted")
	wantText(t, "the card", m.Render(), "did not answer")
	if strings.Contains(m.Render(), "may or may not") {
		t.Errorf("the card says the restart may have happened, though none was sent:\n%s", m.Render())
	}
	h.waitAudit(env.ID)
	if got := h.restartCalls(); got != 0 {
		t.Errorf("bot asked for %d restarts, want 0", got)
	}
	if got := restartsCounted(t, reg); len(got) != 0 {
		t.Errorf("roombot_restarts_total = %v, want nothing counted", got)
	}
}

// TestShutdownMidRestartOutcomeUnknown: the bot shuts down while the
// room has the restart and has not answered; the drain runs out and
// cancels the call. The room did restart the service. The card and the
// channel say the outcome is unknown; the card used to say the restart
// could not be done, and the channel heard nothing.
func TestShutdownMidRestartOutcomeUnknown(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) {
			c.CallTimeout = 10 * time.Second
			c.DrainTimeout = 300 * time.Millisecond
		}
	}, withMetrics(reg))
	card := h.card(alice, "web")
	if err := h.room.SetFaults("lobby", roomtest.Faults{AnswerDelay: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	h.click(alice, card.TS, confirmID)
	h.room.WaitFor(t, "the restart applied", func() bool { return h.restarts("svc-web") == 1 })
	if err := h.runResult(h.stopBot()); err != nil {
		t.Fatalf("Run() = %v after shutdown, want nil", err)
	}

	m, _ := h.slack.Message(card.TS)
	wantText(t, "the card", m.Render(), "outcome unknown")
	if strings.Contains(m.Render(), "Could not restart") {
		t.Errorf("the card says the restart failed, though the room did it:\n%s", m.Render())
	}
	n := h.notification(func(m slacksim.Message) bool { return strings.Contains(m.Text, "unknown") })
	wantText(t, "the notification", n.Render(), "outcome unknown", "<@"+alice+">")
	if got := restartsCounted(t, reg); got["failed"] != 0 || got["unknown"] != 1 {
		t.Errorf("roombot_restarts_total = %v, want unknown 1 and no failed", got)
	}
}

// TestUnknownOutcomeUnpostedReachesTheCard: the room goes silent with the
// restart and Slack refuses the channel's notification. The card says
// the outcome is unknown and that the channel was not told, in one
// message Slack takes; the two notes used to share a block id, and Slack
// refused the card, which stayed at "Restarting".
func TestUnknownOutcomeUnpostedReachesTheCard(t *testing.T) {
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) { c.CallTimeout = 500 * time.Millisecond }
	})
	card := h.card(alice, "web")
	g := h.spy.hold("restart", "lobby")
	h.click(alice, card.TS, confirmID)
	g.wait(h.ctx, t)
	if err := h.room.SetFaults("lobby", roomtest.Faults{NeverAnswer: true}); err != nil {
		t.Fatal(err)
	}
	h.slack.FailNext("chat.postMessage", slacksim.Fault{Error: "channel_not_found"})
	close(g.release)

	m := h.cardSays(card.TS, "outcome unknown")
	wantText(t, "the card", m.Render(), "was not told", "channel_not_found")
	h.noViolations()
}
