package commands

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/roomops/roombot/roomclient"
)

// How much of a service's history Status shows.
const (
	maxEvents      = 5
	maxStatusPorts = 10
)

// Status renders one service of room in detail: its state, container,
// image, start, restarts, last exit, last start error, ports with their
// liveness, and the last maxEvents events, newest first. With canRestart
// and an id, it carries a Restart button (ActionRestartAsk).
func Status(room string, s roomclient.Service, canRestart bool, now time.Time) Message {
	b, why := askButton(room, s, canRestart, maxValue)
	blocks := []slack.Block{
		header("rs-status-head", statusHeader(room, s.Name)),
		withButton(section("rs-status-state", headline(s, now, why, capName, false)), b),
	}
	if f := facts(s, now); len(f) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(nil, f, nil,
			slack.SectionBlockOptionBlockID("rs-status-facts")))
	}
	if st := s.State; st != nil {
		blocks = append(blocks, details(st, now)...)
	}
	blocks = append(blocks, note("rs-status-foot", "as of "+clock(now)))

	text := flat(s.Name, 100) + " in " + flat(room, 100) + ": " +
		quiet(stateWord(s.State))
	return Message{Text: text, Blocks: blocks}
}

// statusHeader names a service and its room, each in at most half of
// what a header may hold.
func statusHeader(room, svc string) string {
	const in = " in "
	each := (maxHeader - len(in)) / 2
	return plain(svc, each) + in + plain(room, each)
}

// facts are the short fields of a service, those that are known.
func facts(s roomclient.Service, now time.Time) []*slack.TextBlockObject {
	var out []*slack.TextBlockObject
	add := func(label, value string) {
		out = append(out, mrkdwn("*"+label+"*\n"+value))
	}
	if s.ID != "" {
		add("ID", code(s.ID, capID))
	}
	if s.Image != "" {
		add("Image", code(s.Image, capDetail))
	}
	if s.ExternalURL != "" {
		add("External URL", code(s.ExternalURL, capDetail))
	}
	if s.Description != "" {
		add("Description", code(s.Description, capDetail))
	}
	if st := s.State; st != nil {
		for _, f := range stateFacts(st, now) {
			add(f[0], f[1])
		}
	}
	return out
}

// stateFacts are the fields that come from the runtime state, as label
// and value.
func stateFacts(st *roomclient.State, now time.Time) [][2]string {
	var out [][2]string
	if st.ContainerID != "" {
		out = append(out, [2]string{"Container", code(st.ContainerID, capID)})
	}
	if !st.StartedAt.IsZero() {
		out = append(out, [2]string{"Started", when(st.StartedAt, now)})
	}
	out = append(out, [2]string{"Restarts", fmt.Sprint(st.RestartCount)})
	if st.LastExitCode != nil {
		v := fmt.Sprint(*st.LastExitCode)
		if !st.LastExitAt.IsZero() {
			v += ", " + when(st.LastExitAt, now)
		}
		out = append(out, [2]string{"Last exit", v})
	}
	if t := st.RestartScheduledAt; !t.IsZero() {
		out = append(out, [2]string{"Restart scheduled", when(t, now)})
	}
	return out
}

// details are the longer sections: the start error, ports and events.
func details(st *roomclient.State, now time.Time) []slack.Block {
	var out []slack.Block
	if st.LastStartError != "" {
		text := "*Last start error*"
		if t := st.LastStartErrorAt; !t.IsZero() {
			text += " " + when(t, now)
		}
		text += "\n" + code(st.LastStartError, capDetail)
		out = append(out, section("rs-status-error", text))
	}
	if len(st.Ports) > 0 {
		out = append(out, section("rs-status-ports", portLines(st.Ports, now)))
	}
	if len(st.Events) > 0 {
		out = append(out, section("rs-status-events", eventLines(st.Events)))
	}
	return out
}

func portLines(ps []roomclient.PortStatus, now time.Time) string {
	lines := []string{"*Ports*"}
	for i, p := range ps {
		if i == maxStatusPorts {
			lines = append(lines, fmt.Sprintf("+%d more", len(ps)-i))
			break
		}
		lines = append(lines, portLine(p, now))
	}
	return strings.Join(lines, "\n")
}

func portLine(p roomclient.PortStatus, now time.Time) string {
	line := "• " + code(p.Num, capPort) + " " + liveness(p.LivenessStatus)
	if p.Liveness != "" {
		line += " at " + code(p.Liveness, 80)
	}
	if !p.LastCheckedAt.IsZero() {
		line += ", checked " + ago(p.LastCheckedAt, now)
	}
	switch {
	case p.LastError == "":
	case p.LivenessStatus == "not_ready":
		line += ": " + code(p.LastError, 120)
	default:
		// A port that passes its check now may keep the error of a check
		// it failed before; shown after a colon, it read as the cause.
		line += "; last error " + code(p.LastError, 120)
	}
	return line
}

func eventLines(evs []roomclient.Event) string {
	lines := []string{"*Recent events*, newest first"}
	for _, ev := range newest(evs, maxEvents) {
		lines = append(lines, eventLine(ev))
	}
	return strings.Join(lines, "\n")
}

// newest returns the n most recent events, newest first. Events without
// a time sort last; among equal times the later in the room's order,
// which the room appends to, comes first.
func newest(evs []roomclient.Event, n int) []roomclient.Event {
	out := slices.Clone(evs)
	slices.Reverse(out)
	slices.SortStableFunc(out, func(a, b roomclient.Event) int {
		return eventTime(b).Compare(eventTime(a))
	})
	return out[:min(n, len(out))]
}

func eventTime(ev roomclient.Event) time.Time {
	if ev.LastTimestamp.IsZero() {
		return ev.FirstTimestamp
	}
	return ev.LastTimestamp
}

func eventLine(ev roomclient.Event) string {
	line := "• "
	if t := eventTime(ev); !t.IsZero() {
		line += clock(t) + " · "
	}
	line += word(ev.Type, 30) + " · " + word(ev.Reason, 60)
	if ev.Count > 1 {
		line += fmt.Sprintf(" ×%d", ev.Count)
	}
	if ev.Message != "" {
		line += ": " + code(ev.Message, 300)
	}
	return line
}
