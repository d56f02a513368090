package bot_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// rawClick is a block_actions payload as Slack sends it for a click on an
// ephemeral card, with a message as Slack sends for ordinary ones. Tests
// take parts away.
func rawClick(user, hook, actionID, value string) map[string]any {
	return map[string]any{
		"type":       "block_actions",
		"api_app_id": "A0APP0001",
		"trigger_id": "1.2.3",
		"team":       map[string]any{"id": "T0ACME001", "domain": "acme"},
		"user":       map[string]any{"id": user, "username": "u", "team_id": "T0ACME001"},
		"channel":    map[string]any{"id": ops, "name": "ops"},
		"container": map[string]any{
			"type": "message", "message_ts": "1700000000.000001",
			"channel_id": ops, "is_ephemeral": true,
		},
		"message":      map[string]any{"type": "message", "ts": "1700000000.000001", "text": "card"},
		"response_url": hook,
		"state":        map[string]any{"values": map[string]any{}},
		"actions": []any{map[string]any{
			"type": "button", "action_id": actionID, "block_id": "rs-confirm-buttons",
			"value": value, "action_ts": "1700000001.000001",
		}},
	}
}

// frame wraps a payload in a Socket Mode envelope of type typ.
func frame(id, typ string, payload any) []byte {
	b, err := json.Marshal(map[string]any{
		"envelope_id": id, "type": typ, "accepts_response_payload": true,
		"retry_attempt": 0, "retry_reason": "", "payload": payload,
	})
	if err != nil {
		panic(err)
	}
	return b
}

// TestOddPayloads sends envelopes the typed helpers cannot build: clicks
// without state, message or channel, with no actions, and envelopes of
// types the bot does not know. None crashes the bot; each is acked; a
// click that still says what was pressed is carried out; and the next
// command works.
func TestOddPayloads(t *testing.T) {
	h := newHarness(t)
	without := func(keys ...string) func(map[string]any) {
		return func(p map[string]any) {
			for _, k := range keys {
				delete(p, k)
			}
		}
	}
	set := func(key string, v any) func(map[string]any) {
		return func(p map[string]any) { p[key] = v }
	}
	tests := []struct {
		name    string
		edit    func(map[string]any) // nil: not a click, see raw
		raw     any                  // the payload when edit is nil
		typ     string               // envelope type; default interactive
		outcome string               // audit outcome; "" when none is due
		channel string               // audit channel
		log     string               // a log line due instead
	}{
		{name: "no state", edit: without("state"), outcome: "cancelled", channel: ops},
		{name: "no message", edit: without("message"), outcome: "cancelled", channel: ops},
		{name: "no channel", edit: without("channel"), outcome: "cancelled", channel: ops},
		{name: "no channel nor container", edit: without("channel", "container"), outcome: "cancelled"},
		{name: "empty actions", edit: set("actions", []any{}), log: "click without actions"},
		{name: "no actions", edit: without("actions"), log: "click without actions"},
		{name: "null action", edit: set("actions", []any{nil}), log: "click without actions"},
		{name: "action without block_id", edit: set("actions", []any{map[string]any{
			"type": "button", "action_id": cancelID, "value": "x"}}), log: "click without actions"},
		{name: "no user", edit: without("user"), outcome: "denied", channel: ops},
		{name: "view submission", raw: map[string]any{"type": "view_submission"}, log: "interaction ignored"},
		{name: "empty slash command", typ: "slash_commands", raw: map[string]any{}, outcome: "ok"},
		{name: "events api", typ: "events_api", raw: map[string]any{
			"type": "event_callback", "event": map[string]any{"type": "app_mention"}}},
		{name: "unknown type", typ: "brand_new_thing", raw: map[string]any{"x": 1},
			log: "socket mode message not understood"},
		{name: "unparseable interaction", raw: "not an object", log: "socket mode message not understood"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := tt.raw
			if tt.edit != nil {
				// A fresh card to cancel, and its command's response_url
				// to answer on.
				cmd := h.send(alice, "restart lobby web")
				card := h.reply(cmd)
				p := rawClick(alice, cmd.ResponseURL, cancelID, h.buttonValue(card.TS, cancelID))
				tt.edit(p)
				payload = p
			}
			typ := tt.typ
			if typ == "" {
				typ = "interactive"
			}
			id := fmt.Sprintf("odd-%02d", i)
			if _, err := h.slack.SendRaw(h.ctx, frame(id, typ, payload)); err != nil {
				t.Fatal(err)
			}
			if _, err := h.slack.WaitAck(h.ctx, id); err != nil {
				t.Errorf("envelope %s not acked: %v", tt.name, err)
			}
			switch {
			case tt.outcome != "":
				a := h.waitAudit(id)
				if got := a.str("outcome"); got != tt.outcome {
					t.Errorf("audit outcome = %q, want %q", got, tt.outcome)
				}
				if got := a.str("channel"); got != tt.channel {
					t.Errorf("audit channel = %q, want %q", got, tt.channel)
				}
			case tt.log != "":
				h.waitLog(tt.log+" for "+id, func(l logLine) bool {
					b, _ := json.Marshal(l)
					return l.str("msg") == tt.log && strings.Contains(string(b), id)
				})
			}
		})
	}
	wantText(t, "list lobby after odd payloads", h.command(vera, "list lobby").Render(), "5 services")
	if got := h.restartCalls(); got != 0 {
		t.Errorf("odd payloads restarted %d services, want 0", got)
	}
	h.noViolations()
}
