package bot_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/roomops/roombot/slacksim"
)

// TestAuditLines: every command and click leaves exactly one audit line,
// naming who, what, where and how it ended, under the envelope's id.
func TestAuditLines(t *testing.T) {
	h := newHarness(t)
	type want struct{ user, verb, room, service, outcome string }
	var sent []struct {
		env  *slacksim.Envelope
		want want
	}
	add := func(env *slacksim.Envelope, w want) {
		h.reply(env)
		sent = append(sent, struct {
			env  *slacksim.Envelope
			want want
		}{env, w})
	}

	add(h.send(vera, "list lobby"), want{vera, "list", "lobby", "", "ok"})
	add(h.send(vera, "status lobby web"), want{vera, "status", "lobby", "web", "ok"})
	add(h.send(vera, "status lobby nope"), want{vera, "status", "lobby", "nope", "not_found"})
	add(h.send(vera, "status lobby api"), want{vera, "status", "lobby", "api", "ambiguous"})
	add(h.send(vera, "help"), want{vera, "help", "", "", "ok"})
	add(h.send(vera, "list"), want{vera, "unknown", "", "", "usage"})
	add(h.send(mallory, "list lobby"), want{mallory, "list", "lobby", "", "denied"})
	add(h.send(vera, "restart lobby web"), want{vera, "restart", "lobby", "web", "denied"})
	add(h.send(alice, "watch lobby"), want{alice, "watch", "lobby", "", "unsupported"})

	cmd := h.send(alice, "restart lobby web")
	add(cmd, want{alice, "restart", "lobby", "web", "confirm_asked"})
	card := h.reply(cmd)
	add(h.click(mallory, card.TS, confirmID), want{mallory, "confirm", "lobby", "web", "denied"})
	add(h.click(alice, card.TS, cancelID), want{alice, "cancel", "lobby", "web", "cancelled"})

	list := h.command(alice, "list lobby")
	add(h.click(alice, list.TS, askID), want{alice, "restart", "lobby", "web", "confirm_asked"})
	card = h.card(alice, "worker")
	add(h.click(alice, card.TS, confirmID), want{alice, "confirm", "lobby", "worker", "restarted"})
	add(h.press(alice, confirmID, "forged"), want{alice, "confirm", "", "", "invalid"})
	h.recovered("worker")

	for _, s := range sent {
		h.waitAudit(s.env.ID)
		lines := h.audits(s.env.ID)
		if len(lines) != 1 {
			t.Errorf("envelope %s (%+v) has %d audit lines, want 1", s.env.ID, s.want, len(lines))
			continue
		}
		l := lines[0]
		got := want{l.str("user"), l.str("verb"), l.str("room"), l.str("service"), l.str("outcome")}
		if got != s.want {
			t.Errorf("audit of %s = %+v, want %+v", s.env.ID, got, s.want)
		}
		if _, ok := l["channel"]; !ok {
			t.Errorf("audit of %s has no channel: %v", s.env.ID, l)
		}
	}
	// Log stores refuse, or silently keep one of, keys given twice.
	text, _ := h.logs.next()
	for _, line := range strings.Split(text, "\n") {
		if dup := duplicateKey(line); dup != "" {
			t.Errorf("log line has key %q twice: %s", dup, line)
		}
	}
}

// duplicateKey returns a top-level key that a JSON object line has more
// than once, or "".
func duplicateKey(line string) string {
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		key, _ := tok.(string)
		if seen[key] {
			return key
		}
		seen[key] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}
