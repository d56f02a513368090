package main

import (
	"context"
	"fmt"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roomops/roombot/slacksim"
)

// The Slack user and channel every command comes from. The user may
// restart, so each list entry carries a signed Restart button, the
// costlier and usual rendering.
const (
	loadUser    = "U0LOAD0001"
	loadChannel = "C0LOAD0001"
)

// A driver types slash commands into the Slack stand-in and waits for the
// bot's replies.
type driver struct {
	sl    *slacksim.Server
	twin  *slacksim.Server // the ack floor's stand-in, sent every command too
	rooms int
	reply *replies
}

// A sent is one command as it left the tool.
type sent struct {
	env *slacksim.Envelope
	at  time.Time
}

// send types "list ROOM" for command i, rooms taken in turn, into the
// stand-in sl.
func (d *driver) send(ctx context.Context, sl *slacksim.Server, i int) (sent, error) {
	at := time.Now()
	env, err := sl.SlashCommand(ctx, slacksim.SlashCommand{
		UserID: loadUser, ChannelID: loadChannel,
		Text: "list " + roomName(i%d.rooms),
	})
	if err != nil {
		return sent{}, fmt.Errorf("sending command %d: %w", i, err)
	}
	return sent{env: env, at: at}, nil
}

// steady keeps conc commands outstanding until n have been answered: a
// new one goes out as soon as a reply comes back. It returns what went to
// the bot and what went to the twin, by command.
func (d *driver) steady(ctx context.Context, n, conc int) (ss, twins []sent, err error) {
	ss, twins = make([]sent, n), make([]sent, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	for range min(conc, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := d.one(ctx, i, ss, twins); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return ss, twins, <-errs
}

// bursts sends conc commands at once, waits for every reply, and goes on
// until n have been answered.
func (d *driver) bursts(ctx context.Context, n, conc int) (ss, twins []sent, err error) {
	ss, twins = make([]sent, n), make([]sent, n)
	for first := 0; first < n; first += conc {
		var wg sync.WaitGroup
		errs := make(chan error, conc)
		for i := first; i < min(first+conc, n); i++ {
			wg.Go(func() {
				if err := d.one(ctx, i, ss, twins); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return ss, twins, err
		}
	}
	return ss, twins, nil
}

// one sends command i to the bot and to the twin, and waits for the
// bot's reply. Which goes first alternates, so neither is always the
// later by one write.
func (d *driver) one(ctx context.Context, i int, ss, twins []sent) error {
	first, second := d.sl, d.twin
	if i%2 == 1 {
		first, second = second, first
	}
	a, err := d.send(ctx, first, i)
	if err != nil {
		return err
	}
	var b sent
	if second != nil {
		if b, err = d.send(ctx, second, i); err != nil {
			return err
		}
	}
	if i%2 == 1 {
		a, b = b, a
	}
	ss[i], twins[i] = a, b
	return d.reply.wait(ctx, a.env.ID)
}

// replies hands the bot's replies to the commands waiting for them. One
// goroutine reads the stand-in's feed: a waiter per command on the
// stand-in itself would wake them all at every change, and at 500
// commands outstanding that would eat the cores the bot is measured on.
type replies struct {
	// mu guards waiting, arrived and failed.
	mu      sync.Mutex
	waiting map[string]chan struct{}
	arrived map[string]bool
	failed  int // replies that were not a list
}

func newReplies(ctx context.Context, sl *slacksim.Server) *replies {
	r := &replies{waiting: map[string]chan struct{}{}, arrived: map[string]bool{}}
	feed := sl.Feed()
	go func() {
		for {
			ev, err := feed.Next(ctx)
			if err != nil {
				return
			}
			r.deliver(ev)
		}
	}()
	return r
}

func (r *replies) deliver(ev slacksim.MessageEvent) {
	env := ev.Message.EnvelopeID
	if env == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.arrived[env] {
		return
	}
	r.arrived[env] = true
	if !strings.Contains(string(ev.Message.Blocks), "rs-list-head") {
		r.failed++
	}
	if ch := r.waiting[env]; ch != nil {
		close(ch)
		delete(r.waiting, env)
	}
}

// wait blocks until the reply to env has arrived. The reply may beat the
// sender here, so an arrival is remembered.
func (r *replies) wait(ctx context.Context, env string) error {
	r.mu.Lock()
	if r.arrived[env] {
		r.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	r.waiting[env] = ch
	r.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the reply to %s: %w", env, ctx.Err())
	}
}

func (r *replies) failures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// timings reads what the stand-in recorded for the commands in ss: the
// ack latency, from the envelope written to the ack read, and the reply
// latency, from the envelope written to the response_url post read. Both
// come from the stand-in's clock, so the tool's own scheduling is out.
func timings(sl *slacksim.Server, ss []sent) (acks, reps []time.Duration) {
	byEnv := map[string]slacksim.Ack{}
	for _, a := range sl.Acks() {
		if _, ok := byEnv[a.EnvelopeID]; !ok {
			byEnv[a.EnvelopeID] = a
		}
	}
	posted := map[string]time.Time{}
	for _, c := range sl.Calls("response_url") {
		if _, ok := posted[c.Hook]; !ok && c.Status < 300 {
			posted[c.Hook] = c.Time
		}
	}
	for _, s := range ss {
		if s.env == nil {
			continue
		}
		a, ok := byEnv[s.env.ID]
		if !ok {
			continue
		}
		acks = append(acks, a.Latency)
		written := a.Received.Add(-a.Latency)
		if t, ok := posted[path.Base(s.env.ResponseURL)]; ok {
			reps = append(reps, t.Sub(written))
		}
	}
	return acks, reps
}
