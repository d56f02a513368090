package main

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/roomops/roombot/roomclient/roomtest"
)

// roomName is the name of load room i.
func roomName(i int) string { return fmt.Sprintf("load-%02d", i) }

// fixture makes rooms rooms of services services each. Most services run
// with a port and an event, as in a busy room; one in twenty is starting
// again after a failed start, so lists show more than one state and an
// error line, as real ones do.
func fixture(rooms, services int) *roomtest.Fixture {
	fx := &roomtest.Fixture{Rooms: map[string]*roomtest.Room{}}
	for r := range rooms {
		room := &roomtest.Room{Services: make([]roomtest.Service, services)}
		for i := range services {
			room.Services[i] = service(i)
		}
		fx.Rooms[roomName(r)] = room
	}
	return fx
}

func service(i int) roomtest.Service {
	id := fmt.Sprintf("svc-%05d", i)
	spec := fmt.Sprintf(`{"version":"v1","kind":"Service","id":%q,`+
		`"metadata":{"name":"app-%d","description":"load service %d"},`+
		`"container":{"image":"ghcr.io/roomops/app:%d"},`+
		`"ports":[{"num":8080,"liveness":"/healthz"}]}`, id, i, i, i)
	started := 1767250000.25 + float64(i)
	st := &roomtest.State{
		ServiceID: id, State: "running",
		ContainerID: roomtest.Ptr("c-" + id), StartedAt: &started,
		RestartCount: i % 4, LastExitCode: roomtest.Ptr(137),
		LastExitAt: roomtest.Ptr(started - 10),
		Status: roomtest.Status{Ports: []roomtest.PortState{{
			Num: "8080", Liveness: roomtest.Ptr("/healthz"),
			LivenessStatus: "ready", LastCheckedAt: roomtest.Ptr(started + 60),
		}}},
		Events: []roomtest.Event{{Type: "Normal", Reason: "Started",
			Message: "started container", Count: 1,
			FirstTimestamp: started, LastTimestamp: started}},
	}
	if i%20 == 7 {
		st.State = "starting"
		st.LastStartError = roomtest.Ptr("exec /app: exec format error")
		st.LastStartErrorAt = roomtest.Ptr(started + 30)
		st.Status.Ports[0].LivenessStatus = "not_ready"
	}
	return roomtest.Service{Spec: json.RawMessage(spec), State: st}
}

// answerLog keeps the simulator's own time for each list answer, per
// phase of a run: reset starts a phase, take ends it.
type answerLog struct {
	// mu guards times.
	mu    sync.Mutex
	times []time.Duration
}

func (a *answerLog) add(at roomtest.AnswerTime) {
	if at.Tool != "list" {
		return
	}
	a.mu.Lock()
	a.times = append(a.times, at.Took)
	a.mu.Unlock()
}

func (a *answerLog) reset() {
	a.mu.Lock()
	a.times = nil
	a.mu.Unlock()
}

func (a *answerLog) take() []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.times
	a.times = nil
	return t
}
