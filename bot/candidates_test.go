package bot_test

import (
	"strings"
	"testing"

	"github.com/roomops/roombot/commands"
)

// TestStatusOfASharedName: the status of a name that two services share
// lists both with their ids, with no Restart buttons even for someone
// who may restart, since they asked to look; the status of one of those
// ids shows that service, and a restart by id asks to confirm that one.
// Status used to answer with the restart card's candidates.
func TestStatusOfASharedName(t *testing.T) {
	h := newHarness(t)
	m := h.command(alice, "status lobby api")
	wantText(t, "status lobby api", m.Render(),
		"`svc-api-1`", "`svc-api-2`", "/room-services status lobby ID")
	if strings.Contains(string(m.Blocks), commands.ActionRestartAsk) {
		t.Errorf("status lobby api has Restart buttons:\n%s", m.Render())
	}

	text := h.command(alice, "status lobby svc-api-2").Render()
	wantText(t, "status lobby svc-api-2", text, "api in lobby", "`svc-api-2`")
	if strings.Contains(text, "svc-api-1") {
		t.Errorf("status lobby svc-api-2 shows svc-api-1 too:\n%s", text)
	}

	card := h.command(alice, "restart lobby svc-api-1")
	wantText(t, "restart lobby svc-api-1", card.Render(), "service id `svc-api-1`")
	if !strings.Contains(string(card.Blocks), commands.ActionConfirm) {
		t.Errorf("restart lobby svc-api-1 is not a confirmation card:\n%s", card.Render())
	}
}
