package bot_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/roomclient/roomtest"
	"github.com/roomops/roombot/slacksim"
)

// refRE finds the reference of an internal error reply.
var refRE = regexp.MustCompile("ref `([0-9a-f]+)`")

// internalRef returns the reference in an internal error reply, failing
// the test when text is not one, and checks that the log names it once.
func (h *harness) internalRef(what, text string) string {
	h.t.Helper()
	m := refRE.FindStringSubmatch(text)
	if m == nil {
		h.t.Fatalf("%s = \n%s\nwant an internal error with a ref", what, text)
	}
	ref := m[1]
	if n := strings.Count(h.logs.String(), ref); n != 1 {
		h.t.Errorf("%s: ref %s is in the log %d times, want once\nlogs:\n%s", what, ref, n, h.logs)
	}
	return ref
}

// TestPanicInListIsAnInternalError: the room client panics while listing.
// The user gets an internal error with a reference, the log has that
// reference once, and the next command works.
func TestPanicInListIsAnInternalError(t *testing.T) {
	h := newHarness(t)
	h.spy.panicOn("list", "lobby", 1)
	env := h.send(vera, "list lobby")
	text := h.replyText(env)
	h.waitAudit(env.ID)
	h.internalRef("list lobby with a panicking room client", text)

	wantText(t, "list lobby after the panic", h.command(vera, "list lobby").Render(), "5 services")
}

// TestPanicInRestart: the room client panics in the restart itself. The
// requester gets an internal error with a reference, and the service is
// not left locked: a new card restarts it.
func TestPanicInRestart(t *testing.T) {
	h := newHarness(t)
	card := h.card(alice, "web")
	h.spy.panicOn("restart", "lobby", 1)
	env := h.click(alice, card.TS, confirmID)
	m, err := h.slack.WaitMessage(h.ctx, func(m slacksim.Message) bool {
		return m.EnvelopeID == env.ID && strings.Contains(m.Text, "ref")
	})
	if err != nil {
		t.Fatalf("no internal error after a panic in restart: %v\nlogs:\n%s", err, h.logs)
	}
	h.waitAudit(env.ID)
	h.internalRef("confirm with a panicking room client", m.Render())

	card = h.card(alice, "web")
	wantText(t, "a new card after the panic", h.replyText(h.click(alice, card.TS, confirmID)), "Restarting")
	h.recovered("web")
	if got := h.restarts("svc-web"); got != 1 {
		t.Errorf("room saw %d restarts, want 1", got)
	}
}

// TestPanicInRestartWatch: the room client panics in a poll of the
// recovery watch, which runs on a goroutine of its own, after the
// handler. It used to end the process. The notification and the card say
// the outcome is unknown with a reference that the log has, the service
// is not left locked, and the bot goes on.
func TestPanicInRestartWatch(t *testing.T) {
	h := newHarness(t)
	stuck := &roomtest.Failure{ExitCode: 1, StartError: "stuck"}
	if err := h.room.FailRestarts("lobby", "svc-web", stuck); err != nil {
		t.Fatal(err)
	}
	card := h.card(alice, "web")
	h.reply(h.click(alice, card.TS, confirmID))
	h.notification(func(m slacksim.Message) bool { return strings.HasPrefix(m.Text, "Restarting") })
	h.spy.panicOn("list", "lobby", 1)

	n := h.notification(func(m slacksim.Message) bool { return strings.Contains(m.Text, "outcome unknown") })
	ref := h.internalRef("the notification after a panic in the watch", n.Render())
	wantText(t, "the card after a panic in the watch", h.cardSays(card.TS, "outcome unknown").Render(), ref)

	if err := h.room.Recover("lobby", "svc-web"); err != nil {
		t.Fatal(err)
	}
	c := h.card(alice, "web")
	wantText(t, "a new card after the panic", h.replyText(h.click(alice, c.TS, confirmID)), "Restarting")
	h.room.WaitFor(t, "the second restart", func() bool { return h.restarts("svc-web") == 2 })
	h.recovered("web")
}

// panicRenew is a claim store whose renewals panic.
type panicRenew struct{ claims.Store }

func (panicRenew) Renew(context.Context, string, string, time.Duration) error {
	panic("panicRenew: injected panic in Renew")
}

// TestPanicInLockRenewal: the claim store panics when the restart lock is
// renewed, on the goroutine that renews it. The panic is logged, the
// restart goes on to its outcome, and the bot goes on.
func TestPanicInLockRenewal(t *testing.T) {
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) {
			c.Claims = panicRenew{claims.NewMemory(nil)}
			c.CallTimeout = 100 * time.Millisecond // renewed every 100 ms or so
		}
	})
	stuck := &roomtest.Failure{ExitCode: 1, StartError: "stuck"}
	if err := h.room.FailRestarts("lobby", "svc-web", stuck); err != nil {
		t.Fatal(err)
	}
	card := h.card(alice, "web")
	h.reply(h.click(alice, card.TS, confirmID))
	h.waitLog("of the renewal's panic", func(l logLine) bool {
		return strings.HasPrefix(l.str("msg"), "restart lock renewal panicked")
	})
	if err := h.room.Recover("lobby", "svc-web"); err != nil {
		t.Fatal(err)
	}
	h.recovered("web")
	wantText(t, "list lobby after the panic", h.command(vera, "list lobby").Render(), "5 services")
}
