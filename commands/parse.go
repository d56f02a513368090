package commands

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A Verb is the first word of a command.
type Verb string

// The verbs of /room-services.
const (
	VerbHelp     Verb = "help"
	VerbList     Verb = "list"
	VerbStatus   Verb = "status"
	VerbRestart  Verb = "restart"
	VerbWatch    Verb = "watch"
	VerbUnwatch  Verb = "unwatch"
	VerbWatching Verb = "watching"
)

// Verbs returns every verb, in the order help lists them.
func Verbs() []Verb {
	return []Verb{
		VerbList, VerbStatus, VerbRestart,
		VerbWatch, VerbUnwatch, VerbWatching,
		VerbHelp,
	}
}

// A Command is a parsed /room-services command. Room and Service are set
// only for the verbs that take them, exactly as the user typed them once
// Slack's rewriting is undone; they satisfy ValidName.
type Command struct {
	Verb    Verb
	Room    string
	Service string
}

// A UsageError reports a command that cannot be run as typed. Msg is short
// and written for the Slack user, as plain text. It may quote what the
// user typed; Reply shows that verbatim.
type UsageError struct {
	Msg string

	// shown is Msg as mrkdwn, escaped, with what the user typed in code
	// spans; empty for a UsageError made elsewhere.
	shown string
}

func (e *UsageError) Error() string { return e.Msg }

// Reply renders the error for Slack, with what the user typed shown
// verbatim: *x* in a command is not shown in bold.
func (e *UsageError) Reply() Message {
	m := Error(e.Msg)
	if e.shown == "" {
		return m
	}
	return simple("rs-error", ":warning: "+e.shown, m.Text)
}

// usagef makes a UsageError. Arguments that quote what the user typed
// are of type said (quote); the others are roombot's own words.
func usagef(format string, args ...any) *UsageError {
	plain, shown := make([]any, len(args)), make([]any, len(args))
	for i, a := range args {
		plain[i], shown[i] = a, a
		switch a := a.(type) {
		case said:
			plain[i], shown[i] = string(a), code(string(a), capDetail)
		case string:
			shown[i] = esc(a, capDetail)
		}
	}
	return &UsageError{
		Msg:   fmt.Sprintf(format, plain...),
		shown: fmt.Sprintf(esc(format, maxFormat), shown...),
	}
}

// Limits on what Parse accepts.
const (
	// MaxText is the longest command text Parse looks at, in bytes.
	// Anything longer is refused before any other work, so a pasted log
	// costs nothing.
	MaxText = 1000

	// MaxName is the longest room or service name, in characters.
	// MeshAgent sets no limit we know of; this one only keeps absurd
	// input away from rooms and out of messages.
	MaxName = 128
)

// operands returns the names verb takes, in order, and whether verb is
// known.
func operands(verb Verb) ([]string, bool) {
	switch verb {
	case VerbList, VerbWatch, VerbUnwatch:
		return []string{"ROOM"}, true
	case VerbStatus, VerbRestart:
		return []string{"ROOM", "SERVICE"}, true
	case VerbWatching, VerbHelp:
		return nil, true
	}
	return nil, false
}

// Usage returns the form of a verb's command, e.g.
// "/room-services restart ROOM SERVICE".
func Usage(v Verb) string {
	names, _ := operands(v)
	words := append([]string{"/room-services", string(v)}, names...)
	return strings.Join(words, " ")
}

// Parse reads the text Slack sends after /room-services. Empty text asks
// for help. Verbs are matched without regard to case; names are kept as
// typed. Slack's rewriting of typed text (HTML entities, auto-links, smart
// quotes, unusual spaces) is undone first. Anything that cannot be run is
// a *UsageError.
func Parse(text string) (Command, error) {
	if len(text) > MaxText {
		return Command{}, usagef("that is too long for a command "+
			"(over %d characters); try /room-services help", MaxText)
	}
	if !utf8.ValidString(text) {
		return Command{}, usagef("the command is not valid text; " +
			"try typing it again")
	}
	if asksHelp(text) {
		return Command{Verb: VerbHelp}, nil
	}
	plain, err := unslack(text)
	if err != nil {
		return Command{}, err
	}
	words, err := split(straighten(plain))
	if err != nil {
		return Command{}, err
	}
	if len(words) == 0 {
		return Command{Verb: VerbHelp}, nil
	}
	return parseWords(words)
}

// asksHelp reports whether the first word of text is help. Whatever
// follows, help is what the user wants, so the rest is not read: a
// mention after help is no reason to refuse it.
func asksHelp(text string) bool {
	rest := strings.TrimLeftFunc(text, unicode.IsSpace)
	end := strings.IndexFunc(rest, unicode.IsSpace)
	if end < 0 {
		end = len(rest)
	}
	return strings.EqualFold(rest[:end], string(VerbHelp))
}

func parseWords(words []string) (Command, error) {
	verb := Verb(strings.ToLower(words[0]))
	if verb == VerbHelp {
		// Whatever follows help, help is what the user wants.
		return Command{Verb: VerbHelp}, nil
	}
	want, ok := operands(verb)
	if !ok {
		// Say what is wrong with a verb pasted with an invisible
		// character, as for names, rather than only that it is unknown.
		for _, r := range words[0] {
			if why := badRune(r); why != "" {
				return Command{}, usagef("the command %s contains %s (%U); "+
					"type it again", quote(words[0]), why, r)
			}
		}
		return Command{}, usagef("unknown command %s; "+
			"try /room-services help", quote(words[0]))
	}

	args := words[1:]
	if len(args) < len(want) {
		return Command{}, usagef("missing %s; usage: %s",
			want[len(args)], Usage(verb))
	}
	switch {
	case len(args) > 0 && len(want) == 0:
		return Command{}, usagef("%s takes nothing after it; usage: %s",
			verb, Usage(verb))
	case len(args) > len(want):
		return Command{}, usagef("unexpected %s "+
			"(names have no spaces); usage: %s",
			quote(args[len(want)]), Usage(verb))
	}
	return build(verb, args)
}

func build(verb Verb, args []string) (Command, error) {
	cmd := Command{Verb: verb}
	if len(args) > 0 {
		cmd.Room = unquote(args[0])
		if err := ValidName("room", cmd.Room); err != nil {
			return Command{}, err
		}
	}
	if len(args) > 1 {
		cmd.Service = unquote(args[1])
		if err := ValidName("service", cmd.Service); err != nil {
			return Command{}, byIDHint(err)
		}
	}
	return cmd, nil
}

// byIDHint adds to a service name's UsageError how to name a service
// that the room named so: rooms judge names by their own rules, and list
// shows the id of each service whose name cannot be typed here.
func byIDHint(err error) error {
	var ue *UsageError
	if !errors.As(err, &ue) {
		return err
	}
	const hint = ". If the room names a service so, give its id instead, which list shows."
	out := &UsageError{Msg: ue.Msg + hint}
	if ue.shown != "" {
		out.shown = ue.shown + hint
	}
	return out
}

// ValidName reports whether s can be a room or service name, and if not,
// why, as a *UsageError naming kind ("room", "service"). It refuses only
// what no MeshAgent name can be: empty or absurdly long names, white
// space, control, invisible and blank characters (zero-width spaces,
// joiners, direction marks, the blank Braille pattern, a variation
// selector after a letter), a combining mark with nothing before it,
// Slack's markup characters <, > and |, Slack mentions, and the names "."
// and "..", which a room's URL path would read as "this folder" and "the
// one above". Other dots, slashes, quotes and anything else are accepted
// and left for the room to judge.
func ValidName(kind, s string) error {
	switch {
	case s == "":
		return usagef("the %s name is empty", kind)
	case s == "." || s == "..":
		return usagef("%s cannot be a %s name", quote(s), kind)
	case !utf8.ValidString(s):
		return usagef("the %s name is not valid text", kind)
	case utf8.RuneCountInString(s) > MaxName:
		return usagef("the %s name is too long (over %d characters)",
			kind, MaxName)
	case isMention(s):
		return usagef("%s looks like a Slack mention or channel, "+
			"not a %s name", quote(s), kind)
	}
	if why, r := flaw(s); why != "" {
		return usagef("the %s name %s contains %s (%U)",
			kind, quote(s), why, r)
	}
	return nil
}

// flaw finds the first character that cannot be in a name, and says what
// it is. Some characters are only wrong where they stand: a variation
// selector picks how the emoji or symbol before it looks, and is
// invisible after a letter or at the start; a combining mark needs a
// character before it to combine with.
func flaw(s string) (why string, at rune) {
	prev := rune(-1)
	for _, r := range s {
		why = badRune(r)
		switch {
		case why != "":
		case unicode.Is(unicode.Variation_Selector, r) &&
			(prev < 0 || unicode.IsLetter(prev) || unicode.IsMark(prev)):
			why = "an invisible character"
		case unicode.IsMark(r) && prev < 0:
			why = "a combining mark with nothing to combine with"
		}
		if why != "" {
			return why, r
		}
		prev = r
	}
	return "", 0
}

func isMention(s string) bool {
	for _, p := range []string{"<@", "<#", "<!"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// badRune says what is wrong with r in a name, or "" when nothing is.
func badRune(r rune) string {
	switch {
	case unicode.IsSpace(r):
		return "a space"
	case unicode.IsControl(r):
		return "a control character"
	case unicode.Is(unicode.Cf, r),
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r),
		r == '\u2800': // the blank Braille pattern
		return "an invisible character"
	case r == '<' || r == '>' || r == '|':
		return "a character Slack reserves"
	}
	return ""
}

// said is what the user typed, quoted for a usage message.
type said string

// quote shows user text in a message: shortened between grapheme
// clusters, in quotes, with invisible characters spelled out as \u
// escapes so the user can see what Slack sent.
func quote(s string) said {
	const max = 40
	if utf8.RuneCountInString(s) > max {
		s = firstRunes(s, max) + "…"
	}
	return said(strconv.QuoteToGraphic(s))
}
