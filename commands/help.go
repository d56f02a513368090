package commands

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Help renders usage for exactly the verbs given, which should be those
// the caller may run, each with what it does and an example, in the
// order Verbs lists them. With no verbs it tells the caller they are not
// on the allow-list and whom to ask.
func Help(verbs []Verb) Message {
	var lines []string
	for _, v := range Verbs() {
		if slices.Contains(verbs, v) {
			lines = append(lines, helpLine(v))
		}
	}
	if len(lines) == 0 {
		return simple("rs-help", ":lock: You are not on roombot's "+
			"allow-list, so there is nothing you can run here yet. "+
			"Ask the people who run roombot in this workspace to add you.",
			"You are not on roombot's allow-list")
	}
	intro := "*roombot* shows the services of MeshAgent rooms and " +
		"restarts them. What you can run:"
	return Message{
		Text: "roombot help",
		Blocks: []slack.Block{
			section("rs-help", intro+"\n"+strings.Join(lines, "\n")),
			note("rs-help-foot", "Room and service names are "+
				"case-sensitive; commands are not. Where services "+
				"share a name, give the service's id instead."),
		},
	}
}

func helpLine(v Verb) string {
	what, example := helpText(v)
	line := "• `" + Usage(v) + "`: " + what
	if example != "" {
		line += " e.g. `/room-services " + example + "`"
	}
	return line
}

// helpText says what v does, and gives an example of its arguments.
func helpText(v Verb) (what, example string) {
	switch v {
	case VerbList:
		return "the services of ROOM and how they are doing.",
			"list myroom"
	case VerbStatus:
		return "one service in detail: state, ports, recent events.",
			"status myroom web"
	case VerbRestart:
		return "restart a service, once you confirm.",
			"restart myroom web"
	case VerbWatch:
		return "tell this channel when ROOM's services restart.",
			"watch myroom"
	case VerbUnwatch:
		return "stop telling this channel about ROOM.",
			"unwatch myroom"
	case VerbWatching:
		return "which rooms are watched, and by which channels.", ""
	}
	return "this message.", ""
}

// Error renders text, roombot's own words, as a short error reply. text
// is escaped, so nothing in it pings anyone, but Slack would format *, _
// and ~ in it: names and what a room or user said belong in the
// arguments of Errorf, which shows them verbatim.
func Error(text string) Message {
	if text == "" {
		text = "Something went wrong."
	}
	return simple("rs-error", ":warning: "+esc(text, 2900),
		flat(text, 300))
}

// Footnote renders text, roombot's own words, as a warning to append to
// another message, such as a restart's card: its block id is its own, so
// that it can follow any reply, an error included, where two blocks of
// one id would have Slack refuse the message.
func Footnote(text string) Message {
	return simple("rs-footnote", ":warning: "+esc(text, 2900), flat(text, 300))
}

// Errorf renders an error reply that names rooms or services or repeats
// what a room said. format is roombot's own words, escaped and otherwise
// shown as written. Each string or error argument is data, shown
// verbatim in a code span, where Slack formats nothing and a backtick in
// the data cannot end the span; numbers and durations are formatted as
// fmt does. Callers never write the code spans themselves.
func Errorf(format string, args ...any) Message {
	shown, text := dataArgs(args)
	return simple("rs-error",
		":warning: "+fmt.Sprintf(esc(format, maxFormat), shown...),
		fmt.Sprintf(esc(format, maxFormat), text...))
}

// maxFormat bounds the words of an error reply. The data gets what is
// left of a section, shared between the arguments.
const maxFormat = 500

// dataArgs renders args for Errorf: in code spans for the blocks, and
// for the fallback text as flat does.
func dataArgs(args []any) (shown, text []any) {
	shown, text = make([]any, len(args)), make([]any, len(args))
	each := max(64, min(capDetail, (maxSection-2*maxFormat)/max(1, len(args))))
	for i, a := range args {
		shown[i], text[i] = a, a
		switch a.(type) {
		case int, int64, uint, uint64, time.Duration:
			continue
		}
		s := fmt.Sprint(a)
		shown[i], text[i] = code(s, each), flat(s, 100)
	}
	return shown, text
}

// InternalError renders the reply to a failure with no text meant for
// the user. ref is the short id under which the bot logged the details.
func InternalError(ref string) Message {
	text := "Something went wrong (ref " + code(ref, 64) + "). " +
		"The details are in the bot's log."
	return simple("rs-internal", ":boom: "+text, text)
}
