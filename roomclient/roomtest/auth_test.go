package roomtest

import (
	"testing"
	"time"
)

// TestTokenChecks: with a secret, the Server takes every token protocol
// §2.3 and §9.2 allow, and refuses the others before upgrading.
func TestTokenChecks(t *testing.T) {
	s := demoServer(t, WithSecret("k"))
	room := func(name string) map[string]any { return map[string]any{"name": "room", "scope": name} }
	api := map[string]any{"name": "api", "scope": map[string]any{"services": map[string]any{}}}
	hour := time.Now().Add(time.Hour).Unix()
	tests := []struct {
		name   string
		claims map[string]any
		status int // 0: upgraded
	}{
		{"room and api grants", map[string]any{"exp": hour, "grants": []any{room("lobby"), api}}, 0},
		{"no exp", map[string]any{"grants": []any{room("lobby"), api}}, 0},
		{"expired", map[string]any{"exp": time.Now().Add(-time.Hour).Unix(),
			"grants": []any{room("lobby"), api}}, 401},
		{"no room grant", map[string]any{"exp": hour, "grants": []any{api}}, 0},
		{"another room's grant", map[string]any{"exp": hour, "grants": []any{room("staging"), api}}, 403},
		{"this room's grant first", map[string]any{"exp": hour,
			"grants": []any{room("lobby"), room("staging"), api}}, 0},
		{"this room's grant last", map[string]any{"exp": hour,
			"grants": []any{room("staging"), room("lobby"), api}}, 0},
		{"no api grant", map[string]any{"exp": hour, "grants": []any{room("lobby")}}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.claims["name"] = "n"
			r, resp, err := dialRaw(t, s, "lobby", bearer(signed(t, "k", tt.claims)), "")
			switch {
			case tt.status == 0 && err != nil:
				t.Fatalf("dial with %v: %v, want it upgraded", tt.claims, err)
			case tt.status == 0:
				r.handshake()
			case err == nil || resp == nil || resp.StatusCode != tt.status:
				t.Errorf("dial with %v: %v, want HTTP %d", tt.claims, err, tt.status)
			}
		})
	}
}
