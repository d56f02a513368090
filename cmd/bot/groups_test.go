package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/roomops/roombot/authz"
	"github.com/roomops/roombot/slacksim"
)

// TestResolveGroupsAtStart: a group Slack does not know is logged with
// its id and Slack's answer; a bot token Slack refuses is not, since the
// bot's own token check names it and ends the process, and a warning
// about groups first would send the operator the wrong way.
func TestResolveGroupsAtStart(t *testing.T) {
	sl := slacksim.NewServer(t, slacksim.Config{})
	sl.SetUserGroup("S0OPS0001", "U0BOB0002")
	tests := []struct {
		name, token string
		want        []string // in the log; none means nothing logged
	}{
		{"unknown group", sl.Config().BotToken, []string{"user groups not resolved", "S0NOSUCH1", "no_such_subteam"}},
		{"refused token", "xoxb-not-the-right-one", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := slack.New(tt.token, slack.OptionAPIURL(sl.APIURL()))
			policy, err := authz.New([]string{"S0OPS0001", "S0NOSUCH1"}, nil, api)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			resolveGroups(testContext(t), policy, slog.New(slog.NewTextHandler(&buf, nil)))
			out := buf.String()
			if tt.want == nil && out != "" {
				t.Errorf("logged:\n%s\nwant nothing", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("log lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "S0OPS0001:") {
				t.Errorf("the group Slack resolved is logged as failed:\n%s", out)
			}
		})
	}
}
