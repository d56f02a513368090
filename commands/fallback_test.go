package commands_test

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

// loud matches what Slack turns into a mention or a channel link when it
// parses a message's text (parse=full, link_names): @here, @channel,
// @everyone, @name and #channel.
var loud = regexp.MustCompile(`[@#][\p{L}\p{N}]`)

// TestFallbackTextIsQuiet: the fallback text of every message, which
// Slack shows in notifications and may parse for mentions, carries no
// @here, @channel or #channel from data, whatever the poster's options.
func TestFallbackTextIsQuiet(t *testing.T) {
	const d = "@here@channel#general"
	st := &roomclient.State{State: d, LastStartError: d}
	svc := roomclient.Service{ID: "svc-1", Name: d, State: st}
	l := &roomclient.List{Room: d, Services: []roomclient.Service{svc, svc}}
	_, err := commands.Parse("list " + d + " x")
	var ue *commands.UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("Parse: %v; want a usage error", err)
	}
	msgs := map[string]commands.Message{
		"list":        commands.List(l, 1, true, now),
		"status":      commands.Status(d, svc, true, now),
		"confirm":     commands.Confirm(commands.Confirmation{Room: d, Service: svc, Token: "t", Now: now}),
		"candidates":  commands.Candidates(commands.VerbStatus, d, d, l.Services),
		"not found":   commands.Candidates(commands.VerbStatus, d, d, nil),
		"restarting":  commands.Restarting(d, d, "U0ALICE01"),
		"cancelled":   commands.Cancelled(d, d, "U0ALICE01"),
		"in flight":   commands.InFlight(d, d, "U0ALICE01", now, now),
		"failed":      commands.RestartFailed(d, d, d),
		"error":       commands.Error(d),
		"errorf":      commands.Errorf("Room %s answered: %s", d, d),
		"usage":       ue.Reply(),
		"announce":    commands.Announce(commands.Episode{Room: d, Service: d, State: d, Restarts: 1}),
		"down":        commands.Unreachable(d, now, d),
		"up":          commands.Reachable(d, time.Minute),
		"watched":     commands.Watched(d, "D0DIRECT1", true),
		"unwatched":   commands.Unwatched(d, "D0DIRECT1"),
		"not watched": commands.NotWatched(d, "D0DIRECT1"),
		"configured":  commands.WatchConfigured(d, "D0DIRECT1"),
	}
	for _, p := range []commands.Phase{commands.PhaseRequested, commands.PhaseBack,
		commands.PhaseNotBack, commands.PhaseUnknown} {
		msgs["notice "+string(p)] = commands.Notify(commands.Notice{Requester: "U0ALICE01",
			Room: d, Service: svc, Phase: p, State: d})
	}
	for name, m := range msgs {
		check(t, name, m, "U0ALICE01")
		if got := loud.FindString(m.Text); got != "" {
			t.Errorf("%s: fallback text %q has %q", name, m.Text, got)
		}
	}
}
