package bot_test

import (
	"strings"
	"testing"

	"github.com/roomops/roombot/slacksim"
)

const (
	viewRefusal    = "not allowed to see room services"
	restartRefusal = "not allowed to restart services"
	notOnList      = "not on roombot's allow-list"
)

// TestRefusedCommands: commands from users who may not run them are
// answered plainly, and nothing of them reaches the room.
func TestRefusedCommands(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name, user, text, want string
	}{
		{"stranger lists", mallory, "list lobby", viewRefusal},
		{"stranger asks status", mallory, "status lobby web", viewRefusal},
		{"stranger restarts", mallory, "restart lobby web", restartRefusal},
		{"stranger asks for help", mallory, "help", notOnList},
		{"viewer restarts", vera, "restart lobby web", restartRefusal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := h.command(tt.user, tt.text)
			wantText(t, tt.text+" by "+tt.user, m.Render(), tt.want)
			if !m.Ephemeral {
				t.Errorf("refusal of %q is visible to the channel, want ephemeral", tt.text)
			}
		})
	}
	if calls := h.spy.seen(); len(calls) != 0 {
		t.Errorf("refused commands reached the room: %v", calls)
	}
	if got := h.room.Calls("lobby", "list"); got != 0 {
		t.Errorf("room saw %d list calls, want 0", got)
	}
	h.noViolations()
}

// TestViewerHelpOmitsRestart: help lists only what the caller may run.
func TestViewerHelpOmitsRestart(t *testing.T) {
	h := newHarness(t)
	text := h.command(vera, "help").Render()
	wantText(t, "help for a viewer", text, "list ROOM", "status ROOM SERVICE")
	if strings.Contains(text, "restart ROOM") {
		t.Errorf("help for a viewer offers restart:\n%s", text)
	}
}

// TestRefusedClicks: a click is judged on who clicked, when they click.
// Someone else pressing the buttons of alice's card (a misrouted or
// forged click; Slack shows the card to alice alone) restarts nothing,
// and alice's card still works afterwards.
func TestRefusedClicks(t *testing.T) {
	h := newHarness(t)
	card := h.card(alice, "web")
	list := h.command(alice, "list lobby")
	lists := h.room.Calls("lobby", "list")
	before := len(h.spy.seen())

	tests := []struct {
		name, user, ts, action, want string
	}{
		{"stranger confirms", mallory, card.TS, confirmID, restartRefusal},
		{"stranger cancels", mallory, card.TS, cancelID, restartRefusal},
		{"viewer confirms", vera, card.TS, confirmID, restartRefusal},
		{"viewer cancels", vera, card.TS, cancelID, restartRefusal},
		{"stranger asks from a list", mallory, list.TS, askID, restartRefusal},
		{"viewer asks from a list", vera, list.TS, askID, restartRefusal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := h.click(tt.user, tt.ts, tt.action)
			m := h.reply(env)
			wantText(t, tt.action+" by "+tt.user, m.Render(), tt.want)
			if m.TS == card.TS || m.TS == list.TS {
				t.Errorf("%s by %s replaced alice's message, want a reply of its own", tt.action, tt.user)
			}
		})
	}
	if got := h.spy.seen()[before:]; len(got) != 0 {
		t.Errorf("refused clicks reached the room: %v", got)
	}
	if got := h.room.Calls("lobby", "list"); got != lists {
		t.Errorf("room saw %d list calls after the refused clicks, want %d", got, lists)
	}
	if got := h.restarts("svc-web"); got != 0 {
		t.Fatalf("room saw %d restarts after refused clicks, want 0", got)
	}

	// A refused click must not use up the card.
	h.reply(h.click(alice, card.TS, confirmID))
	h.notification(func(m slacksim.Message) bool { return strings.Contains(m.Text, "back after") })
	if got := h.restarts("svc-web"); got != 1 {
		t.Errorf("alice's confirm after refused clicks: %d restarts, want 1", got)
	}
	h.noViolations()
}

// TestEmptyAllowList: with no allow-list, everyone is refused, help
// says so, and no room is asked anything.
func TestEmptyAllowList(t *testing.T) {
	h := newHarness(t, func(o *options) {
		o.viewers, o.restarters = nil, nil
	})
	tests := []struct{ user, text, want string }{
		{alice, "list lobby", viewRefusal},
		{alice, "status lobby web", viewRefusal},
		{alice, "restart lobby web", restartRefusal},
		{vera, "list lobby", viewRefusal},
		{alice, "help", notOnList},
		{alice, "", notOnList},
	}
	for _, tt := range tests {
		t.Run(tt.user+" "+tt.text, func(t *testing.T) {
			m := h.command(tt.user, tt.text)
			wantText(t, "/room-services "+tt.text+" by "+tt.user, m.Render(), tt.want)
		})
	}
	if calls := h.spy.seen(); len(calls) != 0 {
		t.Errorf("with an empty allow-list the bot asked rooms: %v", calls)
	}
}
