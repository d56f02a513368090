package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
	"github.com/roomops/roombot/slacksim"
)

// roomSpy stands between the bot and the real room client. It records
// every room call the bot makes, so a test can say that a refused name
// never reached a room. It can also be told to panic, or to hold a call
// until the test lets it go: fault injectors for the bot's recovery and
// for ordering a test, not a stand-in for the room.
type roomSpy struct {
	next *roomclient.Client

	// mu guards calls, panics and gates.
	mu     sync.Mutex
	calls  []roomCall
	panics map[roomCall]int // op and room → panics still to throw
	gates  map[roomCall]*gate
}

type roomCall struct{ op, room, id string }

// A gate holds the next room call it matches until release is closed.
type gate struct {
	entered chan struct{} // closed when a call is held
	release chan struct{}
}

// panicOn makes the next n calls of op ("list", "restart") about room
// panic.
func (s *roomSpy) panicOn(op, room string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.panics == nil {
		s.panics = map[roomCall]int{}
	}
	s.panics[roomCall{op: op, room: room}] = n
}

// hold makes the next call of op about room wait for the gate.
func (s *roomSpy) hold(op, room string) *gate {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gates == nil {
		s.gates = map[roomCall]*gate{}
	}
	g := &gate{entered: make(chan struct{}), release: make(chan struct{})}
	s.gates[roomCall{op: op, room: room}] = g
	return g
}

func (s *roomSpy) record(ctx context.Context, op, room, id string) {
	key := roomCall{op: op, room: room}
	s.mu.Lock()
	s.calls = append(s.calls, roomCall{op, room, id})
	boom := s.panics[key] > 0
	if boom {
		s.panics[key]--
	}
	g := s.gates[key]
	delete(s.gates, key)
	s.mu.Unlock()

	if boom {
		panic(fmt.Sprintf("roomSpy: injected panic in %s of room %q", op, room))
	}
	if g != nil {
		close(g.entered)
		select {
		case <-g.release:
		case <-ctx.Done():
		}
	}
}

func (s *roomSpy) List(ctx context.Context, room string) (*roomclient.List, error) {
	s.record(ctx, "list", room, "")
	return s.next.List(ctx, room)
}

func (s *roomSpy) Restart(ctx context.Context, room, id string) error {
	s.record(ctx, "restart", room, id)
	return s.next.Restart(ctx, room, id)
}

// wait blocks until the gate holds a call.
func (g *gate) wait(ctx context.Context, t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-ctx.Done():
		t.Fatal("no room call reached the gate")
	}
}

// seen returns the calls made so far.
func (s *roomSpy) seen() []roomCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]roomCall(nil), s.calls...)
}

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	// mu guards now.
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// holdClaims is the real claim store with one catch: the first claim of
// a key with prefix that succeeds is held up until release is closed.
// It lets a test line a second click up behind the first without a race.
type holdClaims struct {
	claims.Store
	prefix  string
	held    chan struct{} // closed once the first claim is held up
	release chan struct{}
	once    sync.Once
}

func newHoldClaims(prefix string) *holdClaims {
	return &holdClaims{
		Store:   claims.NewMemory(nil),
		prefix:  prefix,
		held:    make(chan struct{}),
		release: make(chan struct{}),
	}
}

func (c *holdClaims) Claim(ctx context.Context, key, value string, ttl time.Duration) error {
	err := c.Store.Claim(ctx, key, value, ttl)
	if err != nil || !strings.HasPrefix(key, c.prefix) {
		return err
	}
	first := false
	c.once.Do(func() { first = true })
	if first {
		close(c.held)
		<-c.release
	}
	return nil
}

// logLine is one JSON line of the bot's log.
type logLine map[string]any

func (l logLine) str(key string) string {
	s, _ := l[key].(string)
	return s
}

func parseLog(text string) []logLine {
	var out []logLine
	for _, raw := range strings.Split(text, "\n") {
		var l logLine
		if json.Unmarshal([]byte(raw), &l) == nil {
			out = append(out, l)
		}
	}
	return out
}

// logLines returns the lines logged so far that match.
func (h *harness) logLines(match func(logLine) bool) []logLine {
	text, _ := h.logs.next()
	var out []logLine
	for _, l := range parseLog(text) {
		if match(l) {
			out = append(out, l)
		}
	}
	return out
}

// waitLog waits for a log line that matches, woken by each write.
func (h *harness) waitLog(what string, match func(logLine) bool) logLine {
	h.t.Helper()
	for {
		text, changed := h.logs.next()
		for _, l := range parseLog(text) {
			if match(l) {
				return l
			}
		}
		select {
		case <-changed:
		case <-h.ctx.Done():
			h.t.Fatalf("no log line %s\nlogs:\n%s", what, text)
		}
	}
}

// audits returns the audit lines of one envelope.
func (h *harness) audits(envID string) []logLine {
	return h.logLines(func(l logLine) bool {
		return l.str("msg") == "audit" && l.str("correlation_id") == envID
	})
}

// waitAudit waits for the audit line of an envelope: the last thing a
// handler does, so after it the bot is done with the envelope.
func (h *harness) waitAudit(envID string) logLine {
	h.t.Helper()
	return h.waitLog("audit of "+envID, func(l logLine) bool {
		return l.str("msg") == "audit" && l.str("correlation_id") == envID
	})
}

// send types a slash command as user in ops and returns its envelope
// without waiting for the reply.
func (h *harness) send(user, text string) *slacksim.Envelope {
	h.t.Helper()
	env, err := h.slack.SlashCommand(h.ctx, slacksim.SlashCommand{
		UserID: user, ChannelID: ops, Text: text})
	if err != nil {
		h.t.Fatalf("SlashCommand(%q): %v", text, err)
	}
	return env
}

// fence makes sure every ack the bot queued so far has reached the
// stand-in: slack-go writes acks in order on the one socket, so once the
// ack of a fresh envelope is in, the earlier ones are too.
func (h *harness) fence() {
	h.t.Helper()
	env := h.send(vera, "help")
	if _, err := h.slack.WaitAck(h.ctx, env.ID); err != nil {
		h.t.Fatalf("fence: %v", err)
	}
	h.reply(env)
}

// buttonValue returns the value of the button with actionID on message ts.
func (h *harness) buttonValue(ts, actionID string) string {
	h.t.Helper()
	buttons, err := h.slack.Buttons(ts)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, b := range buttons {
		if b.ActionID == actionID {
			return b.Value
		}
	}
	h.t.Fatalf("message %s has no %s button", ts, actionID)
	return ""
}

// clickButton presses the button at index i of message ts, as user.
func (h *harness) clickButton(user, ts string, i int) *slacksim.Envelope {
	h.t.Helper()
	env, err := h.slack.Click(h.ctx, slacksim.Click{
		UserID: user, TS: ts, Button: i, IgnoreVisibility: true})
	if err != nil {
		h.t.Fatalf("Click(button %d of %s): %v", i, ts, err)
	}
	return env
}

// replayChannel returns a channel for one message a test posts to carry
// a button value of its choosing, away from the channels the bot writes
// to. Each gets its own: a test pressing many buttons at once would pass
// Slack's rate of about one post a second per channel.
func replayChannel() string { return fmt.Sprintf("C0REPLAY%d", replays.Add(1)) }

var replays atomic.Int64

// press posts a message holding one button with actionID and value, as
// an old or forged card would look, and clicks it as user. The click
// gets a real response_url, so the bot's answer lands in the stand-in.
func (h *harness) press(user, actionID, value string) *slacksim.Envelope {
	h.t.Helper()
	sc := h.slack.Config()
	api := slack.New(sc.BotToken, slack.OptionAPIURL(h.slack.APIURL()))
	btn := slack.NewButtonBlockElement(actionID, value,
		slack.NewTextBlockObject(slack.PlainTextType, "press", false, false))
	_, ts, err := api.PostMessageContext(h.ctx, replayChannel(),
		slack.MsgOptionText("replayed button", false),
		slack.MsgOptionBlocks(slack.NewActionBlock("replay", btn)))
	if err != nil {
		h.t.Fatalf("posting a %s button with value %q: %v", actionID, value, err)
	}
	return h.click(user, ts, actionID)
}

// replyText waits for env's first reply and returns it rendered.
func (h *harness) replyText(env *slacksim.Envelope) string {
	h.t.Helper()
	return h.reply(env).Render()
}

// wantText fails the test unless text holds every one of want.
func wantText(t *testing.T, what, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s = \n%s\nwant it to contain %q", what, text, w)
		}
	}
}

// restartCalls counts the restarts the bot asked of any room.
func (h *harness) restartCalls() int {
	n := 0
	for _, c := range h.spy.seen() {
		if c.op == "restart" {
			n++
		}
	}
	return n
}

// Action ids the tests press, named as the commands package names them.
const (
	confirmID = commands.ActionConfirm
	cancelID  = commands.ActionCancel
	askID     = commands.ActionRestartAsk
)
