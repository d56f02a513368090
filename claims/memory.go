package claims

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Memory is a Store held in this process. It is the default, and right for
// a single replica: claims die with the process.
type Memory struct {
	now func() time.Time

	// mu guards held and sweepAt.
	mu      sync.Mutex
	held    map[string]memClaim
	sweepAt time.Time
}

type memClaim struct {
	value   string
	expires time.Time
}

// NewMemory returns an empty in-memory store. A nil now uses time.Now.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, held: make(map[string]memClaim)}
}

// Claim implements Store.
func (m *Memory) Claim(_ context.Context, key, value string, ttl time.Duration) error {
	if strings.IndexByte(value, 0) >= 0 {
		return ErrValueNUL
	}
	m.mu.Lock()
	defer m.mu.Unlock()

	now := m.now()
	m.sweepLocked(now)
	if c, ok := m.liveLocked(key, now); ok {
		return &HeldError{Key: key, Holder: c.value}
	}
	m.held[key] = memClaim{value: value, expires: now.Add(ttl)}
	return nil
}

// Renew implements Store.
func (m *Memory) Renew(_ context.Context, key, value string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()

	now := m.now()
	c, ok := m.liveLocked(key, now)
	switch {
	case !ok:
		return ErrNotHeld
	case c.value != value:
		return &HeldError{Key: key, Holder: c.value}
	}
	m.held[key] = memClaim{value: value, expires: now.Add(ttl)}
	return nil
}

// Release implements Store.
func (m *Memory) Release(_ context.Context, key, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()

	if c, ok := m.held[key]; ok && c.value == value {
		delete(m.held, key)
	}
	return nil
}

// Ping implements Store; memory always answers.
func (m *Memory) Ping(context.Context) error { return nil }

// Len returns the number of claims held, expired ones included until the
// next sweep. It is meant for tests and metrics.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.held)
}

func (m *Memory) liveLocked(key string, now time.Time) (memClaim, bool) {
	c, ok := m.held[key]
	if !ok || !now.Before(c.expires) {
		return memClaim{}, false
	}
	return c, true
}

// sweepInterval bounds how long expired claims linger. Every envelope
// adds a claim, so without sweeping the map would grow for as long as the
// process lives.
const sweepInterval = time.Minute

func (m *Memory) sweepLocked(now time.Time) {
	if now.Before(m.sweepAt) {
		return
	}
	m.sweepAt = now.Add(sweepInterval)
	for k, c := range m.held {
		if !now.Before(c.expires) {
			delete(m.held, k)
		}
	}
}
