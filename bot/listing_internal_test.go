package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

func sharedList(n int) *roomclient.List {
	l := &roomclient.List{Room: "lobby"}
	for i := range n {
		l.Services = append(l.Services, roomclient.Service{
			ID: fmt.Sprintf("svc-%d", i), Name: fmt.Sprintf("<web> & %d", i), Enabled: true,
			State: &roomclient.State{State: "running", RestartCount: i},
		})
	}
	return l
}

func blocksJSON(t *testing.T, m commands.Message) string {
	t.Helper()
	js, err := json.Marshal(m.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	return string(js)
}

// TestListingPage: a page of a shared list is the page commands.List
// draws, drawn once however many ask for it;
// a viewer's page, without Restart buttons, and another page are drawn
// on their own.
func TestListingPage(t *testing.T) {
	l := sharedList(25)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	ls := &listing{list: l}

	tests := []struct {
		page       int
		canRestart bool
	}{{1, true}, {1, false}, {3, true}}
	for _, tt := range tests {
		want := blocksJSON(t, commands.List(l, tt.page, tt.canRestart, now))
		var wg sync.WaitGroup
		got := make([]commands.Message, 8)
		for i := range got {
			wg.Go(func() { got[i] = ls.page(tt.page, tt.canRestart, now) })
		}
		wg.Wait()
		for i, m := range got {
			if js := blocksJSON(t, m); js != want {
				t.Fatalf("page %d (restart %v), asker %d:\n%s\nwant what commands.List draws:\n%s",
					tt.page, tt.canRestart, i, js, want)
			}
			if &m.Blocks[0] != &got[0].Blocks[0] {
				t.Errorf("page %d (restart %v) drawn again for asker %d", tt.page, tt.canRestart, i)
			}
		}
	}
	first := ls.pages[pageKey{1, true}]
	if later := ls.page(1, true, now.Add(time.Minute)); &later.Blocks[0] != &first.Blocks[0] {
		t.Error("page 1 drawn again for an asker a minute later")
	}
	if n := len(ls.pages); n != len(tests) {
		t.Errorf("listing holds %d pages, want %d", n, len(tests))
	}
	asker := blocksJSON(t, ls.page(1, true, now))
	viewer := blocksJSON(t, ls.page(1, false, now))
	button := commands.ActionRestartAsk
	if !strings.Contains(asker, button) || strings.Contains(viewer, button) {
		t.Errorf("the restarter's page and the viewer's are not told apart")
	}
	if m := ls.page(1, true, now); cap(m.Blocks) != len(m.Blocks) {
		t.Errorf("a shared page's blocks have room for %d more: an append would write into it",
			cap(m.Blocks)-len(m.Blocks))
	}
}

// BenchmarkSharedPage compares drawing and encoding a page for each of
// 50 askers of one room call with drawing it once for all of them; each
// reply is still encoded.
func BenchmarkSharedPage(b *testing.B) {
	l := sharedList(10)
	now := time.Now()
	b.Run("each", func(b *testing.B) {
		for b.Loop() {
			for range 50 {
				json.Marshal(commands.List(l, 1, true, now).Blocks)
			}
		}
	})
	b.Run("shared", func(b *testing.B) {
		for b.Loop() {
			ls := &listing{list: l}
			for range 50 {
				json.Marshal(ls.page(1, true, now).Blocks)
			}
		}
	})
}
