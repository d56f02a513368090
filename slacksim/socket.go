package slacksim

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Routing says how an envelope picks one of the open connections. Slack
// hands each envelope to exactly one connection, never to all of them.
type Routing int

const (
	// Random picks any open connection, as Slack does.
	Random Routing = iota
	// RoundRobin takes the open connections in turn, for tests that
	// need an even split.
	RoundRobin
)

// ConnInfo describes one open Socket Mode connection.
type ConnInfo struct {
	ID        int
	Opened    time.Time
	Delivered int  // envelopes written to it
	Draining  bool // told to disconnect; gets no more envelopes
}

// conn is one websocket from a Socket Mode client. The writer goroutine
// owns every data write, because gorilla's writes are not safe for
// concurrent use; pings go through WriteControl, which is.
type conn struct {
	id     int
	ws     *websocket.Conn
	out    chan outFrame
	done   chan struct{}
	opened time.Time
	log    *slog.Logger
	once   sync.Once

	// guarded by Server.mu
	delivered int
	draining  bool
}

type outFrame struct {
	data []byte
	sent chan error // buffered 1
	// d is the delivery an envelope frame makes; its clock starts when
	// the frame is written, so queueing here is not charged to the bot.
	d *delivery
}

// gone reports whether the connection has ended.
func (c *conn) gone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// end closes the socket without a close frame, as a dropped TCP
// connection would.
func (c *conn) end() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

// serveLink upgrades a websocket from a ticket that apps.connections.open
// handed out, and runs the connection.
func (s *Server) serveLink(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.tickets[ticket]
	delete(s.tickets, ticket) // a ticket is good for one connection
	s.mu.Unlock()
	if !valid {
		http.Error(w, "invalid ticket", http.StatusUnauthorized)
		return
	}

	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.log.Warn("websocket upgrade failed", "err", err)
		return
	}
	ws.SetReadLimit(maxFrameBytes)
	s.startConn(ws)
}

// startConn registers the connection, queues hello before it can receive
// any envelope, and starts its goroutines.
func (s *Server) startConn(ws *websocket.Conn) {
	c := &conn{
		ws:     ws,
		out:    make(chan outFrame, 64),
		done:   make(chan struct{}),
		opened: time.Now(),
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.nextConn++
	c.id = s.nextConn
	c.log = s.log.With("conn", c.id)
	full := s.openCountLocked() >= s.cfg.MaxConnections
	c.out <- outFrame{data: s.greetingLocked(c, full), sent: make(chan error, 1)}
	s.conns[c.id] = c
	// Started under mu while open, so they are counted before Close waits.
	s.wg.Go(func() { s.writeLoop(c) })
	s.wg.Go(func() { s.pingLoop(c) })
	s.wg.Go(func() { s.readLoop(c) })
	s.notifyLocked()
	s.mu.Unlock()

	c.log.Info("socket mode connection opened", "full", full)
}

// greetingLocked is the first frame of a connection: hello, or, past
// the connection limit, the disconnect Slack sends an eleventh one.
func (s *Server) greetingLocked(c *conn, full bool) []byte {
	if full {
		c.draining = true
		return s.disconnectFrame(c.id, "too_many_websockets")
	}
	return s.helloFrame(c.id, s.openCountLocked()+1)
}

func (s *Server) helloFrame(id, n int) []byte {
	b, _ := json.Marshal(map[string]any{
		"type":            "hello",
		"num_connections": n,
		"connection_info": map[string]any{"app_id": s.cfg.AppID},
		"debug_info": map[string]any{
			"host":                        linkHost(id),
			"build_number":                1,
			"approximate_connection_time": 18060,
		},
	})
	return b
}

func (s *Server) disconnectFrame(id int, reason string) []byte {
	b, _ := json.Marshal(map[string]any{
		"type":       "disconnect",
		"reason":     reason,
		"debug_info": map[string]any{"host": linkHost(id)},
	})
	return b
}

func linkHost(id int) string { return "slacksim-applink-" + strconv.Itoa(id) }

func (s *Server) writeLoop(c *conn) {
	defer s.dropConn(c)
	for {
		select {
		case <-c.done:
			return
		case f := <-c.out:
			if f.d != nil {
				s.mu.Lock()
				s.armLocked(f.d)
				s.mu.Unlock()
			}
			_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			err := c.ws.WriteMessage(websocket.TextMessage, f.data)
			f.sent <- err
			if err != nil {
				c.log.Warn("socket mode write failed", "err", err)
				return
			}
		}
	}
}

// pingLoop sends websocket PINGs; slack-go's watchdog reconnects when
// they stop. It pings once at once so a short client interval is met
// from the start.
func (s *Server) pingLoop(c *conn) {
	t := time.NewTicker(s.cfg.PingInterval)
	defer t.Stop()
	for {
		s.mu.Lock()
		off := s.pingsOff
		s.mu.Unlock()
		if !off {
			err := c.ws.WriteControl(websocket.PingMessage, []byte("slacksim"),
				time.Now().Add(writeTimeout))
			if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
				c.log.Debug("ping failed", "err", err)
			}
		}
		select {
		case <-c.done:
			return
		case <-t.C:
		}
	}
}

func (s *Server) readLoop(c *conn) {
	defer s.dropConn(c)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.log.Info("socket mode connection closed", "err", err)
			return
		}
		s.handleAck(c, data, time.Now())
	}
}

// dropConn ends the connection and forgets it.
func (s *Server) dropConn(c *conn) {
	c.end()
	s.mu.Lock()
	if s.conns[c.id] == c {
		delete(s.conns, c.id)
		s.notifyLocked()
	}
	s.mu.Unlock()
}

// connList returns the open connections by id. s.mu must be held.
func (s *Server) connList() []*conn {
	out := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *conn) int { return a.id - b.id })
	return out
}

// openCountLocked counts connections that can take envelopes.
func (s *Server) openCountLocked() int {
	n := 0
	for _, c := range s.conns {
		if !c.draining {
			n++
		}
	}
	return n
}

// Connections describes the open connections, by id.
func (s *Server) Connections() []ConnInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ConnInfo
	for _, c := range s.connList() {
		out = append(out, ConnInfo{
			ID: c.id, Opened: c.opened,
			Delivered: c.delivered, Draining: c.draining,
		})
	}
	return out
}

// WaitConnections waits until at least n connections are open and not
// draining.
func (s *Server) WaitConnections(ctx context.Context, n int) error {
	return s.wait(ctx, func() bool { return s.openCountLocked() >= n })
}

// Opens counts apps.connections.open calls, failed ones included: each
// reconnect of a slack-go client makes one.
func (s *Server) Opens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens
}

// WaitOpens waits until apps.connections.open has been called n times.
func (s *Server) WaitOpens(ctx context.Context, n int) error {
	return s.wait(ctx, func() bool { return s.opens >= n })
}

// SetRouting chooses how envelopes pick a connection. Default Random.
func (s *Server) SetRouting(r Routing) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routing = r
}

// Pin sends every envelope to connection id while it is open (and to the
// routing's choice when it is not). Pin(0) unpins.
func (s *Server) Pin(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pinned = id
}

// pickLocked chooses the connection for an envelope, avoiding the one in
// avoid when another is open. It returns nil when none is open.
func (s *Server) pickLocked(avoid int) *conn {
	if c := s.conns[s.pinned]; c != nil && !c.draining && !c.gone() {
		return c
	}
	var open []*conn
	for _, c := range s.connList() {
		if !c.draining && !c.gone() {
			open = append(open, c)
		}
	}
	if len(open) > 1 && avoid != 0 {
		open = slices.DeleteFunc(open, func(c *conn) bool { return c.id == avoid })
	}
	switch {
	case len(open) == 0:
		return nil
	case s.routing == RoundRobin:
		s.rrNext++
		return open[s.rrNext%len(open)]
	default:
		return open[rand.IntN(len(open))]
	}
}

// Disconnect sends {"type":"disconnect","reason":reason} on every open
// connection and stops routing envelopes to them. slack-go closes the
// socket and reconnects for any reason: warning, refresh_requested,
// link_disabled, too_many_websockets.
func (s *Server) Disconnect(reason string) {
	s.mu.Lock()
	var targets []*conn
	for _, c := range s.connList() {
		if !c.draining {
			c.draining = true
			targets = append(targets, c)
		}
	}
	s.notifyLocked()
	s.mu.Unlock()

	for _, c := range targets {
		c.log.Info("sending disconnect", "reason", reason)
		f := outFrame{data: s.disconnectFrame(c.id, reason), sent: make(chan error, 1)}
		select {
		case c.out <- f:
		case <-c.done:
		}
	}
}

// DropConnections closes every socket abruptly, with no close frame.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := s.connList()
	s.mu.Unlock()
	for _, c := range conns {
		c.log.Info("dropping connection")
		s.dropConn(c)
	}
}

// StopPings stops the PINGs on every connection, now and for new ones,
// so each slack-go client's watchdog gives up and reconnects.
func (s *Server) StopPings() { s.setPings(true) }

// ResumePings starts the PINGs again.
func (s *Server) ResumePings() { s.setPings(false) }

func (s *Server) setPings(off bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pingsOff = off
}
