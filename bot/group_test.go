package bot_test

import (
	"testing"
	"time"

	"github.com/roomops/roombot/authz"
)

// TestRestartersByUserGroup: the restart list names a user group. Its
// members may restart; someone taken out of the group loses the right
// once the cached member list has expired, for commands and for cards
// handed out before.
func TestRestartersByUserGroup(t *testing.T) {
	const group = "S0OPS0001"
	const ttl = time.Minute
	clock := newClock()
	h := newHarness(t, func(o *options) {
		o.viewers, o.restarters = nil, []string{group}
		o.authzOpts = []authz.Option{authz.WithClock(clock.Now), authz.WithGroupTTL(ttl)}
	})
	h.slack.SetUserGroup(group, alice)

	card := h.card(alice, "web")
	h.reply(h.click(alice, card.TS, confirmID))
	h.recovered("web")
	if got := h.restarts("svc-web"); got != 1 {
		t.Fatalf("group member's restart: room saw %d restarts, want 1", got)
	}

	h.slack.SetUserGroup(group)
	// Within the TTL the cached list still holds her; the card she gets
	// now is the one she tries to use once it no longer does.
	old := h.card(alice, "web")
	lookups := len(h.slack.Calls("usergroups.users.list"))
	clock.advance(ttl + time.Second)

	text := h.command(alice, "restart lobby web").Render()
	wantText(t, "restart after leaving the group", text, restartRefusal)
	text = h.replyText(h.click(alice, old.TS, confirmID))
	wantText(t, "confirm of an old card after leaving the group", text, restartRefusal)
	if got := len(h.slack.Calls("usergroups.users.list")); got <= lookups {
		t.Errorf("usergroups.users.list not asked again after the TTL (%d calls)", got)
	}
	if got := h.restarts("svc-web"); got != 1 {
		t.Errorf("room saw %d restarts, want still 1", got)
	}
}
