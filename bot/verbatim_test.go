package bot_test

import "testing"

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
