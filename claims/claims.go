// Package claims records short-lived, first-come claims on keys: an
// envelope already handled, a confirmation already used, a restart already
// in flight. Whoever claims a key first holds it until it expires or is
// released; everyone else learns who holds it.
//
// Memory serves one process. Several replicas of the bot share a store
// backed by Redis, so that an action is taken once across all of them.
package claims

import (
	"context"
	"errors"
	"time"
)

// ErrHeld is returned by Claim when someone else already holds the key.
// The *HeldError carries the holder's value.
var ErrHeld = errors.New("claims: key already held")

// A HeldError reports that a key is held, and by what value. Values are
// chosen by the claimer; the bot stores who claimed and when.
type HeldError struct {
	Key    string
	Holder string
}

func (e *HeldError) Error() string {
	return "claims: " + e.Key + " already held"
}

// Is matches ErrHeld.
func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// A Store takes claims. Implementations are safe for concurrent use.
type Store interface {
	// Claim takes key for ttl, recording value, unless it is held. When
	// it is held, Claim returns a *HeldError, even when the holder's
	// value is value: asking twice never wins twice. Any other error
	// means the store could not answer, and the caller must not assume
	// the claim. A store that retries a command of its own hides the
	// retry: a first try that landed is the claim, not a holder.
	//
	// A value must not hold a NUL byte (ErrValueNUL). Values are the
	// claimer's to choose; Renew and Release match on them, so each
	// claimer should use one of its own.
	Claim(ctx context.Context, key, value string, ttl time.Duration) error

	// Renew extends a claim that value still holds. It returns a
	// *HeldError when the key has expired and been taken by another
	// value, and ErrNotHeld when nobody holds it any more.
	Renew(ctx context.Context, key, value string, ttl time.Duration) error

	// Release gives up a claim if value still holds it; releasing a claim
	// that expired or passed to another holder does nothing.
	Release(ctx context.Context, key, value string) error

	// Ping reports whether the store can answer.
	Ping(ctx context.Context) error
}

// ErrNotHeld is returned by Renew when the key is not held at all.
var ErrNotHeld = errors.New("claims: key not held")

// ErrValueNUL is returned by Claim for a value holding a NUL byte, which
// Redis uses to tell its own retries apart.
var ErrValueNUL = errors.New("claims: a value may not hold a NUL byte")
