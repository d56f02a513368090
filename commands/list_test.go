package commands

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/roomops/roombot/roomclient"
)

var now0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func sectionText(b slack.Block) string {
	return b.(*slack.SectionBlock).Text.Text
}

func TestSummary(t *testing.T) {
	tests := []struct {
		states []string // "-" for no state
		want   string
	}{
		{[]string{"running", "running", "running"}, "3 running"},
		{[]string{"b", "running", "a", "running", "-", "b"},
			"2 running, 2 b, 1 a, 1 without state"},
		{[]string{"", "running", ""}, "2 without a state name, 1 running"},
		{[]string{"-", "-"}, "2 without state"},
		{[]string{"s1", "s2", "s3", "s4", "s5", "s6", "s7", "s7"},
			"2 s7, 1 s1, 1 s2, 1 s3, 1 s4, 2 in 2 other states"},
	}
	for _, tt := range tests {
		l := &roomclient.List{}
		for _, st := range tt.states {
			s := roomclient.Service{Enabled: true}
			if st != "-" {
				s.State = &roomclient.State{State: st}
			}
			l.Services = append(l.Services, s)
		}
		got := strings.Join(tally(l).parts(), ", ")
		if got != tt.want {
			t.Errorf("summary of %v = %q; want %q", tt.states, got, tt.want)
		}
	}
}

// TestSharedNamesShowIDs: two services of one name, even on different
// pages, each show their id, which tells them apart; other entries show
// none.
func TestSharedNamesShowIDs(t *testing.T) {
	l := &roomclient.List{Room: "fleet"}
	for i := range PageSize + 2 {
		name := fmt.Sprintf("shard-%d", i)
		if i == 1 || i == PageSize+1 {
			name = "worker"
		}
		l.Services = append(l.Services, roomclient.Service{
			ID: fmt.Sprintf("svc-%d", i), Name: name, Enabled: true})
	}
	for _, tt := range []struct {
		page int
		want map[string]string // entry's service id → what it must say
	}{
		{1, map[string]string{"svc-1": "`worker` (id `svc-1`)", "svc-0": "`shard-0` ·"}},
		{2, map[string]string{"svc-11": "`worker` (id `svc-11`)", "svc-10": "`shard-10` ·"}},
	} {
		m := List(l, tt.page, false, now0)
		text := string(mustJSON(t, m.Blocks))
		for id, want := range tt.want {
			if !strings.Contains(text, want) {
				t.Errorf("page %d: entry of %s lacks %q:\n%s", tt.page, id, want, text)
			}
		}
		if strings.Count(text, "(id ") != 1 {
			t.Errorf("page %d shows %d ids, want 1:\n%s", tt.page, strings.Count(text, "(id "), text)
		}
	}
}

// TestPortLine: a port's last error reads as the cause only while the
// port fails its check; a port ready now shows it as history.
func TestPortLine(t *testing.T) {
	for _, tt := range []struct {
		p    roomclient.PortStatus
		want string
	}{
		{roomclient.PortStatus{Num: "9000", LivenessStatus: "not_ready", Liveness: "/ready",
			LastError: "connection refused"}, "not ready at `/ready`: `connection refused`"},
		{roomclient.PortStatus{Num: "9000", LivenessStatus: "ready", Liveness: "/ready",
			LastError: "connection refused"}, "ready at `/ready`; last error `connection refused`"},
		{roomclient.PortStatus{Num: "9000", LivenessStatus: "ready"}, "`9000` ready"},
	} {
		if got := portLine(tt.p, now0); !strings.Contains(got, tt.want) {
			t.Errorf("portLine(%+v) = %q, want it to contain %q", tt.p, got, tt.want)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func TestEntriesFallBackToTightCaps(t *testing.T) {
	// A name that costs more than the tight cap shows in full while the
	// page is small, and is cut when the page would be too large.
	long := strings.Repeat("&", MaxName)
	l := &roomclient.List{Room: "r"}
	for i := range PageSize {
		l.Services = append(l.Services, roomclient.Service{
			ID: fmt.Sprint(i), Name: long, Enabled: true})
	}
	full := name(long, roomyName)
	const budget = 12 << 10
	if got := entries(l, 0, 1, true, now0, budget); !strings.Contains(
		sectionText(got[0]), full) {
		t.Errorf("one entry: %q does not show the name in full",
			sectionText(got[0]))
	}
	for i := range l.Services {
		l.Services[i].State = &roomclient.State{
			LastStartError: strings.Repeat("&", 5000)}
	}
	got := entries(l, 0, PageSize, true, now0, budget)
	if text := sectionText(got[0]); strings.Contains(text, full) ||
		!strings.Contains(text, name(long, tightName)) {
		t.Errorf("full page: %q does not show the name cut short", text)
	}
}

func TestEntriesFallBackToFirstLines(t *testing.T) {
	// When even tight caps do not fit the budget, entries keep their
	// first lines only: what state each service is in.
	l := &roomclient.List{Room: "r"}
	for i := range PageSize {
		l.Services = append(l.Services, roomclient.Service{
			ID: fmt.Sprint(i), Name: "web", Enabled: true,
			State: &roomclient.State{State: "failed",
				LastStartError: strings.Repeat("&", 5000)}})
	}
	for _, tt := range []struct {
		budget int
		lines  int
	}{{12 << 10, 2}, {4 << 10, 1}} {
		got := entries(l, 0, PageSize, true, now0, tt.budget)
		if n := strings.Count(sectionText(got[0]), "\n") + 1; n != tt.lines {
			t.Errorf("entries in a budget of %d: %d lines %q; want %d",
				tt.budget, n, sectionText(got[0]), tt.lines)
		}
	}
}

// TestBlocksCostBounds: what List reckons the blocks around the entries
// cost is never less than their JSON.
func TestBlocksCostBounds(t *testing.T) {
	for _, room := range []string{"r", strings.Repeat("&", MaxName),
		strings.Repeat(`"`, MaxName), strings.Repeat("😀", MaxName)} {
		blocks := []slack.Block{
			header("rs-list-head", listHeader(room)),
			section("rs-list-sum", name(room, capRoom)+" has no services."),
			section("rs-list-noask", noAskNote(room)+"x"),
			pager("rs-list-pager-2", room, 2, 3),
			note("rs-list-foot", footer(10, 20, 30, 2, 3, now0)),
		}
		for _, b := range blocks {
			j, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			if c := blocksCost([]slack.Block{b}); c < len(j) {
				t.Errorf("blocksCost(%s) = %d; want at least its %d bytes",
					j[:min(len(j), 80)], c, len(j))
			}
		}
	}
}
