package commands_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

func TestMatch(t *testing.T) {
	l := &roomclient.List{Room: "lobby", Services: []roomclient.Service{
		{ID: "svc-web", Name: "web"},
		{ID: "svc-api-1", Name: "api"},
		{ID: "svc-api-2", Name: "api"},
		{ID: "web", Name: "shadow"}, // an id that is another's name
		{Name: "noid"},
	}}
	tests := []struct {
		ref  string
		want []string // ids
	}{
		{"web", []string{"svc-web"}}, // a name comes before an id
		{"api", []string{"svc-api-1", "svc-api-2"}},
		{"svc-api-2", []string{"svc-api-2"}},
		{"shadow", []string{"web"}},
		{"noid", []string{""}},
		{"Web", nil}, // names and ids are case-sensitive
		{"nope", nil},
		{"", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, s := range commands.Match(l, tt.ref) {
			got = append(got, s.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("Match(lobby, %q) = %v; want %v", tt.ref, got, tt.want)
		}
	}
	if got := commands.Match(nil, "web"); got != nil {
		t.Errorf("Match(nil, web) = %v; want none", got)
	}
}

// TestCandidatesForStatus: a status of a name that several services
// share lists them with their ids and says how to ask for one, with no
// Restart buttons: the user asked to look, not to restart.
func TestCandidatesForStatus(t *testing.T) {
	cands := smallRoom().Services[:3]
	for i := range cands {
		cands[i].Name = "web"
	}
	tests := []struct {
		verb    commands.Verb
		buttons int
		say     string
	}{
		{commands.VerbStatus, 0, "`/room-services status myroom ID`"},
		{commands.VerbRestart, 3, "`/room-services restart myroom ID`"},
	}
	for _, tt := range tests {
		m := commands.Candidates(tt.verb, "myroom", "web", cands)
		check(t, string(tt.verb), m)
		if got := buttons(t, m, commands.ActionRestartAsk); len(got) != tt.buttons {
			t.Errorf("Candidates(%s) has %d Restart buttons; want %d", tt.verb, len(got), tt.buttons)
		}
		b := string(marshal(t, m))
		for _, want := range []string{tt.say, "`svc-1`", "`svc-2`", "`svc-3`"} {
			if !strings.Contains(b, want) {
				t.Errorf("Candidates(%s) = %s; want it to say %s", tt.verb, b, want)
			}
		}
		if tt.verb == commands.VerbStatus && strings.Contains(b, "to restart") {
			t.Errorf("Candidates(status) = %s; want no word of restarting", b)
		}
	}
}
