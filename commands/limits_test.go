package commands_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

// TestWorstCase renders every message with the largest data a room or a
// user can send, and checks it against Slack's limits and the size bound.
func TestWorstCase(t *testing.T) {
	quotes := func(n int) string { return strings.Repeat(`"`, n) }
	rooms := map[string]*roomclient.List{
		// No button fits: the room alone costs too much in a value.
		"quoted room": worstRoom(quotes(commands.MaxName), quotes(120)),
		// Buttons, as large as a value may be.
		"long ids": worstRoom(strings.Repeat("r", commands.MaxName),
			strings.Repeat("i", 120)),
		// Every character escaped.
		"amp room": worstRoom(strings.Repeat("&", commands.MaxName), "&"),
		// Ten buttons on a page, each with the longest value a page
		// allows: a room of MaxName CJK characters and a UUID-long id.
		"CJK room": worstRoom(strings.Repeat("界", commands.MaxName),
			strings.Repeat("i", 34)),
		// A status's one button, with the longest value ValidName allows.
		"amp room and ids": worstRoom(strings.Repeat("&", commands.MaxName),
			strings.Repeat("&", commands.MaxName-1)),
	}
	for label, l := range rooms {
		svc := l.Services[0]
		user := "U0" + strings.Repeat("Z", 19) // the longest user id
		msgs := map[string]commands.Message{
			"list page 1": commands.List(l, 1, true, now),
			"list page 2": commands.List(l, 2, true, now),
			"list last":   commands.List(l, 99, true, now),
			"status":      commands.Status(l.Room, svc, true, now),
			"candidates":  commands.Candidates(commands.VerbRestart, l.Room, svc.Name, l.Services),
			"not found":   commands.Candidates(commands.VerbRestart, l.Room, svc.Name, nil),
			"confirm": commands.Confirm(commands.Confirmation{
				Room: l.Room, Service: svc, Now: now,
				Token:     strings.Repeat("x", 2000),
				Requester: user, Expires: now.Add(time.Hour),
			}),
			"restarting": commands.Restarting(l.Room, svc.Name, user),
			"cancelled":  commands.Cancelled(l.Room, svc.Name, user),
			"in flight":  commands.InFlight(l.Room, svc.Name, user, now, now),
			"failed":     commands.RestartFailed(l.Room, svc.Name, svc.Image),
			"error":      commands.Error(svc.Image),
			"internal":   commands.InternalError(svc.Image),
		}
		for _, p := range []commands.Phase{commands.PhaseRequested,
			commands.PhaseBack, commands.PhaseNotBack, commands.PhaseUnknown} {
			msgs["notice "+string(p)] = commands.Notify(commands.Notice{
				Requester: user, Room: l.Room, Service: svc, Phase: p,
				Took: 1 << 62, State: svc.State.State,
				ExitCode: svc.State.LastExitCode, StartError: svc.Image,
			})
		}
		for name, m := range msgs {
			check(t, label+": "+name, m, user)
		}
	}
}

func TestListPaging(t *testing.T) {
	big := bigRoom(80)
	tests := []struct {
		page       int
		first, end int // 1-based, inclusive, as shown
		prev, next int // page a button asks for; 0 for no button
	}{
		{page: 1, first: 1, end: 10, next: 2},
		{page: 0, first: 1, end: 10, next: 2},
		{page: 4, first: 31, end: 40, prev: 3, next: 5},
		{page: 8, first: 71, end: 80, prev: 7},
		{page: 99, first: 71, end: 80, prev: 7},
	}
	for _, tt := range tests {
		m := commands.List(big, tt.page, true, now)
		b := marshal(t, m)
		total := fmt.Sprintf("services %d–%d of 80", tt.first, tt.end)
		if !strings.Contains(string(b), total) {
			t.Errorf("List(80 services, page %d) does not say %q",
				tt.page, total)
		}
		for _, s := range []int{tt.first, tt.end} {
			want := fmt.Sprintf("service-%02d", s)
			if !strings.Contains(string(b), want) {
				t.Errorf("List(80 services, page %d) does not show %s",
					tt.page, want)
			}
		}
		got := pageButtons(t, m)
		want := map[string]int{}
		if tt.prev > 0 {
			want[commands.ActionPagePrev] = tt.prev
		}
		if tt.next > 0 {
			want[commands.ActionPageNext] = tt.next
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("List(80 services, page %d) page buttons = %v; "+
				"want %v", tt.page, got, want)
		}
	}
}

func TestListSinglePage(t *testing.T) {
	m := commands.List(bigRoom(commands.PageSize), 1, true, now)
	if got := pageButtons(t, m); len(got) != 0 {
		t.Errorf("List(%d services) has page buttons %v; want none",
			commands.PageSize, got)
	}
	if got := buttons(t, m, commands.ActionRestartAsk); len(got) !=
		commands.PageSize-0 {
		t.Errorf("List(%d services) has %d Restart buttons; want %d",
			commands.PageSize, len(got), commands.PageSize)
	}
}

// pageButtons maps the action ids of the page buttons of m to the page
// each asks for, decoded as the bot would.
func pageButtons(t *testing.T, m commands.Message) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, action := range []string{commands.ActionPagePrev,
		commands.ActionPageNext} {
		for _, v := range buttons(t, m, action) {
			p, err := commands.DecodePage(v)
			if err != nil {
				t.Fatalf("DecodePage(%q): %v", v, err)
			}
			out[action] = p.Page
		}
	}
	return out
}

// buttons returns the values of the buttons of m with the action id.
func buttons(t *testing.T, m commands.Message, action string) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(marshal(t, m), &v); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			if v["type"] == "button" && v["action_id"] == action {
				s, _ := v["value"].(string)
				out = append(out, s)
			}
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

func TestRestartButtons(t *testing.T) {
	l := smallRoom()
	tests := []struct {
		name       string
		msg        commands.Message
		wantAsks   []string // service ids, in order
		canRestart bool
	}{
		{"list", commands.List(l, 1, true, now),
			[]string{"svc-1", "svc-2", "svc-3"}, true},
		{"list for a viewer", commands.List(l, 1, false, now), nil, false},
		{"status", commands.Status("myroom", l.Services[0], true, now),
			[]string{"svc-1"}, true},
		{"status without id", commands.Status("myroom", l.Services[3], true, now),
			nil, true},
		{"status for a viewer", commands.Status("myroom", l.Services[0], false, now),
			nil, false},
		{"candidates", commands.Candidates(commands.VerbRestart, "myroom", "x", l.Services),
			[]string{"svc-1", "svc-2", "svc-3"}, true},
		{"candidates of a status",
			commands.Candidates(commands.VerbStatus, "myroom", "x", l.Services), nil, false},
	}
	for _, tt := range tests {
		var ids []string
		for _, v := range buttons(t, tt.msg, commands.ActionRestartAsk) {
			a, err := commands.DecodeAsk(v)
			if err != nil {
				t.Fatalf("%s: DecodeAsk(%q): %v", tt.name, v, err)
			}
			if a.Room != "myroom" {
				t.Errorf("%s: button for %s names room %q; want myroom",
					tt.name, a.ID, a.Room)
			}
			ids = append(ids, a.ID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(tt.wantAsks) {
			t.Errorf("%s: Restart buttons for %v; want %v",
				tt.name, ids, tt.wantAsks)
		}
	}
}

func TestHostileNames(t *testing.T) {
	l := hostileRoomNamed("r&d.dev")
	for i, s := range l.Services {
		msgs := []commands.Message{
			commands.List(l, 1, true, now),
			commands.Status(l.Room, s, true, now),
			commands.Confirm(commands.Confirmation{Room: l.Room,
				Service: s, Now: now, Token: "tok",
				Requester: "U0ALICE01", Expires: now.Add(time.Minute)}),
			commands.Candidates(commands.VerbRestart, l.Room, s.Name, l.Services),
			commands.Restarting(l.Room, s.Name, "U0ALICE01"),
			commands.RestartFailed(l.Room, s.Name, s.State.LastStartError),
			commands.Notify(commands.Notice{Requester: "U0ALICE01",
				Room: l.Room, Service: s, Phase: commands.PhaseNotBack,
				State: s.State.State, StartError: s.Description}),
		}
		for j, m := range msgs {
			check(t, fmt.Sprintf("service %d, message %d", i, j), m,
				"U0ALICE01")
		}
	}
}

// TestMentionsOnlyOfUserIDs checks that a requester that is not a user id
// never makes a mention.
func TestMentionsOnlyOfUserIDs(t *testing.T) {
	for _, by := range []string{"<!channel>", "U1|x", "u0alice01",
		"C0OPS0001", "S0OPS0001", "U0ALICE01> <!here", ""} {
		msgs := []commands.Message{
			commands.Restarting("r", "s", by),
			commands.Cancelled("r", "s", by),
			commands.AlreadyUsed(by, now, now),
			commands.InFlight("r", "s", by, now, now),
			commands.Notify(commands.Notice{Requester: by, Room: "r"}),
		}
		for i, m := range msgs {
			check(t, fmt.Sprintf("requester %q, message %d", by, i), m)
			if !strings.Contains(string(marshal(t, m)), "someone") {
				t.Errorf("requester %q, message %d: want "+
					"\"someone\" in place of a mention", by, i)
			}
		}
	}
}

func TestConfirmRefusesBadToken(t *testing.T) {
	for _, tok := range []string{"", strings.Repeat("x", 2001), "\xff"} {
		m := commands.Confirm(commands.Confirmation{Room: "r",
			Service: roomclient.Service{ID: "s", Name: "s"}, Token: tok})
		if got := buttons(t, m, commands.ActionConfirm); len(got) != 0 {
			t.Errorf("Confirm(token of %d bytes) has a Restart button",
				len(tok))
		}
		check(t, "bad token", m)
	}
}

func TestStatusEventsNewestFirst(t *testing.T) {
	s := smallRoom().Services[0]
	for i := range 8 {
		s.State.Events = append(s.State.Events, roomclient.Event{
			Type: "Normal", Reason: fmt.Sprintf("E%d", i),
			LastTimestamp: now.Add(time.Duration(i) * time.Minute),
		})
	}
	// Out of order, and one without a time, which sorts last.
	s.State.Events[2], s.State.Events[6] = s.State.Events[6], s.State.Events[2]
	s.State.Events = append(s.State.Events, roomclient.Event{Reason: "Z"})

	b := string(marshal(t, commands.Status("r", s, false, now)))
	last := -1
	for _, r := range []string{"E7", "E6", "E5", "E4", "E3"} {
		i := strings.Index(b, "Normal · "+r)
		if i < last {
			t.Errorf("Status events: %s is not after the newer ones", r)
		}
		last = i
	}
	for _, r := range []string{"E2", "E1", "E0", "· Z"} {
		if strings.Contains(b, "· "+strings.TrimPrefix(r, "· ")+"\\n") ||
			strings.Contains(b, "Normal · "+r) {
			t.Errorf("Status shows event %s; want only the newest 5", r)
		}
	}
}

// TestEmptyInputs checks that no renderer makes an invalid message from
// zero values, such as an empty text object.
func TestEmptyInputs(t *testing.T) {
	var zero time.Time
	var svc roomclient.Service
	msgs := map[string]commands.Message{
		"list nil":     commands.List(nil, 0, true, zero),
		"list empty":   commands.List(&roomclient.List{}, 0, true, zero),
		"list":         commands.List(&roomclient.List{Services: []roomclient.Service{svc}}, 1, true, zero),
		"status":       commands.Status("", svc, true, zero),
		"status state": commands.Status("", roomclient.Service{State: &roomclient.State{}}, true, zero),
		"confirm":      commands.Confirm(commands.Confirmation{Token: "t"}),
		"candidates":   commands.Candidates(commands.VerbRestart, "", "", []roomclient.Service{svc}),
		"not found":    commands.Candidates(commands.VerbRestart, "", "", nil),
		"restarting":   commands.Restarting("", "", ""),
		"cancelled":    commands.Cancelled("", "", ""),
		"used":         commands.AlreadyUsed("", zero, zero),
		"in flight":    commands.InFlight("", "", "", zero, zero),
		"failed":       commands.RestartFailed("", "", ""),
		"notice":       commands.Notify(commands.Notice{}),
		"help":         commands.Help(nil),
		"error":        commands.Error(""),
		"internal":     commands.InternalError(""),
	}
	for name, m := range msgs {
		check(t, name, m)
		if m.Text == "" {
			t.Errorf("%s: Text is empty", name)
		}
	}
}
