package term

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// symbols stand in for the emoji codes roombot uses. Other codes stay as
// they are, which is still readable.
var symbols = map[string]string{
	"large_green_circle":      "🟢",
	"large_yellow_circle":     "🟡",
	"red_circle":              "🔴",
	"white_circle":            "⚪",
	"grey_question":           "❔",
	"warning":                 "⚠️",
	"arrows_counterclockwise": "🔄",
	"calendar":                "📅",
	"hourglass":               "⌛",
	"hourglass_flowing_sand":  "⏳",
	"information_source":      "ℹ️",
	"no_entry_sign":           "🚫",
	"lock":                    "🔒",
	"boom":                    "💥",
	"fire":                    "🔥",
	"x":                       "❌",
	"white_check_mark":        "✅",
	"eyes":                    "👀",
	"no_bell":                 "🔕",
	"heavy_plus_sign":         "➕",
	"heavy_minus_sign":        "➖",
	"repeat":                  "🔁",
}

// Mrkdwn turns Slack mrkdwn into what a reader sees: <@U…> as @U…,
// <!here> as @here, <#C…|name> as #name, links as their label and
// target, *bold* without its stars, emoji codes as symbols, and &amp;,
// &lt;, &gt; as &, <, >. Inside `code` only the entities are decoded,
// so a name such as `*` or `a:b:c` shows as it is.
func Mrkdwn(s string) string {
	var b strings.Builder
	for s != "" {
		start := strings.IndexByte(s, '`')
		if start < 0 {
			break
		}
		n := strings.IndexAny(s[start+1:], "`\n")
		if n < 0 || s[start+1+n] != '`' {
			// An unpaired backtick is text; keep going after it.
			b.WriteString(prose(s[:start+1]))
			s = s[start+1:]
			continue
		}
		end := start + 1 + n
		b.WriteString(prose(s[:start]))
		b.WriteString("`" + unescape(s[start+1:end]) + "`")
		s = s[end+1:]
	}
	b.WriteString(prose(s))
	return b.String()
}

// prose converts text outside code. Slack's own markup, <…>, is taken
// apart before entities are decoded: a < typed by a person arrives as
// &lt; and is text.
func prose(s string) string {
	var b strings.Builder
	for {
		start := strings.IndexByte(s, '<')
		if start < 0 {
			break
		}
		n := strings.IndexByte(s[start:], '>')
		if n < 0 {
			break
		}
		b.WriteString(plain(s[:start]))
		b.WriteString(unescape(reference(s[start+1 : start+n])))
		s = s[start+n+1:]
	}
	b.WriteString(plain(s))
	return b.String()
}

// plain converts text with no <…> in it.
func plain(s string) string {
	return unescape(emoji(unbold(s)))
}

// reference shows the inside of <…>: a mention, a channel, a special
// mention or a link.
func reference(inner string) string {
	target, label, hasLabel := strings.Cut(inner, "|")
	switch {
	case strings.HasPrefix(target, "@"):
		if hasLabel {
			return "@" + strings.TrimPrefix(label, "@")
		}
		return target
	case strings.HasPrefix(target, "#"):
		if hasLabel {
			return "#" + label
		}
		return target
	case strings.HasPrefix(target, "!"):
		// <!here>, <!subteam^S…|@team>, <!date^…|fallback>.
		if hasLabel {
			return label
		}
		name, _, _ := strings.Cut(target[1:], "^")
		if name == "subteam" {
			_, id, _ := strings.Cut(target, "^")
			return "@" + id
		}
		return "@" + name
	case hasLabel && label != target:
		return label + " (" + target + ")"
	}
	return target
}

// unbold drops the stars around *bold* text, following Slack's rule: the
// opening star is not preceded by a word character and is followed by a
// non-space, and the closing star the other way round, on the same line.
func unbold(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '*' || !opens(s, i) {
			b.WriteByte(s[i])
			continue
		}
		j := closing(s, i)
		if j < 0 {
			b.WriteByte(s[i])
			continue
		}
		b.WriteString(s[i+1 : j])
		i = j
	}
	return b.String()
}

func opens(s string, i int) bool {
	if i > 0 && isWord(lastRune(s[:i])) {
		return false
	}
	return i+1 < len(s) && s[i+1] != ' ' && s[i+1] != '*' && s[i+1] != '\n'
}

// closing finds the star that closes the bold text opened at i, or -1.
func closing(s string, i int) int {
	for j := i + 2; j < len(s); j++ {
		switch {
		case s[j] == '\n':
			return -1
		case s[j] == '*' && s[j-1] != ' ' &&
			(j+1 == len(s) || !isWord(firstRune(s[j+1:]))):
			return j
		}
	}
	return -1
}

// emoji replaces the :codes: it knows.
func emoji(s string) string {
	var b strings.Builder
	for {
		start := strings.IndexByte(s, ':')
		if start < 0 {
			break
		}
		n := strings.IndexByte(s[start+1:], ':')
		if n < 0 {
			break
		}
		if sym, ok := symbols[s[start+1:start+1+n]]; ok {
			b.WriteString(s[:start] + sym)
			s = s[start+n+2:]
			continue
		}
		// Not a code we know: the second colon may open the next one.
		b.WriteString(s[:start+1+n])
		s = s[start+1+n:]
	}
	b.WriteString(s)
	return b.String()
}

// unescape decodes Slack's three entities in one pass, so "&amp;lt;"
// becomes "&lt;" and not "<".
func unescape(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return entities.Replace(s)
}

var entities = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")

func isWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}
