package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/roomops/roombot/roomclient"
	"github.com/roomops/roombot/roomclient/roomtest"
	"github.com/roomops/roombot/slacksim"
)

// TestRecoveryPollsAskTheRoomAfresh: a list of the room starts while the
// restart call is out, and is still under way when the restart returns.
// Lists of one room share a call; a recovery poll that joined this one
// would read what the room said before the restart took effect, and
// could take an old state for the service's return. The watch asks the
// room itself: it sees the service back while that list is held.
func TestRecoveryPollsAskTheRoomAfresh(t *testing.T) {
	h := newHarness(t, func(o *options) {
		// The held list must outlast the test's every wait.
		o.conf = func(c *botConfig) { c.CallTimeout = 4 * wait }
	})
	card := h.card(alice, "web")
	restart := h.spy.hold("restart", "lobby")
	h.click(alice, card.TS, confirmID)
	restart.wait(h.ctx, t)

	older := h.spy.hold("list", "lobby")
	defer close(older.release)
	h.send(vera, "list lobby")
	older.wait(h.ctx, t)
	close(restart.release)

	n := h.recovered("web")
	wantText(t, "the notification", n.Render(), "back after")
}

// TestBackOnlyOnceSteady: the restarted service comes up in a new
// container and crashes before the next poll, as a crash-looping service
// does. The notification used to say it was back at the first sight of
// it running; it waits until a second poll finds it in the same
// container, and then names the container it stays in.
func TestBackOnlyOnceSteady(t *testing.T) {
	h := newHarness(t)
	card := h.card(alice, "web")
	before := h.spy.hold("list", "lobby")
	h.click(alice, card.TS, confirmID)
	before.wait(h.ctx, t)
	// Each gate is set while the call before it is held, so every poll
	// is caught.
	first := h.spy.hold("list", "lobby")
	close(before.release)
	first.wait(h.ctx, t)
	h.room.WaitFor(t, "web running in a new container", func() bool {
		st, _ := h.room.State("lobby", "svc-web")
		return st.State == "running" && *st.ContainerID != "c-svc-web"
	})
	second := h.spy.hold("list", "lobby")
	close(first.release)
	second.wait(h.ctx, t)
	if err := h.room.Crash("lobby", "svc-web", 1, "boom"); err != nil {
		t.Fatal(err)
	}
	third := h.spy.hold("list", "lobby")
	close(second.release)
	third.wait(h.ctx, t)

	n := h.notification(func(m slacksim.Message) bool { return strings.HasPrefix(m.Text, "Restarting") })
	if strings.Contains(n.Text, "back") {
		t.Fatalf("notification says web is back though it crashed:\n%s", n.Render())
	}
	if err := h.room.Recover("lobby", "svc-web"); err != nil {
		t.Fatal(err)
	}
	close(third.release)
	n = h.recovered("web")
	st, _ := h.room.State("lobby", "svc-web")
	wantText(t, "the notification", n.Render(), *st.ContainerID)
	if len(n.History) != 1 {
		t.Errorf("notification edited %d times, want once (requested → back)", len(n.History))
	}
}

// TestCrashLoopIsNotBack: the restarted service crash-loops, each run
// lasting well past two polls but far short of RecoverySteady. The
// notification says it is not back; it used to say "back" as soon as
// two polls found one run, seconds before that run died (the demo's
// staging api, crashing every 6 s).
func TestCrashLoopIsNotBack(t *testing.T) {
	fx := lobby()
	fx.Rooms["lobby"].Services[0].CrashLoop = &roomtest.CrashLoop{
		Every: roomtest.Duration(200 * time.Millisecond), ExitCode: 1}
	h := newHarness(t, func(o *options) {
		o.fixture = fx
		o.conf = func(c *botConfig) {
			c.RecoverySteady = 2 * time.Second
			c.RecoveryTimeout = 4 * time.Second
		}
	})
	card := h.card(alice, "web")
	h.reply(h.click(alice, card.TS, confirmID))
	n := h.notification(func(m slacksim.Message) bool { return strings.Contains(m.Text, "not back") })

	wantText(t, "the notification", n.Render(), "still crash-looping with ", "more restarts after", "last exit 1")
	for _, r := range n.History {
		if strings.Contains(r.Text, "back after") && !strings.Contains(r.Text, "not back") {
			t.Errorf("the notification said web was back while it crash-looped: %q", r.Text)
		}
	}
}

// TestRoomGoneAfterRestart: the room stops answering right after it took
// the restart. The bot never sees the service again, so the outcome is
// unknown, told when RecoveryTimeout ends. It used to say the service
// was "still running" from its state before the restart, and only once
// a poll stuck in the room client's redials gave up, long after.
func TestRoomGoneAfterRestart(t *testing.T) {
	const recoveryTimeout = 3 * time.Second
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) {
			c.RecoveryTimeout = recoveryTimeout
			// The room goes once the notification is out; a poll that
			// came first would see it, and the test would mean nothing.
			c.RecoveryPoll = time.Second
			c.CallTimeout = 20 * time.Second
		}
	})
	card := h.card(alice, "web")
	h.reply(h.click(alice, card.TS, confirmID))
	// The notification is posted once the room has answered the restart.
	h.notification(func(m slacksim.Message) bool { return strings.HasPrefix(m.Text, "Restarting") })
	if err := h.room.SetReachable("lobby", false); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	n := h.notification(func(m slacksim.Message) bool { return !strings.HasPrefix(m.Text, "Restarting") })
	took := time.Since(start)

	wantText(t, "the notification", n.Render(), "outcome unknown",
		"roombot could not reach the room", "/room-services status lobby web")
	if strings.Contains(n.Render(), "still") {
		t.Errorf("the notification tells a state the bot never saw:\n%s", n.Render())
	}
	// Why the room could not be reached is in the log, under the ref.
	h.internalRef("the notification", n.Render())
	// The wait ends with RecoveryTimeout, not with a room call's.
	if took > recoveryTimeout+3*time.Second {
		t.Errorf("the outcome came %v after the room went, want within %v and a little", took, recoveryTimeout)
	}
}

// TestBackWhenTheRoomReturns: the room cannot be reached for a while
// after the restart, and comes back with the service already up longer
// than RecoverySteady, by the room's own start time. The service is
// back; it used to be timed as steady from when the bot first saw it,
// and told "not back" when the wait ended sooner than that.
func TestBackWhenTheRoomReturns(t *testing.T) {
	const steady = 2 * time.Second
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) {
			c.RecoverySteady = steady
			c.RecoveryTimeout = steady + 1500*time.Millisecond
			c.RecoveryPoll = 300 * time.Millisecond
		}
		o.roomConf = func(c *roomclient.Config) { c.RetryDelay = 50 * time.Millisecond }
	})
	card := h.card(alice, "web")
	h.reply(h.click(alice, card.TS, confirmID))
	h.notification(func(m slacksim.Message) bool { return strings.HasPrefix(m.Text, "Restarting") })
	if err := h.room.SetReachable("lobby", false); err != nil {
		t.Fatal(err)
	}
	// Away until the new run has been up for longer than steady, by the
	// room's clock, as the bot will read it.
	h.room.WaitFor(t, "the new run to be steady", func() bool {
		st, ok := h.room.State("lobby", "svc-web")
		return ok && st.State == "running" && st.StartedAt != nil &&
			time.Since(time.Unix(0, int64(*st.StartedAt*1e9))) > steady+100*time.Millisecond
	})
	if err := h.room.SetReachable("lobby", true); err != nil {
		t.Fatal(err)
	}
	n := h.notification(func(m slacksim.Message) bool { return !strings.HasPrefix(m.Text, "Restarting") })
	wantText(t, "the notification", n.Render(), "back after")
	if strings.Contains(n.Render(), "not back") || strings.Contains(n.Render(), "still") {
		t.Errorf("a service up longer than steady was told not back:\n%s", n.Render())
	}
}

// TestServiceGoneAfterRestart: the room answers after the restart, but
// no longer lists the service. Its state before the restart says nothing
// of after, so the outcome is unknown; it used to be told "still running".
func TestServiceGoneAfterRestart(t *testing.T) {
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) {
			c.RecoveryTimeout = 3 * time.Second
			// Slow enough that the first poll comes after the removal.
			c.RecoveryPoll = time.Second
		}
	})
	card := h.card(alice, "web")
	h.reply(h.click(alice, card.TS, confirmID))
	h.notification(func(m slacksim.Message) bool { return strings.HasPrefix(m.Text, "Restarting") })
	if err := h.room.RemoveService("lobby", "svc-web"); err != nil {
		t.Fatal(err)
	}
	n := h.notification(func(m slacksim.Message) bool { return !strings.HasPrefix(m.Text, "Restarting") })
	wantText(t, "the notification", n.Render(), "outcome unknown",
		"the room has not listed the service's state since the restart")
	if strings.Contains(n.Render(), "still") {
		t.Errorf("the notification tells a state the bot never saw:\n%s", n.Render())
	}
}

// TestWatchHearsCrashAfterOwnRestart: roombot's own restart keeps the
// room watch quiet about the service while the bot follows it; once the
// notification says the service is back, the watch is told at once, and
// a crash right after is announced. The quiet used to last the whole
// recovery timeout and two polls, and swallowed the crash. With Redis,
// the mark can only be cut short when Claim refuses a mark's own value
// (see claims.Store), which is how Performed finds the mark to renew.
func TestWatchHearsCrashAfterOwnRestart(t *testing.T) {
	eachStore(t, testWatchHearsCrashAfterOwnRestart)
}

func testWatchHearsCrashAfterOwnRestart(t *testing.T, store func(*options)) {
	h := newHarness(t, withWatch, func(o *options) {
		o.conf = func(c *botConfig) { c.RecoveryTimeout = time.Minute }
	}, store)
	wantText(t, "watch lobby", h.command(alice, "watch lobby").Render(), watchedText)
	h.polls(2)
	card := h.card(alice, "web")
	h.reply(h.click(alice, card.TS, confirmID))
	h.recovered("web")
	// The room watch has looked at web since the restart: what it saw
	// then was roombot's restart, and is not told again.
	h.polls(3)

	if err := h.room.Crash("lobby", "svc-web", 137, "oom"); err != nil {
		t.Fatal(err)
	}
	// A poll while web is still restarting sees the exit but not yet the
	// failed start, which the next poll adds to the same message.
	m := h.notification(func(m slacksim.Message) bool {
		r := m.Render()
		return m.Channel == ops && strings.Contains(r, "last exit 137") && strings.Contains(r, "oom")
	})
	wantText(t, "the watch's message", m.Render(), "web", "failed to start", "oom")
}
