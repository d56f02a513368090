package main

import (
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/roomops/roombot/roomclient"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestServesFixture starts roomsim on the edge fixture, reads the URL it
// prints, and lists a room through it with the real client.
func TestServesFixture(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-fixture", "../../roomclient/roomtest/testdata/edge.json"}, pw)
		pw.Close()
	}()

	line := make([]byte, 200)
	n, _ := pr.Read(line)
	m := regexp.MustCompile(`serving rooms (.*) at (ws://\S+) `).FindSubmatch(line[:n])
	if m == nil {
		t.Fatalf("roomsim printed %q", line[:n])
	}
	if got := string(m[1]); got != "closed, edge, empty" {
		t.Errorf("rooms = %q, want closed, edge, empty", got)
	}

	c, err := roomclient.New(roomclient.Config{URL: string(m[2]), Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	list, err := c.List(ctx, "edge")
	if err != nil || len(list.Services) != 4 {
		t.Fatalf("List(edge) = %v, %v", list, err)
	}

	cancel()
	go io.Copy(io.Discard, pr)
	if err := <-done; err != nil {
		t.Errorf("run = %v", err)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-fixture", "nope.json"}, {"extra"}, {"-bogus"}} {
		err := run(context.Background(), args, io.Discard)
		if err == nil {
			t.Errorf("run(%s) succeeded", strings.Join(args, " "))
		}
	}
}
