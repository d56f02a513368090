// Package slackid tells Slack ids apart by their shape: a letter for the
// kind of thing, then upper-case ASCII letters and digits. authz reads
// allow-lists with it, and commands decides with it which strings it may
// put inside <@…> and <#…>, so that both hold to one rule.
//
// The rule is stricter than Slack needs, never looser: an id has 6 to 20
// characters after its kind letter, and at least one digit, which keeps a
// name typed in capitals, such as SAMANTHA, from passing as a group id.
// Lower case is not an id; callers that accept it upper-case ASCII first.
package slackid

// Lengths of an id after its kind letter.
const (
	minRest = 6
	maxRest = 20
)

// IsUser reports whether id is a user id: U…, or W… for an Enterprise
// Grid user.
func IsUser(id string) bool { return Is(id, 'U') || Is(id, 'W') }

// IsGroup reports whether id is a user group id, S….
func IsGroup(id string) bool { return Is(id, 'S') }

// IsChannel reports whether id is the id of a channel: C… for a public
// one, G… for a private one (or, from older workspaces, a group direct
// message). A direct message's D… is not a channel.
func IsChannel(id string) bool { return Is(id, 'C') || Is(id, 'G') }

// Is reports whether id is an id of the kind given by its first letter,
// such as 'D' for a direct message.
func Is(id string, kind byte) bool {
	if len(id) < 1+minRest || len(id) > 1+maxRest || id[0] != kind {
		return false
	}
	digit := false
	for i := 1; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c < 'A' || c > 'Z':
			return false
		}
	}
	return digit
}
