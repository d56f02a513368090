package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

// A Lister lists the services of a room; *roomclient.Client is one.
type Lister interface {
	List(ctx context.Context, room string) (*roomclient.List, error)
}

// A Poster posts messages to Slack channels and updates them. It is
// expected to keep to Slack's rate of about one message a second per
// channel, and to honour Retry-After. Messages are escaped already.
type Poster interface {
	Post(ctx context.Context, channel string, m commands.Message) (ts string, err error)
	Update(ctx context.Context, channel, ts string, m commands.Message) error
}

// Config configures a Watcher. Lister and Poster are required; the zero
// value of every other field takes the default in its comment.
type Config struct {
	Lister Lister
	Poster Poster

	// Claims holds the per-room poll leases and the marks of restarts
	// roombot performed. Replicas must share it (Redis); default in
	// memory, right for one replica.
	Claims claims.Store

	// Pairs keeps the pairs added at run time; default MemoryPairs.
	Pairs PairStore

	// State keeps what the watch of each room knows between polls, so
	// that whoever polls it next carries on: RedisState beside the
	// claims, which replicas must share; default a MemoryState.
	State StateStore

	// Configured are the pairs of ROOMBOT_WATCH, from ParsePairs.
	Configured []Pair

	// Interval is how often each room is polled (ROOMBOT_WATCH_INTERVAL),
	// default DefaultInterval.
	Interval time.Duration

	// Instance names this replica in leases; replicas must differ.
	// Default host:pid and a random part.
	Instance string

	Logger *slog.Logger     // default discards
	Now    func() time.Time // default time.Now
}

// DefaultInterval is how often a room is polled when Config.Interval is
// zero.
const DefaultInterval = 15 * time.Second

// Window is how long an episode's message takes updates after its last
// change. A change after that posts a new message.
const Window = 10 * time.Minute

// UnreachableAfter is how many polls in a row a room must fail before
// its channels hear that it is unreachable.
const UnreachableAfter = 3

// drainGrace is how long Run lets messages under way reach Slack once
// its context is done.
const drainGrace = 5 * time.Second

// Errors of Watch and Unwatch that the bot answers in its own words.
var (
	// ErrConfigured: the pair comes from ROOMBOT_WATCH, which only a
	// change of configuration can remove.
	ErrConfigured = errors.New("watch: pair set by configuration")

	// ErrNotWatched: the channel does not watch the room.
	ErrNotWatched = errors.New("watch: pair not watched")

	// ErrWatched: the channel watches the room already.
	ErrWatched = errors.New("watch: pair watched already")
)

// A Watcher polls the watched rooms and tells their channels of the
// restarts nobody asked for. Make one with New and start it with Run.
// Watch, Unwatch, Pairs, Durable and Performed are safe to call from any
// goroutine, before, during and after Run.
type Watcher struct {
	lister     Lister
	claims     claims.Store
	pairs      PairStore
	state      StateStore
	configured []Pair
	interval   time.Duration
	leaseTTL   time.Duration
	timeout    time.Duration // of one room call
	instance   string
	log        *slog.Logger
	now        func() time.Time
	out        *outbox
	seq        atomic.Uint64 // numbers messages

	// Owned by the goroutine in Run, or a test driving rounds.
	rooms         map[string]*room
	reloadAt      time.Time
	reloadFailing bool
}

// New returns a Watcher for cfg. It panics without a Lister or a Poster,
// or with a configured pair that ParsePairs would refuse.
func New(cfg Config) *Watcher {
	if cfg.Lister == nil || cfg.Poster == nil {
		panic("watch: Config needs a Lister and a Poster")
	}
	for _, p := range cfg.Configured {
		if _, err := newPair(p.Room, p.Channel); err != nil {
			panic(fmt.Sprintf("watch: configured pair %s=%s: %v", p.Room, p.Channel, err))
		}
	}
	cfg = withDefaults(cfg)
	timeout := min(max(cfg.Interval, 5*time.Second), 30*time.Second)
	w := &Watcher{
		lister:   cfg.Lister,
		claims:   cfg.Claims,
		pairs:    cfg.Pairs,
		state:    cfg.State,
		interval: cfg.Interval,
		// Renewed at every poll, a lease outlives two polls missed and
		// one that takes its whole timeout.
		leaseTTL: 3*cfg.Interval + timeout,
		timeout:  timeout,
		instance: cfg.Instance,
		log:      cfg.Logger,
		now:      cfg.Now,
		out:      newOutbox(cfg.Poster, cfg.Logger),
		rooms:    map[string]*room{},
	}
	for _, p := range cfg.Configured {
		p.Configured = true
		if !slices.Contains(w.configured, p) {
			w.configured = append(w.configured, p)
		}
	}
	return w
}

func withDefaults(cfg Config) Config {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Claims == nil {
		cfg.Claims = claims.NewMemory(cfg.Now)
	}
	if cfg.Pairs == nil {
		cfg.Pairs = NewMemoryPairs()
	}
	if cfg.State == nil {
		cfg.State = NewMemoryState(cfg.Now)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Instance == "" {
		// Host and pid say which process it is in the logs; two pods may
		// share both (the same host name, the bot as pid 1), and would
		// then both hold every lease, so a random part tells them apart.
		// The cost: a bot restarted after a crash, under a new name,
		// waits for its old leases to lapse before it polls again; its
		// episodes wait in the StateStore meanwhile.
		host, _ := os.Hostname()
		cfg.Instance = fmt.Sprintf("%s:%d:%08x", host, os.Getpid(), rand.Uint32())
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return cfg
}

// Run polls the watched rooms until ctx is done, each once an interval
// give or take a tenth, so rooms do not all poll at once. It reloads the
// pairs every interval. Once ctx is done it waits for the polls under
// way, lets the messages under way reach Slack for a few seconds, saves
// the rooms' state and releases its leases, so that another replica
// takes over at once and carries on, and returns nil with no goroutine
// left. Call it once.
func (w *Watcher) Run(ctx context.Context) error {
	var jobs sync.WaitGroup
	defer w.stop(&jobs)
	done := make(chan job)
	timer := time.NewTimer(0)
	defer timer.Stop()

	w.log.Info("watch started", "interval", w.interval, "instance", w.instance)
	for {
		select {
		case <-ctx.Done():
			return nil
		case j := <-done:
			w.finish(ctx, j)
		case <-w.out.learnt:
		case <-timer.C:
		}
		for _, j := range w.schedule(ctx) {
			jobs.Go(func() {
				w.run(ctx, j)
				select {
				case done <- j:
				case <-ctx.Done():
				}
			})
		}
		timer.Reset(w.untilNext())
	}
}

func (w *Watcher) stop(jobs *sync.WaitGroup) {
	jobs.Wait()
	// Messages first: a post that lands gives its message's ts, which
	// the state saved below must name, or whoever takes the room next
	// posts the episode anew.
	w.out.close(drainGrace)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, r := range w.rooms {
		w.leave(ctx, r)
	}
	w.log.Info("watch stopped")
}

// Watch makes channel hear of room's restarts, from the next reload of
// the pairs on (within one interval), on whichever replica polls room.
// Watching a watched room, by configuration or at run time, changes
// nothing and fails with ErrWatched, so the person asking is told. A
// channel that is not a channel id fails with an error matching
// ErrNotChannel.
func (w *Watcher) Watch(ctx context.Context, room, channel string) error {
	p, err := newPair(room, channel)
	if err != nil {
		return err
	}
	if w.isConfigured(p) {
		return ErrWatched
	}
	added, err := w.pairs.Add(ctx, p)
	if err == nil && !added {
		err = ErrWatched
	}
	return err
}

// Unwatch stops channel hearing of room. It fails with ErrConfigured for
// a pair of ROOMBOT_WATCH, which only configuration can change, with
// ErrNotWatched when channel does not watch room, and with an error
// matching ErrNotChannel for a channel that is not a channel id.
func (w *Watcher) Unwatch(ctx context.Context, room, channel string) error {
	p, err := newPair(room, channel)
	if err != nil {
		return err
	}
	if w.isConfigured(p) {
		return ErrConfigured
	}
	had, err := w.pairs.Remove(ctx, p)
	if err != nil {
		return err
	}
	if !had {
		return ErrNotWatched
	}
	return nil
}

// Pairs returns the pairs in effect, configured and added at run time,
// sorted by room and channel, configured ones marked.
func (w *Watcher) Pairs(ctx context.Context) ([]Pair, error) {
	stored, err := w.pairs.List(ctx)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(w.configured)
	for _, p := range stored {
		if !w.isConfigured(p) {
			out = append(out, key(p))
		}
	}
	sortPairs(out)
	return out, nil
}

// Durable reports whether pairs added at run time survive a restart of
// the bot, for commands.Watching and commands.Watched.
func (w *Watcher) Durable() bool { return w.pairs.Durable() }

// Performed marks a restart that roombot is about to perform of the
// service serviceID of room, so that no watcher on any replica sharing
// the claim store announces it: its own notification tells it. Call it
// before asking the room to restart. d is how long the bot follows the
// restart itself (its recovery timeout); every change of the service is
// kept quiet for d and two intervals more, so that the polls after the
// restart see it too. A change nobody asked for in that time goes
// unannounced as well. Once the bot has told the restart's outcome it
// calls Performed again with d zero: the mark then ends two intervals
// on, so a crash soon after is the watch's to tell.
func (w *Watcher) Performed(ctx context.Context, room, serviceID string, d time.Duration) error {
	key, ttl := markKey(room, serviceID), d+2*w.interval
	// A mark of an earlier restart is set to this one's time, longer or
	// shorter; with none, one is made. Renew first, as marks usually
	// outlive the restart they were made for.
	err := w.claims.Renew(ctx, key, markValue, ttl)
	if errors.Is(err, claims.ErrNotHeld) {
		err = w.claims.Claim(ctx, key, markValue, ttl)
	}
	if errors.Is(err, claims.ErrHeld) {
		// Made between the two by another replica's restart of it.
		err = nil
	}
	if err != nil {
		return fmt.Errorf("marking the restart of %q in room %q: %w",
			serviceID, room, err)
	}
	return nil
}

func (w *Watcher) isConfigured(p Pair) bool {
	p.Configured = true
	return slices.Contains(w.configured, p)
}

func newPair(room, channel string) (Pair, error) {
	if err := commands.ValidName("room", room); err != nil {
		return Pair{}, err
	}
	if err := checkChannel(channel); err != nil {
		return Pair{}, fmt.Errorf("%w: %v", ErrNotChannel, err)
	}
	return Pair{Room: room, Channel: channel}, nil
}

// Claim keys. A lease names the replica that polls a room; a mark says
// roombot restarted a service. Lengths keep a room name with a colon
// from running into the service id.
func leaseKey(room string) string { return "watch:" + room }

func markKey(room, id string) string {
	return fmt.Sprintf("performed:%d:%s:%s", len(room), room, id)
}

// markValue is the value of every mark, so any replica may extend one.
// probeValue is never claimed: a Renew with it tells whether a mark is
// held without changing anything.
const (
	markValue  = "roombot"
	probeValue = "watch-probe"
)

// marked reports whether roombot restarted the service lately. When the
// store does not answer, the change is announced: a restart roombot
// cannot claim a lock for does not happen either.
func (w *Watcher) marked(ctx context.Context, room, id string) bool {
	err := w.claims.Renew(ctx, markKey(room, id), probeValue, time.Millisecond)
	switch {
	case errors.Is(err, claims.ErrHeld):
		return true
	case err != nil && !errors.Is(err, claims.ErrNotHeld):
		w.log.Debug("restart mark not read", "room", room, "err", err)
	}
	return false
}

// A job is one turn of a room: a poll, with the room's channels at the
// time, or only a save of its state. unsaved: a message of the room got
// its ts since the last save.
type job struct {
	r        *room
	channels []string
	save     bool
	unsaved  bool
}

// run does j.
func (w *Watcher) run(ctx context.Context, j job) {
	if j.unsaved {
		j.r.changed = true
	}
	if !j.save {
		w.poll(ctx, j.r, j.channels)
		return
	}
	if j.r.leased {
		w.save(ctx, j.r, w.now())
	}
}

// newKey names a new message of room.
func (w *Watcher) newKey(room string) msgKey {
	return msgKey{room: room, n: w.seq.Add(1)}
}

// schedule reloads the pairs when an interval has passed since the last
// time, and returns the jobs due, their rooms marked busy: a poll of
// every room due, and a save of the state of every other room whose
// message got its ts, so that a replica taking the room over before its
// next poll updates that message rather than post another.
func (w *Watcher) schedule(ctx context.Context) []job {
	now := w.now()
	if !now.Before(w.reloadAt) {
		w.reload(ctx, now)
		w.reloadAt = now.Add(w.interval)
	}
	for _, name := range w.out.takeLearnt() {
		if r := w.rooms[name]; r != nil {
			r.unsaved = true
		}
	}
	var due []job
	for _, r := range w.rooms {
		switch {
		case r.busy:
			continue
		case !now.Before(r.due):
			due = append(due, job{r: r, channels: slices.Clone(r.channels),
				unsaved: r.unsaved})
		case r.unsaved:
			due = append(due, job{r: r, save: true, unsaved: true})
		default:
			continue
		}
		r.busy, r.unsaved = true, false
	}
	return due
}

// finish schedules the next poll of j's room after a poll, or lets the
// room go if it is no longer watched.
func (w *Watcher) finish(ctx context.Context, j job) {
	r := j.r
	r.busy = false
	if r.gone {
		w.leave(ctx, r)
		delete(w.rooms, r.name)
		return
	}
	if !j.save {
		r.due = w.now().Add(w.jittered())
	}
}

// jittered is the interval give or take a tenth.
func (w *Watcher) jittered() time.Duration {
	tenth := w.interval / 10
	return w.interval - tenth + rand.N(2*tenth+1)
}

// untilNext is how long Run may sleep before something is due.
func (w *Watcher) untilNext() time.Duration {
	next := w.reloadAt
	for _, r := range w.rooms {
		if !r.busy && r.due.Before(next) {
			next = r.due
		}
	}
	return max(next.Sub(w.now()), 0)
}

// reload applies the pairs in effect to the rooms polled. When the pair
// store does not answer, the rooms stay as they were.
func (w *Watcher) reload(ctx context.Context, now time.Time) {
	pairs, err := w.Pairs(ctx)
	if err != nil {
		if !w.reloadFailing {
			w.log.Warn("watch pairs not reloaded", "err", err)
		}
		w.reloadFailing = true
		return
	}
	w.reloadFailing = false

	chans := map[string][]string{}
	for _, p := range pairs {
		chans[p.Room] = append(chans[p.Room], p.Channel)
	}
	for name, r := range w.rooms {
		if _, ok := chans[name]; ok {
			continue
		}
		r.gone = true
		if !r.busy {
			w.leave(ctx, r)
			delete(w.rooms, name)
		}
	}
	for name, cs := range chans {
		r := w.rooms[name]
		if r == nil {
			// Spread the first polls over an interval.
			r = newRoom(name, now.Add(rand.N(w.interval)))
			w.rooms[name] = r
		}
		r.channels, r.gone = cs, false
	}
}
