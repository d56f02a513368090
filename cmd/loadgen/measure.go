package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/roomops/roombot/roomclient/roomtest"
	"github.com/roomops/roombot/slacksim"
)

// A config is one point of the scaling runs.
type config struct {
	Services int  `json:"services"`
	Rooms    int  `json:"rooms"`
	Conc     int  `json:"conc"`
	N        int  `json:"n"`
	Burst    bool `json:"burst"`
}

func (c config) String() string {
	mode := "steady"
	if c.Burst {
		mode = "bursts"
	}
	return fmt.Sprintf("services=%d rooms=%d conc=%d n=%d %s",
		c.Services, c.Rooms, c.Conc, c.N, mode)
}

// A bench is what every run of a sweep shares.
type bench struct {
	bot    string // the bot binary
	self   string // this binary, run again for the floors
	tmp    string
	net    string // "loopback", "netem" or "delay"
	rtt    time.Duration
	lab    *netLab
	fresh  bool // also time a fresh connection per list
	settle time.Duration
	perf   string // directory for perf profiles of the bot, or ""
	runs   int    // runs made so far, to name the profiles
	log    func(format string, args ...any)

	// With -tls, the rooms serve wss with tls, and caFile holds its
	// certificate for the children to trust through SSL_CERT_FILE.
	tls    *tls.Config
	caFile string
}

// childEnv is the environment of a child: enough to run, nothing secret,
// the rooms' certificate when they speak TLS, and extra.
func (b *bench) childEnv(extra ...string) []string {
	env := baseEnv()
	if b.caFile != "" {
		env = append(env, "SSL_CERT_FILE="+b.caFile)
	}
	return append(env, extra...)
}

// A procResult is one process's figures in one run.
type procResult struct {
	Ack      dist  `json:"ack"`
	Reply    dist  `json:"reply"`    // the bot's reply, or the bare list
	Room     dist  `json:"room"`     // the simulator's own time per list
	Overhead dist  `json:"overhead"` // reply minus room time, per command
	Failures int   `json:"failures"`
	RSSIdle  int64 `json:"rss_idle"`
	RSSMax   int64 `json:"rss_sampled_max"`
	HWM      int64 `json:"rss_hwm"`
	GorIdle  int   `json:"goroutines_idle"`
	GorMax   int   `json:"goroutines_max"`
	Extra    int   `json:"violations"` // Slack limits broken, acks late

	// CPU is the process's CPU time, user and system, per command (or
	// per envelope, or per list) while the load ran.
	CPU time.Duration `json:"cpu_per_command"`
}

// A runResult is one run of a configuration: the bot and its floors.
type runResult struct {
	Bot      procResult  `json:"bot"`
	AckFloor procResult  `json:"ack_floor"`
	Bare     procResult  `json:"bare_list"`
	Fresh    *procResult `json:"fresh_list,omitempty"`

	// Harness is this tool's own CPU per command while the bot ran:
	// the Slack stand-ins and the room simulator share the cores.
	Harness time.Duration `json:"harness_cpu_per_command"`
}

// measure runs cfg once: the bot with the ack-only client beside it,
// then the bare room client.
func (b *bench) measure(ctx context.Context, cfg config) (runResult, error) {
	var res runResult
	answers := &answerLog{}
	room, err := b.room(cfg, answers)
	if err != nil {
		return res, err
	}
	defer room.close()

	if err := b.product(ctx, cfg, room.url, answers, &res); err != nil {
		return res, fmt.Errorf("bot: %w", err)
	}
	if err := b.listFloor(ctx, cfg, room.url, answers, false, &res.Bare); err != nil {
		return res, fmt.Errorf("list floor: %w", err)
	}
	if b.fresh {
		res.Fresh = &procResult{}
		if err := b.listFloor(ctx, cfg, room.url, answers, true, res.Fresh); err != nil {
			return res, fmt.Errorf("fresh list floor: %w", err)
		}
	}
	return res, nil
}

// rooms is the simulator as the clients reach it: url is the simulator's
// own, or the delay proxy's in front of it.
type rooms struct {
	srv   *roomtest.Server
	proxy *delayProxy
	url   string
}

func (r *rooms) close() {
	if r.proxy != nil {
		r.proxy.close()
	}
	r.srv.Close()
}

// room starts the simulator: inside the lab behind its link, behind the
// delay proxy, or slowed by its own knobs, as -net says.
func (b *bench) room(cfg config, answers *answerLog) (*rooms, error) {
	fx := fixture(cfg.Rooms, cfg.Services)
	opts := []roomtest.Option{roomtest.WithAnswerTimes(answers.add)}
	if b.tls != nil {
		opts = append(opts, roomtest.WithTLS(b.tls))
	}
	if b.lab != nil {
		var srv *roomtest.Server
		err := b.lab.inside(func() error {
			var err error
			srv, err = roomtest.New(fx, append(opts, roomtest.WithAddr(b.lab.roomIP+":0"))...)
			return err
		})
		if err != nil {
			return nil, err
		}
		return &rooms{srv: srv, url: srv.URL()}, nil
	}
	srv, err := roomtest.New(fx, opts...)
	if err != nil {
		return nil, err
	}
	r := &rooms{srv: srv, url: srv.URL()}
	switch b.net {
	case "delay":
		err = b.slowRooms(srv, cfg)
	case "proxy":
		u, _ := url.Parse(srv.URL())
		if r.proxy, err = newDelayProxy(u.Host, b.rtt); err == nil {
			u.Host = r.proxy.addr()
			r.url = u.String()
		}
	}
	if err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// slowRooms stands in for the slow link when there is no lab: each
// answer waits a round trip, and each handshake two (the TCP handshake
// and the websocket upgrade a fresh connection pays).
func (b *bench) slowRooms(srv *roomtest.Server, cfg config) error {
	if b.net != "delay" {
		return nil
	}
	for i := range cfg.Rooms {
		f := roomtest.Faults{AnswerDelay: b.rtt, ReadyDelay: 2 * b.rtt}
		if err := srv.SetFaults(roomName(i), f); err != nil {
			return err
		}
	}
	return nil
}

func slackEnv(sl *slacksim.Server) []string {
	sc := sl.Config()
	return []string{
		"SLACK_APP_TOKEN=" + sc.AppToken,
		"SLACK_BOT_TOKEN=" + sc.BotToken,
		"SLACK_API_URL=" + sl.APIURL(),
	}
}

// product runs the bot under cfg's load. The ack-only client runs beside
// it on a stand-in of its own, and each command goes to both at once, so
// the two acks are timed on the same machine, under the same load from
// this tool and the room, and differ only by what the bot does besides
// acking.
func (b *bench) product(ctx context.Context, cfg config, roomURL string,
	answers *answerLog, res *runResult) error {
	sl, err := slacksim.New(slacksim.Config{})
	if err != nil {
		return err
	}
	defer sl.Close()
	twin, err := slacksim.New(slacksim.Config{})
	if err != nil {
		return err
	}
	defer twin.Close()
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	env := b.childEnv(slackEnv(sl)...)
	env = append(env,
		"MESHAGENT_ROOM_URL="+roomURL,
		"MESHAGENT_TOKEN=load-token",
		"ROOMBOT_RESTART_USERS="+loadUser,
		// The default log level: an audit line for every command is
		// part of what the bot costs.
		"ROOMBOT_HTTP_ADDR="+addr)
	bot, err := startChild("bot", b.bot, nil, env, addr, false)
	if err != nil {
		return err
	}
	defer bot.stop(10 * time.Second)
	floor, err := startChild("ack floor", b.self, nil,
		b.childEnv(append(slackEnv(twin), floorEnv+"=ack")...), "", false)
	if err != nil {
		return err
	}
	defer floor.stop(10 * time.Second)
	if err := b.ready(ctx, sl, bot, &res.Bot); err != nil {
		return err
	}
	if err := b.ready(ctx, twin, floor, &res.AckFloor); err != nil {
		return err
	}

	d := &driver{sl: sl, twin: twin, rooms: cfg.Rooms, reply: newReplies(ctx, sl)}
	if _, _, err := d.steady(ctx, cfg.Rooms, 1); err != nil {
		return fmt.Errorf("warming up: %w", err)
	}
	answers.reset()
	stopPerf := b.profile(bot, cfg)
	meters := startMeters(bot, floor)
	ss, twins, err := b.drive(ctx, cfg, d, bot, floor)
	cpu := meters.stop(len(ss))
	stopPerf()
	if err != nil {
		return fmt.Errorf("%w; bot output:\n%s", err, bot.tail)
	}
	if err := waitAcks(ctx, twin, len(twins)+cfg.Rooms); err != nil {
		return fmt.Errorf("ack floor: %w; output:\n%s", err, floor.tail)
	}
	if err := bot.exited(); err != nil {
		return err
	}
	res.Bot.CPU, res.AckFloor.CPU, res.Harness = cpu[0], cpu[1], cpu[2]
	b.fill(&res.Bot, bot, sl, ss, answers.take(), cfg)
	res.Bot.Failures = d.reply.failures()
	b.fill(&res.AckFloor, floor, twin, twins, nil, cfg)
	return nil
}

// fill reads one process's figures after a run: its memory, and the
// latencies the stand-in it talked to recorded.
func (b *bench) fill(out *procResult, c *child, sl *slacksim.Server, ss []sent,
	rooms []time.Duration, cfg config) {
	_, out.HWM, _ = c.memory()
	out.RSSMax, out.GorMax = c.peaks()
	acks, reps := timings(sl, ss)
	out.Ack, out.Reply, out.Room = distOf(acks), distOf(reps), distOf(rooms)
	if cfg.Conc == 1 && len(reps) > 0 {
		out.Overhead = distOf(pairDiff(reps, rooms))
		if len(reps) != len(rooms) {
			b.log("%s: %d replies but %d room calls; no overhead figure", c.name, len(reps), len(rooms))
		}
	}
	out.Extra = b.violations(c.name, sl)
}

// profile records the bot's CPU with perf while it is under load, when
// -perf asks for it: the bot serves no pprof, and perf needs nothing
// from it. It returns the function that ends the recording.
func (b *bench) profile(bot *child, cfg config) func() {
	if b.perf == "" {
		return func() {}
	}
	b.runs++
	file := filepath.Join(b.perf, fmt.Sprintf("bot-s%d-r%d-c%d-%d.perf.data",
		cfg.Services, cfg.Rooms, cfg.Conc, b.runs))
	// perf does not make the directory, and says why it failed only on
	// its stderr: without both, -perf used to record nothing, silently.
	if err := os.MkdirAll(b.perf, 0o755); err != nil {
		b.log("perf: %v", err)
		return func() {}
	}
	cmd := exec.Command("perf", "record", "-q", "-F", "2999", "-g",
		"-p", strconv.Itoa(bot.cmd.Process.Pid), "-o", file)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.log("perf: %v", err)
		return func() {}
	}
	return func() {
		cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil && !interrupted(err) {
			b.log("perf: %v", err)
			return
		}
		b.log("bot profile: perf report -i %s", file)
	}
}

// interrupted reports whether err is a process ending on the interrupt
// that profile sends it, which is how perf record is asked to stop.
func interrupted(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == os.Interrupt
}

// ready waits for the child's Socket Mode connection, lets it settle,
// and records its idle memory and goroutines.
func (b *bench) ready(ctx context.Context, sl *slacksim.Server, c *child, out *procResult) error {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := sl.WaitConnections(wctx, 1); err != nil {
		return fmt.Errorf("%s never connected (%w); its output:\n%s", c.name, err, c.tail)
	}
	time.Sleep(b.settle)
	out.RSSIdle, _, _ = c.memory()
	if c.metrics != "" {
		out.GorIdle, _ = c.goroutines(ctx)
	}
	return nil
}

// drive sends cfg's commands while sampling the bot and the floor.
func (b *bench) drive(ctx context.Context, cfg config, d *driver, bot, floor *child) (ss, twins []sent, err error) {
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go bot.sample(sctx, 10*time.Millisecond, 100*time.Millisecond)
	go floor.sample(sctx, 10*time.Millisecond, time.Hour)
	rctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if cfg.Burst {
		return d.bursts(rctx, cfg.N, cfg.Conc)
	}
	return d.steady(rctx, cfg.N, cfg.Conc)
}

// violations counts the Slack rules the stand-in saw broken, and logs
// the first few.
func (b *bench) violations(who string, sl *slacksim.Server) int {
	v := sl.Violations()
	for _, err := range v[:min(3, len(v))] {
		b.log("%s broke a Slack rule: %v", who, err)
	}
	return len(v)
}

// waitAcks polls for n acks. The floor has nothing to reply, so there is
// no feed to wait on, and one poller is cheaper than n waiters.
func waitAcks(ctx context.Context, sl *slacksim.Server, n int) error {
	deadline := time.Now().Add(time.Minute)
	for len(sl.Acks()) < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d acks after a minute", len(sl.Acks()), n)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// listFloor runs the bare room client against the same rooms, at the
// same concurrency, warm or fresh.
func (b *bench) listFloor(ctx context.Context, cfg config, roomURL string,
	answers *answerLog, fresh bool, out *procResult) error {
	file := filepath.Join(b.tmp, "list.json")
	names := make([]string, cfg.Rooms)
	for i := range names {
		names[i] = roomName(i)
	}
	args := []string{"-url", roomURL, "-rooms", strings.Join(names, ","),
		"-n", strconv.Itoa(cfg.N), "-c", strconv.Itoa(cfg.Conc),
		"-fresh=" + strconv.FormatBool(fresh), "-out", file}
	env := b.childEnv(floorEnv + "=list")
	c, err := startChild("list floor", b.self, args, env, "", true)
	if err != nil {
		return err
	}
	defer c.stop(10 * time.Second)
	if line, err := c.stdout.ReadString('\n'); err != nil || line != "ready\n" {
		return fmt.Errorf("list floor not ready (%q, %v); output:\n%s", line, err, c.tail)
	}
	time.Sleep(b.settle)
	out.RSSIdle, _, _ = c.memory()

	answers.reset()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go c.sample(sctx, 10*time.Millisecond, time.Hour)
	meters := startMeters(c)
	if _, err := c.stdin.Write([]byte("go\n")); err != nil {
		return err
	}
	// The child exits once it has written its result; its high-water
	// mark is read just before, when it asks to be let go.
	return b.listResult(c, meters, file, answers, cfg, out)
}

func (b *bench) listResult(c *child, m *meters, file string, answers *answerLog, cfg config, out *procResult) error {
	if line, err := c.stdout.ReadString('\n'); err != nil || line != "done\n" {
		return fmt.Errorf("list floor did not finish (%q, %v); output:\n%s", line, err, c.tail)
	}
	out.CPU = m.stop(cfg.N)[0]
	_, out.HWM, _ = c.memory()
	out.RSSMax, _ = c.peaks()
	c.stdin.Close()
	<-c.done
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var res listResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return err
	}
	rooms := answers.take()
	out.Reply, out.Room, out.Failures = distOf(res.Latencies), distOf(rooms), res.Failures
	if cfg.Conc == 1 {
		out.Overhead = distOf(pairDiff(res.Latencies, rooms))
	}
	return nil
}
