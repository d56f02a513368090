package authz

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/roomops/roombot/authz/slackid"
)

// ParseIDs reads an allow-list from the configuration variable varName:
// Slack user ids (U…, W…) and user group ids (S…), separated by commas,
// semicolons, spaces or newlines. Mentions as Slack writes them (<@U…>,
// <@U…|name>, <!subteam^S…|@group>) are unwrapped and lower case is
// upper-cased; duplicates are dropped. Any other entry, such as a name,
// an email or a channel id, is an error that names varName and the
// entry: an allow-list is never quietly shorter than it was written.
func ParseIDs(varName, list string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	var errs []error
	for _, entry := range entries(list) {
		id, err := parseID(entry)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: entry %s: %w",
				varName, strconv.Quote(entry), err))
			continue
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(errs) > 0 {
		// Each wrong entry is named, so that one start fixes them all.
		return nil, errors.Join(errs...)
	}
	return ids, nil
}

// entries splits list at separators, keeping <…> whole, since a mention's
// label may hold spaces.
func entries(list string) []string {
	var out []string
	var cur strings.Builder
	inside := false
	for _, r := range list {
		switch {
		case r == '<':
			inside = true
		case r == '>':
			inside = false
		case !inside && isSeparator(r):
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteRune(r)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func isSeparator(r rune) bool {
	return r == ',' || r == ';' || unicode.IsSpace(r)
}

func parseID(entry string) (string, error) {
	id, ok := upperASCII(unwrap(entry))
	if ok && (isUser(id) || isGroup(id)) {
		return id, nil
	}
	return "", why(entry)
}

// upperASCII upper-cases s, which must be ASCII. Unicode's case rules
// would upper-case the dotless ı to I and the long ſ to S, making an id
// of what is not one; an id is ASCII, so anything else is refused first.
func upperASCII(s string) (string, bool) {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 0x80:
			return "", false
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b), true
}

// unwrap returns the id inside <@U…>, <@U…|name>, <!subteam^S…> or
// <!subteam^S…|@name>, and anything else as it is.
func unwrap(entry string) string {
	inner, ok := strings.CutPrefix(entry, "<")
	if !ok {
		return entry
	}
	inner, ok = strings.CutSuffix(inner, ">")
	if !ok {
		return entry
	}
	inner, _, _ = strings.Cut(inner, "|")
	if id, ok := strings.CutPrefix(inner, "@"); ok {
		return id
	}
	if id, ok := strings.CutPrefix(inner, "!subteam^"); ok {
		return id
	}
	return entry
}

// why explains what an entry that is not an id looks like instead.
func why(entry string) error {
	upper, _ := upperASCII(entry)
	switch {
	case strings.HasPrefix(entry, "<@"):
		return fmt.Errorf("not a user mention of the form <@U…> " +
			"or <@U…|name>")
	case strings.HasPrefix(entry, "<#"), slackid.IsChannel(upper),
		slackid.Is(upper, 'D'):
		return fmt.Errorf("a channel is not a user or user group")
	case strings.HasPrefix(entry, "<!"):
		return fmt.Errorf("only user and user group mentions are accepted")
	case strings.HasPrefix(entry, "@"):
		return fmt.Errorf("names are not accepted; use the member id " +
			"(U…), from the person's Slack profile")
	case strings.Contains(entry, "@"):
		return fmt.Errorf("emails are not accepted; use the member id (U…)")
	}
	return fmt.Errorf("not a Slack user id (U…, W…) or user group id (S…)")
}

func isUser(id string) bool { return slackid.IsUser(id) }

func isGroup(id string) bool { return slackid.IsGroup(id) }
