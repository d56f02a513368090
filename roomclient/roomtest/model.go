package roomtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// maxEvents bounds each service's event history, so a crash loop left
// running for hours does not grow its list answer without limit.
const maxEvents = 20

type roomState struct {
	name        string
	disabled    bool
	unreachable bool
	faults      Faults
	services    []*service
	orphans     []State
}

type service struct {
	id, name  string
	spec      []byte // compact JSON, as sent in services_json
	state     *State
	forbidden bool
	failure   *Failure
	crash     *CrashLoop
	crashes   int
	gen       int           // bumped by every restart; stale timers check it
	removed   bool          // taken out of its room
	stop      chan struct{} // ends the crash loop
}

// load copies fx into the Server, so tests may reuse a Fixture value.
func (s *Server) load(fx *Fixture) error {
	raw, err := json.Marshal(fx)
	if err != nil {
		return err
	}
	var cp Fixture
	if err := json.Unmarshal(raw, &cp); err != nil {
		return err
	}
	for name, r := range cp.Rooms {
		rm := &roomState{name: name, disabled: r.Disabled, orphans: r.OrphanStates}
		for _, svc := range r.Services {
			sv, err := newService(svc)
			if err != nil {
				return fmt.Errorf("roomtest: room %q: %w", name, err)
			}
			rm.services = append(rm.services, sv)
		}
		s.rooms[name] = rm
	}
	return nil
}

func newService(svc Service) (*service, error) {
	info, err := svc.validate()
	if err != nil {
		return nil, err
	}
	return &service{
		id:        info.id,
		name:      info.name,
		spec:      info.compact,
		state:     svc.State,
		forbidden: svc.RestartForbidden,
		failure:   svc.FailRestart,
		crash:     svc.CrashLoop,
	}, nil
}

func (s *Server) faultsOf(rm *roomState) Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return rm.faults
}

// listAnswer builds the services/list answer: both keys always present,
// specs as JSON strings, states with every key the Python model requires.
func (s *Server) listAnswer(rm *roomState) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var body struct {
		Type string `json:"type"`
		JSON struct {
			ServicesJSON  []string `json:"services_json"`
			ServiceStates []State  `json:"service_states"`
		} `json:"json"`
	}
	body.Type = "json"
	body.JSON.ServicesJSON = make([]string, 0, len(rm.services))
	body.JSON.ServiceStates = make([]State, 0, len(rm.services)+len(rm.orphans))
	for _, svc := range rm.services {
		body.JSON.ServicesJSON = append(body.JSON.ServicesJSON, string(svc.spec))
		if svc.state != nil {
			body.JSON.ServiceStates = append(body.JSON.ServiceStates, wireState(*svc.state))
		}
	}
	for _, st := range rm.orphans {
		body.JSON.ServiceStates = append(body.JSON.ServiceStates, wireState(st))
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic(err) // States are plain data
	}
	return b
}

// wireState fills what the wire wants as [] rather than null.
func wireState(st State) State {
	if st.Status.Ports == nil {
		st.Status.Ports = []PortState{}
	}
	if st.Events == nil {
		st.Events = []Event{}
	}
	return st
}

// clientRestart is a restart a client asked for over the protocol.
func (s *Server) clientRestart(rm *roomState, id string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := rm.find(id)
	switch {
	case svc == nil:
		return errContent(7001, "service not found: "+id)
	case svc.forbidden:
		return errContent(7002, "restart not allowed for service "+svc.name)
	}
	s.stats.restarts[[2]string{rm.name, id}]++
	s.restartLocked(svc, 137, svc.failure, "restart requested")
	s.notifyLocked()
	return []byte(`{"type":"empty"}`)
}

func (rm *roomState) find(id string) *service {
	for _, svc := range rm.services {
		if svc.id == id {
			return svc
		}
	}
	return nil
}

// restartLocked stops the service's container with exit code exit and
// walks it through restarting and starting to running, or leaves it
// starting with fail's start error.
func (s *Server) restartLocked(svc *service, exit int, fail *Failure, why string) {
	now := time.Now()
	st := svc.ensureState()
	svc.gen++
	gen := svc.gen

	old := "none"
	if st.ContainerID != nil {
		old = *st.ContainerID
	}
	st.State = "restarting"
	st.RestartCount++
	st.LastExitCode = Ptr(exit)
	st.LastExitAt = At(now)
	st.RestartScheduledAt = nil
	st.ContainerID = nil
	st.StartedAt = nil
	setLiveness(st, "not_ready")
	addEvent(st, "Normal", "Killing", fmt.Sprintf("%s: stopping container %s", why, old))

	s.afterLocked(svc, gen, s.delays[0], func() {
		s.startingLocked(svc, gen, fail)
	})
}

func (s *Server) startingLocked(svc *service, gen int, fail *Failure) {
	st := svc.ensureState()
	st.State = "starting"
	st.ContainerID = Ptr(newContainerID())
	if fail != nil {
		now := time.Now()
		st.LastExitCode = Ptr(fail.ExitCode)
		st.LastExitAt = At(now)
		st.LastStartError = Ptr(fail.StartError)
		st.LastStartErrorAt = At(now)
		addEvent(st, "Warning", "FailedStart", fail.StartError)
		return
	}
	s.afterLocked(svc, gen, s.delays[1], func() { runningLocked(svc) })
}

func runningLocked(svc *service) {
	st := svc.ensureState()
	st.State = "running"
	st.StartedAt = At(time.Now())
	if st.ContainerID == nil {
		st.ContainerID = Ptr(newContainerID())
	}
	setLiveness(st, "ready")
	addEvent(st, "Normal", "Started", "started container "+*st.ContainerID)
}

// afterLocked runs fn after d under the Server's lock, unless the service
// was restarted or removed meanwhile. A zero d runs fn at once.
func (s *Server) afterLocked(svc *service, gen int, d time.Duration, fn func()) {
	if d <= 0 {
		fn()
		return
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.timers, t)
		if s.closed || svc.removed || svc.gen != gen {
			return
		}
		fn()
		s.notifyLocked()
	})
	s.timers[t] = true
}

func (svc *service) ensureState() *State {
	if svc.state == nil {
		svc.state = &State{ServiceID: svc.id, State: "scheduled"}
	}
	return svc.state
}

// setLiveness moves every port that has a liveness check to status.
func setLiveness(st *State, status string) {
	now := At(time.Now())
	for i := range st.Status.Ports {
		p := &st.Status.Ports[i]
		if p.Liveness == nil || p.LivenessStatus == "not_configured" {
			continue
		}
		p.LivenessStatus = status
		p.LastCheckedAt = now
	}
}

func addEvent(st *State, typ, reason, msg string) {
	now := float64(time.Now().UnixMicro()) / 1e6
	st.Events = append(st.Events, Event{
		Type: typ, Reason: reason, Message: msg,
		Count: 1, FirstTimestamp: now, LastTimestamp: now,
	})
	if n := len(st.Events); n > maxEvents {
		st.Events = append([]Event(nil), st.Events[n-maxEvents:]...)
	}
}

func newContainerID() string {
	var b [6]byte
	rand.Read(b[:])
	return "c-" + hex.EncodeToString(b[:])
}

// startCrashLoopLocked starts the goroutine that crashes svc every
// CrashLoop.Every, if it has one.
func (s *Server) startCrashLoopLocked(svc *service) {
	if svc.crash == nil || s.closed || svc.stop != nil {
		return
	}
	svc.stop = make(chan struct{})
	s.wg.Add(1)
	go s.crashLoop(svc, time.Duration(svc.crash.Every), svc.stop)
}

func (s *Server) crashLoop(svc *service, every time.Duration, stop chan struct{}) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.crashOnce(svc)
		case <-stop:
			return
		case <-s.quit:
			return
		}
	}
}

// crashOnce is one turn of a crash loop: the container exits by itself,
// and every other time its first start fails too.
func (s *Server) crashOnce(svc *service) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if svc.removed || s.closed {
		return
	}
	svc.crashes++
	c := svc.crash
	s.restartLocked(svc, c.ExitCode, nil, "container exited")
	if svc.crashes%2 == 0 && c.StartError != "" {
		st := svc.state
		st.LastStartError = Ptr(c.StartError)
		st.LastStartErrorAt = At(time.Now())
		addEvent(st, "Warning", "BackOff", "back-off restarting failed container: "+c.StartError)
	}
	s.notifyLocked()
}
