package commands

import (
	"errors"
	"strings"
	"testing"
	"unicode"
)

func TestParse(t *testing.T) {
	long := strings.Repeat("a", MaxName)
	tests := []struct {
		name string
		text string
		want Command
		// err is a fragment of the usage message; empty means success.
		err string
	}{
		{name: "empty", text: "", want: Command{Verb: VerbHelp}},
		{name: "only spaces", text: " \t\n\u00a0 ", want: Command{Verb: VerbHelp}},
		{name: "help", text: "help", want: Command{Verb: VerbHelp}},
		{name: "help with words", text: "HELP restart", want: Command{Verb: VerbHelp}},
		{name: "list", text: "list myroom", want: list("myroom")},
		{name: "upper-case verb", text: "LIST myroom", want: list("myroom")},
		{name: "mixed-case verb", text: "ReStArT r s", want: restart("r", "s")},
		{name: "name case kept", text: "list MyRoom", want: list("MyRoom")},
		{name: "extra spaces", text: "  list    myroom   ", want: list("myroom")},
		{name: "tabs", text: "status\tmyroom\t\tweb", want: status("myroom", "web")},
		{name: "newlines", text: "restart\nmyroom\r\nweb\n", want: restart("myroom", "web")},
		{name: "no-break space", text: "restart\u00a0myroom\u00a0web", want: restart("myroom", "web")},
		{name: "ideographic and thin spaces", text: "list\u3000myroom\u2009", want: list("myroom")},
		{name: "smart double quotes", text: "restart “myroom” “web”", want: restart("myroom", "web")},
		{name: "smart single quotes", text: "status ‘myroom’ ‘web’", want: status("myroom", "web")},
		{name: "ascii quotes", text: `restart "myroom" 'web'`, want: restart("myroom", "web")},
		{name: "one pair removed", text: `list ""myroom""`, want: list(`"myroom"`)},
		{name: "apostrophe inside", text: "status myroom o’brien", want: status("myroom", "o'brien")},
		{name: "unbalanced quote kept", text: `list "myroom`, want: list(`"myroom`)},
		{name: "auto-linked name", text: "list <http://myroom.dev|myroom.dev>", want: list("myroom.dev")},
		{name: "link without label", text: "list <http://x>", want: list("http://x")},
		{name: "short link", text: "status <http://x|x> web", want: status("x", "web")},
		{name: "amp entity", text: "status r&amp;d web", want: status("r&d", "web")},
		{name: "typed entity stays", text: "list a&amp;lt;b", want: list("a&lt;b")},
		{name: "dots dashes slashes", text: "status my.room-1_a/b svc.v2", want: status("my.room-1_a/b", "svc.v2")},
		{name: "emoji name", text: "status 🚀room web", want: status("🚀room", "web")},
		{name: "star and backtick", text: "status r *a_`b~", want: status("r", "*a_`b~")},
		{name: "longest name", text: "list " + long, want: list(long)},
		{name: "watch", text: "Watch myroom", want: Command{Verb: VerbWatch, Room: "myroom"}},
		{name: "unwatch", text: "unwatch myroom", want: Command{Verb: VerbUnwatch, Room: "myroom"}},
		{name: "watching", text: "watching", want: Command{Verb: VerbWatching}},

		{name: "unknown verb", text: "reboot myroom", err: `unknown command "reboot"; try /room-services help`},
		{name: "watching a room", text: "watching lobby", err: "watching takes nothing after it; usage: /room-services watching"},
		{name: "missing room", text: "list", err: "missing ROOM; usage: /room-services list ROOM"},
		{name: "missing service", text: "restart myroom", err: "missing SERVICE; usage: /room-services restart ROOM SERVICE"},
		{name: "missing both", text: "status", err: "missing ROOM; usage: /room-services status ROOM SERVICE"},
		{name: "extra argument", text: "restart myroom web now", err: `unexpected "now" (names have no spaces); usage: /room-services restart ROOM SERVICE`},
		{name: "extra for list", text: "list a b", err: "usage: /room-services list ROOM"},
		{name: "extra for watching", text: "watching myroom", err: "usage: /room-services watching"},
		{name: "quoted space", text: `restart "my room" web`, err: "names cannot contain spaces"},
		{name: "smart quoted space", text: "list “my room”", err: "names cannot contain spaces"},
		{name: "channel reference", text: "list <#C0OPS0001|ops>", err: "looks like a Slack mention or channel"},
		{name: "user mention", text: "status myroom <@U0ALICE01>", err: "looks like a Slack mention"},
		{name: "named mention", text: "status <@U0ALICE01|alice> x", err: "looks like a Slack mention"},
		{name: "here", text: "list <!here>", err: "looks like a Slack mention"},
		{name: "typed mention", text: "list &lt;@U0ALICE01&gt;", err: "looks like a Slack mention"},
		{name: "typed angle", text: "list a&lt;b", err: "contains a character Slack reserves"},
		{name: "pipe", text: "list a|b", err: "contains a character Slack reserves"},
		{name: "zero-width space", text: "list my\u200broom", err: `the room name "my\u200broom" contains an invisible character (U+200B)`},
		{name: "zero-width joiner", text: "status r we\u200db", err: "service name"},
		{name: "word joiner", text: "list a\u2060", err: "invisible character (U+2060)"},
		{name: "byte order mark", text: "list \ufeffroom", err: "invisible character (U+FEFF)"},
		{name: "direction override", text: "list a\u202eb", err: "invisible character (U+202E)"},
		{name: "hangul filler", text: "list a\u3164", err: "invisible character"},
		{name: "control character", text: "list a\x07b", err: "control character (U+0007)"},
		{name: "escape sequence", text: "list a\x1b[31m", err: "control character"},
		{name: "zero-width only", text: "list \u200b", err: "invisible character"},
		{name: "empty quotes", text: `list ""`, err: "the room name is empty"},
		{name: "dot room", text: "list .", err: `"." cannot be a room name`},
		{name: "dot-dot service", text: "status lobby ..", err: `".." cannot be a service name`},
		// A service the room named so is named by its id, which list shows.
		{name: "untypeable service", text: "status lobby x|y", err: `contains a character Slack reserves (U+007C). If the room names a service so, give its id instead`},
		{name: "name too long", text: "list " + long + "x", err: "too long (over 128 characters)"},
		{name: "invisible verb", text: "li\u200bst myroom", err: `the command "li\u200bst" contains an invisible character (U+200B)`},
		{name: "byte order mark before the verb", text: "\ufefflist myroom", err: `contains an invisible character (U+FEFF)`},
		{name: "4 KB of text", text: "list " + strings.Repeat("x", 4096), err: "too long for a command"},
		{name: "just over limit", text: strings.Repeat(" ", MaxText+1), err: "too long for a command"},
		{name: "invalid UTF-8", text: "list \xff", err: "not valid text"},

		// help needs no arguments, and is not refused for theirs.
		{name: "help with a mention", text: "help <@U0ALICE01>", want: Command{Verb: VerbHelp}},
		{name: "help with a channel", text: "Help <#C0OPS0001|ops> x", want: Command{Verb: VerbHelp}},
		{name: "help with a bad character", text: "help a\u200b|b", want: Command{Verb: VerbHelp}},

		// Names pasted from code formatting.
		{name: "backticks", text: "list `lobby`", want: list("lobby")},
		{name: "code block", text: "status ```lobby``` `web`", want: status("lobby", "web")},
		{name: "backtick inside kept", text: "list a`b", want: list("a`b")},
		{name: "unbalanced backtick kept", text: "list `lobby", want: list("`lobby")},
		{name: "backticked space", text: "list `my room`", err: "names cannot contain spaces"},
		{name: "only backticks", text: "list ``", err: "the room name is empty"},

		// Blank and meaningless characters.
		{name: "braille blank", text: "list r\u2800", err: "invisible character (U+2800)"},
		{name: "variation selector after a letter", text: "list r\ufe0f",
			err: "invisible character (U+FE0F)"},
		{name: "variation selector first", text: "list \ufe0fr", err: "(U+FE0F)"},
		{name: "emoji with its variation selector", text: "list \u2764\ufe0f",
			want: list("\u2764\ufe0f")},
		{name: "keycap", text: "list 1\ufe0f\u20e3", want: list("1\ufe0f\u20e3")},
		{name: "lone combining mark", text: "list \u0301",
			err: "a combining mark with nothing to combine with (U+0301)"},
		{name: "combining mark first", text: "list \u0301abc", err: "combining mark"},
		{name: "accented letter", text: "list cafe\u0301", want: list("cafe\u0301")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.text)
			if tt.err == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Parse(%q) = %+v, %v; want %+v",
						tt.text, got, err, tt.want)
				}
				return
			}
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("Parse(%q) = %+v, %v; want a *UsageError",
					tt.text, got, err)
			}
			if !strings.Contains(ue.Msg, tt.err) {
				t.Errorf("Parse(%q) error = %q; want it to contain %q",
					tt.text, ue.Msg, tt.err)
			}
			if got != (Command{}) {
				t.Errorf("Parse(%q) = %+v with an error; want zero",
					tt.text, got)
			}
		})
	}
}

func list(room string) Command { return Command{Verb: VerbList, Room: room} }

func status(room, svc string) Command {
	return Command{Verb: VerbStatus, Room: room, Service: svc}
}

func restart(room, svc string) Command {
	return Command{Verb: VerbRestart, Room: room, Service: svc}
}

func TestUsageMessagesAreShort(t *testing.T) {
	// Usage errors go to Slack as they are; a pasted wall of text must
	// not come back as one.
	inputs := []string{
		"list " + strings.Repeat("\u200b", 300),
		strings.Repeat("ü", 400),
		"status r " + strings.Repeat("y", 500),
		"list <#C1|" + strings.Repeat("z", 800) + ">",
	}
	for _, in := range inputs {
		_, err := Parse(in)
		if err == nil {
			t.Fatalf("Parse(%.20q…) succeeded; want an error", in)
		}
		if n := len(err.Error()); n > 300 {
			t.Errorf("Parse(%.20q…) error is %d bytes; want ≤ 300: %s",
				in, n, err)
		}
	}
}

func TestValidName(t *testing.T) {
	good := []string{"myroom", "myroom.dev", "a/b", "o'brien", "x", "*", "`"}
	for _, s := range good {
		if err := ValidName("room", s); err != nil {
			t.Errorf("ValidName(room, %q) = %v; want nil", s, err)
		}
	}
	bad := []string{"", "a b", "a\tb", "<x", "x>", "a|b", "<@U1>",
		"a\u00a0b", "\u200c", "a\u00adb", "\x00"}
	for _, s := range bad {
		err := ValidName("service", s)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(ue.Msg, "service") {
			t.Errorf("ValidName(service, %q) = %v; "+
				"want a *UsageError naming the service", s, err)
		}
	}
}

func TestUsage(t *testing.T) {
	tests := map[Verb]string{
		VerbList:     "/room-services list ROOM",
		VerbRestart:  "/room-services restart ROOM SERVICE",
		VerbWatching: "/room-services watching",
		VerbHelp:     "/room-services help",
	}
	for v, want := range tests {
		if got := Usage(v); got != want {
			t.Errorf("Usage(%q) = %q; want %q", v, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		"", "list myroom", "restart “a” ‘b’", "status <http://x|x> y",
		"list <#C1|n>", "list a&amp;b", "watch\u00a0r", "help me",
		"status r \u200bx", `restart "a b" c`, "list <", "list <>",
		"list <|>", "list '", `list "`, "list &amp;lt;",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		cmd, err := Parse(text)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) || ue.Msg == "" {
				t.Fatalf("Parse(%q) error %v is not a usage error",
					text, err)
			}
			return
		}
		if _, ok := operands(cmd.Verb); !ok {
			t.Fatalf("Parse(%q) verb = %q; not a verb", text, cmd.Verb)
		}
		checkName(t, text, "room", cmd.Room)
		checkName(t, text, "service", cmd.Service)
	})
}

func checkName(t *testing.T, text, kind, name string) {
	t.Helper()
	if name == "" {
		return
	}
	if err := ValidName(kind, name); err != nil {
		t.Fatalf("Parse(%q) %s = %q, which ValidName refuses: %v",
			text, kind, name, err)
	}
	if strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		t.Fatalf("Parse(%q) %s = %q contains white space",
			text, kind, name)
	}
}

// TestQuoteKeepsGraphemeClusters: a long name quoted in a usage message is
// shortened between what a reader sees as characters, not inside a flag,
// a skin tone or an accented letter.
func TestQuoteKeepsGraphemeClusters(t *testing.T) {
	tests := []struct{ in, want string }{
		{strings.Repeat("a", 39) + "🇺🇸x", `"` + strings.Repeat("a", 39) + `…"`},
		{strings.Repeat("a", 38) + "🇺🇸x", `"` + strings.Repeat("a", 38) + `🇺🇸…"`},
		{strings.Repeat("a", 39) + "👍🏽", `"` + strings.Repeat("a", 39) + `…"`},
		{strings.Repeat("a", 39) + "e\u0301", `"` + strings.Repeat("a", 39) + `…"`},
		{strings.Repeat("a", 40), `"` + strings.Repeat("a", 40) + `"`},
		{"a\u200bb", `"a\u200bb"`},
	}
	for _, tt := range tests {
		if got := string(quote(tt.in)); got != tt.want {
			t.Errorf("quote(%q) = %s; want %s", tt.in, got, tt.want)
		}
	}
}
