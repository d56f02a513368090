package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/roomops/roombot/roomclient"
)

// floorEnv selects a floor mode when the tool runs itself as a child:
// the floors run in processes of their own, as the bot does, so that
// they pay the same process and scheduling costs and their memory is
// their own.
const floorEnv = "LOADGEN_FLOOR"

// floorMain runs the floor named mode and returns the exit code.
func floorMain(ctx context.Context, mode string, args []string) int {
	var err error
	switch mode {
	case "ack":
		err = ackFloor(ctx)
	case "list":
		err = listFloor(ctx, args)
	default:
		err = fmt.Errorf("unknown floor %q", mode)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "loadgen floor %s: %v\n", mode, err)
		return 1
	}
	return 0
}

// ackFloor is the best ack slack-go's Socket Mode client allows: the
// same client the bot uses, with the bot's options, and a loop that acks
// every envelope and does nothing else.
func ackFloor(ctx context.Context) error {
	api := slack.New(os.Getenv("SLACK_BOT_TOKEN"),
		slack.OptionAppLevelToken(os.Getenv("SLACK_APP_TOKEN")),
		slack.OptionAPIURL(os.Getenv("SLACK_API_URL")))
	sm := socketmode.New(api, socketmode.OptionPingInterval(30*time.Second))
	go func() {
		for evt := range sm.Events {
			// Only envelopes are acked: hello has a request but no id.
			if evt.Request != nil && evt.Request.EnvelopeID != "" {
				sm.Ack(*evt.Request)
			}
		}
	}()
	return sm.RunContext(ctx)
}

// listResult is what the list floor reports: each list's latency, in
// the order they finished.
type listResult struct {
	Latencies []time.Duration `json:"latencies"`
	Failures  int             `json:"failures"`
}

// listFloor is the best a bare room client does: conc callers listing
// rooms in turn until n lists are done, on one warm connection per room,
// or with -fresh on a new client per list, as the CLI does.
func listFloor(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("list floor", flag.ContinueOnError)
	url := fs.String("url", "", "room base URL")
	rooms := fs.String("rooms", "", "comma-separated room names")
	n := fs.Int("n", 100, "lists to make")
	conc := fs.Int("c", 1, "lists outstanding at once")
	fresh := fs.Bool("fresh", false, "a new client, connection and handshake per list")
	out := fs.String("out", "", "file for the JSON result")
	if err := fs.Parse(args); err != nil {
		return err
	}
	names := strings.Split(*rooms, ",")
	lister := &lister{url: *url, fresh: *fresh}
	if !*fresh {
		c, err := newRoomClient(*url)
		if err != nil {
			return err
		}
		defer c.Close()
		lister.warm = c
		// Connect every room first, as the bot's warm-up does.
		for _, r := range names {
			if _, err := c.List(ctx, r); err != nil {
				return err
			}
		}
	}
	if err := waitGo(ctx); err != nil {
		return err
	}
	res := lister.run(ctx, names, *n, *conc)
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	// Stay alive until the parent has read the high-water mark.
	fmt.Println("done")
	_, err = io.Copy(io.Discard, os.Stdin)
	return err
}

// waitGo tells the parent the floor is ready, on stdout, and waits for a
// line on stdin before it starts: the parent resets its counters between.
func waitGo(ctx context.Context) error {
	fmt.Println("ready")
	buf := make([]byte, 1)
	_, err := os.Stdin.Read(buf)
	return errors.Join(err, ctx.Err())
}

func newRoomClient(url string) (*roomclient.Client, error) {
	return roomclient.New(roomclient.Config{URL: url, Token: "load-token"})
}

type lister struct {
	url   string
	fresh bool
	warm  *roomclient.Client
}

func (l *lister) run(ctx context.Context, rooms []string, n, conc int) listResult {
	var (
		next atomic.Int64
		mu   sync.Mutex
		res  listResult
		wg   sync.WaitGroup
	)
	for range min(conc, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				took, err := l.list(ctx, rooms[i%len(rooms)])
				mu.Lock()
				if err != nil {
					res.Failures++
				} else {
					res.Latencies = append(res.Latencies, took)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return res
}

// list makes one list and times it, a fresh client's dial, handshake and
// close included.
func (l *lister) list(ctx context.Context, room string) (time.Duration, error) {
	start := time.Now()
	c := l.warm
	if l.fresh {
		var err error
		if c, err = newRoomClient(l.url); err != nil {
			return 0, err
		}
	}
	_, err := c.List(ctx, room)
	if l.fresh {
		c.Close()
	}
	return time.Since(start), err
}
