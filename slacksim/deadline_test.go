package slacksim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack/socketmode"
)

// deadline is a short AckDeadline, for tests that wait for it to pass.
const deadline = 200 * time.Millisecond

// neverAck takes every event and acks none, as a bot stuck before its
// ack would.
func neverAck(*client, socketmode.Event) {}

// An envelope nobody acks is a violation once its deadline passes, as
// Slack shows the user an error then, and Unacked names it. It used to
// leave no trace: lateness was only checked when an ack came.
func TestUnackedEnvelopeIsAViolation(t *testing.T) {
	s := NewServer(t, Config{AckDeadline: deadline})
	connected(t, s, clientOpts{handle: neverAck})
	ctx := waitCtx(t)
	env, err := s.SlashCommand(ctx, SlashCommand{UserID: "U1", ChannelID: "C1", Text: "list r"})
	if err != nil {
		t.Fatal(err)
	}
	err = s.wait(ctx, func() bool { return len(s.unackedLocked()) > 0 })
	if err != nil {
		t.Fatalf("Unacked() still empty: %v", err)
	}
	if got := s.Unacked(); len(got) != 1 || got[0] != env.ID {
		t.Errorf("Unacked() = %v, want [%s]", got, env.ID)
	}
	v := fmt.Sprint(s.Violations())
	if !strings.Contains(v, env.ID) || !strings.Contains(v, "not acked within Slack's") {
		t.Errorf("Violations() = %s, want the envelope not acked in time", v)
	}
}
