package commands

import (
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rivo/uniseg"
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

// TestEscKeepsGraphemeClusters: a cut falls between what a reader sees
// as one character, never inside an emoji sequence, a flag, a skin tone,
// a keycap or a letter with its accent.
func TestEscKeepsGraphemeClusters(t *testing.T) {
	inputs := map[string]string{
		"family":    "👨\u200d👩\u200d👧\u200d👦",
		"flag":      "🇺🇸",
		"accent":    "e\u0301",
		"skin tone": "👍🏽",
		"keycap":    "1\ufe0f\u20e3",
		"hangul":    "\u1100\u1161\u11a8",
	}
	for label, cluster := range inputs {
		for pad := range 12 {
			in := strings.Repeat("a", pad) + strings.Repeat(cluster, 60)
			for _, max := range []int{40, 70, 80, 100, 120} {
				got := esc(in, max)
				if !strings.HasSuffix(got, ellipsis) {
					t.Fatalf("esc(%d × %s, %d) = %q; want it cut", 60, label, max, got)
				}
				if !wholeClusters(in, strings.TrimSuffix(got, ellipsis)) {
					t.Errorf("esc(%d a + 60 × %s, %d) = …%q; cut inside a cluster",
						pad, label, max, tail(got))
				}
			}
		}
	}
}

// wholeClusters reports whether kept is s cut between two of its
// grapheme clusters; s has nothing that escaping changes.
func wholeClusters(s, kept string) bool {
	if !strings.HasPrefix(s, kept) {
		return false
	}
	state, n := -1, 0
	for n < len(kept) {
		var c string
		c, _, _, state = uniseg.FirstGraphemeClusterInString(s[n:], state)
		n += len(c)
	}
	return n == len(kept)
}

func tail(s string) string {
	r := []rune(s)
	return string(r[max(0, len(r)-8):])
}

// TestFitReadsOnlyWhatItKeeps: cutting a long string costs about what
// cutting a short one does; fit used to read all of it first, and ten
// services with fields of 100,000 characters took a third of a second.
// Times are the best of several runs, and the bound is loose, so that a
// busy machine does not fail it.
func TestFitReadsOnlyWhatItKeeps(t *testing.T) {
	short := strings.Repeat("ab&界👍🏽", 50)
	long := strings.Repeat(short, 2000) // 2,000 times as long
	best := func(s string) time.Duration {
		d := time.Duration(math.MaxInt64)
		for range 5 {
			start := time.Now()
			for range 100 {
				fit(s, 200, true)
			}
			d = min(d, time.Since(start))
		}
		return d
	}
	if s, l := best(short), best(long); l > 20*s {
		t.Errorf("fit of a string 2,000 times as long took %v, %.0f times "+
			"the %v of the short one; want about the same", l, float64(l)/float64(s), s)
	}
}

func FuzzFit(f *testing.F) {
	f.Add("a&b<c>d🚀`x`", 20, true)
	f.Add("\xff\u202e\n", 5, false)
	f.Add("👨\u200d👩\u200d👧🇺🇸e\u0301", 12, false)
	f.Add("x", math.MinInt, false)
	f.Fuzz(func(t *testing.T, s string, max int, inCode bool) {
		// A plain modulo: abs(math.MinInt) is still negative.
		max = 3 + int(uint(max)%400)
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
		if kept, cut := strings.CutSuffix(got, ellipsis); cut &&
			!keptClusters(s, kept, inCode) {
			t.Fatalf("fit(%q, %d) = %q is cut inside a grapheme cluster", s, max, got)
		}
	})
}

// keptClusters reports whether kept is what fit shows of the first few
// grapheme clusters of s.
func keptClusters(s, kept string, inCode bool) bool {
	state, shown := -1, ""
	for shown != kept && len(shown) < len(kept) && s != "" {
		var c string
		c, s, _, state = uniseg.FirstGraphemeClusterInString(s, state)
		shown += fit(c, math.MaxInt, inCode)
	}
	return shown == kept
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
