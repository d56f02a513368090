package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roomops/roombot/authz"
	"github.com/roomops/roombot/bot"
	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/internal/term"
	"github.com/roomops/roombot/roomclient/roomtest"
	"github.com/roomops/roombot/slacksim"
)

// The demo workspace: who types, where, and where restarts are announced.
const (
	demoUser    = "U0DEMO001" // may restart
	demoViewer  = "U0VIEWER1" // may only look
	demoChannel = "C0GENERAL1"
	demoNotify  = "C0OPS0001"
)

// demoChannels names the demo's channels, as a Slack client would.
var demoChannels = map[string]string{demoChannel: "#general", demoNotify: "#ops"}

const (
	// A restart walks restarting → starting → running slowly enough to
	// watch, and the recovery watch looks often enough to notice at once.
	demoRestarting = 2 * time.Second
	demoStarting   = 3 * time.Second
	demoPoll       = 500 * time.Millisecond
	demoRecovery   = 30 * time.Second
	demoDrain      = 20 * time.Second

	demoStartTimeout = 15 * time.Second
	demoReplyTimeout = 10 * time.Second

	// demoQuiet is how long output must pause before the prompt shows
	// again, so that a burst of messages is not cut up by prompts.
	demoQuiet = 50 * time.Millisecond
)

// runDemo runs the real bot against the Slack stand-in and the room
// simulator, on loopback, with stdin and stdout as the Slack user. It
// reads no environment: nothing it does reaches a real Slack or room.
// It returns nil when the user quits, stdin ends or ctx is done, once
// the bot has drained.
func runDemo(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	logFile, err := os.CreateTemp("", "roombot-demo-*.log")
	if err != nil {
		return fmt.Errorf("creating the demo log: %w", err)
	}
	defer logFile.Close()
	err = demo(ctx, logFile, stdin, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "bot: the demo's log is %s\n", logFile.Name())
	}
	return err
}

// demo starts the world and the bot, then hands the terminal to the
// console until the bot has stopped.
func demo(ctx context.Context, logFile *os.File, stdin io.Reader, stdout io.Writer) error {
	cfg, err := demoConfig()
	if err != nil {
		return err
	}
	log := newLogger(cfg, logFile)
	w, err := startDemoWorld(log)
	if err != nil {
		return err
	}
	defer w.close()
	w.wire(cfg)

	b := startDemoBot(ctx, cfg, log)
	defer b.stop()
	addr, err := b.await(ctx, w.slack)
	if err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while starting
		}
		return fmt.Errorf("starting the demo: %w", err)
	}

	events := newDemoPump(w.slack.Feed())
	c := newDemoConsole(stdout, w.slack, demoTTY(stdin))
	c.welcome(w.rooms.Rooms(), logFile.Name(), addr)
	stopReading := make(chan struct{})
	defer close(stopReading)
	err = c.run(ctx, demoLines(stdin, stopReading), events.c, b)

	// The bot has stopped; show what it posted on its way out.
	for _, ev := range events.stop() {
		c.show(ev)
	}
	c.note("stopped.")
	return err
}

// demoConfig is the configuration of the demo bot, short of the Slack and
// room addresses, which exist once the world has started.
func demoConfig() (*Config, error) {
	c := defaultConfig()
	c.AllowedUsers, c.RestartUsers = demoViewer, demoUser
	c.NotifyChannel = demoNotify
	c.HTTPAddr = "127.0.0.1:0"
	c.Drain = duration{Duration: demoDrain}
	c.LogLevel, c.LogFormat = "debug", "text"
	if err := c.check(true); err != nil {
		return nil, fmt.Errorf("demo configuration: %w", err)
	}
	return c, nil
}

// tuneDemoBot makes the restart notification's update come promptly, and
// a restart of the crash-looping service end in "not back" within a
// minute rather than five.
func tuneDemoBot(c *bot.Config) {
	c.RecoveryPoll = demoPoll
	c.RecoveryTimeout = demoRecovery
}

// A demoWorld is what the demo bot talks to: rooms and a Slack workspace.
type demoWorld struct {
	rooms *roomtest.Server
	slack *slacksim.Server
}

func startDemoWorld(log *slog.Logger) (*demoWorld, error) {
	rooms, err := roomtest.New(roomtest.DemoFixture(),
		roomtest.WithRestartDelays(demoRestarting, demoStarting),
		roomtest.WithLogger(log.With("component", "roomsim")))
	if err != nil {
		return nil, fmt.Errorf("starting the room simulator: %w", err)
	}
	sim, err := slacksim.New(slacksim.Config{Logger: log.With("component", "slacksim")})
	if err != nil {
		rooms.Close()
		return nil, fmt.Errorf("starting the Slack stand-in: %w", err)
	}
	return &demoWorld{rooms: rooms, slack: sim}, nil
}

// wire points c at the world, as the environment would in production.
func (w *demoWorld) wire(c *Config) {
	sc := w.slack.Config()
	c.SlackAppToken = secret(sc.AppToken)
	c.SlackBotToken = secret(sc.BotToken)
	c.SlackAPIURL = endpoint(w.slack.APIURL())
	c.RoomURL = endpoint(w.rooms.URL())
	c.Token = "demo-participant-token" // the simulator takes any token
}

func (w *demoWorld) close() {
	w.slack.Close()
	w.rooms.Close()
}

// A demoBot is the demo bot running in serve.
type demoBot struct {
	cancel context.CancelFunc
	ready  chan string   // the HTTP address
	done   chan struct{} // closed when serve returns
	err    error         // what serve returned; read after done
}

func startDemoBot(ctx context.Context, cfg *Config, log *slog.Logger) *demoBot {
	ctx, cancel := context.WithCancel(ctx)
	b := &demoBot{cancel: cancel, ready: make(chan string, 1), done: make(chan struct{})}
	opts := serveOptions{ready: b.ready, botConf: tuneDemoBot}
	go func() {
		defer close(b.done)
		b.err = serve(ctx, cfg, log, opts)
	}()
	return b
}

// await waits until the bot serves HTTP and has a Socket Mode connection,
// and returns the HTTP address.
func (b *demoBot) await(ctx context.Context, sim *slacksim.Server) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, demoStartTimeout)
	defer cancel()
	var addr string
	select {
	case addr = <-b.ready:
	case <-b.done:
		return "", b.failed()
	case <-ctx.Done():
		return "", ctx.Err()
	}

	connected := make(chan error, 1)
	go func() { connected <- sim.WaitConnections(ctx, 1) }()
	select {
	case err := <-connected:
		if err != nil {
			return "", fmt.Errorf("waiting for the bot to connect: %w", err)
		}
		return addr, nil
	case <-b.done:
		return "", b.failed()
	}
}

// failed is the error of a bot that stopped on its own.
func (b *demoBot) failed() error {
	if b.err != nil {
		return fmt.Errorf("the bot stopped: %w", b.err)
	}
	return errors.New("the bot stopped")
}

// stop stops the bot and waits for it to drain.
func (b *demoBot) stop() {
	b.cancel()
	<-b.done
}

// A demoPump hands a feed's events to the console, so that the console
// can wait on them and on the keyboard at once.
type demoPump struct {
	c      chan slacksim.MessageEvent
	cancel context.CancelFunc
}

func newDemoPump(feed *slacksim.Feed) *demoPump {
	ctx, cancel := context.WithCancel(context.Background())
	p := &demoPump{c: make(chan slacksim.MessageEvent), cancel: cancel}
	go func() {
		defer close(p.c)
		for {
			// Once ctx is done, Next still returns the events already
			// recorded, and then fails: nothing the bot posted is lost.
			ev, err := feed.Next(ctx)
			if err != nil {
				return
			}
			p.c <- ev
		}
	}()
	return p
}

// stop ends the pump and returns the events it had not handed over.
func (p *demoPump) stop() []slacksim.MessageEvent {
	p.cancel()
	var rest []slacksim.MessageEvent
	for ev := range p.c {
		rest = append(rest, ev)
	}
	return rest
}

// demoLines sends the lines of r until it ends, and then closes the
// channel. It stops sending once done is closed, but a read in progress
// lasts until r has a line or ends: os.Stdin cannot be interrupted.
func demoLines(r io.Reader, done <-chan struct{}) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		// A Reader, not a Scanner: a Scanner ends at a line past 64 KiB
		// as if the input had, and the demo stopped without a word.
		br := bufio.NewReader(r)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				select {
				case ch <- strings.TrimRight(line, "\r\n"):
				case <-done:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

// demoTTY reports whether r is a terminal, which echoes what is typed.
func demoTTY(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// A demoConsole is the Slack user at the terminal. It turns typed lines into
// slash commands and clicks, and prints every message the bot posts or
// edits. Its loop is the only writer to out, so nothing interleaves.
type demoConsole struct {
	out   io.Writer
	slack *slacksim.Server
	echo  bool // input is not a terminal: repeat each line after the prompt
	user  string

	msgs []*demoMsg // message n is msgs[n-1]
	byTS map[string]*demoMsg
	ask  *demoAsk // a click whose dialog awaits y or n

	// One command or click is in flight at a time, and input waits
	// until its reply is shown, so "restart lobby web" then "1" clicks
	// the card even when both lines arrive at once.
	sent    chan demoSent // from the goroutine that sends
	busy    bool
	waitEnv string          // the envelope whose reply ends the wait
	replied map[string]bool // envelopes answered since the send began
	timeout <-chan time.Time

	quitting bool
	prompted bool             // the prompt is the last thing written
	quiet    <-chan time.Time // fires when the prompt may show again
}

// A demoMsg is a message the console has shown, as it is now.
type demoMsg struct {
	num  int
	msg  slacksim.Message
	view term.View
}

type demoAsk struct {
	msg    *demoMsg
	button int // from 1
	dialog *term.Dialog
}

type demoSent struct {
	env *slacksim.Envelope
	err error
}

func newDemoConsole(out io.Writer, sim *slacksim.Server, tty bool) *demoConsole {
	return &demoConsole{
		out: out, slack: sim, echo: !tty, user: demoUser,
		byTS: map[string]*demoMsg{},
		sent: make(chan demoSent, 1),
	}
}

func (c *demoConsole) welcome(rooms []string, logPath, httpAddr string) {
	c.print(fmt.Sprintf(`roombot demo: the real bot, over Socket Mode, with an embedded Slack
and embedded MeshAgent rooms. Nothing here reaches a real Slack or room.

  rooms     %s: lobby is healthy; staging has a crash-looping service,
            one that reports no state, and a scheduled restart; fleet has
            more services than a page and two named worker
  you       @%s in #general, allowed to restart (notifications go to #ops)
  bot log   %s
  http      http://%s/metrics and /readyz

%s`, strings.Join(rooms, ", "), demoUser, logPath, httpAddr, demoKeys))
}

// demoKeys is the demo's own help, shown at the start and by "?".
const demoKeys = `Type what you would type after /room-services (or the whole command):
  list lobby
  status staging api
  restart lobby web
  list fleet, status fleet worker
Type a button's number to press it: 1 presses [1 …] of the latest message
with buttons, "click 2 of 5" presses [2 …] of message 5. "as ` + demoViewer + `"
switches to a user who may only look, "as ` + demoUser + `" back. "?" shows
this, "help" asks the bot, "quit" or Ctrl-D ends the demo.
`

// run reads lines and shows events until the bot has stopped: after quit,
// the end of input or the end of ctx, it waits for the bot to drain and
// shows what it posts meanwhile.
func (c *demoConsole) run(ctx context.Context, lines <-chan string,
	events <-chan slacksim.MessageEvent, b *demoBot) error {
	interrupted := ctx.Done()
	for {
		var input <-chan string
		if c.awaitsInput() {
			input = lines
			if !c.prompted && c.quiet == nil {
				c.quiet = time.After(demoQuiet)
			}
		}
		select {
		case <-c.quiet:
			c.quiet = nil
			c.prompt()
		case line, ok := <-input:
			if !ok {
				c.quit(b)
				continue
			}
			c.input(ctx, line, b)
		case ev := <-events:
			c.show(ev)
		case s := <-c.sent:
			c.sendDone(s)
		case <-c.timeout:
			c.busy, c.timeout = false, nil
			c.note("no reply from the bot yet; it may still come (see the bot log).")
		case <-interrupted:
			interrupted = nil
			c.quit(b)
		case <-b.done:
			// An interrupt stops the bot too, through ctx, and the bot may
			// be done before this loop has seen the interrupt: that is a
			// stop, not a failure.
			if c.quitting || ctx.Err() != nil {
				return b.err
			}
			return b.failed()
		}
	}
}

func (c *demoConsole) quit(b *demoBot) {
	if c.quitting {
		return
	}
	c.quitting = true
	c.note(fmt.Sprintf("stopping; the bot finishes what is in flight first (at most %s).",
		demoDrain))
	b.cancel()
}

func (c *demoConsole) awaitsInput() bool { return !c.busy && !c.quitting }

// input acts on one typed line.
func (c *demoConsole) input(ctx context.Context, line string, b *demoBot) {
	if c.echo {
		// Make the output read as a transcript.
		if !c.prompted {
			c.write(c.promptText())
		}
		c.write(line + "\n")
	}
	c.prompted = false
	line = strings.TrimSpace(line)
	if c.ask != nil && c.answer(ctx, line) {
		return
	}

	word, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(word) {
	case "":
	case "quit", "exit":
		c.quit(b)
	case "?":
		c.print("\n" + demoKeys)
	case "as":
		c.become(rest)
	case "click":
		c.clickCmd(ctx, rest)
	case "/room-services":
		c.command(ctx, rest)
	case "y", "n", "yes", "no":
		c.note("no dialog is open; y and n answer one.")
	default:
		if n, err := strconv.Atoi(line); err == nil {
			c.click(ctx, n, 0)
		} else if numeric.MatchString(line) {
			c.note(fmt.Sprintf("%s is no button; type a button's number, like 1.", line))
		} else if strings.HasPrefix(word, "/") {
			c.note(fmt.Sprintf("only /room-services is installed here; %s is not.", word))
		} else {
			c.command(ctx, line)
		}
	}
}

// become switches the user at the keyboard to the user id in arg.
func (c *demoConsole) become(arg string) {
	ids, err := authz.ParseIDs("as", arg)
	if err != nil || len(ids) != 1 || ids[0][0] == 'S' {
		c.note(fmt.Sprintf(`say "as %s" or "as %s" (or any user id, who may do nothing).`,
			demoUser, demoViewer))
		return
	}
	user := ids[0]
	c.user = user
	switch user {
	case demoUser:
		c.note("you are @" + user + ", who may restart.")
	case demoViewer:
		c.note("you are @" + user + ", who may only look.")
	default:
		c.note("you are @" + user + ", who is on no allow-list.")
	}
}

// clickCmd reads "N" or "N of M" after click.
func (c *demoConsole) clickCmd(ctx context.Context, args string) {
	f := strings.Fields(args)
	var n, msg int
	var err error
	switch {
	case len(f) == 3 && f[1] == "of":
		msg, err = strconv.Atoi(f[2])
		if err == nil && msg < 1 {
			err = errors.New("messages are numbered from 1")
		}
	case len(f) != 1:
		err = errors.New("one or three words")
	}
	if err == nil {
		n, err = strconv.Atoi(f[0])
	}
	if err != nil {
		c.note(`say "click N" for button N of the latest message with buttons, or "click N of M".`)
		return
	}
	c.click(ctx, n, msg)
}

// click presses button n of message num, or of the latest message with
// buttons that the user can see when num is 0. A button with a dialog
// asks first.
func (c *demoConsole) click(ctx context.Context, n, num int) {
	m, why := c.target(num)
	if m == nil {
		c.note(why)
		return
	}
	switch k := len(m.view.Buttons); {
	case k == 0:
		c.note(fmt.Sprintf("message %d has no buttons.", m.num))
		return
	case n < 1:
		c.note("buttons are numbered from 1.")
		return
	case n > k:
		c.note(fmt.Sprintf("message %d has %d buttons; there is no %d.", m.num, k, n))
		return
	}
	if d := m.view.Buttons[n-1].Dialog; d != nil {
		c.ask = &demoAsk{msg: m, button: n, dialog: d}
		c.dialog(d)
		return
	}
	c.press(ctx, m, n)
}

func (c *demoConsole) target(num int) (*demoMsg, string) {
	if num == 0 {
		for i := len(c.msgs) - 1; i >= 0; i-- {
			if m := c.msgs[i]; len(m.view.Buttons) > 0 && c.sees(m.msg) {
				return m, ""
			}
		}
		return nil, "no message you can see has buttons."
	}
	if num > len(c.msgs) {
		return nil, fmt.Sprintf("there is no message %d.", num)
	}
	switch m := c.msgs[num-1]; {
	case m.msg.Deleted:
		return nil, fmt.Sprintf("message %d was deleted.", num)
	case !c.sees(m.msg):
		return nil, fmt.Sprintf("only @%s can see message %d.", m.msg.VisibleTo, num)
	default:
		return m, ""
	}
}

func (c *demoConsole) sees(m slacksim.Message) bool {
	return !m.Deleted && (!m.Ephemeral || m.VisibleTo == c.user)
}

// dialog draws a confirmation dialog as Slack shows it over the message.
func (c *demoConsole) dialog(d *term.Dialog) {
	yes, no := cmp.Or(d.Confirm, "Yes"), cmp.Or(d.Deny, "No")
	c.print(fmt.Sprintf("\n  ┌─ %s\n  │  %s\n  └─ [%s] [%s]\n", d.Title, d.Text, yes, no))
}

// answer takes the reply to a dialog: y sends the click, n or nothing is
// the dialog's other button. It reports whether line was that reply. A
// command, or anything else the demo runs, closes the dialog, as a click
// elsewhere does in Slack, and is left to be run as typed; any other
// line is asked again, rather than taken for an answer nobody gave.
func (c *demoConsole) answer(ctx context.Context, line string) bool {
	p := c.ask
	yes, no := cmp.Or(p.dialog.Confirm, "Yes"), cmp.Or(p.dialog.Deny, "No")
	switch strings.ToLower(line) {
	case "y", "yes":
		c.ask = nil
		// The message may have changed while the dialog was open.
		if b := p.msg.view.Buttons; len(b) < p.button || b[p.button-1].Dialog == nil {
			c.note(fmt.Sprintf("message %d has changed; nothing was sent.", p.msg.num))
			return true
		}
		c.press(ctx, p.msg, p.button)
		return true
	case "n", "no", "":
	default:
		if !runnable(line) {
			c.note(fmt.Sprintf("answer y for %s or n for %s.", yes, no))
			return true
		}
	}
	c.ask = nil
	c.note(fmt.Sprintf("you chose %s; nothing was sent.", no))
	return !runnable(line)
}

// runnable reports whether line is something the demo runs: a command,
// with /room-services or without, a button's number, or a word of the
// demo's own.
func runnable(line string) bool {
	word, _, _ := strings.Cut(line, " ")
	word = strings.ToLower(word)
	switch word {
	case "quit", "exit", "?", "as", "click":
		return true
	}
	if _, err := strconv.Atoi(line); err == nil || strings.HasPrefix(word, "/") {
		return true
	}
	return slices.Contains(commands.Verbs(), commands.Verb(word))
}

func (c *demoConsole) press(ctx context.Context, m *demoMsg, n int) {
	click := slacksim.Click{UserID: c.user, TS: m.msg.TS, Button: n - 1}
	c.send(ctx, func(ctx context.Context) (*slacksim.Envelope, error) {
		return c.slack.Click(ctx, click)
	})
}

func (c *demoConsole) command(ctx context.Context, text string) {
	cmd := slacksim.SlashCommand{
		UserID: c.user, ChannelID: demoChannel, ChannelName: "general",
		Text: slackEscape.Replace(text),
	}
	c.send(ctx, func(ctx context.Context) (*slacksim.Envelope, error) {
		return c.slack.SlashCommand(ctx, cmd)
	})
}

// slackEscape writes typed text as Slack delivers it: &, < and > as
// entities, which the bot's parser undoes, as it does for real commands.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// numeric matches what looks like a button number but is none.
var numeric = regexp.MustCompile(`^[-+]?[0-9][0-9.,]*$`)

// A sendFunc hands an envelope to the bot.
type sendFunc func(context.Context) (*slacksim.Envelope, error)

// send runs f off the loop: the stand-in waits for a connection, and
// events must keep printing meanwhile.
func (c *demoConsole) send(ctx context.Context, f sendFunc) {
	c.busy = true
	c.replied = map[string]bool{}
	out := c.sent
	go func() {
		ctx, cancel := context.WithTimeout(ctx, demoReplyTimeout)
		defer cancel()
		env, err := f(ctx)
		out <- demoSent{env, err}
	}()
}

// sendDone starts the wait for the reply, unless it has come already.
func (c *demoConsole) sendDone(s demoSent) {
	switch {
	case s.err != nil:
		c.busy = false
		if !c.quitting {
			c.note(fmt.Sprintf("could not reach the bot: %v", s.err))
		}
	case c.replied[s.env.ID]:
		c.busy = false
	default:
		c.waitEnv = s.env.ID
		c.timeout = time.After(demoReplyTimeout)
	}
}

// show prints a message event: a heading saying which message it is,
// where, and who sees it, then the message as Slack would draw it.
func (c *demoConsole) show(ev slacksim.MessageEvent) {
	m := ev.Message
	s := c.byTS[m.TS]
	if s == nil {
		s = &demoMsg{num: len(c.msgs) + 1}
		c.msgs = append(c.msgs, s)
		c.byTS[m.TS] = s
	}
	s.msg, s.view = m, term.Draw(m.Text, m.Blocks)
	if m.Deleted {
		s.view = term.View{}
	}
	c.print("\n" + c.heading(ev.Kind, s) + "\n" + s.view.String())

	if c.busy && m.EnvelopeID != "" {
		c.replied[m.EnvelopeID] = true
		if m.EnvelopeID == c.waitEnv {
			c.busy, c.waitEnv, c.timeout = false, "", nil
		}
	}
}

func (c *demoConsole) heading(kind slacksim.EventKind, s *demoMsg) string {
	m := s.msg
	parts := []string{
		fmt.Sprintf("── message %d", s.num),
		cmp.Or(demoChannels[m.Channel], "#"+m.Channel),
	}
	switch {
	case m.Ephemeral && m.VisibleTo == c.user:
		parts = append(parts, "only you can see this")
	case m.Ephemeral:
		parts = append(parts, "only @"+m.VisibleTo+" can see this")
	}
	if kind != slacksim.Posted {
		parts = append(parts, string(kind))
	}
	return strings.Join(parts, " · ")
}

// prompt shows the prompt, unless it is showing or no input is awaited.
func (c *demoConsole) prompt() {
	if c.awaitsInput() && !c.prompted {
		c.write(c.promptText())
		c.prompted = true
	}
}

// promptText asks for a command, or for the answer to a dialog.
func (c *demoConsole) promptText() string {
	if c.ask != nil {
		return cmp.Or(c.ask.dialog.Confirm, "Yes") + "? [y/N] "
	}
	return "@" + c.user + "> "
}

// note prints a line from the demo itself, as opposed to the bot.
func (c *demoConsole) note(s string) { c.print("demo: " + s + "\n") }

// print writes s on a line of its own, and holds the prompt back until
// the output pauses.
func (c *demoConsole) print(s string) {
	if c.prompted {
		c.write("\n")
		c.prompted = false
	}
	c.write(s)
	c.quiet = nil
}

func (c *demoConsole) write(s string) {
	// A terminal that has gone away leaves nothing to tell.
	_, _ = io.WriteString(c.out, s)
}
