package bot_test

import (
	"regexp"
	"strings"
	"testing"

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
