package bot_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/roomclient/roomtest"
	"github.com/roomops/roombot/slacksim"
)

// recovered waits for the notification of a restart of svc that came back.
func (h *harness) recovered(svc string) slacksim.Message {
	h.t.Helper()
	return h.notification(func(m slacksim.Message) bool {
		return strings.Contains(m.Text, svc+" is back after")
	})
}

// TestDoubleClickRestartsOnce: two clicks on one card's Confirm, both in
// flight at once, as an impatient double click makes them. The room sees
// one restart, and the second click is told by whom it was done.
func TestDoubleClickRestartsOnce(t *testing.T) {
	hold := newHoldClaims("confirm:")
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) { c.Claims = hold }
	})
	card := h.card(alice, "web")

	first := h.click(alice, card.TS, confirmID)
	// The first click holds the card's claim and waits there, so the
	// card still shows its buttons for the second.
	select {
	case <-hold.held:
	case <-h.ctx.Done():
		t.Fatalf("the first click never claimed the card\nlogs:\n%s", h.logs)
	}
	second := h.click(alice, card.TS, confirmID)
	text := h.replyText(second)
	wantText(t, "reply to the second click", text, "already used", "<@"+alice+">")
	if got := h.restarts("svc-web"); got != 0 {
		t.Errorf("second click restarted: room saw %d restarts, want 0", got)
	}

	close(hold.release)
	wantText(t, "reply to the first click", h.replyText(first), "Restarting")
	h.recovered("web")
	if got := h.restarts("svc-web"); got != 1 {
		t.Errorf("double click: room saw %d restarts, want 1", got)
	}
	h.noViolations()
}

// TestRedeliveredConfirmRestartsOnce: Slack delivers the confirm click's
// envelope again, as it does when it thinks an ack was late. The room
// sees one restart, and the redelivery is answered with who did it, since
// the user may have seen an error the first time.
func TestRedeliveredConfirmRestartsOnce(t *testing.T) {
	eachStore(t, testRedeliveredConfirmRestartsOnce)
}

func testRedeliveredConfirmRestartsOnce(t *testing.T, store func(*options)) {
	h := newHarness(t, store)
	card := h.card(alice, "web")
	env := h.click(alice, card.TS, confirmID)
	wantText(t, "reply to the confirm", h.replyText(env), "Restarting")
	h.recovered("web")

	if _, err := h.slack.Redeliver(h.ctx, env); err != nil {
		t.Fatal(err)
	}
	again, err := h.slack.WaitMessage(h.ctx, func(m slacksim.Message) bool {
		return m.EnvelopeID == env.ID && strings.Contains(m.Text, "already used")
	})
	if err != nil {
		t.Fatalf("no answer to the redelivered confirm: %v\nlogs:\n%s", err, h.logs)
	}
	wantText(t, "answer to the redelivery", again.Render(), "<@"+alice+">")
	if got := h.restarts("svc-web"); got != 1 {
		t.Errorf("redelivered confirm: room saw %d restarts, want 1", got)
	}
	h.noViolations()
}

// TestSecondCardWhileRestartWatched: a second card for the same service,
// confirmed while the first restart is still being watched, is told who
// started the restart in progress; once that one is over, the same card
// works.
func TestSecondCardWhileRestartWatched(t *testing.T) {
	h := newHarness(t)
	// The service does not come back until the test says so, which keeps
	// the first restart's watch, and its lock, alive.
	stuck := &roomtest.Failure{ExitCode: 1, StartError: "stuck"}
	if err := h.room.FailRestarts("lobby", "svc-web", stuck); err != nil {
		t.Fatal(err)
	}
	card1 := h.card(alice, "web")
	card2 := h.card(alice, "web")

	h.reply(h.click(alice, card1.TS, confirmID))
	h.notification(func(m slacksim.Message) bool { return strings.HasPrefix(m.Text, "Restarting") })
	text := h.replyText(h.click(alice, card2.TS, confirmID))
	wantText(t, "second card's confirm", text, "already in progress", "started by <@"+alice+">")
	if got := h.restarts("svc-web"); got != 1 {
		t.Errorf("room saw %d restarts, want 1", got)
	}

	if err := h.room.Recover("lobby", "svc-web"); err != nil {
		t.Fatal(err)
	}
	h.recovered("web")
	// The watch gave the lock back: the second card now restarts.
	env := h.click(alice, card2.TS, confirmID)
	wantText(t, "second card after the first restart", h.replyText(env), "Restarting")
	h.waitAudit(env.ID)
	if got := h.restarts("svc-web"); got != 2 {
		t.Errorf("room saw %d restarts, want 2", got)
	}
	h.noViolations()
}

// TestRedeliveredCommandAnsweredOnce: a slash command delivered twice is
// acked twice (Slack wants every delivery acked) and answered once. Both
// deliveries reach the same replica, which must not take its own claim
// on the envelope for a second one (with Redis it did: every claim of an
// envelope had the replica's name for value, and Redis took finding it
// for its own claim landing).
func TestRedeliveredCommandAnsweredOnce(t *testing.T) {
	eachStore(t, testRedeliveredCommandAnsweredOnce)
}

func testRedeliveredCommandAnsweredOnce(t *testing.T, store func(*options)) {
	h := newHarness(t, store)
	env, again := redeliverList(t, h, func() {})
	var attempts []int
	for _, a := range h.slack.Acks() {
		if a.EnvelopeID == env.ID {
			attempts = append(attempts, a.Attempt)
		}
	}
	if len(attempts) != 2 || attempts[1] != again.RetryAttempt {
		t.Errorf("acks of the envelope by attempt = %v, want [0 %d]", attempts, again.RetryAttempt)
	}
	if n := len(h.audits(env.ID)); n != 1 {
		t.Errorf("redelivered list has %d audit lines, want 1", n)
	}
	h.noViolations()
}

// TestRedeliveryTenMinutesLater: Slack can deliver an envelope again long
// after the first delivery, and the bot must still know it then. The
// claim store runs on a clock the test moves, past the 10 minutes an
// envelope id has to be remembered.
func TestRedeliveryTenMinutesLater(t *testing.T) {
	clock := newClock()
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) { c.Claims = claims.NewMemory(clock.Now) }
	})
	redeliverList(t, h, func() { clock.advance(10*time.Minute + time.Second) })
}

// redeliverList runs list lobby, calls between once it is answered, then
// has Slack deliver its envelope again. It checks that the redelivery is
// dropped: one answer, one room call.
func redeliverList(t *testing.T, h *harness, between func()) (*slacksim.Envelope, *slacksim.Envelope) {
	t.Helper()
	env := h.send(vera, "list lobby")
	h.reply(env)
	h.waitAudit(env.ID)
	between()
	again, err := h.slack.Redeliver(h.ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	h.waitLog("dropping the redelivery", func(l logLine) bool {
		return l.str("msg") == "redelivery dropped" && l.str("envelope_id") == env.ID
	})
	h.fence()

	if n := len(h.slack.Replies(env)); n != 1 {
		t.Errorf("redelivered list answered %d times, want once", n)
	}
	if got := h.room.Calls("lobby", "list"); got != 1 {
		t.Errorf("room saw %d list calls, want 1", got)
	}
	return env, again
}

// TestRetryWithoutFirstDelivery: a delivery marked as a retry whose first
// delivery never reached the bot (it went to a connection that died) is
// work never done, and is done.
func TestRetryWithoutFirstDelivery(t *testing.T) {
	eachStore(t, testRetryWithoutFirstDelivery)
}

func testRetryWithoutFirstDelivery(t *testing.T, store func(*options)) {
	h := newHarness(t, store)
	// A real response_url to answer on, from a command the bot has seen.
	seen := h.send(vera, "help")
	h.reply(seen)

	var payload map[string]any
	if err := json.Unmarshal(seen.Payload, &payload); err != nil {
		t.Fatal(err)
	}
	payload["text"] = "list lobby"
	body, _ := json.Marshal(payload)
	retry := &slacksim.Envelope{
		Type: "slash_commands", Payload: body, AcceptsResponsePayload: true,
		RetryAttempt: 1, RetryReason: "timeout",
	}
	if err := h.slack.Send(h.ctx, retry); err != nil {
		t.Fatal(err)
	}
	if _, err := h.slack.WaitAck(h.ctx, retry.ID); err != nil {
		t.Fatalf("retry not acked: %v", err)
	}
	m, err := h.slack.WaitMessage(h.ctx, func(m slacksim.Message) bool {
		return m.EnvelopeID == seen.ID && strings.Contains(m.Render(), "5 services")
	})
	if err != nil {
		t.Fatalf("retry of list lobby not answered: %v\nlogs:\n%s", err, h.logs)
	}
	if m.Source != "response_url" {
		t.Errorf("retry answered through %s, want response_url", m.Source)
	}
	if got := h.room.Calls("lobby", "list"); got != 1 {
		t.Errorf("room saw %d list calls, want 1", got)
	}
}

// TestRedeliveredRefusedClickDoesNotAct: a confirm click answered "a
// restart is already in progress" is delivered again after that other
// restart is over. The card's nonce was given back when it was refused,
// so a redelivery that claimed it anew restarted a service nobody had
// confirmed since. A redelivery only answers.
func TestRedeliveredRefusedClickDoesNotAct(t *testing.T) {
	eachStore(t, testRedeliveredRefusedClickDoesNotAct)
}

func testRedeliveredRefusedClickDoesNotAct(t *testing.T, store func(*options)) {
	h := newHarness(t, store)
	stuck := &roomtest.Failure{ExitCode: 1, StartError: "stuck"}
	if err := h.room.FailRestarts("lobby", "svc-web", stuck); err != nil {
		t.Fatal(err)
	}
	card1 := h.card(alice, "web")
	card2 := h.card(alice, "web")
	h.reply(h.click(alice, card1.TS, confirmID))
	h.notification(func(m slacksim.Message) bool { return strings.HasPrefix(m.Text, "Restarting") })
	env2 := h.click(alice, card2.TS, confirmID)
	wantText(t, "second card's confirm", h.replyText(env2), "already in progress")
	h.waitAudit(env2.ID)

	if err := h.room.Recover("lobby", "svc-web"); err != nil {
		t.Fatal(err)
	}
	h.recovered("web")
	if _, err := h.slack.Redeliver(h.ctx, env2); err != nil {
		t.Fatal(err)
	}
	again, err := h.slack.WaitMessage(h.ctx, func(m slacksim.Message) bool {
		return m.EnvelopeID == env2.ID && strings.Contains(m.Text, "again")
	})
	if err != nil {
		t.Fatalf("no answer to the redelivered click: %v\nlogs:\n%s", err, h.logs)
	}
	wantText(t, "answer to the redelivery", again.Render(), "nothing was restarted")
	h.waitLog("audit of the redelivery", func(l logLine) bool {
		return l.str("msg") == "audit" && l.str("correlation_id") == env2.ID &&
			l.str("outcome") == "redelivered"
	})
	if got := h.restarts("svc-web"); got != 1 {
		t.Errorf("room saw %d restarts of web, want 1: the redelivery acted", got)
	}
	// The card was never used: a real click on it still restarts.
	env := h.click(alice, card2.TS, confirmID)
	wantText(t, "a new click on the second card", h.replyText(env), "Restarting")
	h.waitAudit(env.ID)
	if got := h.restarts("svc-web"); got != 2 {
		t.Errorf("room saw %d restarts of web after a new click, want 2", got)
	}
	h.noViolations()
}
