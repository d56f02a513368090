package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

// list asks room for its services, as listing does.
func (b *Bot) list(ctx context.Context, room string) (*roomclient.List, error) {
	ls, err := b.listing(ctx, room)
	if err != nil {
		return nil, err
	}
	return ls.list, nil
}

// listing asks room for its services. Concurrent asks for one room share a
// single room call: in a burst, the room and the bot's two cores do the
// work once. The shared call runs on its own deadline, so one asker giving
// up does not fail the others; each asker still stops at its own, and the
// shared call at the end of the bot's work.
func (b *Bot) listing(ctx context.Context, room string) (*listing, error) {
	ch := b.lists.DoChan(room, func() (_ any, err error) {
		// The shared call runs in singleflight's own goroutine, where a
		// panic would end the process past any handler's recover.
		defer func() {
			if p := recover(); p != nil {
				err = &panicError{value: p, stack: debug.Stack()}
			}
		}()
		callCtx, cancel := context.WithTimeout(b.lifetime(), b.cfg.CallTimeout)
		defer cancel()
		start := time.Now()
		l, err := b.rooms.List(callCtx, room)
		b.met.roomCall("list", time.Since(start), err)
		if err != nil {
			return nil, err
		}
		return &listing{list: l}, nil
	})
	select {
	case r := <-ch:
		return listResult(r)
	case <-ctx.Done():
	}
	// The caller that started the shared call runs out of time a moment
	// before it does, and the shared call knows more than "time ran out":
	// that the room refused, say. Give it that moment.
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t := time.NewTimer(sharedGrace)
		defer t.Stop()
		select {
		case r := <-ch:
			return listResult(r)
		case <-t.C:
		}
	}
	return nil, ctx.Err()
}

// sharedGrace bounds how long a caller past its deadline waits for the
// shared call's own answer.
const sharedGrace = 200 * time.Millisecond

func listResult(r singleflight.Result) (*listing, error) {
	if r.Err != nil {
		return nil, r.Err
	}
	return r.Val.(*listing), nil
}

// A panicError is a panic caught in a shared room call. It reaches every
// caller as an error, which they report as an internal error.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string {
	return fmt.Sprintf("room call panicked: %v", e.value)
}

func (b *Bot) restart(ctx context.Context, room, id string) error {
	start := time.Now()
	err := b.rooms.Restart(ctx, room, id)
	b.met.roomCall("restart", time.Since(start), err)
	return err
}

// roomFailure turns a room error into the answer for the user. Errors the
// user can act on are said plainly; anything else is logged under a
// reference the user can quote.
func (b *Bot) roomFailure(log *slog.Logger, d *decision, room string, err error) commands.Message {
	format, args, known := roomError(room, err, b.cfg.CallTimeout)
	if known {
		d.outcome = "room_error"
		log.Warn("room call failed", "room", room, "err", err)
		return commands.Errorf(format, args...)
	}
	ref := newNonce()[:8]
	d.outcome = "internal_error"
	attrs := []any{"room", room, "err", err, "ref", ref}
	var pe *panicError
	if errors.As(err, &pe) {
		attrs = append(attrs, "stack", string(pe.stack))
	}
	log.Error("room call failed", attrs...)
	return commands.InternalError(ref)
}

// roomErrorText is roomError as plain text, for a reply that shows it
// whole as the room's answer.
func roomErrorText(room string, err error, timeout time.Duration) (string, bool) {
	format, args, known := roomError(room, err, timeout)
	return fmt.Sprintf(format, args...), known
}

// roomError says what a room error means for the person who asked, as
// roombot's words and the names and room text they show, for
// commands.Errorf, and whether the user can act on it.
func roomError(room string, err error, timeout time.Duration) (format string, args []any, known bool) {
	var (
		re *roomclient.Error
		se *roomclient.StatusError
		oe *net.OpError
		de *net.DNSError
		te *roomclient.TLSError
	)
	// The room's own word comes first: a call that ran out of time while
	// the room kept refusing carries the refusal too, which says more.
	switch {
	case errors.As(err, &re):
		return "Room %s answered: %s", []any{room, re.Text}, true
	case errors.As(err, &se):
		format, args = statusError(room, se)
		return format, args, true
	case errors.As(err, &te) && te.NotTLS():
		return "Could not reach room %s: the room server does not speak TLS; " +
			"MESHAGENT_ROOM_URL may need ws:// rather than wss://.", []any{room}, true
	case errors.As(err, &te):
		return "Could not reach room %s: roombot could not verify the room server's TLS certificate.", []any{room}, true
	case errors.As(err, &oe), errors.As(err, &de):
		return "Could not reach room %s: the room server is down or unreachable.", []any{room}, true
	case errors.Is(err, context.DeadlineExceeded):
		return "Room %s did not answer within %s. Try again later.", []any{room, timeout}, true
	case errors.Is(err, roomclient.ErrDisconnected):
		return "Lost the connection to room %s before it answered. Try again.", []any{room}, true
	case errors.Is(err, context.Canceled):
		// Only a drain that ran out cancels a command's work.
		return "roombot is restarting and stopped waiting for room %s. Try again in a minute.", []any{room}, true
	}
	return "", nil, false
}

// statusError says what an HTTP status on the room's websocket upgrade
// means for the person who asked.
func statusError(room string, se *roomclient.StatusError) (format string, args []any) {
	switch se.Status {
	case 401:
		return "Room %s refused roombot's credentials (HTTP 401).", []any{room}
	case 403:
		return "roombot may not use room %s (HTTP 403).", []any{room}
	case 404:
		return "There is no room %s (HTTP 404).", []any{room}
	case 423:
		return "Room %s is disabled (HTTP 423).", []any{room}
	}
	switch {
	case se.Redirect():
		return "The room server redirected roombot away from room %s (HTTP %d): " +
			"MESHAGENT_ROOM_URL may not point at a MeshAgent room server.", []any{room, se.Status}
	case se.NotUpgraded():
		return "The server asked for room %s answered HTTP %d, not a websocket: " +
			"MESHAGENT_ROOM_URL may not point at a MeshAgent room server.", []any{room, se.Status}
	case se.Permanent():
		return "The room server refused roombot's request for room %s (HTTP %d).", []any{room, se.Status}
	}
	return "Room %s is not taking connections right now (HTTP %d). Try again later.", []any{room, se.Status}
}
