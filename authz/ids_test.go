package authz

import (
	"slices"
	"strings"
	"testing"
)

func TestParseIDs(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", nil},
		{"only separators", " ,\n; ,", nil},
		{"one user", "U0ALICE01", []string{"U0ALICE01"}},
		{"enterprise user", "W0CAROL03", []string{"W0CAROL03"}},
		{"group", "S0OPS0001", []string{"S0OPS0001"}},
		{"lower case", "u0alice01", []string{"U0ALICE01"}},
		{"mention", "<@U0BOB0002>", []string{"U0BOB0002"}},
		{"mention with name", "<@U0BOB0002|bob>", []string{"U0BOB0002"}},
		{"mention with spaced name", "<@U0BOB0002|Bob Smith>, U0ALICE01",
			[]string{"U0BOB0002", "U0ALICE01"}},
		{"lower-case mention", "<@u0bob0002>", []string{"U0BOB0002"}},
		{"group mention", "<!subteam^S0OPS0001|@ops>", []string{"S0OPS0001"}},
		{"bare group mention", "<!subteam^S0OPS0001>", []string{"S0OPS0001"}},
		{"commas and spaces", "U0ALICE01, <@U0BOB0002>, S0OPS0001",
			[]string{"U0ALICE01", "U0BOB0002", "S0OPS0001"}},
		{"newlines and tabs", "U0ALICE01\n\tU0BOB0002\r\n",
			[]string{"U0ALICE01", "U0BOB0002"}},
		{"semicolons", "U0ALICE01;U0BOB0002;", []string{"U0ALICE01", "U0BOB0002"}},
		{"duplicates", "U0ALICE01 u0alice01 <@U0ALICE01>", []string{"U0ALICE01"}},
		{"long id", "U" + strings.Repeat("0", 20), []string{"U" + strings.Repeat("0", 20)}},
	}
	for _, tt := range tests {
		got, err := ParseIDs("ROOMBOT_ALLOWED_USERS", tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: ParseIDs(%q) = %q, %v; want %q",
				tt.name, tt.in, got, err, tt.want)
		}
	}
}

func TestParseIDsRefuses(t *testing.T) {
	tests := []struct {
		in, entry, why string
	}{
		{"@alice", "@alice", "names are not accepted"},
		{"alice", "alice", "not a Slack user id"},
		{"U0ALICE01, alice", "alice", "not a Slack user id"},
		{"samantha", "samantha", "not a Slack user id"},
		{"USERNAME", "USERNAME", "not a Slack user id"},
		{"alice@example.com", "alice@example.com", "emails are not accepted"},
		{"C0OPS0001", "C0OPS0001", "a channel is not"},
		{"c0ops0001", "c0ops0001", "a channel is not"},
		{"G0PRIV001", "G0PRIV001", "a channel is not"},
		{"D0DIRECT1", "D0DIRECT1", "a channel is not"},
		{"<#C0OPS0001|ops>", "<#C0OPS0001|ops>", "a channel is not"},
		{"<!here>", "<!here>", "only user and user group"},
		{"<!channel>", "<!channel>", "only user and user group"},
		{"B0BOT0001", "B0BOT0001", "not a Slack user id"},
		{"T0TEAM001", "T0TEAM001", "not a Slack user id"},
		{"U12", "U12", "not a Slack user id"},
		{"U0ALICE01!", "U0ALICE01!", "not a Slack user id"},
		{"<@U0ALICE01", "<@U0ALICE01", "not a user mention"},
		{"<@>", "<@>", "not a user mention"},
		{"<@C0OPS0001>", "<@C0OPS0001>", "not a user mention"},
		{"U" + strings.Repeat("0", 21), "U" + strings.Repeat("0", 21), "not a Slack user id"},
		{"U0ÄLICE01", "U0ÄLICE01", "not a Slack user id"},
		// Unicode case rules upper-case the dotless ı to I and the long
		// ſ to S; an id is ASCII, so these are not ids at all.
		{"u0alıce01", "u0alıce01", "not a Slack user id"},
		{"ſ0OPS0001", "ſ0OPS0001", "not a Slack user id"},
		{"<@u0alıce01|x>", "<@u0alıce01|x>", "not a user mention"},
		{"<!subteam^ſ0OPS0001>", "<!subteam^ſ0OPS0001>", "only user and user group"},
		{"U0ALICE01K", "U0ALICE01K", "not a Slack user id"},
	}
	for _, tt := range tests {
		got, err := ParseIDs("ROOMBOT_RESTART_USERS", tt.in)
		if err == nil {
			t.Errorf("ParseIDs(%q) = %q; want an error", tt.in, got)
			continue
		}
		msg := err.Error()
		for _, want := range []string{"ROOMBOT_RESTART_USERS",
			`"` + tt.entry + `"`, tt.why} {
			if !strings.Contains(msg, want) {
				t.Errorf("ParseIDs(%q) error %q; want it to contain %q",
					tt.in, msg, want)
			}
		}
		if got != nil {
			t.Errorf("ParseIDs(%q) = %q with an error; want nil", tt.in, got)
		}
	}
}
