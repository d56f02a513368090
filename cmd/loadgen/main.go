// Command loadgen measures roombot end to end against its floors. It
// starts the Slack stand-in and the room simulator in its own process,
// the bot as a separate process built from ./cmd/bot, and sends it
// "/room-services list" commands, a number kept outstanding or in
// bursts. In the same run it measures the floors: an ack-only Socket Mode
// client, on the arrival times the bot saw, for the ack figures, and a
// bare room client listing the same rooms for the reply figures. Every
// figure is printed with its floor and their ratio, as Markdown.
//
//	loadgen -services 10,1000 -conc 1,50 -rooms 1 -runs 5
//	loadgen -net proxy -tls -rtt 20ms -services 10 -conc 1
//
// With -net netem the rooms sit behind a slow link: a network namespace
// and veth pair with tc netem, made and removed by the tool (it needs
// root and the netem qdisc). Where that fails, -net proxy is used: a TCP
// proxy in the tool holds each way's bytes for half the round trip. With
// -net delay the simulator waits a round trip before each answer and two
// before each handshake instead. With -tls the rooms speak wss, as
// production rooms do.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/roomops/roombot/roomclient/roomtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if mode := os.Getenv(floorEnv); mode != "" {
		os.Exit(floorMain(ctx, mode, os.Args[1:]))
	}
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(1)
	}
}

// flags are the command line.
type flags struct {
	services, conc, rooms []int
	n, runs               int
	burst                 bool
	net                   string
	rtt                   time.Duration
	fresh, tls            bool
	bot, jsonOut, perf    string
	settle                time.Duration
}

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	services := fs.String("services", "10", "services per room, comma-separated for a sweep")
	conc := fs.String("conc", "1", "commands outstanding (or per burst), comma-separated")
	rooms := fs.String("rooms", "1", "rooms the commands go to in turn, comma-separated")
	fs.IntVar(&f.n, "n", 0, "commands per run; 0 means max(200, 8×conc)")
	fs.IntVar(&f.runs, "runs", 5, "runs of each configuration")
	fs.BoolVar(&f.burst, "burst", false, "send conc commands at once and wait for all, instead of keeping conc outstanding")
	fs.StringVar(&f.net, "net", "loopback", "loopback, netem (a namespace behind tc netem; root), proxy (a delaying TCP proxy) or delay (the simulator's delay knobs)")
	fs.DurationVar(&f.rtt, "rtt", 20*time.Millisecond, "round trip to the rooms with -net netem, proxy or delay")
	fs.BoolVar(&f.tls, "tls", false, "serve the rooms over wss, as production rooms are, so a fresh connection pays for TLS")
	fs.BoolVar(&f.fresh, "fresh", false, "also time a fresh room connection per list (default true off loopback)")
	fs.StringVar(&f.bot, "bot", "", "bot binary; default: built from ./cmd/bot")
	fs.StringVar(&f.perf, "perf", "", "record the bot's CPU under load with perf(1) into this directory")
	fs.StringVar(&f.jsonOut, "json", "", "also write every run's raw figures to this file")
	fs.DurationVar(&f.settle, "settle", 500*time.Millisecond, "pause after a process connects, before its idle memory is read")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	var err error
	if f.services, err = ints(*services); err == nil {
		if f.conc, err = ints(*conc); err == nil {
			f.rooms, err = ints(*rooms)
		}
	}
	switch f.net {
	case "loopback", "netem", "proxy", "delay":
	default:
		return f, fmt.Errorf("-net %q: want loopback, netem, proxy or delay", f.net)
	}
	// Off loopback a fresh connection is what the network makes slow, so
	// it is timed unless -fresh=false says not to.
	explicit := false
	fs.Visit(func(fl *flag.Flag) { explicit = explicit || fl.Name == "fresh" })
	if f.net != "loopback" && !explicit {
		f.fresh = true
	}
	return f, err
}

func ints(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a list of positive numbers", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// A record is one configuration's runs, as -json writes them.
type record struct {
	Config config        `json:"config"`
	Net    string        `json:"net"`
	RTT    time.Duration `json:"rtt"`
	Runs   []runResult   `json:"runs"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	b, cleanup, err := newBench(ctx, f, stderr)
	if err != nil {
		return err
	}
	defer cleanup()

	fmt.Fprintf(stdout, "machine: %s\n", machine())
	fmt.Fprintf(stdout, "network to the rooms: %s\n", b.describeNet())
	var records []record
	for _, cfg := range sweep(f) {
		rec := record{Config: cfg, Net: b.net, RTT: b.rtt}
		for i := range f.runs {
			b.log("%s: run %d of %d", cfg, i+1, f.runs)
			r, err := b.measure(ctx, cfg)
			if err != nil {
				return fmt.Errorf("%s: %w", cfg, err)
			}
			rec.Runs = append(rec.Runs, r)
		}
		table(stdout, b.describeNet(), cfg, rec.Runs, b.fresh)
		records = append(records, rec)
	}
	return writeJSON(f.jsonOut, records)
}

// sweep is every configuration the flags ask for.
func sweep(f flags) []config {
	var out []config
	for _, s := range f.services {
		for _, r := range f.rooms {
			for _, c := range f.conc {
				n := f.n
				if n == 0 {
					n = max(200, 8*c)
				}
				out = append(out, config{Services: s, Rooms: r, Conc: c, N: n, Burst: f.burst})
			}
		}
	}
	return out
}

// newBench builds the bot if need be and sets up the network.
func newBench(ctx context.Context, f flags, stderr io.Writer) (*bench, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	tmp, err := os.MkdirTemp("", "loadgen")
	if err != nil {
		return nil, nil, err
	}
	b := &bench{self: self, tmp: tmp, net: f.net, rtt: f.rtt, fresh: f.fresh,
		settle: f.settle, bot: f.bot, perf: f.perf,
		log: func(format string, args ...any) {
			fmt.Fprintf(stderr, "loadgen: "+format+"\n", args...)
		}}
	cleanup := func() { os.RemoveAll(tmp) }
	if b.bot == "" {
		if b.bot, err = buildBot(ctx, tmp); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	if f.tls {
		cfg, pem, err := roomtest.LoopbackTLS(net.ParseIP(labRoomIP))
		if err == nil {
			b.caFile = filepath.Join(tmp, "rooms-ca.pem")
			err = os.WriteFile(b.caFile, pem, 0o644)
		}
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("making the rooms' certificate: %w", err)
		}
		b.tls = cfg
	}
	if f.net == "netem" {
		lab, err := newNetLab(f.rtt)
		if err != nil {
			b.log("no netem (%v); using a delaying proxy instead", err)
			b.net = "proxy"
		} else {
			b.lab = lab
			cleanup = func() { lab.close(); os.RemoveAll(tmp) }
		}
	}
	return b, cleanup, nil
}

func buildBot(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "roombot")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/roomops/roombot/cmd/bot")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the bot: %v\n%s", err, out)
	}
	return bin, nil
}

func (b *bench) describeNet() string {
	switch {
	case b.lab != nil:
		return fmt.Sprintf("netem, %s round trip (namespace %s, veth %s)", b.rtt, b.lab.ns, b.lab.hostIf)
	case b.net == "delay":
		return fmt.Sprintf("simulator delay knobs standing in for a %s round trip%s", b.rtt, b.tlsNote())
	case b.net == "proxy":
		return fmt.Sprintf("a TCP proxy delaying each way by half of a %s round trip%s", b.rtt, b.tlsNote())
	}
	return "loopback" + b.tlsNote()
}

func (b *bench) tlsNote() string {
	if b.tls == nil {
		return ""
	}
	return ", rooms over wss"
}

// machine names the CPU, cores, Go and kernel, for the tables' header.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%s, %d cores, %s, Linux %s", cpu, runtime.NumCPU(),
		runtime.Version(), strings.TrimSpace(string(kernel)))
}

func writeJSON(file string, records []record) error {
	if file == "" {
		return nil
	}
	b, err := json.MarshalIndent(records, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}
