package commands

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/roomops/roombot/roomclient"
)

// Caps on what one piece of room data may cost in a message. They are
// what makes MaxMessageBytes hold whatever a room sends.
const (
	capName   = 600 // MaxName characters, a third of them escaped
	capRoom   = 600
	capState  = 60
	capID     = 120
	capPort   = 16
	capDetail = 600 // an error, image or message
)

// emoji picks the circle for a state. States are free strings; the ones
// rooms are known to send, and the usual words for failure, get a colour,
// anything else a white circle.
func emoji(st *roomclient.State) string {
	if st == nil {
		return ":grey_question:"
	}
	switch strings.ToLower(st.State) {
	case "running":
		return ":large_green_circle:"
	case "starting", "scheduled", "restarting", "pending", "stopping":
		return ":large_yellow_circle:"
	case "failed", "error", "crashed", "exited", "stopped", "dead":
		return ":red_circle:"
	}
	return ":white_circle:"
}

// stateWord shows the state of a service.
func stateWord(st *roomclient.State) string {
	if st == nil {
		return "no state reported"
	}
	if st.State == "" {
		return "state not given"
	}
	return word(st.State, capState)
}

// vitals are the short facts about a running service: how long it has
// been up, how often it restarted and how it last exited.
func vitals(st *roomclient.State, now time.Time) []string {
	if st == nil {
		return nil
	}
	var out []string
	if strings.EqualFold(st.State, "running") && !st.StartedAt.IsZero() {
		out = append(out, "up "+age(now.Sub(st.StartedAt)))
	}
	if st.RestartCount > 0 {
		out = append(out, plural(st.RestartCount, "restart"))
	}
	if st.LastExitCode != nil {
		out = append(out, fmt.Sprintf("last exit %d", *st.LastExitCode))
	}
	return out
}

// liveness names a port's liveness status as the room's CLI does.
func liveness(status string) string {
	switch status {
	case "ready":
		return "ready"
	case "not_ready":
		return "not ready"
	}
	return "no liveness"
}

// when shows a time next to now: the date and time, and how far off.
func when(t, now time.Time) string {
	if t.After(now) {
		return clock(t) + " (in " + age(t.Sub(now)) + ")"
	}
	return clock(t) + " (" + ago(t, now) + ")"
}

// askButton is the Restart button of a service, whose value may cost
// budget. It is nil when the viewer may not restart, or when the service
// has no id a button can carry or runs outside the room; why then says
// so, for viewers who may restart. When the room's name is what does not fit, why is empty: that
// is the same for every service, and the message says it once
// (noAskNote).
func askButton(room string, s roomclient.Service, canRestart bool,
	budget int) (b *slack.ButtonBlockElement, why string) {
	if !canRestart {
		return nil, ""
	}
	switch {
	case s.ID == "":
		return nil, "no id, so it cannot be restarted"
	case s.External():
		return nil, "runs outside the room, so it cannot be restarted from here"
	}
	v, err := encodeAsk(Ask{Room: room, ID: s.ID, Name: s.Name}, budget)
	switch {
	case err == nil:
		return button(ActionRestartAsk, v, "Restart"), ""
	case ValidName("room", room) != nil || !askRoomFits(room, budget):
		return nil, ""
	case ValidName("service id", s.ID) != nil:
		return nil, "its id cannot be used from Slack"
	}
	return nil, "its id is too long for a Restart button"
}

// noAskNote says, for a message of many Restart buttons, that room's
// name leaves no space in them, and how to restart instead. It is empty
// when the name leaves space.
func noAskNote(room string) string {
	if ValidName("room", room) != nil || askRoomFits(room, maxAskCost) {
		return ""
	}
	return ":information_source: The name of " + name(room, capRoom) +
		" is too long for Restart buttons; restart a service with " +
		"`/room-services restart ROOM SERVICE`."
}
