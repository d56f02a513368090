package slackid

import (
	"strings"
	"testing"
)

func TestKinds(t *testing.T) {
	tests := []struct {
		id                   string
		user, group, channel bool
	}{
		{"U0ALICE01", true, false, false},
		{"W0CAROL03", true, false, false},
		{"S0OPS0001", false, true, false},
		{"C0OPS0001", false, false, true},
		{"G0PRIV001", false, false, true},
		{"D0DIRECT1", false, false, false},
		{"B0BOT0001", false, false, false},
		{"U123456", true, false, false},                      // shortest
		{"U12345", false, false, false},                      // too short
		{"U" + strings.Repeat("1", 20), true, false, false},  // longest
		{"U" + strings.Repeat("1", 21), false, false, false}, // too long
		{"USERNAME", false, false, false},                    // no digit
		{"SAMANTHA", false, false, false},                    // no digit
		{"u0alice01", false, false, false},                   // lower case
		{"U0ALıCE01", false, false, false},                   // not ASCII
		{"U0ALICE01|x", false, false, false},
		{"U0ALICE01> <!here", false, false, false},
		{"<@U0ALICE01>", false, false, false},
		{"", false, false, false},
	}
	for _, tt := range tests {
		if got := IsUser(tt.id); got != tt.user {
			t.Errorf("IsUser(%q) = %v; want %v", tt.id, got, tt.user)
		}
		if got := IsGroup(tt.id); got != tt.group {
			t.Errorf("IsGroup(%q) = %v; want %v", tt.id, got, tt.group)
		}
		if got := IsChannel(tt.id); got != tt.channel {
			t.Errorf("IsChannel(%q) = %v; want %v", tt.id, got, tt.channel)
		}
	}
	if !Is("D0DIRECT1", 'D') {
		t.Error(`Is("D0DIRECT1", 'D') = false; want true`)
	}
}
