package bot

import (
	"testing"
	"time"

	"github.com/roomops/roombot/roomclient"
)

// TestPortsReady: a service is back only when no port the room checks
// is failing its check; ports with no check say nothing.
func TestPortsReady(t *testing.T) {
	port := func(status string) roomclient.PortStatus {
		return roomclient.PortStatus{Num: "8080", Liveness: "/healthz", LivenessStatus: status}
	}
	tests := []struct {
		name  string
		ports []roomclient.PortStatus
		want  bool
	}{
		{"no ports", nil, true},
		{"ready", []roomclient.PortStatus{port("ready")}, true},
		{"no check", []roomclient.PortStatus{port("not_configured")}, true},
		{"not ready", []roomclient.PortStatus{port("ready"), port("not_ready")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := portsReady(&roomclient.State{Ports: tt.ports}); got != tt.want {
				t.Errorf("portsReady(%+v) = %v, want %v", tt.ports, got, tt.want)
			}
		})
	}
}

// TestNotBackSaysWhy: a service running in a new container when the wait
// ends is not back for a reason its state does not tell, so the notice
// says it; one still starting is told by its state.
func TestNotBackSaysWhy(t *testing.T) {
	job := &restartJob{oldContainer: "c-old", oldCount: 2}
	running := func(ports ...roomclient.PortStatus) *roomclient.State {
		return &roomclient.State{State: "running", ContainerID: "c-new", RestartCount: 3,
			StartedAt: time.Unix(1, 0), Ports: ports}
	}
	notReady := roomclient.PortStatus{Num: "80", Liveness: "/", LivenessStatus: "not_ready"}
	tests := []struct {
		name   string
		last   *roomclient.State
		seenUp bool
		want   string
	}{
		{"starting", &roomclient.State{State: "starting", ContainerID: "c-new"}, false, ""},
		{"old container", &roomclient.State{State: "running", ContainerID: "c-old", RestartCount: 2}, false, ""},
		{"ports not ready", running(notReady), true, "running with ports not ready"},
		{"never steady", running(), true, "running but not yet steady"},
		{"crash-looping", &roomclient.State{State: "restarting", ContainerID: "c-new", RestartCount: 7},
			true, "crash-looping with 4 more restarts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := job.notBack(tt.last, tt.seenUp, time.Minute).note; got != tt.want {
				t.Errorf("notBack(%+v).note = %q, want %q", tt.last, got, tt.want)
			}
		})
	}
}
