package bot

import (
	"sync"
	"time"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

// A listing is the answer of one room call, shared by every command that
// asked for the room's list while the call ran, with the pages drawn for
// them so far. With 50 lists of one room outstanding, drawing each
// asker's page was a sixth of the bot's CPU (BENCHMARKS.md), and every
// asker drew the same one. A listing lives as long as its askers hold
// it, so nothing is kept past them.
type listing struct {
	list *roomclient.List

	// mu guards pages. It is held while a page is drawn, so that the
	// askers of a page not drawn yet wait for it rather than each draw it.
	mu    sync.Mutex
	pages map[pageKey]commands.Message
}

type pageKey struct {
	page       int
	canRestart bool
}

// page returns page of the list as commands.List draws it, drawn once
// for all the listing's askers. The time the first asker passes is the
// one shown to all of them: they share the room's answer of that moment
// anyway. The message is shared: its blocks are capped at their length,
// so that an append makes a copy rather than write where another asker
// reads.
//
// The page is not encoded once for all of them: slack-go encodes each
// message it posts, and a block that brings its own JSON is checked by
// encoding/json with a scan that, through slack.Blocks' own MarshalJSON,
// runs twice and costs more than encoding the block (about 65 against
// 50 µs a page, measured with a one-off benchmark on 2026-12-04).
func (ls *listing) page(page int, canRestart bool, now time.Time) commands.Message {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	k := pageKey{page, canRestart}
	if m, ok := ls.pages[k]; ok {
		return m
	}
	m := commands.List(ls.list, page, canRestart, now)
	m.Blocks = m.Blocks[:len(m.Blocks):len(m.Blocks)]
	if ls.pages == nil {
		ls.pages = make(map[pageKey]commands.Message)
	}
	ls.pages[k] = m
	return m
}
