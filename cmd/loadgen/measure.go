package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
}

// A runResult is one run of a configuration: the bot and its floors.
type runResult struct {
	Bot      procResult  `json:"bot"`
	AckFloor procResult  `json:"ack_floor"`
	Bare     procResult  `json:"bare_list"`
	Fresh    *procResult `json:"fresh_list,omitempty"`
}

// measure runs cfg once: the bot, then the ack-only client on the bot's
// arrival times, then the bare room client.
func (b *bench) measure(ctx context.Context, cfg config) (runResult, error) {
	var res runResult
	answers := &answerLog{}
	room, err := b.room(cfg, answers)
	if err != nil {
		return res, err
	}
	defer room.Close()

	sched, err := b.product(ctx, cfg, room, answers, &res.Bot)
	if err != nil {
		return res, fmt.Errorf("bot: %w", err)
	}
	if err := b.ackFloor(ctx, cfg, sched, &res.AckFloor); err != nil {
		return res, fmt.Errorf("ack floor: %w", err)
	}
	if err := b.listFloor(ctx, cfg, room, answers, false, &res.Bare); err != nil {
		return res, fmt.Errorf("list floor: %w", err)
	}
	if b.fresh {
		res.Fresh = &procResult{}
		if err := b.listFloor(ctx, cfg, room, answers, true, res.Fresh); err != nil {
			return res, fmt.Errorf("fresh list floor: %w", err)
		}
	}
	return res, nil
}

// room starts the simulator, behind the lab's link when there is one.
func (b *bench) room(cfg config, answers *answerLog) (*roomtest.Server, error) {
	fx := fixture(cfg.Rooms, cfg.Services)
	opts := []roomtest.Option{roomtest.WithAnswerTimes(answers.add)}
	if b.lab == nil {
		srv, err := roomtest.New(fx, opts...)
		if err != nil {
			return nil, err
		}
		return srv, b.slowRooms(srv, cfg)
	}
	var srv *roomtest.Server
	err := b.lab.inside(func() error {
		var err error
		srv, err = roomtest.New(fx, append(opts, roomtest.WithAddr(b.lab.roomIP+":0"))...)
		return err
	})
	return srv, err
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

// product runs the bot under cfg's load and returns when each command
// was sent, for the floors to replay.
func (b *bench) product(ctx context.Context, cfg config, room *roomtest.Server,
	answers *answerLog, out *procResult) ([]time.Duration, error) {
	sl, err := slacksim.New(slacksim.Config{})
	if err != nil {
		return nil, err
	}
	defer sl.Close()
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	env := append(baseEnv(), slackEnv(sl)...)
	env = append(env,
		"MESHAGENT_ROOM_URL="+room.URL(),
		"MESHAGENT_TOKEN=load-token",
		"ROOMBOT_RESTART_USERS="+loadUser,
		"ROOMBOT_HTTP_ADDR="+addr,
		"ROOMBOT_LOG_LEVEL=warn")
	bot, err := startChild("bot", b.bot, nil, env, addr, false)
	if err != nil {
		return nil, err
	}
	defer bot.stop(10 * time.Second)
	if err := b.ready(ctx, sl, bot, out); err != nil {
		return nil, err
	}

	d := &driver{sl: sl, rooms: cfg.Rooms, reply: newReplies(ctx, sl)}
	if _, err := d.steady(ctx, cfg.Rooms, 1); err != nil {
		return nil, fmt.Errorf("warming up: %w", err)
	}
	answers.reset()
	stopPerf := b.profile(bot, cfg)
	ss, err := b.drive(ctx, cfg, d, bot)
	stopPerf()
	if err != nil {
		return nil, fmt.Errorf("%w; bot output:\n%s", err, bot.tail)
	}
	if err := bot.exited(); err != nil {
		return nil, err
	}
	_, out.HWM, _ = bot.memory()
	out.RSSMax, out.GorMax = bot.peaks()

	acks, reps := timings(sl, ss)
	rooms := answers.take()
	out.Ack, out.Reply, out.Room = distOf(acks), distOf(reps), distOf(rooms)
	if cfg.Conc == 1 {
		out.Overhead = distOf(pairDiff(reps, rooms))
	}
	out.Failures = d.reply.failures()
	out.Extra = b.violations("bot", sl)
	return offsets(ss), nil
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
	cmd := exec.Command("perf", "record", "-q", "-F", "2999", "-g",
		"-p", strconv.Itoa(bot.cmd.Process.Pid), "-o", file)
	if err := cmd.Start(); err != nil {
		b.log("perf: %v", err)
		return func() {}
	}
	return func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		b.log("bot profile: perf report -i %s", file)
	}
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

// drive sends cfg's commands while sampling the bot.
func (b *bench) drive(ctx context.Context, cfg config, d *driver, bot *child) ([]sent, error) {
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go bot.sample(sctx, 10*time.Millisecond, 100*time.Millisecond)
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

// ackFloor replays the bot's arrivals to the ack-only client.
func (b *bench) ackFloor(ctx context.Context, cfg config, sched []time.Duration, out *procResult) error {
	sl, err := slacksim.New(slacksim.Config{})
	if err != nil {
		return err
	}
	defer sl.Close()
	env := append(append(baseEnv(), floorEnv+"=ack"), slackEnv(sl)...)
	c, err := startChild("ack floor", b.self, nil, env, "", false)
	if err != nil {
		return err
	}
	defer c.stop(10 * time.Second)
	if err := b.ready(ctx, sl, c, out); err != nil {
		return err
	}

	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go c.sample(sctx, 10*time.Millisecond, time.Hour)
	d := &driver{sl: sl, rooms: cfg.Rooms}
	ss, err := d.replay(ctx, sched)
	if err != nil {
		return err
	}
	if err := waitAcks(ctx, sl, len(ss)); err != nil {
		return fmt.Errorf("%w; output:\n%s", err, c.tail)
	}
	_, out.HWM, _ = c.memory()
	out.RSSMax, _ = c.peaks()
	acks, _ := timings(sl, ss)
	out.Ack = distOf(acks)
	out.Extra = b.violations("ack floor", sl)
	return nil
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
func (b *bench) listFloor(ctx context.Context, cfg config, room *roomtest.Server,
	answers *answerLog, fresh bool, out *procResult) error {
	file := filepath.Join(b.tmp, "list.json")
	names := make([]string, cfg.Rooms)
	for i := range names {
		names[i] = roomName(i)
	}
	args := []string{"-url", room.URL(), "-rooms", strings.Join(names, ","),
		"-n", strconv.Itoa(cfg.N), "-c", strconv.Itoa(cfg.Conc),
		"-fresh=" + strconv.FormatBool(fresh), "-out", file}
	env := append(baseEnv(), floorEnv+"=list")
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
	if _, err := c.stdin.Write([]byte("go\n")); err != nil {
		return err
	}
	// The child exits once it has written its result; its high-water
	// mark is read just before, when it asks to be let go.
	return b.listResult(c, file, answers, cfg, out)
}

func (b *bench) listResult(c *child, file string, answers *answerLog, cfg config, out *procResult) error {
	if line, err := c.stdout.ReadString('\n'); err != nil || line != "done\n" {
		return fmt.Errorf("list floor did not finish (%q, %v); output:\n%s", line, err, c.tail)
	}
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
