package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/roomops/roombot/claims"
)

// A serviceLock is the claim that a restart of one service is under way.
// It renews itself from the moment it is taken until it is released, so
// it cannot lapse while its restart is still being carried out, however
// long the room or Slack take; and it lapses within one TTL of its
// replica dying.
type serviceLock struct {
	key, value string
	stop       chan struct{}
	done       chan struct{} // closed when the renewer has ended
	release    sync.Once
}

// lockService takes the restart lock of the service id of room with
// value, and starts renewing it. It returns what Claim returned when the
// lock is not taken.
func (b *Bot) lockService(ctx context.Context, log *slog.Logger, room, id, value string) (*serviceLock, error) {
	l := &serviceLock{key: lockKey(room, id), value: value,
		stop: make(chan struct{}), done: make(chan struct{})}
	if err := b.claims.Claim(ctx, l.key, value, b.lockTTL()); err != nil {
		return nil, err
	}
	go b.renew(log.With("room", room, "service_id", id), l)
	return l, nil
}

// lockKey names the per-service restart lock. Lengths keep a room name
// with a colon from colliding with another room's service id.
func lockKey(room, id string) string {
	return fmt.Sprintf("restart:%d:%s:%s", len(room), room, id)
}

// lockTTL is how long a restart lock lasts unless renewed. It is renewed
// three times in that span, so two renewals can fail in a row before it
// lapses, and a replica that dies mid-restart holds the service for
// about a minute at most, not for the whole recovery timeout.
func (b *Bot) lockTTL() time.Duration {
	return 2*b.cfg.CallTimeout + 10*b.cfg.RecoveryPoll
}

// renew extends l every third of its TTL until l is released. A renewal
// the store cannot answer is tried again at the next turn; a lock found
// expired or taken by another is lost for good, and said so once: the
// restart goes on, as it has been asked of the room either way, but the
// service may be restarted again meanwhile.
func (b *Bot) renew(log *slog.Logger, l *serviceLock) {
	defer close(l.done)
	// A panic here, as in a claim store, would end the process.
	defer func() {
		if p := recover(); p != nil {
			log.Error("restart lock renewal panicked; the lock will lapse",
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	every := b.lockTTL() / 3
	tick := time.NewTicker(every)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		err := b.claims.Renew(ctx, l.key, l.value, b.lockTTL())
		cancel()
		switch {
		case err == nil:
			failing = false
		case errors.Is(err, claims.ErrHeld), errors.Is(err, claims.ErrNotHeld):
			log.Error("restart lock lost; the service may be restarted again meanwhile", "err", err)
			return
		case !failing:
			failing = true
			log.Warn("restart lock not renewed", "err", err)
		}
	}
}

// unlock stops renewing l and gives it up, once; later calls do nothing.
func (b *Bot) unlock(l *serviceLock) {
	l.release.Do(func() {
		close(l.stop)
		<-l.done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.claims.Release(ctx, l.key, l.value)
	})
}
