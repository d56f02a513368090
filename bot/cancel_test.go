package bot_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/roomops/roombot/commands"
)

// TestCancel: Cancel replaces the card, and the card's token restarts
// nothing afterwards, even when its Confirm is pressed on a copy of the
// card (another client still showing it).
func TestCancel(t *testing.T) {
	h := newHarness(t)
	card := h.card(alice, "web")
	token := h.buttonValue(card.TS, confirmID)

	ev, err := h.slack.WaitReply(h.ctx, h.click(alice, card.TS, cancelID))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Message.TS != card.TS {
		t.Errorf("Cancel answered in message %s, want the card %s replaced", ev.Message.TS, card.TS)
	}
	wantText(t, "the card after Cancel", ev.Message.Render(), "cancelled", "Nothing was restarted")
	if hasButton(ev.Message, confirmID) {
		t.Errorf("the cancelled card still has its Restart button:\n%s", ev.Message.Render())
	}

	text := h.replyText(h.press(alice, confirmID, token))
	wantText(t, "Confirm of a cancelled card", text, "already used", "<@"+alice+">")
	if got := h.restartCalls(); got != 0 {
		t.Errorf("Confirm after Cancel: bot asked for %d restarts, want 0", got)
	}
	h.noViolations()
}

// TestExpiredCard: a card older than ConfirmTTL is answered plainly, its
// buttons are taken away, and nothing is restarted.
func TestExpiredCard(t *testing.T) {
	clock := newClock()
	h := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) {
			c.Now = clock.Now
			c.ConfirmTTL = time.Minute
		}
	})
	for _, action := range []string{confirmID, cancelID} {
		t.Run(action, func(t *testing.T) {
			card := h.card(alice, "web")
			clock.advance(time.Minute + time.Second)
			m := h.reply(h.click(alice, card.TS, action))
			wantText(t, action+" on an expired card", m.Render(), "expired", "nothing was restarted",
				"/room-services restart lobby web")
			if m.TS != card.TS || hasButton(m, confirmID) {
				t.Errorf("expired card not replaced:\n%s", m.Render())
			}
		})
	}
	if got := h.restartCalls(); got != 0 {
		t.Errorf("expired cards: bot asked for %d restarts, want 0", got)
	}
	h.noViolations()
}

// TestCardOfAnotherKey: a card signed by a roombot whose key has since
// changed, as a restart with no ROOMBOT_SIGNING_KEY set changes it, is
// replaced by why it cannot work, buttons and all, as an expired card
// is; it used to keep its buttons, under a new message.
func TestCardOfAnotherKey(t *testing.T) {
	other := newHarness(t, func(o *options) {
		o.conf = func(c *botConfig) { c.SigningKey = []byte("the-key-before-a-restart-0123") }
	})
	value := other.buttonValue(other.card(alice, "web").TS, confirmID)

	h := newHarness(t)
	env := h.press(alice, confirmID, value)
	m := h.reply(env)
	wantText(t, "the click", m.Render(), "not valid")
	if hasButton(m, confirmID) || len(m.History) == 0 {
		t.Errorf("the card of another key was not replaced:\n%s", m.Render())
	}
	if got := h.restartCalls(); got != 0 {
		t.Errorf("bot asked for %d restarts, want 0", got)
	}
}

// TestForgedButtons: button values the bot did not write, or that were
// changed on the way, restart nothing and reach no room.
func TestForgedButtons(t *testing.T) {
	h := newHarness(t)
	card := h.card(alice, "web")
	token := h.buttonValue(card.TS, confirmID)
	before := len(h.spy.seen())

	tests := []struct {
		name, action, value string
	}{
		{"garbage confirm", confirmID, "hello"},
		{"empty confirm", confirmID, ""},
		{"garbage cancel", cancelID, "v1.e30.AAAA"},
		{"confirm retargeted", confirmID, retarget(t, token, "svc-worker")},
		{"confirm signature cut", confirmID, token[:len(token)-4]},
		{"confirm of an ask value", confirmID, `{"r":"lobby","i":"svc-web"}`},
		{"ask for a mention", askID, `{"r":"<@U0ALICE01>","i":"svc-web"}`},
		{"ask with extra fields", askID, `{"r":"lobby","i":"svc-web","x":1}`},
		{"ask of a token", askID, token},
		{"page zero", commands.ActionPageNext, `{"r":"lobby","p":0}`},
		{"page of a zero-width room", commands.ActionPageNext, "{\"r\":\"lob\u200bby\",\"p\":2}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := h.replyText(h.press(alice, tt.action, tt.value))
			wantText(t, tt.action+" with "+tt.value, text, "not valid")
		})
	}
	if got := h.spy.seen()[before:]; len(got) != 0 {
		t.Errorf("forged buttons reached the room: %v", got)
	}
	if got := h.restarts("svc-web") + h.restarts("svc-worker"); got != 0 {
		t.Errorf("forged buttons: room saw %d restarts, want 0", got)
	}
	h.noViolations()
}

// retarget rewrites the service id inside a signed token and keeps the
// signature, as someone editing a button value would.
func retarget(t *testing.T, token, id string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d parts, want 3", token, len(parts))
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var tk map[string]any
	if err := json.Unmarshal(body, &tk); err != nil {
		t.Fatal(err)
	}
	tk["i"] = id
	body, _ = json.Marshal(tk)
	parts[1] = base64.RawURLEncoding.EncodeToString(body)
	return strings.Join(parts, ".")
}
