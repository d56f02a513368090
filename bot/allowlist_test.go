package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/roomops/roombot/authz"
	"github.com/roomops/roombot/slacksim"
)

const uncheckedText = "could not check its allow-list"

// TestUnresolvedGroupIsToldAndLogged: Slack will not resolve the user
// group that names the restarters (the app lacks usergroups:read). Every
// command is refused, as the allow-list fails closed, but the user hears
// that it could not be checked and to try again, not that they are not
// on it; the cause is logged once, under the reference the reply gives,
// and the audit line says what happened. Once Slack answers, the group
// works.
func TestUnresolvedGroupIsToldAndLogged(t *testing.T) {
	const group = "S0OPS0001"
	clock := newClock()
	h := newHarness(t, withWatch, func(o *options) {
		o.viewers, o.restarters = nil, []string{group}
		o.authzOpts = []authz.Option{authz.WithClock(clock.Now)}
	})
	h.slack.SetUserGroup(group, alice)
	h.slack.FailNext("usergroups.users.list", slacksim.Fault{Error: "missing_scope"})

	// The failed lookup holds the group off, so each of these is refused
	// the same way without asking Slack again.
	for _, text := range []string{"list lobby", "restart lobby web",
		"watch lobby", "help"} {
		env := h.send(alice, text)
		reply := h.replyText(env)
		audit := h.waitAudit(env.ID)
		wantText(t, text, reply, uncheckedText)
		if strings.Contains(reply, "not allowed") || strings.Contains(reply, "allow-list,") {
			t.Errorf("%s = \n%s\nwant no claim that alice is not allowed", text, reply)
		}
		ref := h.internalRef(text, reply)
		lines := h.logLines(func(l logLine) bool {
			return l.str("msg") == "allow-list check failed" && l.str("ref") == ref
		})
		if len(lines) != 1 || !strings.Contains(lines[0].str("err"), "missing_scope") {
			t.Errorf("%s: log lines for ref %s = %v; want one with missing_scope", text, ref, lines)
		}
		if got := audit.str("outcome"); got != "allowlist_error" {
			t.Errorf("%s: audit outcome %q; want allowlist_error", text, got)
		}
	}
	if calls := h.spy.seen(); len(calls) != 0 {
		t.Errorf("commands refused for want of an allow-list reached the room: %v", calls)
	}

	clock.advance(time.Minute)
	wantText(t, "list lobby once Slack answers", h.command(alice, "list lobby").Render(), "5 services")
}

// TestUnresolvedGroupOnClick: a card's buttons are checked again at the
// click, and a group Slack will not resolve by then refuses the click as
// a command is refused: the clicker is told the allow-list could not be
// checked, not that they may not restart, and nothing reaches the room.
func TestUnresolvedGroupOnClick(t *testing.T) {
	const group = "S0OPS0001"
	clock := newClock()
	h := newHarness(t, func(o *options) {
		o.viewers, o.restarters = nil, []string{group}
		o.authzOpts = []authz.Option{authz.WithClock(clock.Now)}
	})
	h.slack.SetUserGroup(group, alice)
	card := h.card(alice, "web")
	list := h.command(alice, "list lobby")
	before := len(h.spy.seen())

	// Past what the last known members may stand in for.
	clock.advance(time.Hour)
	h.slack.FailNext("usergroups.users.list", slacksim.Fault{Error: "missing_scope"})
	for _, c := range []struct{ ts, action string }{
		{card.TS, confirmID}, {card.TS, cancelID}, {list.TS, askID},
	} {
		env := h.click(alice, c.ts, c.action)
		reply := h.reply(env).Render()
		wantText(t, c.action, reply, uncheckedText)
		if strings.Contains(reply, "not allowed") {
			t.Errorf("%s = \n%s\nwant no claim that alice is not allowed", c.action, reply)
		}
		ref := h.internalRef(c.action, reply)
		if lines := h.logLines(func(l logLine) bool {
			return l.str("msg") == "allow-list check failed" && l.str("ref") == ref
		}); len(lines) != 1 {
			t.Errorf("%s: %d log lines for ref %s, want 1", c.action, len(lines), ref)
		}
	}
	if got := h.spy.seen()[before:]; len(got) != 0 {
		t.Errorf("clicks refused for want of an allow-list reached the room: %v", got)
	}
}
