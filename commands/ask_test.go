package commands_test

import (
	"strings"
	"testing"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

// TestRestartButtonsForValidRooms: every room name ValidName accepts gets
// Restart buttons, or, where they cannot fit a message of many of them,
// a note that says the room's name is the reason and how to restart
// instead. A room of 43 & or of 101 CJK characters got no buttons, each
// service saying its id could not be used from Slack.
func TestRestartButtonsForValidRooms(t *testing.T) {
	svc := roomclient.Service{ID: "svc-1", Name: "web"}
	tests := []struct {
		name        string
		room        string
		listButtons bool // whether a list page has room for them
	}{
		{"43 ampersands", strings.Repeat("&", 43), true},
		{"101 CJK", strings.Repeat("界", 101), true},
		{"128 CJK", strings.Repeat("界", commands.MaxName), true},
		{"75 quotes", strings.Repeat(`"`, 75), true},
		{"128 letters", strings.Repeat("a", commands.MaxName), true},
		{"128 ampersands", strings.Repeat("&", commands.MaxName), false},
		{"128 emoji", strings.Repeat("😀", commands.MaxName), false},
		{"128 quotes", strings.Repeat(`"`, commands.MaxName), false},
	}
	for _, tt := range tests {
		if err := commands.ValidName("room", tt.room); err != nil {
			t.Fatalf("%s: ValidName = %v", tt.name, err)
		}
		st := commands.Status(tt.room, svc, true, now)
		check(t, tt.name+": status", st)
		if got := buttons(t, st, commands.ActionRestartAsk); len(got) != 1 {
			t.Errorf("%s: Status has %d Restart buttons; want 1", tt.name, len(got))
		}

		l := &roomclient.List{Room: tt.room, Services: []roomclient.Service{svc}}
		m := commands.List(l, 1, true, now)
		check(t, tt.name+": list", m)
		b := string(marshal(t, m))
		if got := len(buttons(t, m, commands.ActionRestartAsk)) > 0; got != tt.listButtons {
			t.Errorf("%s: List has a Restart button: %v; want %v", tt.name, got, tt.listButtons)
		}
		if strings.Contains(b, "cannot be used from Slack") {
			t.Errorf("%s: List blames the service id: %s", tt.name, b)
		}
		const note = "too long for Restart buttons"
		if got := strings.Contains(b, note); got == tt.listButtons {
			t.Errorf("%s: List says %q: %v; want %v", tt.name, note, got, !tt.listButtons)
		}
		if !tt.listButtons && !strings.Contains(b, "/room-services restart ROOM SERVICE") {
			t.Errorf("%s: List does not say how to restart instead: %s", tt.name, b)
		}
	}
}

// TestRestartButtonForLongID: a service whose id alone is too long for a
// list's buttons is told so there, and gets its button in its status.
func TestRestartButtonForLongID(t *testing.T) {
	svc := roomclient.Service{ID: strings.Repeat("&", commands.MaxName), Name: "web"}
	l := &roomclient.List{Room: "myroom", Services: []roomclient.Service{svc}}
	m := commands.List(l, 1, true, now)
	if got := buttons(t, m, commands.ActionRestartAsk); len(got) != 0 {
		t.Errorf("List with a long id has Restart buttons %v; want none", got)
	}
	if b := string(marshal(t, m)); !strings.Contains(b, "its id is too long for a Restart button") {
		t.Errorf("List with a long id does not say why it has no button: %s", b)
	}
	st := commands.Status("myroom", svc, true, now)
	if got := buttons(t, st, commands.ActionRestartAsk); len(got) != 1 {
		t.Errorf("Status with a long id has %d Restart buttons; want 1", len(got))
	}
}
