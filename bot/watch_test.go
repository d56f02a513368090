package bot_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roomops/roombot/roomclient/roomtest"
	"github.com/roomops/roombot/slacksim"
	"github.com/roomops/roombot/watch"
)

// Channels of the watch tests, beside ops.
const (
	dev        = "C0DEV0001" // watches nothing
	configured = "C0CONF001" // watches lobby by configuration
	dm         = "D0ALICE01"
	groupDM    = "G0MPIM001"
)

// Reply texts of the watch commands, as commands renders them.
const (
	watchedText        = "now hears when a service of"
	watchedAlreadyText = "already hears when a service of"
	unwatchedText      = "no longer hears of"
	notWatchedText     = "nothing to undo"
	noneWatched        = "No room is watched"
	notChannelText     = "watched from channels only"
	configuredText     = "ROOMBOT_WATCH"
	watchOffText       = "Watching rooms is turned off"

	// Refusals name what was asked: watching needs the right to restart,
	// but restarts nothing.
	watchRefusal    = "not allowed to change what this channel watches"
	watchingRefusal = "not allowed to see which rooms are watched"
)

func withWatch(o *options) { o.watch = true }

// commandIn types a slash command as user in channel, named name as
// Slack names it in the payload ("" for the id), and returns the reply.
func (h *harness) commandIn(user, channel, name, text string) slacksim.Message {
	h.t.Helper()
	env, err := h.slack.SlashCommand(h.ctx, slacksim.SlashCommand{
		UserID: user, ChannelID: channel, ChannelName: name, Text: text})
	if err != nil {
		h.t.Fatalf("SlashCommand(%q in %s): %v", text, channel, err)
	}
	return h.reply(env)
}

// pairs returns the pairs the watcher has in effect.
func (h *harness) pairs() []watch.Pair {
	h.t.Helper()
	ps, err := h.watch.Pairs(h.ctx)
	if err != nil {
		h.t.Fatalf("Pairs: %v", err)
	}
	return ps
}

// polls waits until the room has answered n more list calls than it had
// when polls was called. The watch polls a room one list at a time, so
// once the second list after a change has reached the room, the first
// has been taken in whole.
func (h *harness) polls(n int) {
	h.t.Helper()
	want := h.room.Calls("lobby", "list") + n
	h.room.WaitFor(h.t, "watch polls of lobby", func() bool {
		return h.room.Calls("lobby", "list") >= want
	})
}

// posted returns the messages in channel that everyone sees: the
// notifications and watch messages, not the ephemeral replies.
func (h *harness) posted(channel string) []slacksim.Message {
	return slices.DeleteFunc(h.slack.Messages(channel), func(m slacksim.Message) bool {
		return m.Ephemeral
	})
}

// TestWatchCommands: a user who may restart makes the channel watch a
// room, sees it in watching, and unwatches it; a second unwatch says
// there is nothing to undo.
func TestWatchCommands(t *testing.T) {
	h := newHarness(t, withWatch)

	steps := []struct {
		user, text string
		want       []string
		pairs      []watch.Pair
	}{
		{alice, "watching", []string{noneWatched}, nil},
		{alice, "watch lobby", []string{watchedText, "<#" + ops + ">", "lobby",
			"lasts until roombot restarts"},
			[]watch.Pair{{Room: "lobby", Channel: ops}}},
		{alice, "watch lobby", []string{watchedAlreadyText, "<#" + ops + ">", "lobby"},
			[]watch.Pair{{Room: "lobby", Channel: ops}}},
		{alice, "watching", []string{"Watched rooms (1)", "lobby", "<#" + ops + ">"},
			[]watch.Pair{{Room: "lobby", Channel: ops}}},
		{vera, "watching", []string{"Watched rooms (1)", "lobby", "<#" + ops + ">"},
			[]watch.Pair{{Room: "lobby", Channel: ops}}},
		{alice, "unwatch lobby", []string{unwatchedText, "<#" + ops + ">", "lobby"}, nil},
		{alice, "watching", []string{noneWatched}, nil},
		// A viewer is not told to run what it may not.
		{vera, "watching", []string{"No room is watched", "People allowed to restart services"}, nil},
		{alice, "unwatch lobby", []string{notWatchedText, "<#" + ops + ">", "lobby"}, nil},
	}
	for i, s := range steps {
		m := h.command(s.user, s.text)
		what := fmt.Sprintf("step %d, %s by %s", i+1, s.text, s.user)
		wantText(t, what, m.Render(), s.want...)
		if !m.Ephemeral {
			t.Errorf("%s: reply is visible to the channel, want ephemeral", what)
		}
		if got := h.pairs(); !slices.Equal(got, s.pairs) {
			t.Errorf("after %s: pairs = %v, want %v", what, got, s.pairs)
		}
	}
	h.noViolations()
}

// TestWatchRefusals: watch and unwatch from people who may not, from a
// direct message or a group DM, of a configured pair or of a room that
// does not exist, are refused plainly, and what is watched stays as it
// was. Each refusal is aimed where it would change something if it went
// through.
func TestWatchRefusals(t *testing.T) {
	h := newHarness(t, withWatch, func(o *options) {
		o.watchConf = func(c *watch.Config) {
			c.Configured = []watch.Pair{{Room: "lobby", Channel: configured}}
		}
	})
	wantText(t, "watch lobby", h.command(alice, "watch lobby").Render(), watchedText)
	before := h.command(alice, "watching")
	wantText(t, "watching", before.Render(), "<#"+ops+">", "<#"+configured+">", "configured")
	pairs := h.pairs()

	tests := []struct {
		name, user, channel, channelName, text, want string
	}{
		{"viewer watches", vera, dev, "", "watch lobby", watchRefusal},
		{"viewer unwatches", vera, ops, "", "unwatch lobby", watchRefusal},
		{"stranger watches", mallory, dev, "", "watch lobby", watchRefusal},
		{"stranger unwatches", mallory, ops, "", "unwatch lobby", watchRefusal},
		{"stranger lists watches", mallory, ops, "", "watching", watchingRefusal},
		{"watch in a DM", alice, dm, "directmessage", "watch lobby", notChannelText},
		{"unwatch in a DM", alice, dm, "directmessage", "unwatch lobby", notChannelText},
		{"watch in a group DM", alice, groupDM, "mpdm-alice--bob--carol-1",
			"watch lobby", notChannelText},
		{"unwatch a configured pair", alice, configured, "", "unwatch lobby", configuredText},
		{"watch a configured pair", alice, configured, "", "watch lobby", watchedAlreadyText},
		{"watch a room that does not exist", alice, dev, "", "watch nowhere",
			"There is no room `nowhere`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := h.commandIn(tt.user, tt.channel, tt.channelName, tt.text)
			wantText(t, tt.text+" by "+tt.user+" in "+tt.channel, m.Render(), tt.want)
			if !m.Ephemeral {
				t.Errorf("refusal of %q is visible to the channel, want ephemeral", tt.text)
			}
			if got := h.pairs(); !slices.Equal(got, pairs) {
				t.Errorf("after %q: pairs = %v, want %v", tt.text, got, pairs)
			}
			after := h.command(alice, "watching")
			if string(after.Blocks) != string(before.Blocks) {
				t.Errorf("after %q: watching = \n%s\nwant it unchanged:\n%s",
					tt.text, after.Render(), before.Render())
			}
		})
	}
	h.noViolations()
}

// TestUnwatchInGroupDM: a group DM may no longer watch a room, but one
// that does, from before that was refused and kept in Redis, can still
// stop.
func TestUnwatchInGroupDM(t *testing.T) {
	h := newHarness(t, withWatch)
	if err := h.watch.Watch(h.ctx, "lobby", groupDM); err != nil {
		t.Fatal(err)
	}
	m := h.commandIn(alice, groupDM, "mpdm-alice--bob--carol-1", "unwatch lobby")
	wantText(t, "unwatch lobby in a group DM", m.Render(), unwatchedText)
	if got := h.pairs(); len(got) != 0 {
		t.Errorf("after unwatch lobby in a group DM: pairs = %v, want none", got)
	}
}

// TestWatchAnnouncesRestart: a service the room restarts by itself is
// told in the watching channel once, with the room, the service, the
// restart count and the last exit, and that one message is updated when
// the service runs again.
func TestWatchAnnouncesRestart(t *testing.T) {
	h := newHarness(t, withWatch, func(o *options) {
		// The service stays restarting until Recover, so the watch sees
		// the restart and the recovery in two polls, whatever the timing.
		o.roomOpts = []roomtest.Option{roomtest.WithRestartDelays(time.Hour, time.Hour)}
	})
	wantText(t, "watch lobby", h.command(alice, "watch lobby").Render(), watchedText)
	h.polls(2) // a baseline to compare with

	if err := h.room.RestartService("lobby", "svc-web", 137); err != nil {
		t.Fatal(err)
	}
	first := h.notification(func(m slacksim.Message) bool {
		return m.Channel == ops && strings.Contains(m.Text, "restarted by itself")
	})
	wantText(t, "watch message", first.Render(),
		"web", "lobby", "restart count 3", "last exit 137")
	if first.Source != "chat.postMessage" {
		t.Errorf("watch message came by %s, want chat.postMessage", first.Source)
	}
	if strings.Contains(first.Text, "running again") {
		t.Errorf("watch message says the service runs before it does:\n%s", first.Render())
	}

	if err := h.room.Recover("lobby", "svc-web"); err != nil {
		t.Fatal(err)
	}
	back := h.notification(func(m slacksim.Message) bool {
		return m.Channel == ops && strings.Contains(m.Text, "running again")
	})
	if back.TS != first.TS || back.Source != "chat.update" {
		t.Errorf("recovery came as %s by %s, want chat.update of the first message %s",
			back.TS, back.Source, first.TS)
	}
	wantText(t, "updated watch message", back.Render(),
		"web", "lobby", "restart count 3", "last exit 137", "Running again")

	h.polls(3) // time to say anything more it was going to
	msgs := h.posted(ops)
	if len(msgs) != 1 {
		t.Fatalf("%s holds %d messages, want 1:\n%s", ops, len(msgs), renderAll(msgs))
	}
	if got := len(msgs[0].History); got != 1 {
		t.Errorf("watch message edited %d times, want 1 (restarted → running again)", got)
	}
	h.noViolations()
}

// TestWatchQuietOnOwnRestart: a restart roombot performed in a watched
// room is told once, by its own notification, and not again by the
// watch.
func TestWatchQuietOnOwnRestart(t *testing.T) {
	h := newHarness(t, withWatch)
	wantText(t, "watch lobby", h.command(alice, "watch lobby").Render(), watchedText)
	h.polls(2)

	card := h.card(alice, "web")
	h.reply(h.click(alice, card.TS, confirmID))
	n := h.notification(func(m slacksim.Message) bool {
		return m.Channel == ops && strings.Contains(m.Text, "back after")
	})
	if got := h.restarts("svc-web"); got != 1 {
		t.Fatalf("room saw %d restarts of svc-web, want 1", got)
	}

	// The recovery watch is over, so every list from here is the room
	// watch's: let it look at the restarted service a few times.
	h.polls(4)
	msgs := h.posted(ops)
	if len(msgs) != 1 || msgs[0].TS != n.TS {
		t.Errorf("%s holds %d messages, want only the notification %s:\n%s",
			ops, len(msgs), n.TS, renderAll(msgs))
	}
	h.noViolations()
}

// TestWatchOff: without a room watch, help offers no watch verbs and the
// watch commands say watching is off, without asking the room anything.
func TestWatchOff(t *testing.T) {
	h := newHarness(t)
	help := h.command(alice, "help").Render()
	wantText(t, "help", help, "restart ROOM SERVICE")
	for _, verb := range []string{"watch ROOM", "unwatch ROOM", "watching"} {
		if strings.Contains(help, verb) {
			t.Errorf("help with watching off offers %q:\n%s", verb, help)
		}
	}
	for _, text := range []string{"watch lobby", "unwatch lobby", "watching"} {
		wantText(t, text, h.command(alice, text).Render(), watchOffText)
	}
	if calls := h.spy.seen(); len(calls) != 0 {
		t.Errorf("watch commands with watching off reached the room: %v", calls)
	}
}

// TestWatchOnHelp: with a room watch, help offers the watch verbs to
// whoever may restart, and only watching to a viewer.
func TestWatchOnHelp(t *testing.T) {
	h := newHarness(t, withWatch)
	wantText(t, "help for alice", h.command(alice, "help").Render(),
		"watch ROOM", "unwatch ROOM", "watching")
	viewer := h.command(vera, "help").Render()
	wantText(t, "help for vera", viewer, "/room-services watching")
	if strings.Contains(viewer, "watch ROOM") {
		t.Errorf("help for a viewer offers watch or unwatch:\n%s", viewer)
	}
}

func renderAll(msgs []slacksim.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m.TS + " by " + m.Source + ":\n" + m.Render() + "\n")
	}
	return b.String()
}
