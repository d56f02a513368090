package commands_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/roomops/roombot/roomclient"
)

// now is the time every rendering in these tests happens at.
var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func exit(code int) *int { return &code }

func running(id, container string, up time.Duration, restarts int) *roomclient.State {
	return &roomclient.State{
		ServiceID:    id,
		State:        "running",
		ContainerID:  container,
		StartedAt:    now.Add(-up),
		RestartCount: restarts,
	}
}

// smallRoom has one service of each kind a list must tell apart.
func smallRoom() *roomclient.List {
	web := running("svc-1", "c-9f2", 3*time.Hour+4*time.Minute, 2)
	web.LastExitCode = exit(137)
	web.Ports = []roomclient.PortStatus{
		{Num: "8080", Liveness: "/healthz", LivenessStatus: "ready"},
		{Num: "*", LivenessStatus: "not_configured"},
	}
	worker := &roomclient.State{
		ServiceID:          "svc-2",
		State:              "starting",
		RestartCount:       7,
		LastExitCode:       exit(1),
		LastStartError:     "exec: \"worker\": executable file not found",
		LastStartErrorAt:   now.Add(-3 * time.Minute),
		RestartScheduledAt: now.Add(5 * time.Minute),
		Ports: []roomclient.PortStatus{
			{Num: "9090", Liveness: "/ready", LivenessStatus: "not_ready"},
		},
	}
	return &roomclient.List{
		Room: "myroom",
		Services: []roomclient.Service{
			{ID: "svc-1", Name: "web", Image: "ghcr.io/acme/web:1",
				Enabled: true, State: web},
			{ID: "svc-2", Name: "worker", Enabled: true, State: worker},
			{ID: "svc-3", Name: "cron", Enabled: false},
			{Name: "legacy", Enabled: true,
				State: &roomclient.State{State: "restarting"}},
		},
		Orphans: []roomclient.State{{ServiceID: "gone", State: "running"}},
	}
}

// bigRoom has n services, every twentieth of them restarting and every
// fortieth without state.
func bigRoom(n int) *roomclient.List {
	l := &roomclient.List{Room: "bigroom"}
	for i := range n {
		id := fmt.Sprintf("svc-%04d", i+1)
		s := roomclient.Service{
			ID: id, Name: fmt.Sprintf("service-%02d", i+1),
			Enabled: true,
			State:   running(id, "c-"+id, time.Duration(i)*time.Minute, i%3),
		}
		switch {
		case i%40 == 39:
			s.State = nil
		case i%20 == 19:
			s.State.State = "restarting"
		}
		l.Services = append(l.Services, s)
	}
	return l
}

// longName is 120 characters with every character Slack treats
// specially and some emoji.
var longName = strings.Repeat("a&b<c>d🚀", 15)

// hostileNames are service names that try to ping, format or break out.
var hostileNames = []string{
	"<!channel>",
	"<@U123>",
	"<!subteam^S0OPS0001|@ops>",
	"*bold* _it_ ~del~",
	"back`tick`s",
	"```fence```",
	"@here #general",
	":fire: &amp; &lt;",
	"line\nbreak\u202eevil",
	longName,
}

// hostileRoom has a room name that Parse would refuse, as a list for it
// must still render, without buttons.
func hostileRoom() *roomclient.List { return hostileRoomNamed("r&d<!here>") }

func hostileRoomNamed(room string) *roomclient.List {
	l := &roomclient.List{Room: room}
	for i, n := range hostileNames {
		id := fmt.Sprintf("<@U%d>", i)
		st := running(id, "<!everyone>", time.Minute, 1)
		st.State = "<!channel>"
		st.LastStartError = "<@U0ALICE01> said *no* & `left`"
		st.Ports = []roomclient.PortStatus{{Num: "<!here>",
			LivenessStatus: "ready", LastError: "<#C123>"}}
		st.Events = []roomclient.Event{{Type: "<!here>",
			Reason: "<@U9>", Message: "<!channel> & co", Count: 2,
			LastTimestamp: now.Add(-time.Minute)}}
		l.Services = append(l.Services, roomclient.Service{
			ID: fmt.Sprintf("svc-%d", i), Name: n, Enabled: true,
			Image: "<!channel>", Description: "<@U1> *x*",
			ExternalURL: "<http://evil|click>", State: st,
		})
		// An id that is itself a mention; its service cannot get a
		// button, but must still show.
		if i == 1 {
			l.Services[i].ID = id
		}
	}
	return l
}

// worstRoom is as large as a room can make every piece of a list entry.
// Quotes are the characters that cost most in JSON and still pass
// ValidName: each costs 2 bytes in a text and 4 in a button value.
func worstRoom(room, id string) *roomclient.List {
	amp := func(n int) string { return strings.Repeat("&", n) }
	l := &roomclient.List{Room: room}
	// Times far from now, for the longest ages.
	long := now.Add(-1e6 * time.Hour)
	for i := range 40 {
		st := &roomclient.State{
			State:              amp(500) + fmt.Sprint(i),
			StartedAt:          now.Add(-time.Hour),
			RestartCount:       1 << 30,
			LastExitCode:       exit(-1 << 31),
			LastExitAt:         long,
			LastStartError:     amp(10000),
			LastStartErrorAt:   long,
			RestartScheduledAt: now.Add(1e6 * time.Hour),
			ContainerID:        amp(500),
		}
		for range 30 {
			st.Ports = append(st.Ports, roomclient.PortStatus{
				Num: amp(50), Liveness: amp(500),
				LivenessStatus: "not_ready", LastError: amp(5000),
				LastCheckedAt: long,
			})
			st.Events = append(st.Events, roomclient.Event{
				Type: amp(100), Reason: amp(500), Message: amp(5000),
				Count: 1 << 30, LastTimestamp: long,
			})
		}
		l.Services = append(l.Services, roomclient.Service{
			ID:   id + fmt.Sprint(i),
			Name: amp(400), Image: amp(5000), Description: amp(5000),
			ExternalURL: amp(5000), State: st,
		})
		l.Orphans = append(l.Orphans, *st)
	}
	return l
}
