package bot_test

import (
	"sync"
	"testing"
	"time"

	"github.com/roomops/roombot/roomclient/roomtest"
	"github.com/roomops/roombot/slacksim"
)

// maxAck is how soon each envelope must be acked. Slack allows 3 s; the
// bot acks before anything else, so 100 ms is ample. Under the race
// detector, which slows every goroutine several times over, on two busy
// cores, one run took 110 ms: the bound there is looser, and the order
// of events (acked before the room answered) shows what the time cannot.
var maxAck = 100 * time.Millisecond

func init() {
	if raceDetector {
		maxAck = 500 * time.Millisecond
	}
}

// answerTimes records when the room answered each list.
type answerTimes struct {
	// mu guards at.
	mu sync.Mutex
	at []time.Time
}

func (a *answerTimes) record(at roomtest.AnswerTime) {
	if at.Tool != "list" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.at = append(a.at, time.Now())
}

// firstAfter returns the first answer after t.
func (a *answerTimes) firstAfter(t time.Time) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, at := range a.at {
		if at.After(t) {
			return at, true
		}
	}
	return time.Time{}, false
}

// TestAcksDoNotWaitForTheRoom sends a burst of commands and a click while
// the room takes 10 s to answer. Slack shows the user an error when an
// ack takes over 3 s, so each must be acked at once, before the room has
// answered anything; the answers then follow through response_url.
func TestAcksDoNotWaitForTheRoom(t *testing.T) {
	const delay = 10 * time.Second
	answers := &answerTimes{}
	h := newHarness(t, func(o *options) {
		o.roomOpts = append(o.roomOpts, roomtest.WithAnswerTimes(answers.record))
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

	var acks []slacksim.Ack
	for _, s := range burst {
		ack, err := h.slack.WaitAck(h.ctx, s.env.ID)
		if err != nil {
			t.Fatalf("WaitAck(%s): %v", s.what, err)
		}
		acks = append(acks, ack)
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
	// Every ack reached Slack before the room answered the burst's list:
	// none waited for the room.
	answered, ok := answers.firstAfter(start)
	if !ok {
		t.Fatal("the room answered no list after the burst began")
	}
	for i, ack := range acks {
		if !ack.Received.Before(answered) {
			t.Errorf("%s acked at %v, after the room answered at %v", burst[i].what,
				ack.Received.Format(time.StampMicro), answered.Format(time.StampMicro))
		}
	}
	if took := answered.Sub(start); took < delay {
		t.Errorf("the room answered %v after the burst began, before its %v delay: the room was not slow", took, delay)
	}
	if got := h.room.Calls("lobby", "list"); got > 2 {
		t.Errorf("room saw %d list calls, want the burst to share one (plus the card's)", got)
	}
	h.noViolations()
}
