// Package redistest finds a real Redis for tests: the one CI starts, or a
// redis-server started for the test run.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	once    sync.Once
	url     string
	skipMsg string
	err     error
)

// URL returns the address of a Redis the tests may use, as a redis://
// URL: ROOMBOT_TEST_REDIS_URL when set (CI starts one and sets it), else a
// redis-server started once for this test binary when one is installed.
// Without either it skips the test. A Redis that is named but does not
// answer fails the test: CI must not pass by skipping.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(find)
	if skipMsg != "" {
		t.Skip(skipMsg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return url
}

func find() {
	if u := os.Getenv("ROOMBOT_TEST_REDIS_URL"); u != "" {
		url, err = u, ping(u, 5*time.Second)
		return
	}
	path, lerr := exec.LookPath("redis-server")
	if lerr != nil {
		skipMsg = "no Redis: set ROOMBOT_TEST_REDIS_URL or install redis-server (.ci/run does)"
		return
	}
	url, err = start(path)
}

// start runs redis-server on a free loopback port. The process lives as
// long as the test binary: a Redis per test would cost more than the tests.
func start(path string) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	dir, err := os.MkdirTemp("", "redistest")
	if err != nil {
		return "", err
	}
	cmd := exec.Command(path, "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir)
	// Redis must not outlive the test binary; see dieWithParent.
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting redis-server: %w", err)
	}
	u := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	return u, ping(u, 10*time.Second)
}

func ping(u string, within time.Duration) error {
	opt, err := redis.ParseURL(u)
	if err != nil {
		return fmt.Errorf("ROOMBOT_TEST_REDIS_URL: %w", err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis at %s did not answer within %s: %w", u, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
