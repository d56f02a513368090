package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for the tool's floors, which
// the tool starts by running its own executable again.
func TestMain(m *testing.M) {
	if mode := os.Getenv(floorEnv); mode != "" {
		os.Exit(floorMain(context.Background(), mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// TestRun drives a real bot process and both floors with a few commands
// and checks that every figure made it into the table: once with the
// simulator's delay knobs, and once behind the delaying proxy with the
// rooms on wss, which the bot and the floors must trust through
// SSL_CERT_FILE.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bot")
	}
	bot := filepath.Join(t.TempDir(), "roombot")
	if out, err := exec.Command("go", "build", "-o", bot, "github.com/roomops/roombot/cmd/bot").CombinedOutput(); err != nil {
		t.Fatalf("building the bot: %v\n%s", err, out)
	}
	for _, tt := range []struct {
		net  []string
		want string
	}{
		{[]string{"-net", "delay"}, "simulator delay knobs"},
		{[]string{"-net", "proxy", "-tls"}, "a TCP proxy delaying each way by half of a 2ms round trip, rooms over wss"},
	} {
		t.Run(tt.net[1], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var out, log bytes.Buffer
			args := append([]string{"-bot", bot, "-services", "12", "-rooms", "2", "-conc", "1,3",
				"-n", "6", "-runs", "1", "-settle", "10ms", "-rtt", "2ms"}, tt.net...)
			if err := run(ctx, args, &out, &log); err != nil {
				t.Fatalf("run(%q) = %v\nlog:\n%s", args, err, &log)
			}
			table := out.String()
			for _, want := range []string{
				"services=12 rooms=2 conc=1 n=6 steady", "services=12 rooms=2 conc=3 n=6 steady",
				"| ack p99 |", "| reply p50 |", "| overhead p50 (reply − room) |",
				"| fresh connection per list p50 |", "| RSS peak (VmHWM) |", tt.want,
				"| CPU per command |", "ack-only client beside it",
			} {
				if !strings.Contains(table, want) {
					t.Errorf("table lacks %q:\n%s", want, table)
				}
			}
			if !strings.Contains(table, "| failed replies | 0 | 0 |") {
				t.Errorf("some replies failed:\n%s", table)
			}
		})
	}
}

// TestDelayProxy: bytes pass in order and whole, a new connection's
// first exchange costs two round trips (the TCP handshake and the
// exchange), and later ones one.
func TestDelayProxy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(c, c)
			c.Close()
		}
	}()
	const rtt = 40 * time.Millisecond
	p, err := newDelayProxy(ln.Addr().String(), rtt)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	// The proxy holds a connection's first bytes from the moment it
	// accepts it, which can be before Dial returns: the first exchange is
	// timed from before the dial.
	dialled := time.Now()
	c, err := net.Dial("tcp", p.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	exchange := func(start time.Time, msg []byte) time.Duration {
		t.Helper()
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("echo through the proxy changed %d bytes", len(msg))
		}
		return time.Since(start)
	}
	if took := exchange(dialled, []byte("hello")); took < 2*rtt {
		t.Errorf("first exchange took %v, want at least %v", took, 2*rtt)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, many chunks
	if took := exchange(time.Now(), big); took < rtt {
		t.Errorf("second exchange took %v, want at least %v", took, rtt)
	}
}

func TestDist(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := distOf(ds)
	want := dist{N: 100, P50: 50 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if got != want {
		t.Errorf("distOf(1..100 ms) = %+v, want %+v", got, want)
	}
	if got := distOf(nil); got != (dist{}) {
		t.Errorf("distOf(nil) = %+v, want zero", got)
	}
}

func TestSpread(t *testing.T) {
	tests := []struct {
		in   []float64
		want spread
	}{
		{[]float64{3, 1, 2}, spread{Med: 2, Min: 1, Max: 3, Runs: 3}},
		{[]float64{4, 1, 2, 3}, spread{Med: 2.5, Min: 1, Max: 4, Runs: 4}},
		{nil, spread{}},
	}
	for _, tt := range tests {
		if got := spreadOf(tt.in); got != tt.want {
			t.Errorf("spreadOf(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestStatCPU(t *testing.T) {
	// A command name with a space and a parenthesis, as a process may
	// name itself; utime 250 and stime 50 ticks.
	stat := []byte("4242 (a) b) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 0 0")
	if got, want := statCPU(stat), 3*time.Second; got != want {
		t.Errorf("statCPU(%q) = %v, want %v", stat, got, want)
	}
	if got := statCPU([]byte("garbage")); got != 0 {
		t.Errorf("statCPU(garbage) = %v, want 0", got)
	}
}

func TestLabCommands(t *testing.T) {
	l := &netLab{ns: "rbload1", hostIf: "rbh1", nsIf: "rbn1", hostIP: labHostIP, roomIP: labRoomIP}
	var all []string
	for _, c := range labCommands(l, 20*time.Millisecond) {
		all = append(all, strings.Join(c, " "))
	}
	text := strings.Join(all, "\n")
	for _, want := range []string{
		"tc qdisc add dev rbh1 root netem delay 10000us limit 100000",
		"ip netns exec rbload1 tc qdisc add dev rbn1 root netem delay 10000us limit 100000",
		"ip link set rbn1 netns rbload1",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("lab commands lack %q:\n%s", want, text)
		}
	}
}

func TestTailBuffer(t *testing.T) {
	tb := &tailBuffer{max: 8}
	for _, w := range []string{"0123", "4567", "89ab", "cdef", "ghij"} {
		tb.Write([]byte(w))
	}
	if got, want := tb.String(), "cdefghij"; got != want {
		t.Errorf("tail after 20 bytes = %q, want %q", got, want)
	}
}

func TestStatusKB(t *testing.T) {
	status := []byte("Name:\tbot\nVmHWM:\t   20480 kB\nVmRSS:\t   15360 kB\n")
	if got := statusKB(status, "VmHWM:"); got != 20480 {
		t.Errorf("VmHWM = %d, want 20480", got)
	}
	if got := statusKB(status, "VmRSS:"); got != 15360 {
		t.Errorf("VmRSS = %d, want 15360", got)
	}
}
