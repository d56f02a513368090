package bot_test

import (
	"testing"
)

// TestRecoveryPollsAskTheRoomAfresh: a list of the room starts while the
// restart call is out, and is still under way when the restart returns.
// Lists of one room share a call; a recovery poll that joined this one
// would read what the room said before the restart took effect, and
// could take an old state for the service's return. The watch asks the
// room itself: it sees the service back while that list is held.
func TestRecoveryPollsAskTheRoomAfresh(t *testing.T) {
	h := newHarness(t, func(o *options) {
		// The held list must outlast the test's every wait.
		o.conf = func(c *botConfig) { c.CallTimeout = 4 * wait }
	})
	card := h.card(alice, "web")
	restart := h.spy.hold("restart", "lobby")
	h.click(alice, card.TS, confirmID)
	restart.wait(h.ctx, t)

	older := h.spy.hold("list", "lobby")
	defer close(older.release)
	h.send(vera, "list lobby")
	older.wait(h.ctx, t)
	close(restart.release)

	n := h.recovered("web")
	wantText(t, "the notification", n.Render(), "back after")
}
