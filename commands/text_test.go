package commands

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEsc(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"plain", 100, "plain"},
		{"a&b<c>d", 100, "a&amp;b&lt;c&gt;d"},
		{`"quotes" 'and' *stars*`, 100, `"quotes" 'and' *stars*`},
		{"&amp;", 100, "&amp;amp;"},
		{"tab\tnew\nline\u2028", 100, "tab new line "},
		{"bell\x07", 100, "bell "},
		{"ab\u202ecd", 100, "ab\ufffdcd"},
		{"bad\xffutf8", 100, "bad\ufffdutf8"},
		// Cut with room for the ellipsis (3 bytes).
		{"abcdefgh", 8, "abcdefgh"},
		{"abcdefgh", 7, "abcd…"},
		// An entity is never cut in half: & costs 10, so it goes.
		{"abc&def", 12, "abc…"},
		{"abc&defgh", 17, "abc&amp;d…"},
		// Emoji are cut between, never inside.
		{"🚀🚀🚀", 11, "🚀🚀…"},
		{"🚀🚀🚀", 12, "🚀🚀🚀"},
	}
	for _, tt := range tests {
		if got := esc(tt.in, tt.max); got != tt.want {
			t.Errorf("esc(%q, %d) = %q; want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"web", "`web`"},
		{"back`tick", "`backˋtick`"},
		{"*b* _i_ ~s~", "`*b* _i_ ~s~`"},
		{"<!channel>", "`&lt;!channel&gt;`"},
		{"", "_(empty)_"},
	}
	for _, tt := range tests {
		if got := code(tt.in, 100); got != tt.want {
			t.Errorf("code(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
	if got := word("running", 60); got != "running" {
		t.Errorf("word(running) = %q; want it plain", got)
	}
	if got := word("crash_loop", 60); got != "`crash_loop`" {
		t.Errorf("word(crash_loop) = %q; want a code span", got)
	}
}

var entityRE = regexp.MustCompile(`&(amp|lt|gt);`)

func FuzzFit(f *testing.F) {
	f.Add("a&b<c>d🚀`x`", 20, true)
	f.Add("\xff\u202e\n", 5, false)
	f.Fuzz(func(t *testing.T, s string, max int, inCode bool) {
		max = 3 + abs(max)%400
		got := fit(s, max, inCode)
		if c := textCost(got); c > max {
			t.Fatalf("fit(%q, %d) = %q costs %d", s, max, got, c)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("fit(%q, %d) = %q is not valid UTF-8", s, max, got)
		}
		if strings.ContainsAny(got, "<>\n") {
			t.Fatalf("fit(%q, %d) = %q has raw markup", s, max, got)
		}
		if strings.Count(entityRE.ReplaceAllString(got, ""), "&") > 0 {
			t.Fatalf("fit(%q, %d) = %q has a bare &", s, max, got)
		}
		if inCode && strings.Contains(got, "`") {
			t.Fatalf("fit(%q, %d) = %q has a backtick", s, max, got)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func TestAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Hour, "0 s"},
		{12 * time.Second, "12 s"},
		{4*time.Minute + 59*time.Second, "4 min"},
		{3 * time.Hour, "3 h"},
		{3*time.Hour + 4*time.Minute, "3 h 4 min"},
		{49 * time.Hour, "2 d 1 h"},
		{48 * time.Hour, "2 d"},
	}
	for _, tt := range tests {
		if got := age(tt.d); got != tt.want {
			t.Errorf("age(%v) = %q; want %q", tt.d, got, tt.want)
		}
	}
}

func TestMention(t *testing.T) {
	tests := map[string]string{
		"U0ALICE01":             "<@U0ALICE01>",
		"W0CAROL03":             "<@W0CAROL03>",
		"u0alice01":             "someone",
		"S0OPS0001":             "someone",
		"U":                     "someone",
		"USERNAME":              "someone", // authz would not take it
		"U0ALICE01\u0131":       "someone",
		"U0ALICE01>":            "someone",
		"<!channel>":            "someone",
		"U0ALICE01|x":           "someone",
		strings.Repeat("U", 33): "someone",
	}
	for in, want := range tests {
		if got := mention(in); got != want {
			t.Errorf("mention(%q) = %q; want %q", in, got, want)
		}
	}
}
