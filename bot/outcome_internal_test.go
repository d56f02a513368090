package bot

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

// TestUnknownOutcomeShowsNamesVerbatim: a service whose name holds a
// backtick stays inside its code span in the unknown outcome's message,
// which goes to the channel; it used to end the span, and the rest of the
// name was formatted.
func TestUnknownOutcomeShowsNamesVerbatim(t *testing.T) {
	b := &Bot{}
	job := &restartJob{t: ticket{Room: "lobby", Service: "a`*bold*`b", ServiceID: "svc-a"}, by: "U0ALICE01"}
	r := recovery{phase: commands.PhaseUnknown, why: "its answer never came", ref: "ref1"}
	m := commands.Notify(b.notice(job, r))
	js, err := json.Marshal(m.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	s := string(js)
	if strings.Contains(s, "`a`*bold*`b`") || !strings.Contains(s, "`aˋ*bold*ˋb`") {
		t.Errorf("unknown outcome blocks = %s\nwant the name in one code span, its backticks replaced", s)
	}
	if !strings.Contains(s, "@U0ALICE01") || !strings.Contains(s, "its answer never came (ref `ref1`)") {
		t.Errorf("unknown outcome blocks = %s\nwant the requester, and why with its ref", s)
	}
}

// TestRefused: only errors that show the restart never reached the room
// count as refused; after any other the outcome is unknown.
func TestRefused(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"room error", &roomclient.Error{Code: roomclient.CodeServiceNotFound}, true},
		{"answer not understood", fmt.Errorf("restarting: %w",
			&roomclient.Error{Code: roomclient.CodeUnexpectedResponse, Text: "malformed answer"}), false},
		{"status", &roomclient.StatusError{Room: "lobby", Status: 503}, true},
		{"dial", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{"read", &net.OpError{Op: "read", Err: errors.New("connection reset")}, false},
		{"untrusted certificate", fmt.Errorf("connecting: %w", &roomclient.TLSError{
			Err: &tls.CertificateVerificationError{Err: errors.New("unknown authority")}}), true},
		{"not TLS", fmt.Errorf("connecting: %w",
			&roomclient.TLSError{Err: tls.RecordHeaderError{Msg: "not TLS"}}), true},
		{"deadline", context.DeadlineExceeded, false},
		{"disconnected", roomclient.ErrDisconnected, false},
	}
	for _, tt := range tests {
		if got := refused(tt.err); got != tt.want {
			t.Errorf("refused(%s: %v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// TestSentence: a reason that ends with a room's words in a code span
// gets its full stop before "Nothing was restarted."; one with its own
// keeps it.
func TestSentence(t *testing.T) {
	for in, want := range map[string]string{
		"Room %s answered: %s":                   "Room %s answered: %s.",
		"roombot is shutting down.":              "roombot is shutting down.",
		"Room %s did not answer within %s. Try.": "Room %s did not answer within %s. Try.",
	} {
		if got := sentence(in); got != want {
			t.Errorf("sentence(%q) = %q, want %q", in, got, want)
		}
	}
}
