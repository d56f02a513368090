package commands

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/roomops/roombot/roomclient"
)

// A Phase is how far a restart has come, as a notification tells it. Its
// value is a short word, fit for logs and metric labels.
type Phase string

// The phases of a restart. The bot posts the notification at
// PhaseRequested and updates it once with one of the others.
const (
	PhaseRequested Phase = "requested" // sent; waiting for the service
	PhaseBack      Phase = "back"      // running again in a new container
	PhaseNotBack   Phase = "not_back"  // not running when the wait ended
	PhaseUnknown   Phase = "unknown"   // roombot could not tell whether it came back
)

// A Notice is a channel notification about a restart.
type Notice struct {
	Requester string // Slack user id of who asked
	Room      string
	Service   roomclient.Service // the service, as last listed
	Phase     Phase

	// Took is how long the service took to come back (PhaseBack) or how
	// long the bot waited (PhaseNotBack).
	Took time.Duration

	// For PhaseNotBack: the state the service was left in, its last exit
	// code if any and its last start error.
	State      string
	ExitCode   *int
	StartError string

	// Why, for PhaseUnknown, is why roombot does not know, in its own
	// plain words. Empty means the bot shut down before it knew. Ref is
	// the reference of the log line that says more, if any.
	Why string
	Ref string
}

// Notify renders a restart notification for the channel: who restarted
// what, and the outcome as far as n.Phase goes. An unknown phase is told
// as PhaseUnknown. Each phase has its own block ids, as Slack wants fresh
// ids when a message is updated.
func Notify(n Notice) Message {
	who := mention(n.Requester) + " restarted " +
		name(n.Service.Name, capName) + " in " + name(n.Room, capRoom)
	phase, text, fallback := n.outcome(who)

	msg := Message{Text: fallback}
	msg.Blocks = append(msg.Blocks, section("rs-notice-"+phase, text))
	if n.Service.ID != "" {
		msg.Blocks = append(msg.Blocks, note("rs-notice-foot-"+phase,
			"service id "+code(n.Service.ID, capID)))
	}
	return msg
}

// outcome words the phase: a block id suffix, the text, and the
// fallback for notifications.
func (n Notice) outcome(who string) (id, text, fallback string) {
	svc := flat(n.Service.Name, 100)
	took := age(n.Took)
	switch n.Phase {
	case PhaseRequested:
		text = ":arrows_counterclockwise: " + who +
			", waiting for it to come back…"
		return "requested", text, "Restarting " + svc
	case PhaseBack:
		text = ":large_green_circle: " + who + ": back after " + took +
			n.container() + "."
		return "back", text, svc + " is back after " + took
	case PhaseNotBack:
		text = ":red_circle: " + who + ": " + n.stuck() + "."
		return "not-back", text, svc + " is not back after " + took
	}
	why := "the bot shut down before it came back"
	if n.Why != "" {
		why = esc(n.Why, capDetail)
	}
	if n.Ref != "" {
		why += " (ref " + code(n.Ref, capID) + ")"
	}
	text = ":grey_question: " + who + ": outcome unknown, " + why + ". Check with " +
		code(n.statusCommand(), capDetail) + "."
	return "unknown", text, "Restart of " + svc + ": outcome unknown"
}

// statusCommand is the command that shows the service now: by name, or
// by id when the name cannot be typed in a command (see ValidName) or
// would not survive its code span, which turns a backtick into ˋ.
func (n Notice) statusCommand() string {
	ref := n.Service.Name
	if ref == "" || ValidName("service", ref) != nil || strings.ContainsRune(ref, '`') {
		ref = cmp.Or(n.Service.ID, ref)
	}
	return "/room-services status " + n.Room + " " + ref
}

func (n Notice) container() string {
	st := n.Service.State
	if st == nil || st.ContainerID == "" {
		return ", running"
	}
	return ", running in container " + code(st.ContainerID, capID)
}

// stuck says what state a service that did not come back was left in.
func (n Notice) stuck() string {
	state := "not running"
	if n.State != "" {
		state = word(n.State, capState)
	}
	parts := []string{"still " + state + " after " + age(n.Took)}
	if n.ExitCode != nil {
		parts = append(parts, fmt.Sprintf("last exit %d", *n.ExitCode))
	}
	if n.StartError != "" {
		parts = append(parts, "start error: "+code(n.StartError, capDetail))
	}
	return strings.Join(parts, ", ")
}
