package bot

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// linkState tracks whether the Socket Mode link is up and alive, for
// /readyz. slack-go keeps its ping times to itself, so the bot watches the
// socket's bytes instead: Slack pings every few seconds, so a link that
// has read nothing for a whole ping window is as dead as slack-go's own
// watchdog will soon decide.
type linkState struct {
	now    func() time.Time
	window time.Duration

	lastRead atomic.Int64 // Unix nanoseconds of the last byte read

	// mu guards up.
	mu sync.Mutex
	up bool
}

var (
	errLinkDown  = errors.New("socket mode is not connected")
	errLinkQuiet = errors.New("socket mode has heard nothing from Slack within the ping window")
)

func newLinkState(now func() time.Time, window time.Duration) *linkState {
	return &linkState{now: now, window: window}
}

// dialer returns the websocket dialer slack-go should use: its defaults,
// with every connection wrapped to note when it last read.
func (l *linkState) dialer() *websocket.Dialer {
	return &websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: 45 * time.Second,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &watchedConn{Conn: c, l: l}, nil
		},
	}
}

func (l *linkState) setUp(up bool) {
	l.mu.Lock()
	l.up = up
	l.mu.Unlock()
	if up {
		l.heard()
	}
}

func (l *linkState) heard() { l.lastRead.Store(l.now().UnixNano()) }

func (l *linkState) ready() error {
	l.mu.Lock()
	up := l.up
	l.mu.Unlock()
	if !up {
		return errLinkDown
	}
	last := time.Unix(0, l.lastRead.Load())
	if l.now().Sub(last) > l.window {
		return errLinkQuiet
	}
	return nil
}

type watchedConn struct {
	net.Conn
	l *linkState
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.l.heard()
	}
	return n, err
}
