package commands

import (
	"strings"
	"testing"
	"unicode/utf16"
)

// TestPlainTextCountsCharacters: plain_text fields (headers, the confirm
// dialog) are held to Slack's limits in characters, not to the bytes the
// characters take in JSON: a dialog title of 100 characters showed 26 of
// a name of 60 CJK characters, and an & cost as much as 10 letters.
func TestPlainTextCountsCharacters(t *testing.T) {
	cjk60, cjk128 := strings.Repeat("界", 60), strings.Repeat("界", MaxName)
	amps := strings.Repeat("R&D&Ops&Infra", 3)
	tests := []struct {
		name, got, want string
	}{
		{"dialog title, 60 CJK", dialog("r", cjk60, "").Title.Text,
			"Restart " + cjk60 + "?"},
		{"dialog title, ampersands", dialog("r", amps, "").Title.Text,
			"Restart " + strings.ReplaceAll(amps, "&", "&amp;") + "?"},
		{"dialog text, 60 CJK", dialog(cjk60, cjk60, "").Text.Text,
			cjk60 + " in " + cjk60 + " will stop and start again."},
		{"dialog text with an id", dialog("fleet", "worker", "flt-worker-b").Text.Text,
			"worker (id flt-worker-b) in fleet will stop and start again."},
		{"status header, 60 CJK", statusHeader(cjk60, cjk60),
			cjk60 + " in " + cjk60},
		{"list header, 128 CJK", listHeader(cjk128), "Services in " + cjk128},
	}
	for _, tt := range tests {
		if !strings.HasPrefix(tt.got, tt.want) {
			t.Errorf("%s = %q; want it to start %q", tt.name, tt.got, tt.want)
		}
	}
}

// TestPlainTextLimits: however the names run, the plain_text fields stay
// within Slack's limits counted in UTF-16 units, the strictest reading of
// "characters", and never split an escaped entity.
func TestPlainTextLimits(t *testing.T) {
	for _, c := range []string{"&", "<", "😀", "界", "a", "e\u0301"} {
		n := strings.Repeat(c, MaxName)
		d, withID := dialog(n, n, ""), dialog(n, n, n)
		fields := []struct {
			what, text string
			max        int
		}{
			{"dialog title", d.Title.Text, maxTitle},
			{"dialog text", d.Text.Text, maxDialogText},
			{"dialog text with an id", withID.Text.Text, maxDialogText},
			{"list header", listHeader(n), maxHeader},
			{"status header", statusHeader(n, n), maxHeader},
		}
		for _, f := range fields {
			if u := len(utf16.Encode([]rune(f.text))); u > f.max {
				t.Errorf("%s of %d × %q: %d UTF-16 units; want at most %d",
					f.what, MaxName, c, u, f.max)
			}
			if entityRE.ReplaceAllString(f.text, "") != strings.NewReplacer(
				"&", "", "<", "", ">", "").Replace(entityRE.ReplaceAllString(f.text, "")) {
				t.Errorf("%s of %d × %q = %q has a bare & or a split entity",
					f.what, MaxName, c, f.text)
			}
		}
	}
}
