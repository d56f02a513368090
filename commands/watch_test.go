package commands_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/slacksim"
)

const (
	opsChannel  = "C0OPS0001"
	devChannel  = "G0DEV0002"
	privChannel = "C0PRIV003"
)

func TestWatchGolden(t *testing.T) {
	first := now.Add(-110 * time.Second)
	tests := []struct {
		name     string
		msg      commands.Message
		channels []string
	}{
		{"watch_restarted", commands.Announce(commands.Episode{
			Room: "lobby", Service: "worker", ID: "svc-worker",
			Restarts: 1, RestartCount: 3, ExitCode: exit(137),
			First: now, Last: now, State: "restarting",
		}), nil},
		{"watch_restarted_back", commands.Announce(commands.Episode{
			Room: "lobby", Service: "worker", ID: "svc-worker",
			Restarts: 1, RestartCount: 3, ExitCode: exit(137),
			First: now, Last: now, State: "running",
			Back: true, Took: 2*time.Minute + 10*time.Second,
		}), nil},
		{"watch_crash_loop", commands.Announce(commands.Episode{
			Room: "staging", Service: "api", ID: "stg-api",
			Restarts: 10, RestartCount: 51, ExitCode: exit(1),
			First: first, Last: now, State: "starting",
		}), nil},
		{"watch_crashed", commands.Announce(commands.Episode{
			Room: "staging", Service: "api", ID: "stg-api",
			Restarts: 1, RestartCount: 42, ExitCode: exit(1),
			StartError: "dial tcp db:5432: connection refused",
			First:      now, Last: now, State: "starting",
		}), nil},
		{"watch_exited", commands.Announce(commands.Episode{
			Room: "staging", Service: "api", ID: "stg-api",
			ExitCode: exit(137), First: now, Last: now, State: "exited",
		}), nil},
		{"watch_scheduled", commands.Announce(commands.Episode{
			Room: "staging", Service: "cache", ID: "stg-cache",
			ScheduledAt: now.Add(90 * time.Minute), First: now, Last: now,
			State: "running",
		}), nil},
		{"watch_added", commands.Announce(commands.Episode{
			Room: "lobby", Service: "search", ID: "svc-search",
			Added: true, First: now, Last: now, State: "starting",
		}), nil},
		{"watch_removed", commands.Announce(commands.Episode{
			Room: "lobby", Service: "search", ID: "svc-search",
			Removed: true, First: now, Last: now,
		}), nil},
		{"watch_unreachable", commands.Unreachable("lobby",
			now.Add(-45*time.Second), "connection refused with HTTP 503"), nil},
		{"watch_reachable", commands.Reachable("lobby", 4*time.Minute), nil},
		{"watch_watching", commands.Watching([]commands.WatchPair{
			{Room: "staging", Channel: devChannel},
			{Room: "lobby", Channel: opsChannel, Configured: true},
			{Room: "lobby", Channel: devChannel},
		}, true, true), []string{opsChannel, devChannel}},
		{"watch_watching_memory", commands.Watching([]commands.WatchPair{
			{Room: "lobby", Channel: opsChannel},
		}, false, true), []string{opsChannel}},
		{"watch_watching_none", commands.Watching(nil, false, true), nil},
		{"watch_watching_none_viewer", commands.Watching(nil, false, false), nil},
		{"watch_watched", commands.Watched("lobby", opsChannel, true), []string{opsChannel}},
		{"watch_watched_memory", commands.Watched("lobby", opsChannel, false), []string{opsChannel}},
		{"watch_unwatched", commands.Unwatched("lobby", opsChannel), []string{opsChannel}},
		{"watch_not_watched", commands.NotWatched("lobby", opsChannel), []string{opsChannel}},
		{"watch_configured", commands.WatchConfigured("lobby", opsChannel), []string{opsChannel}},
		{"watch_not_channel", commands.NotAChannel(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkWatch(t, tt.name, tt.msg, tt.channels...)
			golden(t, tt.name, tt.msg)
		})
	}
}

// checkWatch is check, with channel mentions of the channels given
// allowed besides.
func checkWatch(t *testing.T, name string, m commands.Message, channels ...string) {
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
		for _, c := range channels {
			s = strings.ReplaceAll(s, "<#"+c+">", "")
		}
		checkString(t, name, key, s, nil)
	})
}

// TestWatchWorstCase renders every watch message with the largest data
// a room or a user can send.
func TestWatchWorstCase(t *testing.T) {
	for label, s := range map[string]string{
		"quotes": strings.Repeat(`"`, commands.MaxName),
		"amps":   strings.Repeat("&", commands.MaxName),
		"hostile": strings.Repeat("<!channel> `x` *y* \u202e", 6) +
			strings.Repeat("é", 50),
	} {
		long := strings.Repeat(s, 10)
		e := commands.Episode{
			Room: s, Service: s, ID: long, Added: true,
			Restarts: 1 << 30, RestartCount: 1 << 40, ExitCode: exit(-1 << 31),
			StartError: long, ScheduledAt: now, First: now,
			Last: now.Add(1 << 62), State: long, Back: true, Took: 1 << 62,
		}
		msgs := map[string]commands.Message{
			"episode":     commands.Announce(e),
			"unreachable": commands.Unreachable(s, now, long),
			"reachable":   commands.Reachable(s, 1<<62),
			"watched":     commands.Watched(s, s, false),
			"unwatched":   commands.Unwatched(s, s),
			"not watched": commands.NotWatched(s, s),
			"configured":  commands.WatchConfigured(s, s),
		}
		e.Back, e.Removed = false, true
		msgs["removed"] = commands.Announce(e)

		var pairs []commands.WatchPair
		var chans []string
		for i := range 300 {
			room := fmt.Sprintf("%s-%d", s, i/30)
			if i%30 == 0 {
				room = fmt.Sprintf("%s-solo-%d", s, i)
			}
			pairs = append(pairs, commands.WatchPair{
				Room: room, Channel: fmt.Sprintf("C0%07d", i), Configured: i%2 == 0,
			})
			chans = append(chans, pairs[i].Channel)
		}
		msgs["watching"] = commands.Watching(pairs, false, true)
		for name, m := range msgs {
			checkWatch(t, label+": "+name, m, chans...)
		}
	}
}

func TestWatchingCutsAtBudget(t *testing.T) {
	var pairs []commands.WatchPair
	for i := range 400 {
		pairs = append(pairs, commands.WatchPair{
			Room:    fmt.Sprintf("room-%03d-%s", i, strings.Repeat("&", 100)),
			Channel: opsChannel,
		})
	}
	b := string(marshal(t, commands.Watching(pairs, true, true)))
	if !strings.Contains(b, "more not shown") {
		t.Errorf("Watching(400 long rooms) does not say rooms were left out")
	}
	if !strings.Contains(b, "room-000-") {
		t.Errorf("Watching(400 long rooms) does not show the first room")
	}
}

func TestChannelMentionsOnlyOfChannelIDs(t *testing.T) {
	for _, ch := range []string{"D0DIRECT1", "#general", "C0OPS|x", "<!here>", "c0ops0001", "U0ALICE01"} {
		m := commands.Watched("lobby", ch, true)
		checkWatch(t, "Watched(lobby, "+ch+")", m)
		if strings.Contains(string(marshal(t, m)), "<#") {
			t.Errorf("Watched(lobby, %q) mentions a channel", ch)
		}
	}
}

func TestIsChannel(t *testing.T) {
	tests := map[string]bool{
		"C0OPS0001": true, "G0DEV0002": true, "C012345678901234567890": false,
		"D0DIRECT1": false, "U0ALICE01": false, "c0ops0001": false,
		"CGENERAL": false, "C01": false, "": false, "#ops": false,
		"C0OPS 001": false,
	}
	for id, want := range tests {
		if got := commands.IsChannel(id); got != want {
			t.Errorf("IsChannel(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestAnnounceSays(t *testing.T) {
	tests := []struct {
		name string
		e    commands.Episode
		want []string
	}{
		{"one restart", commands.Episode{Room: "lobby", Service: "worker",
			Restarts: 1, RestartCount: 3, ExitCode: exit(137)},
			[]string{"`worker` in `lobby` restarted by itself", "restart count 3", "last exit 137"}},
		{"crash loop", commands.Episode{Room: "lobby", Service: "worker",
			Restarts: 5, RestartCount: 8, ExitCode: exit(137),
			First: now.Add(-3 * time.Minute), Last: now},
			[]string{"restarted 5 times in 3 min", "last exit 137"}},
		{"back", commands.Episode{Room: "lobby", Service: "worker",
			Restarts: 1, Back: true, Took: 130 * time.Second},
			[]string{"Running again after 2 min"}},
		{"scheduled", commands.Episode{Room: "lobby", Service: "worker",
			ScheduledAt: now},
			[]string{"has a restart scheduled", "2025-03-01 12:00 UTC"}},
	}
	for _, tt := range tests {
		b := string(marshal(t, commands.Announce(tt.e)))
		for _, w := range tt.want {
			if !strings.Contains(b, w) {
				t.Errorf("Announce(%s) = %s; want it to contain %q", tt.name, b, w)
			}
		}
	}
}
