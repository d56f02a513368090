package commands

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/roomops/roombot/roomclient"
)

// A Confirmation is what the confirmation card of a restart shows, and
// the token its buttons carry.
type Confirmation struct {
	Room    string
	Service roomclient.Service // as the room last listed it
	Now     time.Time

	// Token is the value of both buttons, handed back on a click: the
	// bot's signed token, at most 2000 bytes.
	Token string

	Requester string    // Slack user id of who asked
	Expires   time.Time // when the bot stops accepting Token

	// SharedName says that another service of the room has this one's
	// name: the card and its dialog then name its id too.
	SharedName bool
}

// Confirm renders the ephemeral card that asks the requester to confirm a
// restart: what will be restarted and how it is doing now, a Restart
// button (ActionConfirm, styled danger, with a confirmation dialog) and a
// Cancel button (ActionCancel), both carrying c.Token, and how long the
// card stays valid. A token that cannot be a button value gets an error
// message instead of a card that could not work.
func Confirm(c Confirmation) Message {
	if c.Token == "" || len(c.Token) > maxValue ||
		!utf8.ValidString(c.Token) {
		return Error("This restart could not be offered for " +
			"confirmation. Please try again.")
	}
	svc := name(c.Service.Name, capName)
	var id string
	if c.SharedName {
		id = c.Service.ID
		svc += " (id " + code(id, capID) + ")"
	}
	ask := "Restart " + svc + " in " + name(c.Room, capRoom) + "? " +
		currently(c.Service.State, c.Now)

	restart := button(ActionConfirm, c.Token, "Restart").
		WithStyle(slack.StyleDanger).
		WithConfirm(dialog(c.Room, c.Service.Name, id))
	cancel := button(ActionCancel, c.Token, "Cancel")
	return Message{
		Text: "Confirm the restart of " + flat(c.Service.Name, 100) +
			" in " + flat(c.Room, 100),
		Blocks: []slack.Block{
			section("rs-confirm-ask", ask),
			slack.NewActionBlock("rs-confirm-buttons", restart, cancel),
			note("rs-confirm-foot", validity(c)),
		},
	}
}

// currently says how a service is doing, as a sentence.
func currently(st *roomclient.State, now time.Time) string {
	if st == nil {
		return "The room reports no state for it."
	}
	text := "It is currently " + emoji(st) + " " + stateWord(st)
	if v := vitals(st, now); len(v) > 0 {
		text += " (" + strings.Join(v, ", ") + ")"
	}
	return text + "."
}

// dialog is the confirmation Slack shows before it sends the click. id,
// when set, is named after the service. Dialog texts are plain_text,
// with tight limits in characters, so long names are cut short.
func dialog(room, svc, id string) *slack.ConfirmationBlockObject {
	const (
		restart = "Restart "
		in      = " in "
		after   = " will stop and start again. Requests to it may " +
			"fail until it is back."
	)
	title := restart + plain(svc, maxTitle-len(restart+"?")) + "?"
	each := (maxDialogText - len(in+after)) / 2
	who := plain(svc, each)
	if id != "" {
		const idWords = len(" (id )")
		half := (each - idWords) / 2
		who = plain(svc, half) + " (id " + plain(id, half) + ")"
	}
	text := who + in + plain(room, each) + after
	return slack.NewConfirmationBlockObject(
		plainText(title), plainText(text),
		plainText("Restart"), plainText("Keep running"),
	).WithStyle(slack.StyleDanger)
}

func validity(c Confirmation) string {
	parts := []string{}
	if c.Service.ID != "" {
		parts = append(parts, "service id "+code(c.Service.ID, capID))
	}
	if isUserID(c.Requester) {
		parts = append(parts, "asked by "+mention(c.Requester))
	}
	if !c.Expires.IsZero() {
		parts = append(parts, "this card works for "+
			age(c.Expires.Sub(c.Now))+", until "+clock(c.Expires))
	}
	parts = append(parts, "only you can see it")
	return strings.Join(parts, " · ")
}

// Match finds the services that ref, the SERVICE of a status or restart
// command, names in l: those of that name, or, when no service has that
// name, the one whose id it is, so that services that share a name can
// be told apart by id. Names and ids are matched exactly. One match is
// the service; several are for Candidates; none means there is no such
// service.
func Match(l *roomclient.List, ref string) []roomclient.Service {
	if l == nil || ref == "" {
		return nil
	}
	var byName, byID []roomclient.Service
	for _, s := range l.Services {
		switch ref {
		case s.Name:
			byName = append(byName, s)
		case s.ID:
			byID = append(byID, s)
		}
	}
	if len(byName) > 0 {
		return byName
	}
	return byID
}

// Candidates renders the answer to a status or restart (v) of a service
// name that several services of room share: each of them with its id and
// state, and how to name one by its id. For a restart, each also has a
// Restart button (ActionRestartAsk) that asks to confirm that one id;
// the caller has checked that the user may restart. With no candidates
// it says that room has no service of that name.
func Candidates(v Verb, room, svcName string, cands []roomclient.Service) Message {
	if len(cands) == 0 {
		return notFound(room, svcName)
	}
	restart := v == VerbRestart
	intro := name(svcName, capName) + " is the name of " +
		plural(len(cands), "service") + " in " + name(room, capRoom) + ". "
	ask := code("/room-services "+string(v)+" "+room+" ID", capRoom+40)
	if restart {
		intro += "Pick the one to restart, or run " + ask + "."
	} else {
		intro += "Ask for one by its id: " + ask + "."
	}
	blocks := []slack.Block{section("rs-cands-head", intro)}
	for i, s := range cands[:min(len(cands), PageSize)] {
		blocks = append(blocks, candidate(room, i, s, restart))
	}
	if note := noAskNote(room); restart && note != "" {
		blocks = append(blocks, section("rs-cands-noask", note))
	}
	if more := len(cands) - PageSize; more > 0 {
		blocks = append(blocks, note("rs-cands-foot",
			plural(more, "more service")+" not shown; see "+
				code("/room-services list "+room, capRoom)))
	}
	return Message{
		Text: flat(svcName, 100) + ": " +
			plural(len(cands), "service") + " with that name",
		Blocks: blocks,
	}
}

func notFound(room, svcName string) Message {
	text := name(room, capRoom) + " has no service named " +
		name(svcName, capName) + ", nor one with that id. Names are case-sensitive; " +
		code("/room-services list "+room, capRoom) + " shows them all."
	return simple("rs-notfound", text,
		"No service named "+flat(svcName, 100))
}

// candidate is one service of an ambiguous name. The name is the same
// for all, and said above, so each shows what tells it apart.
func candidate(room string, i int, s roomclient.Service, canRestart bool) slack.Block {
	b, why := askButton(room, s, canRestart, maxAskCost)
	facts := []string{"no id"}
	if s.ID != "" {
		facts[0] = "id " + code(s.ID, capID)
	}
	facts = append(facts, stateWord(s.State))
	if st := s.State; st != nil && st.RestartCount > 0 {
		facts = append(facts, plural(st.RestartCount, "restart"))
	}
	if s.Image != "" {
		facts = append(facts, "image "+code(s.Image, capDetail/2))
	}
	if why != "" && s.ID != "" {
		facts = append(facts, why)
	}
	text := emoji(s.State) + " " + strings.Join(facts, " · ")
	return withButton(section("rs-cand-"+strconv.Itoa(i), text), b)
}

// Restarting replaces the confirmation card once the restart of svc in
// room has been sent, naming the requester by user id.
func Restarting(room, svc, requester string) Message {
	text := ":arrows_counterclockwise: Restarting " + name(svc, capName) +
		" in " + name(room, capRoom) + ", as " + mention(requester) +
		" asked. The channel will hear when it is back."
	return simple("rs-outcome-restarting", text,
		"Restarting "+flat(svc, 100)+" in "+flat(room, 100))
}

// Cancelled replaces the confirmation card when by (a Slack user id)
// cancels it.
func Cancelled(room, svc, by string) Message {
	text := ":no_entry_sign: " + mention(by) + " cancelled the restart of " +
		name(svc, capName) + " in " + name(room, capRoom) +
		". Nothing was restarted."
	return simple("rs-outcome-cancelled", text,
		"Restart of "+flat(svc, 100)+" cancelled")
}

// ExpiredCard replaces a confirmation card whose token is too old, for
// the restart of svc in room, and gives the command to run again. An
// empty room or svc is left as a placeholder.
func ExpiredCard(room, svc string) Message {
	if room == "" || svc == "" {
		room, svc = "ROOM", "SERVICE"
	}
	again := code("/room-services restart "+room+" "+svc, capRoom+capName)
	text := ":hourglass: This confirmation has expired, so nothing was " +
		"restarted. To restart, run " + again + " again."
	return simple("rs-outcome-expired", text, "This confirmation has expired")
}

// AlreadyUsed answers a click on a confirmation that by (a Slack user id)
// already used at the time at.
func AlreadyUsed(by string, at, now time.Time) Message {
	text := ":information_source: This confirmation was already used by " +
		mention(by) + " " + ago(at, now) + "; nothing more was done."
	return simple("rs-outcome-used", text,
		"This confirmation was already used")
}

// InFlight answers a restart of svc in room while another one, started
// by the Slack user by at since, has not finished.
func InFlight(room, svc, by string, since, now time.Time) Message {
	text := ":hourglass_flowing_sand: A restart of " + name(svc, capName) +
		" in " + name(room, capRoom) + " is already in progress, " +
		"started by " + mention(by) + " " + ago(since, now) + "."
	return simple("rs-outcome-inflight", text,
		"A restart of "+flat(svc, 100)+" is already in progress")
}

// RestartFailed replaces the confirmation card when the room refused or
// failed the restart; errText is the room's reason, shown as sent.
func RestartFailed(room, svc, errText string) Message {
	text := ":x: Could not restart " + name(svc, capName) + " in " +
		name(room, capRoom) + ": " + code(errText, capDetail)
	return simple("rs-outcome-failed", text,
		"Could not restart "+flat(svc, 100))
}
