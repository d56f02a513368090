package commands

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/roomops/roombot/roomclient"
)

// PageSize is how many services one list message shows. A usual page is
// about 4 KB of JSON, but a room can make each entry cost well over 1 KB
// with long names, states and errors full of characters that escaping
// makes longer; ten such entries still fit under MaxMessageBytes, with
// room for the header, summary and buttons. Ten is also what a person
// reads without scrolling.
const PageSize = 10

// A list page is drawn with roomy caps, so that a long name or error
// shows in full. When a room's data would take the entries past what
// the rest of the page leaves of MaxMessageBytes, the entries are drawn
// again with tight caps, and then, briefly, with their first lines only,
// which fit whatever the data: ten of them cost at most about 11 KB with
// the largest Restart buttons, when the rest of such a page costs at
// most about 4 KB.
const (
	roomyName  = capName
	roomyError = 480
	tightName  = 200
	tightError = 120
	briefName  = 120

	// entryOverhead is the JSON of an entry beyond its text and button
	// value: the section, its text object, block id and button.
	entryOverhead = 260

	// blockOverhead bounds the JSON of a block of ours beyond its texts
	// and button values, and buttonOverhead that of a button.
	blockOverhead  = 120
	buttonOverhead = 140
)

// maxPorts is how many ports a list entry shows before "+N more".
const maxPorts = 6

// maxStates is how many distinct states the summary names.
const maxStates = 5

// List renders a room's services, PageSize at a time. page counts from 1;
// a page out of range shows the nearest one, since a room may shrink
// between two clicks. With canRestart, each service with an id gets a
// Restart button (ActionRestartAsk). Previous and Next buttons
// (ActionPagePrev, ActionPageNext) appear when there is more than one
// page. The cost of rendering grows with the page, apart from one pass
// over the room to count states. A page click replaces the message, and
// Slack wants fresh block ids then, so each page has ids of its own.
func List(l *roomclient.List, page int, canRestart bool, now time.Time) Message {
	if l == nil {
		l = &roomclient.List{}
	}
	n := len(l.Services)
	pages := max(1, (n+PageSize-1)/PageSize)
	page = min(max(page, 1), pages)
	first, end := (page-1)*PageSize, min(page*PageSize, n)
	sum := tally(l)
	parts := sum.parts()
	msg := Message{Text: sum.fallback(l.Room, parts)}

	id := func(block string) string {
		return "rs-list-" + block + "-" + strconv.Itoa(page)
	}
	head := []slack.Block{
		header(id("head"), listHeader(l.Room)),
		section(id("sum"), sum.sentence(l.Room, parts)),
	}
	var tail []slack.Block
	if note := noAskNote(l.Room); canRestart && n > 0 && note != "" {
		tail = append(tail, section(id("noask"), note))
	}
	if p := pager(id("pager"), l.Room, page, pages); p != nil {
		tail = append(tail, p)
	}
	tail = append(tail, note(id("foot"), footer(first, end, n, page, pages, now)))

	budget := MaxMessageBytes - messageOverhead - textCost(msg.Text) -
		blocksCost(head) - blocksCost(tail)
	body := entries(l, first, end, canRestart, now, budget)
	msg.Blocks = slices.Concat(head, body, tail)
	return msg
}

// messageOverhead bounds the JSON of a message beyond its text and
// blocks: {"text":…,"blocks":[…]} and the commas between blocks.
const messageOverhead = 64

func footer(first, end, n, page, pages int, now time.Time) string {
	foot := "as of " + clock(now)
	if pages == 1 {
		return foot
	}
	return fmt.Sprintf("services %d–%d of %d · page %d of %d · %s",
		first+1, end, n, page, pages, foot)
}

// blocksCost bounds the JSON of blocks made by this package's helpers:
// the texts and button values in them, and a generous overhead for the
// rest.
func blocksCost(blocks []slack.Block) int {
	n := 0
	for _, b := range blocks {
		n += blockOverhead
		switch b := b.(type) {
		case *slack.HeaderBlock:
			n += textCost(b.Text.Text)
		case *slack.SectionBlock:
			if b.Text != nil {
				n += textCost(b.Text.Text)
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					n += blockOverhead + textCost(t.Text)
				}
			}
		case *slack.ActionBlock:
			for _, e := range b.Elements.ElementSet {
				if bt, ok := e.(*slack.ButtonBlockElement); ok {
					n += buttonOverhead + valueCost(bt.Value) +
						textCost(bt.Text.Text)
				}
			}
		}
	}
	return n
}

func listHeader(room string) string {
	const intro = "Services in "
	return intro + plain(room, maxHeader-len(intro))
}

// A summary counts a room's services by state.
type summary struct {
	total    int
	none     int // services without a state
	orphans  int
	byState  map[string]int
	disabled int
}

func tally(l *roomclient.List) summary {
	s := summary{
		total:   len(l.Services),
		orphans: len(l.Orphans),
		byState: make(map[string]int),
	}
	// Neighbours mostly share a state, so runs are counted first and
	// the map is touched once a run: this loop is all of List's cost
	// that grows with the room.
	run, n := "", 0
	for i := range l.Services {
		svc := &l.Services[i]
		if !svc.Enabled {
			s.disabled++
		}
		if svc.State == nil {
			s.none++
			continue
		}
		if st := svc.State.State; st != run {
			s.byState[run] += n
			run, n = st, 0
		}
		n++
	}
	s.byState[run] += n
	if s.byState[""] == 0 {
		delete(s.byState, "")
	}
	return s
}

// parts lists the counts, the largest first, "running" before others of
// the same count, and the rest folded into one "other states" part.
func (s summary) parts() []string {
	type count struct {
		state string
		n     int
	}
	counts := make([]count, 0, len(s.byState))
	for st, n := range s.byState {
		counts = append(counts, count{st, n})
	}
	slices.SortFunc(counts, func(a, b count) int {
		return cmp.Or(cmp.Compare(b.n, a.n),
			cmp.Compare(rank(a.state), rank(b.state)),
			strings.Compare(a.state, b.state))
	})

	var out []string
	rest, restStates := 0, 0
	for i, c := range counts {
		if i >= maxStates {
			rest += c.n
			restStates++
			continue
		}
		out = append(out, countState(c.n, c.state))
	}
	if restStates > 0 {
		out = append(out, fmt.Sprintf("%d in %s", rest,
			plural(restStates, "other state")))
	}
	if s.none > 0 {
		out = append(out, fmt.Sprintf("%d without state", s.none))
	}
	return out
}

func countState(n int, state string) string {
	if state == "" {
		return fmt.Sprintf("%d without a state name", n)
	}
	return fmt.Sprintf("%d %s", n, word(state, capState))
}

func rank(state string) int {
	if state == "running" {
		return 0
	}
	return 1
}

func (s summary) sentence(room string, parts []string) string {
	if s.total == 0 {
		return name(room, capRoom) + " has no services."
	}
	text := fmt.Sprintf("*%s*: %s.", plural(s.total, "service"),
		strings.Join(parts, ", "))
	if s.disabled > 0 {
		text += fmt.Sprintf(" %d disabled.", s.disabled)
	}
	if s.orphans > 0 {
		text += fmt.Sprintf(" The room also reported %s "+
			"for services it did not list.", plural(s.orphans, "state"))
	}
	return text
}

func (s summary) fallback(room string, parts []string) string {
	text := flat(room, 120) + ": " + plural(s.total, "service")
	if s.total == 0 {
		return text
	}
	return text + " (" + quiet(strings.Join(parts, ", ")) + ")"
}

// A drawing is what the entries of one list page share. shared holds the
// page's names that other services of the room have too.
type drawing struct {
	room       string
	canRestart bool
	now        time.Time
	shared     map[string]bool
	caps
}

// caps are how much of a service an entry shows. An errCap of 0 shows
// the first line only.
type caps struct{ nameCap, errCap int }

// entries draws services first to end with the roomiest caps that keep
// them within budget.
func entries(l *roomclient.List, first, end int, canRestart bool,
	now time.Time, budget int) []slack.Block {
	var blocks []slack.Block
	shared := sharedNames(l, first, end)
	for _, c := range []caps{{roomyName, roomyError},
		{tightName, tightError}, {briefName, 0}} {
		d := drawing{l.Room, canRestart, now, shared, c}
		var total int
		blocks, total = d.entries(l.Services[first:end], first)
		if total <= budget {
			break
		}
	}
	return blocks
}

// sharedNames returns the names of services first to end that another
// service of the room has too, whose entries show their ids to tell them
// apart. It keeps the page's names only, so that its memory is bounded
// by the page, not the room.
func sharedNames(l *roomclient.List, first, end int) map[string]bool {
	count := make(map[string]int, end-first)
	for _, s := range l.Services[first:end] {
		count[s.Name] = 0
	}
	for _, s := range l.Services {
		if _, ok := count[s.Name]; ok {
			count[s.Name]++
		}
	}
	shared := make(map[string]bool)
	for n, c := range count {
		if c > 1 {
			shared[n] = true
		}
	}
	return shared
}

// entries draws svcs, the first of which is service number first of the
// room, and returns their cost too.
func (d drawing) entries(svcs []roomclient.Service, first int) ([]slack.Block, int) {
	blocks := make([]slack.Block, len(svcs))
	total := 0
	for i, s := range svcs {
		var n int
		blocks[i], n = d.entry(first+i, s)
		total += n
	}
	return blocks, total
}

// entry is one service of a list: a section with the service's state and
// health, and its Restart button. It returns the entry's cost too.
func (d drawing) entry(i int, s roomclient.Service) (slack.Block, int) {
	b, why := askButton(d.room, s, d.canRestart, maxAskCost)
	// A name that is shared, or that the parser would refuse, is no way
	// to name the service in a command: its id is.
	withID := (d.shared[s.Name] || ValidName("service", s.Name) != nil) && s.ID != ""
	lines := []string{headline(s, d.now, why, d.nameCap, withID)}
	if st := s.State; st != nil && d.errCap > 0 {
		lines = append(lines, health(st, d.now, d.errCap)...)
	}
	text := strings.Join(lines, "\n")
	n := entryOverhead + textCost(text)
	if b != nil {
		n += valueCost(b.Value)
	}
	return withButton(section("rs-svc-"+strconv.Itoa(i), text), b), n
}

// headline is the first line of a service entry, with its id after its
// name when withID is set.
func headline(s roomclient.Service, now time.Time, why string, nameCap int, withID bool) string {
	facts := append([]string{stateWord(s.State)}, vitals(s.State, now)...)
	if !s.Enabled {
		facts = append(facts, "disabled")
	}
	if why != "" {
		facts = append(facts, why)
	}
	label := name(s.Name, nameCap)
	if withID {
		label += " (id " + code(s.ID, nameCap) + ")"
	}
	return emoji(s.State) + " " + label + " · " + strings.Join(facts, " · ")
}

// health lists what else matters about a running service, a line each:
// ports, a scheduled restart and the last start error.
func health(st *roomclient.State, now time.Time, errCap int) []string {
	var lines []string
	if len(st.Ports) > 0 {
		lines = append(lines, "ports: "+ports(st.Ports))
	}
	if t := st.RestartScheduledAt; !t.IsZero() {
		lines = append(lines, ":calendar: restart scheduled for "+
			when(t, now))
	}
	if st.LastStartError != "" {
		lines = append(lines, startError(st, now, errCap))
	}
	return lines
}

func ports(ps []roomclient.PortStatus) string {
	var parts []string
	for i, p := range ps {
		if i == maxPorts {
			parts = append(parts, fmt.Sprintf("+%d more", len(ps)-i))
			break
		}
		parts = append(parts, word(p.Num, capPort)+" "+
			liveness(p.LivenessStatus))
	}
	return strings.Join(parts, " · ")
}

func startError(st *roomclient.State, now time.Time, errCap int) string {
	text := ":warning: start error"
	if t := st.LastStartErrorAt; !t.IsZero() {
		text += " " + ago(t, now)
	}
	return text + ": " + code(st.LastStartError, errCap)
}

// pager is the Previous and Next buttons, or nil on a single page.
func pager(id, room string, page, pages int) slack.Block {
	var buttons []slack.BlockElement
	if page > 1 {
		buttons = appendPage(buttons, room, page-1,
			ActionPagePrev, "◀ Previous")
	}
	if page < pages {
		buttons = appendPage(buttons, room, page+1,
			ActionPageNext, "Next ▶")
	}
	if len(buttons) == 0 {
		return nil
	}
	return slack.NewActionBlock(id, buttons...)
}

func appendPage(buttons []slack.BlockElement, room string, page int,
	action, label string) []slack.BlockElement {
	v, err := EncodePage(Page{Room: room, Page: page})
	if err != nil {
		// Only a room name Parse would refuse gets here; such a list
		// cannot be paged, but it can still be shown.
		return buttons
	}
	return append(buttons, button(action, v, label))
}
