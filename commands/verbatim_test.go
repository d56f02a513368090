package commands_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

// firstText is the text of the first section of m.
func firstText(t *testing.T, m commands.Message) string {
	t.Helper()
	var v struct {
		Blocks []struct {
			Text struct{ Text string } `json:"text"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(marshal(t, m), &v); err != nil || len(v.Blocks) == 0 {
		t.Fatalf("no blocks in %s: %v", marshal(t, m), err)
	}
	return v.Blocks[0].Text.Text
}

// TestErrorfShowsDataVerbatim: names and what a room or user said are
// shown in code spans, where Slack formats nothing, and a backtick in
// them cannot end the span; the bot used to write the spans by hand.
func TestErrorfShowsDataVerbatim(t *testing.T) {
	tests := []struct {
		name     string
		msg      commands.Message
		text     string
		fallback string
	}{
		{"room answer",
			commands.Errorf("Room %s answered: %s", "a`b", "*b* _i_ ~s~ <!here>"),
			":warning: Room `aˋb` answered: `*b* _i_ ~s~ &lt;!here&gt;`",
			"Room a`b answered: *b* _i_ ~s~ &lt;!here&gt;"},
		{"numbers and durations as they are",
			commands.Errorf("Room %s did not answer within %s (HTTP %d).", "r&d", 500*time.Millisecond, 503),
			":warning: Room `r&amp;d` did not answer within 500ms (HTTP 503).",
			"Room r&amp;d did not answer within 500ms (HTTP 503)."},
		{"an error is data too",
			commands.Errorf("Failed: %s", errors.New("*no*")),
			":warning: Failed: `*no*`", "Failed: *no*"},
	}
	for _, tt := range tests {
		check(t, tt.name, tt.msg)
		if got := firstText(t, tt.msg); got != tt.text {
			t.Errorf("%s: text %q; want %q", tt.name, got, tt.text)
		}
		if tt.msg.Text != tt.fallback {
			t.Errorf("%s: fallback %q; want %q", tt.name, tt.msg.Text, tt.fallback)
		}
	}
}

// TestErrorfFits: however long the data, the reply fits Slack.
func TestErrorfFits(t *testing.T) {
	long := strings.Repeat("&`*", 3000)
	m := commands.Errorf("%s %s %s %s %s %s", long, long, long, long, long, long)
	check(t, "six long arguments", m)
	if n := strings.Count(firstText(t, m), "`"); n != 12 {
		t.Errorf("six long arguments: %d backticks; want 12, six whole spans", n)
	}
}

// TestUsageReplyShowsTypedTextVerbatim: what the user typed is quoted in
// a code span, so *x* is not shown bold and a backtick closes nothing.
func TestUsageReplyShowsTypedTextVerbatim(t *testing.T) {
	tests := []struct{ text, want string }{
		{"*frob*", "unknown command `\"*frob*\"`; try /room-services help"},
		{"list a|_b_", "the room name `\"a|_b_\"` contains a character Slack reserves (U+007C)"},
		{"status r <@U1>", "`\"&lt;@U1&gt;\"` looks like a Slack mention"},
		{"list", "missing ROOM; usage: /room-services list ROOM"},
	}
	for _, tt := range tests {
		_, err := commands.Parse(tt.text)
		var ue *commands.UsageError
		if !errors.As(err, &ue) {
			t.Fatalf("Parse(%q) = %v; want a usage error", tt.text, err)
		}
		m := ue.Reply()
		check(t, tt.text, m)
		if got := firstText(t, m); !strings.Contains(got, tt.want) {
			t.Errorf("Parse(%q) reply %q; want it to contain %q", tt.text, got, tt.want)
		}
		if m.Text != commands.Error(ue.Msg).Text {
			t.Errorf("Parse(%q) reply fallback %q; want the escaped Msg", tt.text, m.Text)
		}
	}
}

// TestStatusDescriptionVerbatim: a service's description is the room's
// text, shown as written.
func TestStatusDescriptionVerbatim(t *testing.T) {
	s := roomclient.Service{ID: "svc-1", Name: "web", Description: "*b* _i_ ~s~ `x`"}
	b := string(marshal(t, commands.Status("myroom", s, false, now)))
	if want := "*Description*\\n`*b* _i_ ~s~ ˋxˋ`"; !strings.Contains(b, want) {
		t.Errorf("Status description = %s; want %s", b, want)
	}
}
