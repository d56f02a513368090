package bot_test

import (
	"testing"
	"time"

	"github.com/roomops/roombot/roomclient/roomtest"
	"github.com/roomops/roombot/slacksim"
)

// TestAcksDoNotWaitForTheRoom sends a burst of commands and a click while
// the room takes 10 s to answer. Slack shows the user an error when an
// ack takes over 3 s, so each must be acked at once, before any room
// call; the answers then follow through response_url.
func TestAcksDoNotWaitForTheRoom(t *testing.T) {
	const delay = 10 * time.Second
	const maxAck = 100 * time.Millisecond
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) { c.CallTimeout = delay + 10*time.Second }
	})
	// The card is asked for while the room is quick, so that a click can
	// join the burst; Cancel needs no room.
	card := h.card(alice, "web")
	if err := h.room.SetFaults("lobby", roomtest.Faults{AnswerDelay: delay}); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	type sent struct {
		what string
		env  *slacksim.Envelope
		want string // in the reply
	}
	var burst []sent
	for _, c := range []struct{ user, text, want string }{
		{vera, "list lobby", "5 services"},
		{alice, "list lobby", "5 services"},
		{vera, "status lobby web", "c-svc-web"},
		{alice, "restart lobby worker", "Restart `worker`"},
		{vera, "help", "What you can run"},
		{mallory, "list lobby", "not allowed"},
	} {
		burst = append(burst, sent{c.text + " by " + c.user, h.send(c.user, c.text), c.want})
	}
	burst = append(burst, sent{"cancel click", h.click(alice, card.TS, cancelID), "cancelled"})

	for _, s := range burst {
		ack, err := h.slack.WaitAck(h.ctx, s.env.ID)
		if err != nil {
			t.Fatalf("WaitAck(%s): %v", s.what, err)
		}
		if ack.Latency > maxAck {
			t.Errorf("%s acked after %v, want within %v", s.what, ack.Latency, maxAck)
		}
	}
	for _, s := range burst {
		ev, err := h.slack.WaitReply(h.ctx, s.env)
		if err != nil {
			t.Fatalf("WaitReply(%s): %v\nlogs:\n%s", s.what, err, h.logs)
		}
		if ev.Message.Source != "response_url" {
			t.Errorf("%s answered through %s, want response_url", s.what, ev.Message.Source)
		}
		wantText(t, "reply to "+s.what, ev.Message.Render(), s.want)
	}
	// The room answers were slow, so the replies that needed one prove the
	// acks went out before the room was asked.
	if took := time.Since(start); took < delay {
		t.Errorf("the burst was answered in %v, before the room's %v delay: the room was not slow", took, delay)
	}
	if got := h.room.Calls("lobby", "list"); got > 2 {
		t.Errorf("room saw %d list calls, want the burst to share one (plus the card's)", got)
	}
	h.noViolations()
}
