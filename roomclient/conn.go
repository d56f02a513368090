package roomclient

import (
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/roomops/roombot/roomclient/internal/wire"
)

// writeTimeout bounds one websocket write, so a peer that stopped reading
// cannot hold the writer forever.
const writeTimeout = 10 * time.Second

// errIdle ends a connection nobody used for IdleTimeout.
var errIdle = errors.New("room connection idle")

// errStopped ends the write of a message once its connection has stopped.
var errStopped = errors.New("room connection stopped")

// A conn is one websocket to one room. Its reader goroutine hands answers
// to the calls waiting for them; its writer goroutine is the only one that
// writes messages, so the frames of two messages never interleave.
type conn struct {
	c    *Client
	room string
	ws   *websocket.Conn
	log  *slog.Logger
	asm  wire.Assembler // used by the handshake, then by the reader

	out  chan *call    // unbuffered: a call taken by the writer is registered
	quit chan struct{} // closed by stop
	once sync.Once

	// users and lastUsed are guarded by c.mu, not mu: the idle check and
	// the pool must agree on them.
	users    int
	lastUsed time.Time

	// mu guards nextID, pending, dead, writing and cut.
	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]*call
	dead    error
	writing bool        // the writer is writing a message or a ping
	cut     *time.Timer // armed by stop while writing, until the write ends
}

// A call is one request in flight.
type call struct {
	body      []byte
	res       chan result // buffered: whoever answers never blocks
	id        uint64      // set by the writer; 0 until sent
	abandoned bool        // the caller stopped waiting
}

type result struct {
	body []byte
	err  error
}

func newToolCallID() string {
	var b [16]byte
	crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// stop ends the connection once: every pending call fails with err, and
// the writer closes the websocket. A write in progress gets cutGrace to
// end, as one the room reads ends in microseconds and is then followed by
// a close frame; past that it is cut short.
func (cn *conn) stop(err error) {
	cn.once.Do(func() {
		// Out of the pool first: a failed caller that calls again at once
		// must dial a new connection, not find this one.
		cn.c.forget(cn)
		cn.mu.Lock()
		cn.dead = err
		pending := cn.pending
		cn.pending = nil
		if cn.writing {
			cn.cut = time.AfterFunc(cn.c.cfg.cutGrace, cn.cutStuckWrite)
		}
		cn.mu.Unlock()
		for _, cl := range pending {
			cl.res <- result{err: err}
		}
		close(cn.quit)
		cn.log.Debug("room connection closed", "err", err)
	})
}

// cutStuckWrite ends a write that outlived stop's grace. A room that
// stopped reading would otherwise hold the writer, and Close, for
// writeTimeout. A deadline set now would not do: gorilla/websocket sets
// the socket's deadline again before each frame, and a message is many
// frames. So the socket itself is closed; a close frame could not get
// past the stuck write anyway. Under TLS it is the connection below that
// is closed, as tls.Conn.Close would first try to write an alert.
func (cn *conn) cutStuckWrite() {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.writing {
		cn.closeRaw()
	}
}

// closeRaw closes the connection under the websocket, and under TLS when
// there is TLS: tls.Conn.Close would first write an alert, and wait up to
// five seconds for a room that does not read.
func (cn *conn) closeRaw() {
	nc := cn.ws.NetConn()
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	nc.Close()
}

// startWrite marks the writer busy, so that stop cuts what it writes. It
// reports false when the connection is already dead.
func (cn *conn) startWrite() bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.dead != nil {
		return false
	}
	cn.writing = true
	return true
}

func (cn *conn) endWrite() {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	cn.writing = false
	if cn.cut != nil {
		cn.cut.Stop()
	}
}

func (cn *conn) deadErr() error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.dead
}

// roundTrip sends body and waits for the answer with the same message id.
func (cn *conn) roundTrip(ctx context.Context, body []byte) ([]byte, error) {
	cl := &call{body: body, res: make(chan result, 1)}
	select {
	case cn.out <- cl:
	case <-cn.quit:
		return nil, cn.deadErr()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-cl.res:
		return r.body, r.err
	case <-ctx.Done():
		cn.abandon(cl)
		return nil, ctx.Err()
	}
}

// abandon forgets a call whose caller stopped waiting, so that its answer,
// should it come, is dropped.
func (cn *conn) abandon(cl *call) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	cl.abandoned = true
	delete(cn.pending, cl.id)
}

// register gives cl the next message id and files it as pending. It
// reports false, having failed cl, when the connection is already dead.
func (cn *conn) register(cl *call) bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.dead != nil {
		cl.res <- result{err: cn.dead}
		return false
	}
	if cl.abandoned {
		return false
	}
	cn.nextID++
	cl.id = cn.nextID
	cn.pending[cl.id] = cl
	return true
}

// writeLoop is the connection's only writer of messages and pings. It
// also owns the idle timer, so one goroutine decides when to close.
func (cn *conn) writeLoop() {
	defer cn.c.wg.Done()
	pings, stopPings := ticker(cn.c.cfg.PingInterval)
	defer stopPings()
	idle := time.NewTimer(cn.c.cfg.IdleTimeout)
	defer idle.Stop()
	idleC := idle.C
	if cn.c.cfg.IdleTimeout < 0 {
		idleC = nil
	}

	for {
		select {
		case cl := <-cn.out:
			if cn.register(cl) {
				cn.write(func() error { return cn.send(cl) })
			}
		case <-pings:
			cn.write(func() error {
				deadline := time.Now().Add(writeTimeout)
				return cn.ws.WriteControl(websocket.PingMessage, nil, deadline)
			})
		case <-idleC:
			left, expired := cn.c.expire(cn)
			if expired {
				cn.stop(errIdle)
				continue
			}
			idle.Reset(left)
		case <-cn.quit:
			cn.closeWS()
			return
		}
	}
}

func ticker(d time.Duration) (<-chan time.Time, func()) {
	if d <= 0 {
		return nil, func() {}
	}
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// write runs f, a write that stop may cut short, and stops the
// connection when it fails.
func (cn *conn) write(f func() error) {
	if !cn.startWrite() {
		return
	}
	err := f()
	cn.endWrite()
	if err != nil {
		cn.stop(disconnected(err))
	}
}

// send writes the frames of one call, each frame one websocket message.
func (cn *conn) send(cl *call) error {
	cn.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	return wire.Frames(cl.id, wire.TypeInvokeTool, cl.body, wire.ChunkSize,
		func(prefix, data []byte) error {
			// The rest of a message nobody waits for is not worth
			// the grace stop gives the write.
			select {
			case <-cn.quit:
				return errStopped
			default:
			}
			w, err := cn.ws.NextWriter(websocket.BinaryMessage)
			if err != nil {
				return err
			}
			w.Write(prefix)
			w.Write(data)
			return w.Close()
		})
}

// closeWS says goodbye with a normal close frame, then drops the socket.
// Waiting for the room's close frame would only delay Close: nothing
// more is read from this connection. A close frame that could not be
// written says the room is not reading, so the socket is dropped without
// TLS's goodbye too.
//
// TODO(roomclient): a room that stopped reading with the socket's buffers
// full holds this close frame, and so Close, for up to its one-second
// deadline; only a write still going on when the connection stopped is
// cut sooner (see cutStuckWrite).
func (cn *conn) closeWS() {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	err := cn.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	if err != nil {
		cn.closeRaw()
		return
	}
	cn.ws.Close()
}

// readLoop reassembles messages and hands each answer to its call.
func (cn *conn) readLoop() {
	defer cn.c.wg.Done()
	cn.ws.SetPongHandler(func(string) error {
		cn.extendDeadline()
		return nil
	})
	// A room's own ping is a sign of life too, even from a room that
	// answers none of ours; the pong then goes out as gorilla's would.
	pong := cn.ws.PingHandler()
	cn.ws.SetPingHandler(func(data string) error {
		cn.extendDeadline()
		return pong(data)
	})
	for {
		cn.extendDeadline()
		typ, r, err := cn.ws.NextReader()
		if err != nil {
			cn.stop(disconnected(err))
			return
		}
		if typ != websocket.BinaryMessage {
			cn.log.Debug("room sent a text frame, ignored")
			continue
		}
		msg, done, err := cn.asm.ReadFrame(r)
		switch {
		case err != nil && !isWireErr(err):
			cn.stop(disconnected(err))
			return
		case err != nil:
			cn.log.Debug("room sent a broken frame sequence", "err", err)
		}
		if done && msg.Type == wire.TypeResponse {
			cn.deliver(msg)
		}
	}
}

// extendDeadline gives the room until one and a half ping intervals from
// now to send anything, a ping or a pong included. A silent room is a
// dead one.
func (cn *conn) extendDeadline() {
	if d := cn.c.cfg.PingInterval; d > 0 {
		cn.ws.SetReadDeadline(time.Now().Add(d + d/2))
	}
}

func isWireErr(err error) bool {
	for _, e := range []error{wire.ErrShortFrame, wire.ErrBadIndex,
		wire.ErrIDMismatch, wire.ErrInterrupted, wire.ErrTooLarge} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// deliver hands an answer to the call waiting for its id. An answer for an
// unknown or abandoned id is dropped, as the protocol says.
func (cn *conn) deliver(msg wire.Message) {
	cn.mu.Lock()
	cl := cn.pending[msg.ID]
	delete(cn.pending, msg.ID)
	cn.mu.Unlock()
	if cl == nil {
		cn.log.Debug("room answered an unknown message id", "id", msg.ID)
		return
	}
	cl.res <- result{body: msg.Body}
}

// disconnected is the error of the calls a lost connection ends. Its
// cause is kept as text, not wrapped: a network error from a dial means
// nothing was sent, and callers tell a refused request by its type
// (bot.refused), while here the request may have been.
func disconnected(err error) error {
	return fmt.Errorf("%w: %v", ErrDisconnected, err)
}

// A dial is a connection attempt that concurrent first calls share.
type dial struct {
	done chan struct{} // closed when cn or err is set
	cn   *conn
	err  error

	// last is the latest failed attempt, guarded by Client.mu, so a
	// caller that gives up before the dial does can still say why.
	last error
}

// acquire returns the room's connection, dialling it if needed, and counts
// the caller as a user until release.
func (c *Client) acquire(ctx context.Context, room string) (*conn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if cn := c.conns[room]; cn != nil {
		cn.users++
		c.mu.Unlock()
		return cn, nil
	}
	d := c.dials[room]
	if d == nil {
		d = &dial{done: make(chan struct{})}
		c.dials[room] = d
		c.wg.Add(1)
		go c.dial(room, d)
	}
	c.mu.Unlock()

	select {
	case <-d.done:
	case <-ctx.Done():
		c.mu.Lock()
		last := d.last
		c.mu.Unlock()
		if last != nil {
			return nil, fmt.Errorf("%w while connecting (last attempt: %w)", ctx.Err(), last)
		}
		return nil, ctx.Err()
	}
	if d.err != nil {
		return nil, d.err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conns[room] != d.cn {
		return nil, disconnected(errors.New("connection ended right after the handshake"))
	}
	d.cn.users++
	return d.cn, nil
}

func (c *Client) release(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cn.users--
	cn.lastUsed = time.Now()
}

// expire reports whether cn has been unused for IdleTimeout, and if so
// takes it out of the pool so no call can pick it up; otherwise it says
// how long until it could be.
func (c *Client) expire(cn *conn) (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	idle := c.cfg.IdleTimeout
	if cn.users > 0 {
		return idle, false
	}
	if left := time.Until(cn.lastUsed.Add(idle)); left > 0 {
		return left, false
	}
	if c.conns[cn.room] == cn {
		delete(c.conns, cn.room)
	}
	return 0, true
}

// forget takes a stopped connection out of the pool, so the next call
// dials again.
func (c *Client) forget(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conns[cn.room] == cn {
		delete(c.conns, cn.room)
	}
}

// dial connects to room for the calls waiting on d and files the
// connection in the pool.
func (c *Client) dial(room string, d *dial) {
	defer c.wg.Done()
	cn, err := c.connect(room, d)

	c.mu.Lock()
	delete(c.dials, room)
	if err == nil && c.closed {
		err = ErrClosed
		cn.ws.Close()
	}
	if err == nil {
		cn.lastUsed = time.Now()
		c.conns[room] = cn
		c.wg.Add(2)
		go cn.readLoop()
		go cn.writeLoop()
	}
	d.cn, d.err = cn, err
	c.mu.Unlock()
	close(d.done)
}

// maxUnreachable is how many times in a row a room server may refuse or
// fail to answer the TCP connection before connect gives up. A room that
// is starting answers 1013 and is retried until DialTimeout; one whose
// server cannot be reached at all is not worth a user's 30 s wait.
const maxUnreachable = 4

// connect dials room until it is ready, retrying what the protocol deems
// transient with capped, jittered backoff, and notes each failure in d.
//
// TODO(roomclient): the dial is bounded by DialTimeout and Close, not by
// the contexts of the calls waiting on it, since several may share it; it
// goes on for up to DialTimeout after the last of them gave up.
func (c *Client) connect(room string, d *dial) (*conn, error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.DialTimeout)
	defer cancel()
	log := c.log.With("room", room)
	waits := backoff{next: c.cfg.RetryDelay}
	var last error
	unreachable := 0
	for attempt := 1; ; attempt++ {
		start := time.Now()
		cn, err := c.dialOnce(ctx, room, log)
		took := time.Since(start)
		if err == nil {
			log.Info("room connected", "attempt", attempt, "took", took)
			return cn, nil
		}
		if c.ctx.Err() != nil {
			return nil, ErrClosed
		}
		if dl, _ := ctx.Deadline(); last != nil && !time.Now().Before(dl) {
			// Cut short by DialTimeout: the previous attempt says more.
			err = last
		}
		last = err
		c.mu.Lock()
		d.last = err
		c.mu.Unlock()
		var p permanent
		if errors.As(err, &p) {
			return nil, p.error
		}
		log.Warn("room connection failed", "attempt", attempt, "took", took, "err", err)
		if unreachable = countUnreachable(unreachable, err); unreachable >= maxUnreachable {
			return nil, fmt.Errorf("connecting to room %q: unreachable after %d attempts: %w",
				room, attempt, err)
		}
		if !sleep(ctx, waits.wait()) {
			return nil, fmt.Errorf("connecting to room %q: gave up after %d attempts: %w",
				room, attempt, err)
		}
	}
}

// A backoff gives the waits between dial attempts: doubling from the
// first up to maxRetryDelay, each jittered.
type backoff struct{ next time.Duration }

func (b *backoff) wait() time.Duration {
	d := jitter(b.next)
	b.next = min(b.next*2, maxRetryDelay)
	return d
}

// countUnreachable counts consecutive failures to reach the room server
// at all: refused or unanswered TCP, or a name that does not resolve.
func countUnreachable(n int, err error) int {
	var oe *net.OpError
	var de *net.DNSError
	if errors.As(err, &oe) || errors.As(err, &de) {
		return n + 1
	}
	return 0
}

// permanent marks a dial error that retrying cannot mend.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// jitter spreads retries between half and all of d, so that clients
// refused together do not come back together.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// dialOnce opens the websocket and waits for the room to be ready.
func (c *Client) dialOnce(ctx context.Context, room string, log *slog.Logger) (*conn, error) {
	tok, err := c.tokens.token(room)
	if err != nil {
		return nil, permanent{err}
	}
	hdr := http.Header{"Authorization": {"Bearer " + tok}}
	// TODO(roomclient): offer permessage-deflate, as the SDKs do; list
	// answers are JSON and would shrink well.
	dialer := websocket.Dialer{Proxy: http.ProxyFromEnvironment, NetDialContext: c.cfg.dial}
	u := c.base + "/rooms/" + url.PathEscape(room)
	ws, resp, err := dialer.DialContext(ctx, u, hdr)
	if err != nil {
		return nil, dialError(room, resp, err)
	}
	ws.SetReadLimit(wire.MaxFrame)
	cn := &conn{
		c:       c,
		room:    room,
		ws:      ws,
		log:     log,
		out:     make(chan *call),
		quit:    make(chan struct{}),
		pending: map[uint64]*call{},
	}
	if err := cn.handshake(ctx); err != nil {
		ws.Close()
		return nil, err
	}
	return cn, nil
}

// dialError turns a refused upgrade into a *StatusError, permanent for
// the statuses that say the token, room or grant is wrong. A TLS failure
// is permanent too: an untrusted certificate, or a server that does not
// speak TLS at all, answers the same way however often it is asked.
func dialError(room string, resp *http.Response, err error) error {
	var (
		ve *tls.CertificateVerificationError
		he tls.RecordHeaderError
	)
	if errors.As(err, &ve) || errors.As(err, &he) {
		return permanent{&TLSError{err}}
	}
	if resp == nil || !errors.Is(err, websocket.ErrBadHandshake) {
		return err
	}
	resp.Body.Close()
	se := &StatusError{Room: room, Status: resp.StatusCode}
	if se.Permanent() {
		return permanent{se}
	}
	return se
}

// handshake reads until the room has sent both room_ready and connected
// of type init, in either order, ignoring room.status and anything else.
func (cn *conn) handshake(ctx context.Context) error {
	if dl, ok := ctx.Deadline(); ok {
		cn.ws.SetReadDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() {
		cn.ws.SetReadDeadline(time.Unix(1, 0))
	})
	defer stop()

	var ready, connected bool
	for !ready || !connected {
		_, r, err := cn.ws.NextReader()
		if err != nil {
			return notReady(err)
		}
		msg, done, err := cn.asm.ReadFrame(r)
		if err != nil && !isWireErr(err) {
			return notReady(err)
		}
		if done {
			ready = ready || msg.Type == wire.TypeRoomReady
			connected = connected || msg.Type == wire.TypeConnected && isInit(msg.Body)
		}
	}
	cn.ws.SetReadDeadline(time.Time{})
	return nil
}

// isInit reports whether a connected message is the one that says this
// participant has joined: the SDKs ignore connected messages of any other
// type, so a room may send them before or after.
func isInit(body []byte) bool {
	header, _, err := wire.Unpack(body)
	if err != nil {
		return false
	}
	var h struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(header, &h) == nil && h.Type == "init"
}

// notReady classifies an end before ready: a 1013 close or an abnormal
// one is worth another attempt, any other close is the room's answer.
func notReady(err error) error {
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		return err
	}
	err = fmt.Errorf("room connection closed before the room became ready: "+
		"websocket closed with code %d", ce.Code)
	switch ce.Code {
	case websocket.CloseTryAgainLater, websocket.CloseAbnormalClosure:
		return err
	}
	return permanent{err}
}
