package term_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/roomops/roombot/internal/term"
	"github.com/roomops/roombot/slacksim"
)

func TestMrkdwn(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"user", "<@U0DEMO001> restarted it", "@U0DEMO001 restarted it"},
		{"user with name", "<@U0DEMO001|dana> did", "@dana did"},
		{"channel", "in <#C0OPS0001|ops>", "in #ops"},
		{"channel without name", "in <#C0OPS0001>", "in #C0OPS0001"},
		{"here", "<!here> look", "@here look"},
		{"group", "<!subteam^S0OPS0001|@oncall> or <!subteam^S0OPS0001>",
			"@oncall or @S0OPS0001"},
		{"link", "see <https://docs.example.com|the docs>",
			"see the docs (https://docs.example.com)"},
		{"bare link", "<https://docs.example.com>", "https://docs.example.com"},
		{"entities", "r&amp;d &lt;b&gt;", "r&d <b>"},
		{"entity decoded once", "&amp;lt;", "&lt;"},
		{"escaped mention is text", "&lt;@U0DEMO001&gt;", "<@U0DEMO001>"},
		{"bold", "*4 services*: 4 running", "4 services: 4 running"},
		{"bold at end", "it is *done*", "it is done"},
		{"stars inside a word", "a*b*c", "a*b*c"},
		{"bold across lines", "*not\nbold*", "*not\nbold*"},
		{"code kept", "`*` no liveness", "`*` no liveness"},
		{"code entities", "`&lt;!channel&gt;` · `a&amp;b`", "`<!channel>` · `a&b`"},
		{"code emoji", "`:fire:`", "`:fire:`"},
		{"unpaired backtick", "it` is *so*", "it` is so"},
		{"emoji", ":large_green_circle: `web`", "🟢 `web`"},
		{"unknown emoji", ":party_parrot: ok", ":party_parrot: ok"},
		{"time then emoji", "12:05 UTC :warning: late", "12:05 UTC ⚠️ late"},
		{"plain", "nothing to do", "nothing to do"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := term.Mrkdwn(tc.in); got != tc.want {
				t.Errorf("Mrkdwn(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// card is a message with every kind of block Draw knows, two section
// accessories and an actions block between them.
const card = `[
 {"type": "header", "text": {"type": "plain_text", "text": "Services in r&amp;d"}},
 {"type": "section",
  "text": {"type": "mrkdwn", "text": ":large_green_circle: ` + "`web`" + ` · running\nports: 8080 ready"},
  "accessory": {"type": "button", "action_id": "ask", "value": "a",
   "text": {"type": "plain_text", "text": "Restart"}}},
 {"type": "section", "fields": [
  {"type": "mrkdwn", "text": "*Restarts*\n2"},
  {"type": "mrkdwn", "text": "*ID*"}]},
 {"type": "actions", "elements": [
  {"type": "button", "action_id": "go", "value": "g",
   "text": {"type": "plain_text", "text": "Go"},
   "confirm": {
    "title": {"type": "plain_text", "text": "Go on?"},
    "text": {"type": "plain_text", "text": "It &amp; it"},
    "confirm": {"type": "plain_text", "text": "Go"},
    "deny": {"type": "plain_text", "text": "Stay"}}},
  {"type": "button", "action_id": "stop", "value": "s",
   "text": {"type": "plain_text", "text": "Stop"},
   "confirm": {
    "title": {"type": "plain_text", "text": "Stop?"},
    "text": {"type": "plain_text", "text": "Sure?"},
    "confirm": {"type": "plain_text", "text": "Yes"},
    "deny": {"type": "plain_text", "text": "No"}}}]},
 {"type": "divider"},
 {"type": "section", "text": {"type": "mrkdwn", "text": "last"},
  "accessory": {"type": "button", "action_id": "more", "value": "m",
   "text": {"type": "plain_text", "text": "More"}}},
 {"type": "context", "elements": [
  {"type": "mrkdwn", "text": "asked by <@U0DEMO001>"},
  {"type": "plain_text", "text": "10 min"}]},
 {"type": "markdown", "text": "**Note**\nas it is"},
 {"type": "image", "image_url": "https://example.com/a.png", "alt_text": "a chart"},
 {"type": "video", "title": {"type": "plain_text", "text": "x"}}
]`

func TestDraw(t *testing.T) {
	v := term.Draw("fallback", json.RawMessage(card))
	want := []string{
		"Services in r&d",
		"═══════════════",
		"🟢 `web` · running   [1 Restart]",
		"   ports: 8080 ready",
		"• Restarts: 2",
		"• ID",
		"[2 Go] [3 Stop]",
		"────────────────────────",
		"last   [4 More]",
		"(asked by @U0DEMO001 · 10 min)",
		"**Note**",
		"as it is",
		"[image: a chart]",
		"[video block]",
	}
	if diff := cmp.Diff(want, v.Lines); diff != "" {
		t.Errorf("Draw(card) lines (-want +got):\n%s", diff)
	}
	wantButtons := []term.Button{
		{Label: "Restart"},
		{Label: "Go", Dialog: &term.Dialog{
			Title: "Go on?", Text: "It & it", Confirm: "Go", Deny: "Stay"}},
		{Label: "Stop", Dialog: &term.Dialog{
			Title: "Stop?", Text: "Sure?", Confirm: "Yes", Deny: "No"}},
		{Label: "More"},
	}
	if diff := cmp.Diff(wantButtons, v.Buttons); diff != "" {
		t.Errorf("Draw(card) buttons (-want +got):\n%s", diff)
	}
	s := v.String()
	if !strings.HasPrefix(s, "  Services in r&d\n") || !strings.HasSuffix(s, "  [video block]\n") {
		t.Errorf("View.String() does not indent each line:\n%s", s)
	}
}

func TestDrawFallsBackToText(t *testing.T) {
	for _, tc := range []struct {
		name   string
		blocks string
	}{
		{"no blocks", ""},
		{"empty", "[]"},
		{"not blocks", `{"type":"section"}`},
		{"not JSON", `[{"type":`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := term.Draw("*hi* <@U1>\nthere", json.RawMessage(tc.blocks))
			if want := []string{"hi @U1", "there"}; !cmp.Equal(v.Lines, want) || len(v.Buttons) != 0 {
				t.Errorf("Draw(text, %q) = %q, %v; want %q and no buttons",
					tc.blocks, v.Lines, v.Buttons, want)
			}
		})
	}
}

// TestButtonOrder checks that button n of a View is the one the Slack
// stand-in clicks for Click{Button: n-1}, since the demo relies on it.
func TestButtonOrder(t *testing.T) {
	s := slacksim.NewServer(t, slacksim.Config{})
	form := url.Values{
		"token":   {s.Config().BotToken},
		"channel": {"C0OPS0001"},
		"text":    {"card"},
		"blocks":  {card},
	}
	resp, err := http.PostForm(s.APIURL()+"chat.postMessage", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var posted struct {
		OK    bool
		Error string
		TS    string
	}
	if err := json.NewDecoder(resp.Body).Decode(&posted); err != nil || !posted.OK {
		t.Fatalf("chat.postMessage = %+v, %v; want ok", posted, err)
	}

	m, ok := s.Message(posted.TS)
	if !ok {
		t.Fatalf("no message %s after chat.postMessage", posted.TS)
	}
	buttons, err := s.Buttons(m.TS)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, b := range buttons {
		want = append(want, b.Text)
	}
	var got []string
	for _, b := range term.Draw(m.Text, m.Blocks).Buttons {
		got = append(got, b.Label)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("button order (-slacksim +term):\n%s", diff)
	}
}

func TestDrawOddBlock(t *testing.T) {
	v := term.Draw("text", json.RawMessage(`[{"type":"section","text":5},{"type":"divider"}]`))
	want := []string{"[a block this terminal cannot show]", strings.Repeat("─", 24)}
	if diff := cmp.Diff(want, v.Lines); diff != "" {
		t.Errorf("Draw with a malformed block (-want +got):\n%s", diff)
	}
}
