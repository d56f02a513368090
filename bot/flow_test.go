package bot_test

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/roomops/roombot/roomclient/roomtest"
	"github.com/roomops/roombot/slacksim"
)

func TestList(t *testing.T) {
	h := newHarness(t)
	m := h.command(vera, "list lobby")

	text := m.Render()
	for _, want := range []string{"web", "worker", "cron", "5 services"} {
		if !strings.Contains(text, want) {
			t.Errorf("list lobby reply lacks %q:\n%s", want, text)
		}
	}
	if !m.Ephemeral {
		t.Error("list reply is visible to the channel, want ephemeral")
	}
	if hasButton(m, "rs.restart.ask") {
		t.Error("viewer sees Restart buttons")
	}
	if got := h.room.Calls("lobby", "list"); got != 1 {
		t.Errorf("room saw %d list calls, want 1", got)
	}
	h.noViolations()
}

func TestListOffersRestartToRestarters(t *testing.T) {
	h := newHarness(t)
	m := h.command(alice, "list lobby")
	if !hasButton(m, "rs.restart.ask") {
		t.Fatalf("restarter's list has no Restart button:\n%s", m.Render())
	}
}

// TestExternalServiceNotRestarted: a service that runs outside the room
// has no container for the room to restart. It gets no Restart button,
// and restart says why at once, rather than hand out a card whose
// confirm the room would refuse.
func TestExternalServiceNotRestarted(t *testing.T) {
	fx := lobby()
	docs, _ := json.Marshal(map[string]any{"version": "v1", "kind": "Service", "id": "svc-docs",
		"metadata": map[string]any{"name": "docs"},
		"external": map[string]any{"url": "https://docs.example.com"}})
	fx.Rooms["lobby"].Services = []roomtest.Service{{Spec: docs, RestartForbidden: true}}
	h := newHarness(t, func(o *options) { o.fixture = fx })

	for _, text := range []string{"list lobby", "status lobby docs"} {
		m := h.command(alice, text)
		if hasButton(m, "rs.restart.ask") || !strings.Contains(m.Render(), "runs outside the room") {
			t.Errorf("%s for a restarter:\n%s\nwant no Restart button, and why", text, m.Render())
		}
	}
	m := h.command(alice, "restart lobby docs")
	wantText(t, "restart lobby docs", m.Render(), "runs outside room `lobby`, at `https://docs.example.com`")
	if hasButton(m, confirmID) {
		t.Errorf("restart of an external service handed out a card:\n%s", m.Render())
	}
	if n := h.room.Calls("lobby", "restart"); n != 0 {
		t.Errorf("room saw %d restart calls, want none", n)
	}
	h.noViolations()
}

// TestRestartButtonOfAServiceNowExternal: a Restart button on an older
// list, of a service that has since moved outside the room, says why it
// cannot be restarted rather than hand out a card.
func TestRestartButtonOfAServiceNowExternal(t *testing.T) {
	spec := func(extra map[string]any) []byte {
		m := map[string]any{"version": "v1", "kind": "Service", "id": "svc-docs",
			"metadata": map[string]any{"name": "docs"}}
		maps.Copy(m, extra)
		js, _ := json.Marshal(m)
		return js
	}
	fx := lobby()
	fx.Rooms["lobby"].Services = []roomtest.Service{{Spec: spec(map[string]any{
		"container": map[string]any{"image": "docs:1"}})}}
	h := newHarness(t, func(o *options) { o.fixture = fx })
	list := h.command(alice, "list lobby")
	if !hasButton(list, "rs.restart.ask") {
		t.Fatalf("list of a room service has no Restart button:\n%s", list.Render())
	}
	if err := h.room.RemoveService("lobby", "svc-docs"); err != nil {
		t.Fatal(err)
	}
	external := roomtest.Service{Spec: spec(map[string]any{
		"external": map[string]any{"url": "https://docs.example.com"}}), RestartForbidden: true}
	if err := h.room.AddService("lobby", external); err != nil {
		t.Fatal(err)
	}

	m := h.reply(h.click(alice, list.TS, "rs.restart.ask"))
	wantText(t, "the Restart click", m.Render(), "runs outside room `lobby`, at `https://docs.example.com`")
	if hasButton(m, confirmID) {
		t.Errorf("a Restart click on an external service handed out a card:\n%s", m.Render())
	}
	h.noViolations()
}

// TestCardOfASharedName: lobby has two services named api. The card for
// one of them, and its dialog, name its id, which the name alone does
// not tell; a card for a name of its own does not.
func TestCardOfASharedName(t *testing.T) {
	h := newHarness(t)
	m := h.command(alice, "restart lobby svc-api-2")
	wantText(t, "the card", m.Render(), "Restart `api` (id `svc-api-2`) in `lobby`?")
	if js := string(m.Blocks); !strings.Contains(js, "api (id svc-api-2) in lobby will stop") {
		t.Errorf("the card's dialog does not name the id:\n%s", js)
	}
	if m := h.command(alice, "restart lobby web"); strings.Contains(m.Render(), "(id ") {
		t.Errorf("the card of a name of its own names its id:\n%s", m.Render())
	}
}

func TestStatus(t *testing.T) {
	h := newHarness(t)
	m := h.command(vera, "status lobby web")
	text := m.Render()
	for _, want := range []string{"web", "c-svc-web", "running"} {
		if !strings.Contains(text, want) {
			t.Errorf("status reply lacks %q:\n%s", want, text)
		}
	}
	h.noViolations()
}

// TestRestartFlow is the whole job: restart, confirm, exactly one restart
// in the room, a notification naming who did it, updated once the service
// runs again.
func TestRestartFlow(t *testing.T) {
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) { c.NotifyChannel = notify }
	})
	card := h.card(alice, "web")
	if h.restarts("svc-web") != 0 {
		t.Fatal("the card alone restarted the service")
	}

	env := h.click(alice, card.TS, "rs.restart.confirm")
	h.reply(env)
	n := h.notification(func(m slacksim.Message) bool {
		return strings.Contains(m.Text, "back after")
	})
	if got := h.restarts("svc-web"); got != 1 {
		t.Errorf("room saw %d restarts of svc-web, want 1", got)
	}
	if r := n.Render(); !strings.Contains(r, "<@"+alice+">") || !strings.Contains(r, "web") {
		t.Errorf("notification does not name the requester and service:\n%s", r)
	}
	if n.Channel != notify {
		t.Errorf("notification went to %s, want ROOMBOT_NOTIFY_CHANNEL %s", n.Channel, notify)
	}
	if len(n.History) != 1 {
		t.Errorf("notification edited %d times, want 1 (requested → back)", len(n.History))
	}
	// The requester's card ends with the outcome too, not "waiting". The
	// card is edited after the notification, so wait for it.
	if _, err := h.slack.WaitMessage(h.ctx, func(m slacksim.Message) bool {
		return m.TS == card.TS && strings.Contains(m.Render(), "back after")
	}); err != nil {
		c, _ := h.slack.Message(card.TS)
		t.Errorf("the card never showed the outcome (%v):\n%s", err, c.Render())
	}
	h.noViolations()
}

// TestRestartNotBack: a service that does not run again within the
// recovery timeout gets its notification updated once, saying it is
// still starting, with the last exit code and the start error.
func TestRestartNotBack(t *testing.T) {
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) {
			c.NotifyChannel = notify
			c.RecoveryTimeout = 300 * time.Millisecond
		}
	})
	stuck := &roomtest.Failure{ExitCode: 137, StartError: "image pull failed"}
	if err := h.room.FailRestarts("lobby", "svc-web", stuck); err != nil {
		t.Fatal(err)
	}
	card := h.card(alice, "web")
	h.reply(h.click(alice, card.TS, "rs.restart.confirm"))

	n := h.notification(func(m slacksim.Message) bool {
		return strings.Contains(m.Render(), "still")
	})
	text := n.Render()
	for _, want := range []string{"still starting", "last exit 137", "image pull failed", "<@" + alice + ">"} {
		if !strings.Contains(text, want) {
			t.Errorf("notification lacks %q:\n%s", want, text)
		}
	}
	if len(n.History) != 1 {
		t.Errorf("notification edited %d times, want 1 (requested → not back)", len(n.History))
	}
	if got := h.restarts("svc-web"); got != 1 {
		t.Errorf("room saw %d restarts of svc-web, want 1", got)
	}
	h.noViolations()
}
