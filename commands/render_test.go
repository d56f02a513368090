package commands_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
	"github.com/roomops/roombot/slacksim"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// wire is a message as the bot sends it.
type wire struct {
	Text   string        `json:"text"`
	Blocks []interface{} `json:"blocks"`
}

func marshal(t *testing.T, m commands.Message) []byte {
	t.Helper()
	blocks := make([]interface{}, len(m.Blocks))
	for i, b := range m.Blocks {
		blocks[i] = b
	}
	// encoding/json as slack-go uses it: & < > written as \u0026 etc.
	b, err := json.Marshal(wire{Text: m.Text, Blocks: blocks})
	if err != nil {
		t.Fatalf("marshalling message: %v", err)
	}
	return b
}

// golden compares m with testdata/name.golden, or rewrites it under
// -update. The file is indented JSON without \u0026 escapes, so that a
// reviewer can read it.
func golden(t *testing.T, name string, m commands.Message) {
	t.Helper()
	var got bytes.Buffer
	enc := json.NewEncoder(&got)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	var v any
	if err := json.Unmarshal(marshal(t, m), &v); err != nil {
		t.Fatal(err)
	}
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./commands -update)", err)
	}
	if diff := cmp.Diff(string(want), got.String()); diff != "" {
		t.Errorf("%s differs from %s (-want +got):\n%s", name, path, diff)
	}
}

// check asserts what every message must satisfy: Slack's limits, the
// size bound, escaped data, and no mention except of the user ids given.
func check(t *testing.T, name string, m commands.Message, users ...string) {
	t.Helper()
	b := marshal(t, m)
	if err := slacksim.CheckMessage(b); err != nil {
		t.Errorf("%s: slacksim.CheckMessage: %v", name, err)
	}
	if len(b) > commands.MaxMessageBytes {
		t.Errorf("%s: message is %d bytes; want at most %d",
			name, len(b), commands.MaxMessageBytes)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	walkStrings(v, "", func(key, s string) {
		checkString(t, name, key, s, users)
	})
}

// walkStrings calls f with every string in v and the key it is under.
func walkStrings(v any, key string, f func(key, s string)) {
	switch v := v.(type) {
	case string:
		f(key, v)
	case []any:
		for _, e := range v {
			walkStrings(e, key, f)
		}
	case map[string]any:
		for k, e := range v {
			walkStrings(e, k, f)
		}
	}
}

var entity = regexp.MustCompile(`^&(amp|lt|gt);`)

func checkString(t *testing.T, name, key, s string, users []string) {
	t.Helper()
	rest := s
	for _, u := range users {
		rest = strings.ReplaceAll(rest, "<@"+u+">", "")
	}
	if i := strings.IndexAny(rest, "<>"); i >= 0 {
		t.Errorf("%s: %s %q has a raw %q that is not an allowed "+
			"mention", name, key, s, rest[i])
	}
	if key == "value" {
		return // button values are not shown, and not escaped
	}
	for i := strings.IndexByte(rest, '&'); i >= 0; {
		if !entity.MatchString(rest[i:]) {
			t.Errorf("%s: %s %q has an unescaped &", name, key, s)
			return
		}
		next := strings.IndexByte(rest[i+1:], '&')
		if next < 0 {
			break
		}
		i += 1 + next
	}
}

func TestGolden(t *testing.T) {
	small := smallRoom()
	big := bigRoom(80)
	web := small.Services[0]
	web.Description = "The public site."
	web.State.LastExitAt = now.Add(-90 * time.Minute)
	web.State.Events = []roomclient.Event{
		{Type: "Normal", Reason: "Started", Message: "Started container c-9f2",
			Count: 1, LastTimestamp: now.Add(-3 * time.Hour)},
		{Type: "Warning", Reason: "BackOff", Message: "Back-off restarting",
			Count: 4, FirstTimestamp: now.Add(-5 * time.Hour),
			LastTimestamp: now.Add(-4 * time.Hour)},
	}
	worker := small.Services[1]
	tok := strings.Repeat("t0k3n.", 70)
	webs := []roomclient.Service{
		web, {ID: "svc-9", Name: "web", Image: "ghcr.io/acme/web:2",
			State: &roomclient.State{State: "starting"}},
		{Name: "web"},
	}

	tests := []struct {
		name  string
		msg   commands.Message
		users []string
	}{
		{"list_small", commands.List(small, 1, true, now), nil},
		{"list_small_viewer", commands.List(small, 1, false, now), nil},
		{"list_empty", commands.List(&roomclient.List{Room: "quiet"}, 1, true, now), nil},
		{"list_80_page1", commands.List(big, 1, true, now), nil},
		{"list_80_page4", commands.List(big, 4, true, now), nil},
		{"list_hostile", commands.List(hostileRoom(), 1, true, now), nil},
		{"list_hostile_room", commands.List(hostileRoomNamed("r&d.dev"), 1, true, now), nil},
		{"status", commands.Status("myroom", web, true, now), nil},
		{"status_failing", commands.Status("myroom", worker, false, now), nil},
		{"status_no_state", commands.Status("myroom", small.Services[2], true, now), nil},
		{"confirm", commands.Confirm(commands.Confirmation{
			Room: "myroom", Service: web, Now: now, Token: tok,
			Requester: "U0ALICE01", Expires: now.Add(10 * time.Minute),
		}), []string{"U0ALICE01"}},
		{"candidates", commands.Candidates(commands.VerbRestart, "myroom", "web", webs), nil},
		{"candidates_status", commands.Candidates(commands.VerbStatus, "myroom", "web", webs), nil},
		{"not_found", commands.Candidates(commands.VerbRestart, "myroom", "wbe", nil), nil},
		{"help_all", commands.Help(commands.Verbs()), nil},
		{"help_viewer", commands.Help([]commands.Verb{
			commands.VerbHelp, commands.VerbStatus, commands.VerbList}), nil},
		{"help_nobody", commands.Help(nil), nil},
		{"notice_requested", notice(commands.PhaseRequested, web), []string{"U0ALICE01"}},
		{"notice_back", notice(commands.PhaseBack, web), []string{"U0ALICE01"}},
		{"notice_not_back", notice(commands.PhaseNotBack, worker), []string{"U0ALICE01"}},
		{"notice_unknown", notice(commands.PhaseUnknown, web), []string{"U0ALICE01"}},
		// Why and the log's ref; a name no command can type is named by id.
		{"notice_unknown_why", commands.Notify(commands.Notice{
			Requester: "U0ALICE01", Room: "myroom", Phase: commands.PhaseUnknown,
			Service: roomclient.Service{ID: "svc-odd", Name: "x|y`z"},
			Why:     "roombot asked the room, but its answer never came", Ref: "abc123",
		}), []string{"U0ALICE01"}},
		{"restarting", commands.Restarting("myroom", "web", "U0ALICE01"), []string{"U0ALICE01"}},
		{"cancelled", commands.Cancelled("myroom", "web", "U0ALICE01"), []string{"U0ALICE01"}},
		{"expired", commands.ExpiredCard("myroom", "web"), nil},
		{"expired_unknown", commands.ExpiredCard("", ""), nil},
		{"already_used", commands.AlreadyUsed("U0BOB0002", now.Add(-2*time.Minute), now), []string{"U0BOB0002"}},
		{"in_flight", commands.InFlight("myroom", "web", "W0CAROL03", now.Add(-20*time.Second), now), []string{"W0CAROL03"}},
		{"restart_failed", commands.RestartFailed("myroom", "web", "service restart not allowed"), nil},
		{"error", commands.Error(`unknown command "reboot"; try /room-services help`), nil},
		{"internal_error", commands.InternalError("abc123"), nil},
		{"refused_list", commands.Refused(commands.VerbList), nil},
		{"refused_watch", commands.Refused(commands.VerbWatch), nil},
		{"allowlist_unavailable", commands.AllowListUnavailable("abc123"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, tt.name, tt.msg, tt.users...)
			golden(t, tt.name, tt.msg)
		})
	}
}

func notice(p commands.Phase, s roomclient.Service) commands.Message {
	n := commands.Notice{
		Requester: "U0ALICE01", Room: "myroom", Service: s, Phase: p,
		Took: 12 * time.Second,
	}
	if p == commands.PhaseNotBack {
		n.Took = 2 * time.Minute
		n.State = "starting"
		n.ExitCode = s.State.LastExitCode
		n.StartError = s.State.LastStartError
	}
	return commands.Notify(n)
}

// TestRefusedNamesTheVerb: a refusal says what the user asked for, not
// what the permission it needs is called; a viewer who asks to watch a
// room is not told they may not restart services.
func TestRefusedNamesTheVerb(t *testing.T) {
	tests := map[commands.Verb]string{
		commands.VerbList:     "not allowed to see room services",
		commands.VerbStatus:   "not allowed to see room services",
		commands.VerbWatching: "not allowed to see which rooms are watched",
		commands.VerbRestart:  "not allowed to restart services",
		commands.VerbWatch:    "not allowed to change what this channel watches",
		commands.VerbUnwatch:  "not allowed to change what this channel watches",
		"reboot":              "not allowed to do that",
	}
	for v, want := range tests {
		m := commands.Refused(v)
		check(t, "Refused("+string(v)+")", m)
		if b := string(marshal(t, m)); !strings.Contains(b, want) {
			t.Errorf("Refused(%q) = %s; want it to say %q", v, b, want)
		}
	}
}
