package bot

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestUnknownOutcomeShowsNamesVerbatim: a service whose name holds a
// backtick stays inside its code span in the unknown outcome's message,
// which goes to the channel; it used to end the span, and the rest of the
// name was formatted.
func TestUnknownOutcomeShowsNamesVerbatim(t *testing.T) {
	m := unknownOutcome(ticket{Room: "lobby", Service: "a`*bold*`b"}, "its answer never came", "ref1")
	js, err := json.Marshal(m.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(js); strings.Contains(s, "`a`*bold*`b`") || !strings.Contains(s, "`aˋ*bold*ˋb`") {
		t.Errorf("unknownOutcome blocks = %s\nwant the name in one code span, its backticks replaced", s)
	}
}
