package bot_test

import (
	"strings"
	"testing"
)

// TestInputTable types what people type, as Slack rewrites it, through
// the stand-in: each gives the right command or a usage reply, and a name
// the parser refuses never reaches a room. The full table of the grammar
// lives in commands; this is the slice that proves the bot wires it.
func TestInputTable(t *testing.T) {
	h := newHarness(t, func(o *options) {
		o.fixture.Rooms["lobby"].Services = append(o.fixture.Rooms["lobby"].Services,
			service("svc-amp", "a&b"))
	})
	const (
		listed = "6 services"            // list lobby ran
		webST  = "c-svc-web"             // status lobby web ran
		ampST  = "c-svc-amp"             // status lobby a&b ran
		card   = "Restart `web`"         // restart lobby web asked to confirm
		help   = "What you can run"      // help
		usage  = "usage: /room-services" // a usage reply
	)
	tests := []struct {
		name, text string
		want       string
		reachRoom  bool
	}{
		{"plain", "list lobby", listed, true},
		{"extra spaces", "   list    lobby   ", listed, true},
		{"tabs", "list\tlobby\t", listed, true},
		{"no-break spaces", "status\u00a0lobby\u00a0web", webST, true},
		{"smart quotes", "status “lobby” ‘web’", webST, true},
		{"upper-case verb", "LIST lobby", listed, true},
		{"mixed-case verb", "ReStArT lobby web", card, true},
		{"auto-linked room", "list <http://lobby|lobby>", listed, true},
		{"entity in a name", "status lobby a&amp;b", ampST, true},
		{"empty", "", help, false},
		{"only spaces", " \t\u00a0 ", help, false},
		{"help with words", "HELP me please", help, false},
		{"missing room", "list", "missing ROOM", false},
		{"missing service", "status lobby", "missing SERVICE", false},
		{"missing both", "restart", "missing ROOM", false},
		{"extra argument", "list lobby web", usage, false},
		{"space in a name", "status lobby “my web”", "", false},
		{"channel reference", "list <#C0OPS0001|lobby>", "mention or channel", false},
		{"user mention", "status lobby <@U0ALICE01>", "mention or channel", false},
		{"special mention", "list <!channel>", "mention or channel", false},
		{"zero-width space", "list lob\u200bby", "invisible character", false},
		{"zero-width joiner", "status lobby w\u200deb", "invisible character", false},
		{"4 KB", "list " + strings.Repeat("lobby", 820), "too long", false},
		{"unknown verb", "reboot lobby web", "unknown command", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.spy.seen())
			m := h.command(alice, tt.text)
			text := m.Render()
			if tt.want != "" {
				wantText(t, "/room-services "+tt.text, text, tt.want)
			}
			if !tt.reachRoom && !strings.Contains(text, ":warning:") && tt.want != help {
				t.Errorf("/room-services %q = \n%s\nwant a usage reply", tt.text, text)
			}
			calls := h.spy.seen()[before:]
			switch {
			case tt.reachRoom && len(calls) == 0:
				t.Errorf("/room-services %q made no room call, want one", tt.text)
			case !tt.reachRoom && len(calls) != 0:
				t.Errorf("/room-services %q reached the room: %v", tt.text, calls)
			}
			for _, c := range calls {
				if c.room != "lobby" {
					t.Errorf("/room-services %q asked room %q, want lobby", tt.text, c.room)
				}
			}
		})
	}
	if got := h.restartCalls(); got != 0 {
		t.Errorf("typed commands restarted %d services, want 0 (restart asks first)", got)
	}
	h.noViolations()
}
