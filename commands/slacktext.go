package commands

import (
	"strings"
	"unicode"
)

// unslack undoes what Slack does to typed text before it reaches us: it
// escapes &, < and > as entities, and wraps what it recognises in <…>.
// Links become their label (Slack links a typed myroom.dev as
// <http://myroom.dev|myroom.dev>), or their target when they have none.
// Mentions and channel references are refused: they are never names.
//
// Markup is taken apart before entities are decoded, because only a raw <
// is Slack's: a typed < arrives as &lt; and must stay text.
func unslack(text string) (string, error) {
	var b strings.Builder
	for {
		start := strings.IndexByte(text, '<')
		if start < 0 {
			break
		}
		n := strings.IndexByte(text[start:], '>')
		if n < 0 {
			break
		}
		inner := text[start+1 : start+n]
		if isReference(inner) {
			return "", usagef("%s looks like a Slack mention or "+
				"channel, not a room or service name",
				quote(text[start:start+n+1]))
		}
		b.WriteString(unescape(text[:start]))
		b.WriteString(unescape(linkText(inner)))
		text = text[start+n+1:]
	}
	b.WriteString(unescape(text))
	return b.String(), nil
}

// isReference reports whether the inside of <…> is a user (@U…), channel
// (#C…) or special (!here, !subteam^S…) reference.
func isReference(inner string) bool {
	return inner != "" && strings.ContainsRune("@#!", rune(inner[0]))
}

func linkText(inner string) string {
	if i := strings.IndexByte(inner, '|'); i >= 0 {
		return inner[i+1:]
	}
	return inner
}

// unescape decodes the three entities Slack uses, in one pass, so that
// a typed "&lt;" (sent as "&amp;lt;") stays "&lt;".
func unescape(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	r := strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")
	return r.Replace(s)
}

// straighten turns typographic quotes, which Slack clients and operating
// systems put in while the user types, back into ASCII ones.
func straighten(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '“', '”', '„', '‟', '″':
			return '"'
		case '‘', '’', '‚', '‛', '′':
			return '\''
		}
		return r
	}, s)
}

// split cuts s into words at any run of Unicode white space, which
// covers tabs, newlines and the no-break spaces Slack clients send. A
// quoted name with a space inside is refused here, with a message that
// says so, rather than later as a confusing extra word.
func split(s string) ([]string, error) {
	words := strings.FieldsFunc(s, unicode.IsSpace)
	for i, w := range words {
		if opensQuote(w) && closesLater(words[i+1:], w[0]) {
			return nil, usagef("room and service names "+
				"cannot contain spaces: %s",
				quote(strings.Join(words[i:], " ")))
		}
	}
	return words, nil
}

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

func opensQuote(w string) bool {
	if !isQuote(w[0]) {
		return false
	}
	return len(w) == 1 || w[len(w)-1] != w[0]
}

func closesLater(words []string, q byte) bool {
	for _, w := range words {
		if w[len(w)-1] == q {
			return true
		}
	}
	return false
}

// unquote removes what users put around a name out of habit: one pair of
// matching quotes, or the backticks of Slack's code formatting, as when a
// name is pasted from a reply (`lobby`, ```lobby```).
func unquote(w string) string {
	n := len(w)
	if n < 2 || !isQuote(w[0]) || w[n-1] != w[0] {
		return w
	}
	if w[0] != '`' {
		return w[1 : n-1]
	}
	k := min(n-len(strings.TrimLeft(w, "`")), n-len(strings.TrimRight(w, "`")))
	if 2*k >= n {
		return ""
	}
	return w[k : n-k]
}
