package roomtest

import (
	"fmt"
	"time"
)

// withService runs fn under the lock with the service id of room.
func (s *Server) withService(name, id string, fn func(*roomState, *service)) error {
	return s.withRoom(name, func(rm *roomState) error {
		svc := rm.find(id)
		if svc == nil {
			return fmt.Errorf("roomtest: room %q has no service %q", name, id)
		}
		fn(rm, svc)
		return nil
	})
}

// withRoom runs fn under the lock with the room called name.
func (s *Server) withRoom(name string, fn func(*roomState) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rm := s.rooms[name]
	if rm == nil {
		return fmt.Errorf("%w: %q", errNoRoom, name)
	}
	if err := fn(rm); err != nil {
		return err
	}
	s.notifyLocked()
	return nil
}

// RestartService restarts a service behind the clients' backs, as the
// runtime does after an out-of-memory kill: its container exits with
// exitCode and a new one comes up.
func (s *Server) RestartService(room, id string, exitCode int) error {
	return s.withService(room, id, func(_ *roomState, svc *service) {
		s.restartLocked(svc, exitCode, nil, "container exited")
	})
}

// Crash makes a service's container exit with exitCode and its next
// start fail with startError. It stays "starting" until Recover or a
// restart.
func (s *Server) Crash(room, id string, exitCode int, startError string) error {
	return s.withService(room, id, func(_ *roomState, svc *service) {
		fail := &Failure{ExitCode: exitCode, StartError: startError}
		s.restartLocked(svc, exitCode, fail, "container exited")
	})
}

// Recover brings a crashed service back to running, and makes restarts of
// it succeed again.
func (s *Server) Recover(room, id string) error {
	return s.withService(room, id, func(_ *roomState, svc *service) {
		svc.failure = nil
		svc.gen++
		runningLocked(svc)
	})
}

// FailRestarts makes every later restart of a service leave it
// "starting" with f's exit code and start error, as a service that does
// not come back. A nil f clears it.
func (s *Server) FailRestarts(room, id string, f *Failure) error {
	return s.withService(room, id, func(_ *roomState, svc *service) {
		svc.failure = f
	})
}

// ScheduleRestart sets a service's restart_scheduled_at to at, and
// restarts it then, with exit code 0.
func (s *Server) ScheduleRestart(room, id string, at time.Time) error {
	return s.withService(room, id, func(_ *roomState, svc *service) {
		svc.ensureState().RestartScheduledAt = At(at)
		gen := svc.gen
		s.afterLocked(svc, gen, max(time.Until(at), time.Millisecond), func() {
			s.restartLocked(svc, 0, svc.failure, "scheduled restart")
		})
	})
}

// State returns a copy of a service's state; false when it has none.
func (s *Server) State(room, id string) (State, bool) {
	var st State
	var ok bool
	s.withService(room, id, func(_ *roomState, svc *service) {
		if svc.state != nil {
			st, ok = *svc.state, true
			st.Events = append([]Event(nil), st.Events...)
			st.Status.Ports = append([]PortState(nil), st.Status.Ports...)
		}
	})
	return st, ok
}

// AddService appends a service to a room.
func (s *Server) AddService(room string, svc Service) error {
	sv, err := newService(svc)
	if err != nil {
		return err
	}
	return s.withRoom(room, func(rm *roomState) error {
		if sv.id != "" && rm.find(sv.id) != nil {
			return fmt.Errorf("roomtest: room %q already has service %q", room, sv.id)
		}
		rm.services = append(rm.services, sv)
		s.startCrashLoopLocked(sv)
		return nil
	})
}

// RemoveService takes a service out of its room.
func (s *Server) RemoveService(room, id string) error {
	return s.withService(room, id, func(rm *roomState, svc *service) {
		svc.removed = true
		if svc.stop != nil {
			close(svc.stop)
		}
		for i, x := range rm.services {
			if x == svc {
				rm.services = append(rm.services[:i], rm.services[i+1:]...)
				break
			}
		}
	})
}

// SetFaults replaces the faults of a room. They apply to what the room
// sends from now on, on open connections too.
func (s *Server) SetFaults(room string, f Faults) error {
	return s.withRoom(room, func(rm *roomState) error { rm.faults = f; return nil })
}

// SetDisabled makes a room refuse connections with HTTP 423, or take
// them again.
func (s *Server) SetDisabled(room string, disabled bool) error {
	return s.withRoom(room, func(rm *roomState) error { rm.disabled = disabled; return nil })
}

// SetReachable(room, false) makes a room unreachable: open connections
// drop without a close frame and new ones are refused with HTTP 503 until
// SetReachable(room, true).
func (s *Server) SetReachable(room string, reachable bool) error {
	err := s.withRoom(room, func(rm *roomState) error {
		rm.unreachable = !reachable
		return nil
	})
	if err == nil && !reachable {
		s.CloseConnections(room, Abrupt)
	}
	return err
}

// CloseConnections closes every open connection to room with a close
// frame of code (1000, 1013, …), or drops them when code is Abrupt. It
// returns how many it closed.
func (s *Server) CloseConnections(room string, code int) int {
	s.mu.Lock()
	var victims []*session
	for ss := range s.sessions {
		if ss.rm.name == room {
			victims = append(victims, ss)
		}
	}
	s.mu.Unlock()
	for _, ss := range victims {
		ss.drop(code)
	}
	return len(victims)
}
