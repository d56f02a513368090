package roomtest

// stats are the Server's counters, guarded by Server.mu.
type stats struct {
	calls       map[[2]string]int // room, tool
	restarts    map[[2]string]int // room, service id
	connections map[string]int
	open        map[string]int
	rejected    map[string]int
	unanswered  map[string]int
	closes      map[int]int // close codes received from clients
	broken      int
	auths       []Auth
}

func newStats() stats {
	return stats{
		calls:       map[[2]string]int{},
		restarts:    map[[2]string]int{},
		connections: map[string]int{},
		open:        map[string]int{},
		rejected:    map[string]int{},
		unanswered:  map[string]int{},
		closes:      map[int]int{},
	}
}

// count changes the counters and wakes every Await.
func (s *Server) count(f func(*stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.stats)
	s.notifyLocked()
}

func (s *Server) read(f func(*stats) int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f(&s.stats)
}

// Calls returns how many tool calls to tool ("list", "restart", or any
// other name a client sent) room received. Requests of other types count
// under their message type.
func (s *Server) Calls(room, tool string) int {
	return s.read(func(st *stats) int { return st.calls[[2]string{room, tool}] })
}

// Restarts returns how many restarts of serviceID clients asked room for
// and the room accepted. Restarts through the Server's own methods do not
// count.
func (s *Server) Restarts(room, serviceID string) int {
	return s.read(func(st *stats) int { return st.restarts[[2]string{room, serviceID}] })
}

// Connections returns how many websockets room accepted, refused
// handshakes included.
func (s *Server) Connections(room string) int {
	return s.read(func(st *stats) int { return st.connections[room] })
}

// Open returns how many websockets to room are open now.
func (s *Server) Open(room string) int {
	return s.read(func(st *stats) int { return st.open[room] })
}

// Rejected returns how many upgrades to room failed authentication.
func (s *Server) Rejected(room string) int {
	return s.read(func(st *stats) int { return st.rejected[room] })
}

// Unanswered returns how many calls to room were swallowed by the
// NeverAnswer fault.
func (s *Server) Unanswered(room string) int {
	return s.read(func(st *stats) int { return st.unanswered[room] })
}

// ClientCloses returns how many close frames with code clients sent.
func (s *Server) ClientCloses(code int) int {
	return s.read(func(st *stats) int { return st.closes[code] })
}

// Broken returns how many frames the Server dropped because they broke
// the framing rules: out of sequence, interleaved, or malformed. A correct
// client never causes one.
func (s *Server) Broken() int {
	return s.read(func(st *stats) int { return st.broken })
}

// Auths returns how every accepted connection authenticated, in order.
func (s *Server) Auths() []Auth {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Auth(nil), s.stats.auths...)
}
