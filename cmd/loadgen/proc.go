package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A child is a process the tool measures: the bot or a floor client. Its
// memory is read from /proc, so it is the child's own and not the tool's.
type child struct {
	name    string
	cmd     *exec.Cmd
	metrics string // the child's /metrics URL, or "" when it has none
	tail    *tailBuffer
	stdin   io.WriteCloser // with pipes: the child's standard input
	stdout  *bufio.Reader  // with pipes: the child's standard output
	done    chan struct{}
	err     error // set before done closes

	// mu guards the samples.
	mu      sync.Mutex
	rssMax  int64
	gorMax  int
	samples int
}

// startChild runs path with args and exactly env. When metricsAddr is
// set, the child is expected to serve /metrics there. With pipes, the
// child's standard input and output are the tool's to use; otherwise its
// output goes to the tail kept for error messages.
func startChild(name, path string, args, env []string, metricsAddr string, pipes bool) (*child, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	tail := &tailBuffer{max: 64 << 10}
	cmd.Stderr = tail
	c := &child{name: name, cmd: cmd, tail: tail, done: make(chan struct{})}
	if pipes {
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		c.stdin, c.stdout = in, bufio.NewReader(out)
	} else {
		cmd.Stdout = tail
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	if metricsAddr != "" {
		c.metrics = "http://" + metricsAddr + "/metrics"
	}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// baseEnv is what every child inherits: enough to run, nothing secret.
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "SSL_CERT_FILE"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// memory reads the child's resident set now and its high-water mark, in
// bytes.
func (c *child) memory() (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	return statusKB(b, "VmRSS:") * 1024, statusKB(b, "VmHWM:") * 1024, nil
}

func statusKB(status []byte, key string) int64 {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// goroutines scrapes go_goroutines from the child's /metrics.
func (c *child) goroutines(ctx context.Context) (int, error) {
	if c.metrics == "" {
		return 0, errors.New("no metrics endpoint")
	}
	req, err := http.NewRequestWithContext(ctx, "GET", c.metrics, nil)
	if err != nil {
		return 0, err
	}
	// Uncompressed: gzip would cost the measured process more CPU than
	// the scrape itself.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int(f), err
		}
	}
	return 0, errors.New("go_goroutines not in /metrics")
}

// sample records the child's RSS every rssEvery and its goroutines every
// gorEvery until ctx ends. Scraping /metrics costs the child a little
// CPU, so it is done ten times less often than reading /proc.
func (c *child) sample(ctx context.Context, rssEvery, gorEvery time.Duration) {
	// One sample at once, so that a short run has a peak too.
	c.sampleOnce(ctx)
	rt := time.NewTicker(rssEvery)
	defer rt.Stop()
	gt := time.NewTicker(gorEvery)
	defer gt.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			return
		case <-rt.C:
			if rss, _, err := c.memory(); err == nil {
				c.note(rss, 0)
			}
		case <-gt.C:
			c.sampleGoroutines(ctx)
		}
	}
}

func (c *child) sampleOnce(ctx context.Context) {
	if rss, _, err := c.memory(); err == nil {
		c.note(rss, 0)
	}
	c.sampleGoroutines(ctx)
}

func (c *child) sampleGoroutines(ctx context.Context) {
	if c.metrics == "" {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if n, err := c.goroutines(sctx); err == nil {
		c.note(0, n)
	}
}

func (c *child) note(rss int64, gor int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rssMax = max(c.rssMax, rss)
	c.gorMax = max(c.gorMax, gor)
	c.samples++
}

func (c *child) peaks() (rss int64, gor int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rssMax, c.gorMax
}

// stop asks the child to end with SIGTERM and kills it if it has not
// within grace.
func (c *child) stop(grace time.Duration) {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// exited reports the child's end, with its last output, when it died
// before the tool stopped it.
func (c *child) exited() error {
	select {
	case <-c.done:
		return fmt.Errorf("%s exited early (%v); its last output:\n%s", c.name, c.err, c.tail)
	default:
		return nil
	}
}

// freeAddr picks a loopback port for a child's HTTP server. Another
// process could take it before the child does; on this machine that is
// rare enough to only fail a run.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// A tailBuffer keeps the last max bytes written to it, so a child that
// logs a lot cannot grow the tool's memory. It trims only once it holds
// twice that, so a write costs a copy of max bytes at most once in max.
type tailBuffer struct {
	max int

	// mu guards buf.
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf[max(0, len(t.buf)-t.max):])
}

var _ io.Writer = (*tailBuffer)(nil)

// A meters reads how much CPU the children and this process use over a
// stretch of load.
type meters struct {
	kids  []*child
	start []time.Duration // the kids', then this process's
}

func startMeters(kids ...*child) *meters {
	m := &meters{kids: kids}
	m.start = m.read()
	return m
}

// stop returns the CPU each child, then this process, used since start,
// divided by n.
func (m *meters) stop(n int) []time.Duration {
	now := m.read()
	out := make([]time.Duration, len(now))
	for i := range now {
		out[i] = (now[i] - m.start[i]) / time.Duration(max(n, 1))
	}
	return out
}

func (m *meters) read() []time.Duration {
	out := make([]time.Duration, 0, len(m.kids)+1)
	for _, c := range m.kids {
		out = append(out, c.cpu())
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return append(out, time.Duration(ru.Utime.Nano()+ru.Stime.Nano()))
}

// cpu is the child's user and system time so far, every thread's, from
// /proc/PID/stat, in ticks of USER_HZ, which Linux fixes at 100 a second.
func (c *child) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	return statCPU(b)
}

// statCPU reads utime and stime, fields 14 and 15 of /proc/PID/stat. The
// command name, field 2, may hold spaces and parentheses, so fields are
// counted from the last ')'.
func statCPU(stat []byte) time.Duration {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
