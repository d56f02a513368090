package main

import (
	"net"
	"sync"
	"time"
)

// A delayProxy stands between the clients and the rooms where netem
// cannot: it holds every chunk of bytes for half the round trip in each
// direction, in order, so a websocket upgrade, a TLS handshake and each
// call cost one round trip as they would on a slow link. A connection's
// first bytes to the room wait one round trip more, for the TCP
// handshake that loopback completes at once. Bandwidth is not limited.
type delayProxy struct {
	ln     net.Listener
	target string
	rtt    time.Duration
	wg     sync.WaitGroup

	// mu guards conns and closed.
	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

func newDelayProxy(target string, rtt time.Duration) (*delayProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &delayProxy{ln: ln, target: target, rtt: rtt, conns: map[net.Conn]bool{}}
	p.wg.Go(p.serve)
	return p, nil
}

func (p *delayProxy) addr() string { return p.ln.Addr().String() }

// close stops accepting, cuts every connection and waits for the pumps.
func (p *delayProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *delayProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.relay(c) })
	}
}

// relay joins one client to the room and pumps both ways until either
// side closes.
func (p *delayProxy) relay(client net.Conn) {
	accepted := time.Now()
	room, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client, room) {
		return
	}
	defer p.untrack(client, room)
	half := p.rtt / 2
	var wg sync.WaitGroup
	wg.Go(func() { pump(room, client, half, accepted.Add(p.rtt)) })
	wg.Go(func() { pump(client, room, half, time.Time{}) })
	wg.Wait()
}

// track records the connections for close, or closes them when the
// proxy already is.
func (p *delayProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		if p.closed {
			c.Close()
			continue
		}
		p.conns[c] = true
	}
	return !p.closed
}

func (p *delayProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(p.conns, c)
	}
}

// A chunk is bytes read from one side and when they may be written to
// the other.
type chunk struct {
	b   []byte
	due time.Time
}

// pump copies src to dst, each chunk delay after it was read, or after
// notBefore when it was read sooner. When either side fails, both are closed, so the
// pump the other way ends too.
func pump(dst, src net.Conn, delay time.Duration, notBefore time.Time) {
	chunks := make(chan chunk, 256)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				// Bytes read before notBefore could not have been sent
				// before then; they travel from that moment.
				sent := time.Now()
				if sent.Before(notBefore) {
					sent = notBefore
				}
				chunks <- chunk{buf[:n], sent.Add(delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range chunks {
		time.Sleep(time.Until(c.due))
		if _, err := dst.Write(c.b); err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
	for range chunks {
		// Let the reader end; src is closed, so it will.
	}
}
