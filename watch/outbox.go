package watch

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/roomops/roombot/commands"
)

// An outbox delivers messages to channels through the Poster, in order
// per channel and one at a time, so that the Poster's per-channel rate
// limit and Retry-After waits hold back that channel only, and never a
// poll. A keyed message is one Slack message, posted the first time and
// updated after; while it waits its turn, a newer message for the same
// key replaces it, so a burst of changes costs one call.
type outbox struct {
	post Poster
	log  *slog.Logger

	// ctx is the outbox's lifetime: close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // drain goroutines

	// learnt gets a value, unless one waits already, when a room's
	// message is posted, so that its ts is saved with the room's state
	// before the next poll.
	learnt chan struct{}

	// mu guards queues, the fields of every queue, and rooms.
	mu     sync.Mutex
	queues map[string]*queue
	rooms  map[string]bool // whose messages got a ts since takeLearnt
}

// A msgKey names one message of a room's watch, the same in every
// channel. The zero msgKey is a one-off message, never updated.
type msgKey struct {
	room string
	n    uint64
}

// A queue is what one channel is owed.
type queue struct {
	items    []*item          // waiting, oldest first
	byKey    map[msgKey]*item // the waiting items that have a key
	inflight *item            // being delivered
	ts       map[msgKey]string
	busy     bool // a goroutine is draining
	failing  bool // the last delivery failed, and that was logged
}

// An item is one message to deliver.
type item struct {
	key msgKey
	msg commands.Message

	// last: the episode was forgotten; once this version is delivered,
	// its message's ts goes too.
	last bool
}

func newOutbox(p Poster, log *slog.Logger) *outbox {
	ctx, cancel := context.WithCancel(context.Background())
	return &outbox{post: p, log: log, ctx: ctx, cancel: cancel,
		learnt: make(chan struct{}, 1),
		queues: map[string]*queue{}, rooms: map[string]bool{}}
}

// queueLocked returns channel's queue, made if need be.
func (o *outbox) queueLocked(channel string) *queue {
	q := o.queues[channel]
	if q == nil {
		q = &queue{byKey: map[msgKey]*item{}, ts: map[msgKey]string{}}
		o.queues[channel] = q
	}
	return q
}

// send queues m for channel under key (the zero key for a message never
// updated), and starts delivering unless a delivery to channel is under
// way.
func (o *outbox) send(channel string, key msgKey, m commands.Message) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ctx.Err() != nil {
		return
	}
	q := o.queueLocked(channel)
	if it := q.byKey[key]; key != (msgKey{}) && it != nil {
		it.msg = m
	} else {
		it := &item{key: key, msg: m}
		q.items = append(q.items, it)
		if key != (msgKey{}) {
			q.byKey[key] = it
		}
	}
	if !q.busy {
		q.busy = true
		o.wg.Go(func() { o.drain(channel, q) })
	}
}

// forget drops what is known of key's message in every channel once its
// episode is over. A version still waiting, or under way, is delivered
// all the same, as the update it is: the channel must not be left with
// an older version, nor hear the episode twice in a new message. The
// message's ts goes once that delivery is over.
func (o *outbox) forget(key msgKey) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for ch, q := range o.queues {
		switch it := q.byKey[key]; {
		case it != nil:
			it.last = true
		case q.inflight != nil && q.inflight.key == key:
			q.inflight.last = true
		default:
			delete(q.ts, key)
			o.pruneLocked(ch, q)
		}
	}
}

// pruneLocked lets go of a channel's queue once it is owed nothing and
// knows no message. A failing one stays, so that its failures are still
// logged once.
func (o *outbox) pruneLocked(channel string, q *queue) {
	if !q.busy && !q.failing && len(q.items) == 0 && len(q.ts) == 0 {
		delete(o.queues, channel)
	}
}

// adopt makes key name the messages posted already, one a channel, by
// their ts: their next versions update them.
func (o *outbox) adopt(key msgKey, ts map[string]string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for ch, t := range ts {
		o.queueLocked(ch).ts[key] = t
	}
}

// posted returns the ts of key's message in each channel it was posted
// to.
func (o *outbox) posted(key msgKey) map[string]string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out map[string]string
	for ch, q := range o.queues {
		if t, ok := q.ts[key]; ok {
			if out == nil {
				out = map[string]string{}
			}
			out[ch] = t
		}
	}
	return out
}

// takeLearnt returns the rooms whose messages got a ts since it was last
// called.
func (o *outbox) takeLearnt() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]string, 0, len(o.rooms))
	for r := range o.rooms {
		out = append(out, r)
	}
	clear(o.rooms)
	return out
}

// wait returns once no delivery is under way.
func (o *outbox) wait() { o.wg.Wait() }

// close lets deliveries under way finish for up to grace, then cancels
// the rest and waits for them to end.
func (o *outbox) close(grace time.Duration) {
	idle := make(chan struct{})
	go func() {
		o.wg.Wait()
		close(idle)
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
	o.mu.Lock()
	o.cancel()
	o.mu.Unlock()
	<-idle
}

func (o *outbox) drain(channel string, q *queue) {
	for {
		it, ts, ok := o.next(channel, q)
		if !ok {
			return
		}
		newTS, err := o.deliver(channel, ts, it.msg)

		o.mu.Lock()
		q.inflight = nil
		switch {
		case it.last:
			delete(q.ts, it.key)
		case err == nil && ts == "" && it.key != (msgKey{}):
			q.ts[it.key] = newTS
			o.learntLocked(it.key.room)
		}
		o.noteLocked(channel, q, err)
		o.mu.Unlock()
	}
}

// next takes the oldest waiting item of q, with the ts of its message
// if it has one. At the end of the queue, or of the outbox, it marks q
// idle and reports false.
func (o *outbox) next(channel string, q *queue) (*item, string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(q.items) == 0 || o.ctx.Err() != nil {
		if n := len(q.items); n > 0 {
			o.log.Info("watch messages dropped at shutdown",
				"channel", channel, "count", n)
		}
		q.items, q.busy = nil, false
		clear(q.byKey)
		o.pruneLocked(channel, q)
		return nil, "", false
	}
	it := q.items[0]
	q.items = q.items[1:]
	if it.key != (msgKey{}) {
		delete(q.byKey, it.key)
	}
	q.inflight = it
	return it, q.ts[it.key], true
}

func (o *outbox) learntLocked(room string) {
	o.rooms[room] = true
	select {
	case o.learnt <- struct{}{}:
	default:
	}
}

// deliverTimeout bounds one delivery, Retry-After waits included, so a
// stalled Slack holds a channel's queue only so long.
const deliverTimeout = time.Minute

func (o *outbox) deliver(channel, ts string, m commands.Message) (string, error) {
	ctx, cancel := context.WithTimeout(o.ctx, deliverTimeout)
	defer cancel()
	if ts == "" {
		return o.post.Post(ctx, channel, m)
	}
	return ts, o.post.Update(ctx, channel, ts, m)
}

// noteLocked logs the first failure to deliver to a channel, and the
// first success after it. Slack's errors never go to Slack, where they
// would feed on themselves (slack-socket-mode.md B.5), and a failed post
// is not tried again: the next change of its episode posts anew.
func (o *outbox) noteLocked(channel string, q *queue, err error) {
	switch {
	case err != nil && o.ctx.Err() != nil:
		// Shutting down: not a failure worth a line.
	case err != nil && !q.failing:
		q.failing = true
		o.log.Warn("watch message not delivered", "channel", channel, "err", err)
	case err != nil:
		o.log.Debug("watch message not delivered", "channel", channel, "err", err)
	case q.failing:
		q.failing = false
		o.log.Info("watch messages delivered again", "channel", channel)
	}
}
