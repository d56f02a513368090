package bot_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient/roomtest"
	"github.com/roomops/roombot/slacksim"
)

// bigRoom has 80 services: eight pages.
func bigRoom() *roomtest.Room {
	r := &roomtest.Room{}
	for i := range 80 {
		r.Services = append(r.Services, service(fmt.Sprintf("svc-%02d", i), fmt.Sprintf("s%02d", i)))
	}
	return r
}

// Names a room may hold that must not turn into markup in Slack.
var hostileNames = []string{
	strings.Repeat("a&<>😀", 24), // 120 characters
	"<!channel>",
	"<!here|here>",
	"<@U0123ABCD>",
	"*bold* _it_ ~st~",
	"`tick`tock`",
	"<http://evil.example|click me>",
}

func oddRoom() *roomtest.Room {
	r := &roomtest.Room{}
	for i, name := range hostileNames {
		r.Services = append(r.Services, service(fmt.Sprintf("svc-odd-%d", i), name))
	}
	return r
}

// TestPagedList: a room of 80 services is shown ten at a time with the
// total, and Next and Previous replace the message with another page.
func TestPagedList(t *testing.T) {
	h := newHarness(t, func(o *options) { o.fixture.Rooms["big"] = bigRoom() })
	m := h.command(vera, "list big")
	wantText(t, "list big", m.Render(), "80 services", "page 1 of 8", "s00", "s09")
	if strings.Contains(m.Render(), "s10") {
		t.Errorf("page 1 shows s10:\n%s", m.Render())
	}

	steps := []struct {
		action string
		want   []string
	}{
		{commands.ActionPageNext, []string{"page 2 of 8", "s10", "s19"}},
		{commands.ActionPageNext, []string{"page 3 of 8", "s20", "s29"}},
		{commands.ActionPagePrev, []string{"page 2 of 8", "s10", "s19"}},
		{commands.ActionPagePrev, []string{"page 1 of 8", "s00", "s09"}},
	}
	for i, s := range steps {
		ev, err := h.slack.WaitReply(h.ctx, h.click(vera, m.TS, s.action))
		if err != nil {
			t.Fatalf("step %d, %s: %v", i, s.action, err)
		}
		if ev.Kind != slacksim.Edited || ev.Message.TS != m.TS {
			t.Fatalf("step %d, %s: %s message %s, want the list %s replaced",
				i, s.action, ev.Kind, ev.Message.TS, m.TS)
		}
		wantText(t, fmt.Sprintf("step %d, %s", i, s.action), ev.Message.Render(), s.want...)
	}
	if got, _ := h.slack.Message(m.TS); len(got.History) != len(steps) {
		t.Errorf("list edited %d times, want %d", len(got.History), len(steps))
	}
	if n := len(h.slack.Messages(ops)); n != 1 {
		t.Errorf("paging left %d messages in the channel, want the one list", n)
	}
	h.noViolations()
	h.noMarkupFromData()
}

// TestHostileNames: names full of Slack markup are shown, escaped and
// verbatim, in every message the bot sends about them: the list, the
// card, the notification and its update. None pings anyone.
func TestHostileNames(t *testing.T) {
	h := newHarness(t, func(o *options) {
		o.fixture.Rooms["odd"] = oddRoom()
		o.conf = func(c *botConfig) { c.NotifyChannel = notify }
	})
	list := h.command(alice, "list odd")
	wantText(t, "list odd", list.Render(), "7 services", "&lt;!channel&gt;")

	buttons, err := h.slack.Buttons(list.TS)
	if err != nil {
		t.Fatal(err)
	}
	// Every name gets a card; the first two are confirmed too, for a
	// notification and its update. Notifications are paced at about one
	// a second per channel, so the rest stop at the card.
	var cards []slacksim.Message
	for _, b := range buttons {
		if b.ActionID != askID {
			continue
		}
		card := h.reply(h.clickButton(alice, list.TS, b.Index))
		if !hasButton(card, confirmID) {
			t.Fatalf("Restart %s gave no card:\n%s", b.Value, card.Render())
		}
		cards = append(cards, card)
	}
	if len(cards) != len(hostileNames) {
		t.Fatalf("list odd offered %d Restart buttons, want %d", len(cards), len(hostileNames))
	}
	for i, card := range cards[:2] {
		h.reply(h.click(alice, card.TS, confirmID))
		id := fmt.Sprintf("svc-odd-%d", i)
		h.notification(func(m slacksim.Message) bool {
			return m.Channel == notify && strings.Contains(string(m.Blocks), id) &&
				strings.Contains(m.Text, "is back after")
		})
	}
	h.noViolations()
	if h.noMarkupFromData() == 0 {
		t.Error("no message mentions the requester: the scan for mentions saw nothing")
	}
}

// mentionRE matches what Slack reads as a mention, a channel link or a
// special command in message text.
var mentionRE = regexp.MustCompile(`<[@#!][^>]*>?`)

// noMarkupFromData fails the test if any message the bot sent, in any of
// its versions, holds a mention other than of a test user: every other one
// came from data. It returns how many mentions of test users it saw, so a
// caller can tell the scan found the bot's own.
func (h *harness) noMarkupFromData() int {
	h.t.Helper()
	seen := 0
	users := map[string]bool{"<@" + alice + ">": true, "<@" + vera + ">": true}
	for _, ch := range []string{ops, notify} {
		for _, m := range h.slack.Messages(ch) {
			versions := append([]slacksim.Revision{{Text: m.Text, Blocks: m.Blocks}}, m.History...)
			for _, v := range versions {
				for _, s := range append(stringsIn(v.Blocks), v.Text) {
					for _, found := range mentionRE.FindAllString(s, -1) {
						if !users[found] {
							h.t.Errorf("message %s carries %q from data in %q", m.TS, found, s)
						}
						seen++
					}
				}
			}
		}
	}
	return seen
}

// stringsIn returns every string in a JSON document.
func stringsIn(raw json.RawMessage) []string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}
