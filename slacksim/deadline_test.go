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

// An ack after the deadline is recorded, and is a violation, but its
// payload is not shown: Slack has shown the user an error instead. It
// used to be posted as the reply all the same.
func TestLateAckPayloadIsNotShown(t *testing.T) {
	s := NewServer(t, Config{AckDeadline: deadline})
	held := make(chan socketmode.Request, 1)
	c := connected(t, s, clientOpts{handle: func(_ *client, ev socketmode.Event) {
		if ev.Request != nil && ev.Request.EnvelopeID != "" {
			held <- *ev.Request
		}
	}})
	ctx := waitCtx(t)
	env, err := s.SlashCommand(ctx, SlashCommand{UserID: "U1", ChannelID: "C1", Text: "list r"})
	if err != nil {
		t.Fatal(err)
	}
	req := <-held
	// The ack goes once Slack has given up on it.
	if err := s.wait(ctx, func() bool { return len(s.unackedLocked()) > 0 }); err != nil {
		t.Fatal(err)
	}
	c.sm.Ack(req, map[string]any{"response_type": "ephemeral", "text": "late reply"})
	if _, err := s.WaitAck(ctx, env.ID); err != nil {
		t.Fatal(err)
	}
	for _, m := range s.Messages("C1") {
		t.Errorf("a late ack's payload was shown: %q", m.Text)
	}
	if n := len(s.Violations()); n != 1 {
		t.Errorf("%d violations, want 1 for the one late envelope: %v", n, s.Violations())
	}
	if got := s.Unacked(); len(got) != 0 {
		t.Errorf("Unacked() = %v after the ack came, want none", got)
	}
}
