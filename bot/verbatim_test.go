package bot_test

import (
	"strings"
	"testing"

	"github.com/roomops/roombot/slacksim"
)

// TestRoomErrorsShowNamesVerbatim: a room name in an error is shown in a
// code span that commands renders, so a backtick in it cannot end the
// span and what the user typed is not formatted.
func TestRoomErrorsShowNamesVerbatim(t *testing.T) {
	h := newHarness(t)
	text := h.command(vera, "list a`*b*").Render()
	wantText(t, "list of a room that does not exist", text,
		"There is no room `aˋ*b*` (HTTP 404).")
	text = h.command(vera, "frob *x*").Render()
	wantText(t, "an unknown verb", text, "unknown command `\"frob\"`")
}

// TestPostsAskForNoParsing: every message the bot posts through the Web
// API asks Slack not to parse its text (parse=none), so a word such as
// @here or #general in a name stays a word even where a fallback text is
// shown; the renderer escapes the rest.
func TestPostsAskForNoParsing(t *testing.T) {
	h := newHarness(t)
	h.reply(h.click(alice, h.card(alice, "web").TS, confirmID))
	h.notification(func(m slacksim.Message) bool { return strings.Contains(m.Text, "back after") })

	var n int
	for _, method := range []string{"chat.postMessage", "chat.update", "chat.postEphemeral"} {
		for _, c := range h.slack.Calls(method) {
			n++
			if got := c.Field("parse"); got != "none" {
				t.Errorf("%s posted with parse=%q, want none", method, got)
			}
		}
	}
	if n < 2 {
		t.Fatalf("%d Web API posts, want the notification and its update at least", n)
	}
}
