package commands

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/rivo/uniseg"

	"github.com/roomops/roombot/authz/slackid"
)

// Sizes here are mostly costs: the bytes a string takes in the message
// JSON that slack-go sends (encoding/json, which writes & < > as \u0026
// and so on). A cost bounds the UTF-8 length, the number of characters
// and the number of UTF-16 units alike, so a text within a cost fits any
// way Slack counts, and the JSON size of a message can be bounded from
// its parts. plain_text fields with tight limits of their own (headers,
// the confirm dialog) are measured in characters instead; see plain.

const ellipsis = "…"

// esc escapes s for Slack and cuts it to cost at most max, as fit does.
func esc(s string, max int) string { return fit(s, max, false) }

// flat shows s in a message's fallback text (Message.Text), which Slack
// shows in notifications and parses for mentions and channel names when
// a message is posted with parse=full or link_names: escaped, cut to
// cost at most max, and with a word joiner (U+2060), which nobody sees,
// after each @ and #, so that @here, @channel and #general from data
// stay text.
func flat(s string, max int) string { return quiet(fitBy(s, max, false, flatCost)) }

// quiet puts a word joiner after each @ and # of s.
func quiet(s string) string {
	if !strings.ContainsAny(s, "@#") {
		return s
	}
	return quieter.Replace(s)
}

var quieter = strings.NewReplacer("@", "@\u2060", "#", "#\u2060")

// flatCost is cost with the word joiner quiet adds.
func flatCost(r rune) int {
	if r == '@' || r == '#' {
		return cost(r) + cost('\u2060')
	}
	return cost(r)
}

// plain escapes s for a plain_text field, whose limit Slack counts in
// characters, and cuts it to at most max of them. Characters are counted
// as UTF-16 units once escaped (an & is the 5 of &amp;), which is never
// fewer than code points, the other reading of "characters". Each is at
// most 3 bytes of JSON, so a field's limit also bounds its size.
func plain(s string, max int) string { return fitBy(s, max, false, chars) }

// code shows s in a code span, where Slack ignores *, _ and ~ and leaves
// :emoji: codes alone. The whole span costs at most max.
func code(s string, max int) string {
	if s == "" {
		return "_(empty)_"
	}
	return "`" + fit(s, max-2, true) + "`"
}

// name shows a room or service name.
func name(s string, max int) string {
	if s == "" {
		return "_(no name)_"
	}
	return code(s, max)
}

// word shows a short free string from a room, such as a state: as is when
// it is made of letters, digits, spaces and dashes, in a code span when
// it could be read as formatting.
func word(s string, max int) string {
	for _, r := range s {
		plain := unicode.IsLetter(r) || unicode.IsDigit(r) ||
			r == ' ' || r == '-'
		if !plain {
			return code(s, max)
		}
	}
	return esc(s, max)
}

// fit escapes s and cuts it to cost at most max, ending it with an
// ellipsis when it was cut. Cuts fall between grapheme clusters, what a
// reader sees as one character, so no emoji sequence, flag or accented
// letter is split; and after escaping, so no entity is. fit reads only as
// much of s as it can keep: a long string costs no more than a short one.
func fit(s string, max int, inCode bool) string {
	return fitBy(s, max, inCode, cost)
}

// fitBy is fit with each character costing what measure says.
func fitBy(s string, max int, inCode bool, measure func(rune) int) string {
	room := max - measure('…') // what may be kept when s is cut
	used, keep := 0, 0
	state := -1
	for rest := s; rest != ""; {
		var c string
		c, rest, state = cluster(rest, state)
		used += clusterCost(c, inCode, measure)
		if used > max {
			return write(s[:keep], inCode) + ellipsis
		}
		if used <= room {
			keep = len(s) - len(rest)
		}
	}
	return write(s, inCode)
}

// cluster splits the first grapheme cluster off s. Two ASCII characters
// other than CR are always two clusters, which spares most text the
// cost of segmenting it.
func cluster(s string, state int) (c, rest string, newState int) {
	if s[0] < utf8.RuneSelf && s[0] != '\r' &&
		(len(s) == 1 || s[1] < utf8.RuneSelf) {
		return s[:1], s[1:], -1
	}
	c, rest, _, newState = uniseg.FirstGraphemeClusterInString(s, state)
	return c, rest, newState
}

// firstRunes is the longest start of s that has at most n characters
// and ends between two grapheme clusters.
func firstRunes(s string, n int) string {
	state, end := -1, 0
	for rest := s; rest != ""; {
		var c string
		c, rest, state = cluster(rest, state)
		if n -= utf8.RuneCountInString(c); n < 0 {
			break
		}
		end = len(s) - len(rest)
	}
	return s[:end]
}

func clusterCost(c string, inCode bool, measure func(rune) int) int {
	n := 0
	for _, r := range c {
		n += measure(shown(r, inCode))
	}
	return n
}

func write(s string, inCode bool) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		put(&b, shown(r, inCode))
	}
	return b.String()
}

// shown is the character put in a message for r. White space and control
// characters become a space, so data cannot start a new line or hide
// terminal escapes; direction overrides, which can make text read
// backwards, and broken UTF-8 become U+FFFD. In a code span a backtick,
// which would end the span and which Slack cannot escape, becomes the
// look-alike U+02CB.
func shown(r rune, inCode bool) rune {
	switch {
	case unicode.IsSpace(r) || unicode.IsControl(r):
		return ' '
	case isBidi(r):
		return utf8.RuneError
	case inCode && r == '`':
		return 'ˋ'
	}
	return r
}

func isBidi(r rune) bool {
	switch {
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

func put(b *strings.Builder, r rune) {
	switch r {
	case '&':
		b.WriteString("&amp;")
	case '<':
		b.WriteString("&lt;")
	case '>':
		b.WriteString("&gt;")
	default:
		b.WriteRune(r)
	}
}

// cost is what r costs once escaped for Slack and then for JSON.
func cost(r rune) int {
	switch r {
	case '&':
		return jsonCost('&') + len("amp;")
	case '<', '>':
		return jsonCost('&') + len("lt;")
	}
	return jsonCost(r)
}

// chars is how many characters r takes of a plain_text field's limit
// once escaped for Slack, in UTF-16 units.
func chars(r rune) int {
	switch r {
	case '&':
		return len("&amp;")
	case '<', '>':
		return len("&lt;")
	}
	return max(1, utf16.RuneLen(r))
}

// jsonCost is what r costs in JSON written by encoding/json.
func jsonCost(r rune) int {
	switch {
	case r == '&' || r == '<' || r == '>':
		return len(`\u0026`)
	case r == '"' || r == '\\':
		return 2
	case r < 0x20 || r == 0x2028 || r == 0x2029:
		return len(`\u0000`)
	case r == utf8.RuneError:
		// Broken UTF-8 is written as the three bytes of U+FFFD.
		return 3
	}
	return utf8.RuneLen(r)
}

// textCost is the cost of s, which is escaped for Slack already.
func textCost(s string) int {
	n := 0
	for _, r := range s {
		n += jsonCost(r)
	}
	return n
}

// mention names a Slack user by id, so Slack shows their name. Only a
// string shaped like a user id is ever put inside <@…>; anything else,
// which would be a bug upstream, becomes "someone".
func mention(userID string) string {
	if !isUserID(userID) {
		return "someone"
	}
	return "<@" + userID + ">"
}

func isUserID(s string) bool { return slackid.IsUser(s) }

// age writes d the way people say it: 12 s, 4 min, 3 h 4 min, 2 d 3 h.
func age(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 24*time.Hour:
		return pair(int(d/time.Hour), "h", int(d%time.Hour/time.Minute), "min")
	}
	day := 24 * time.Hour
	return pair(int(d/day), "d", int(d%day/time.Hour), "h")
}

func pair(a int, au string, b int, bu string) string {
	if b == 0 {
		return fmt.Sprintf("%d %s", a, au)
	}
	return fmt.Sprintf("%d %s %d %s", a, au, b, bu)
}

// ago says how long before now t was.
func ago(t, now time.Time) string { return age(now.Sub(t)) + " ago" }

// clock writes t in UTC, with the date, since messages stay in the
// channel long after they were sent.
func clock(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func plural(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %ss", n, one)
}
