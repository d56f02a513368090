package roomtest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func signed(t *testing.T, secret string, claims map[string]any) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(claims)).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// restart asks for a restart over the protocol and returns the answer.
func restart(t *testing.T, s *Server, room, id string) map[string]any {
	t.Helper()
	r, _, err := dialRaw(t, s, room, bearer("t"), "")
	if err != nil {
		t.Fatal(err)
	}
	r.handshake()
	r.send(1, "room.invoke_tool", `{"toolkit":"services","tool":"restart",`+
		`"arguments":{"type":"json","json":{"service_id":"`+id+`"}},"tool_call_id":"x"}`)
	return r.answer(1)
}

func state(t *testing.T, s *Server, room, id string) State {
	t.Helper()
	st, ok := s.State(room, id)
	if !ok {
		t.Fatalf("%s/%s has no state", room, id)
	}
	return st
}

func TestRestartWalk(t *testing.T) {
	s := demoServer(t, WithRestartDelays(10*time.Millisecond, 10*time.Millisecond))
	before := state(t, s, "lobby", "svc-web")
	if a := restart(t, s, "lobby", "svc-web"); a["type"] != "empty" {
		t.Fatalf("restart answered %v", a)
	}
	s.WaitFor(t, "web running again", func() bool {
		return state(t, s, "lobby", "svc-web").State == "running"
	})
	st := state(t, s, "lobby", "svc-web")
	if st.RestartCount != before.RestartCount+1 || *st.ContainerID == *before.ContainerID ||
		*st.LastExitCode != 137 || *st.StartedAt <= *before.StartedAt {
		t.Errorf("after restart: %+v", st)
	}
	reasons := ""
	for _, e := range st.Events[len(before.Events):] {
		reasons += e.Reason + " "
	}
	if reasons != "Killing Started " {
		t.Errorf("new events %q, want Killing Started", reasons)
	}
	if n := s.Restarts("lobby", "svc-web"); n != 1 {
		t.Errorf("Restarts = %d, want 1", n)
	}
}

func TestRestartStaysRestarting(t *testing.T) {
	s := demoServer(t, WithRestartDelays(time.Hour, 0))
	restart(t, s, "lobby", "svc-api")
	if st := state(t, s, "lobby", "svc-api"); st.State != "restarting" || st.ContainerID != nil {
		t.Errorf("during restart: %+v", st)
	}
}

func TestFailRestarts(t *testing.T) {
	s := demoServer(t)
	s.FailRestarts("lobby", "svc-api", &Failure{ExitCode: 3, StartError: "image pull failed"})
	restart(t, s, "lobby", "svc-api")
	st := state(t, s, "lobby", "svc-api")
	if st.State != "starting" || *st.LastStartError != "image pull failed" || *st.LastExitCode != 3 {
		t.Errorf("after a failing restart: %+v", st)
	}
}

func TestBehindTheBack(t *testing.T) {
	s := demoServer(t)
	before := state(t, s, "lobby", "svc-worker")

	if err := s.RestartService("lobby", "svc-worker", 143); err != nil {
		t.Fatal(err)
	}
	st := state(t, s, "lobby", "svc-worker")
	if st.State != "running" || st.RestartCount != before.RestartCount+1 || *st.LastExitCode != 143 {
		t.Errorf("after RestartService: %+v", st)
	}
	if s.Restarts("lobby", "svc-worker") != 0 {
		t.Error("a restart behind the back counted as a client restart")
	}

	s.Crash("lobby", "svc-worker", 1, "exec format error")
	if st := state(t, s, "lobby", "svc-worker"); st.State != "starting" || *st.LastStartError != "exec format error" {
		t.Errorf("after Crash: %+v", st)
	}
	s.Recover("lobby", "svc-worker")
	if st := state(t, s, "lobby", "svc-worker"); st.State != "running" {
		t.Errorf("after Recover: %+v", st)
	}
	if err := s.Crash("lobby", "nope", 1, ""); err == nil {
		t.Error("Crash of an unknown service succeeded")
	}
}

func TestScheduleRestart(t *testing.T) {
	s := demoServer(t)
	before := state(t, s, "lobby", "svc-web")
	at := time.Now().Add(30 * time.Millisecond)
	s.ScheduleRestart("lobby", "svc-web", at)
	if st := state(t, s, "lobby", "svc-web"); st.RestartScheduledAt == nil {
		t.Fatal("restart_scheduled_at not set")
	}
	s.WaitFor(t, "the scheduled restart", func() bool {
		return state(t, s, "lobby", "svc-web").RestartCount == before.RestartCount+1
	})
	if st := state(t, s, "lobby", "svc-web"); st.RestartScheduledAt != nil || *st.LastExitCode != 0 {
		t.Errorf("after the scheduled restart: %+v", st)
	}
}

func TestAddRemoveService(t *testing.T) {
	s := demoServer(t)
	svc := Service{Spec: json.RawMessage(`{"version":"v1","kind":"Service","id":"new","metadata":{"name":"n"}}`)}
	if err := s.AddService("lobby", svc); err != nil {
		t.Fatal(err)
	}
	if err := s.AddService("lobby", svc); err == nil {
		t.Error("adding the same id twice succeeded")
	}
	if a := restart(t, s, "lobby", "new"); a["type"] != "empty" {
		t.Errorf("restart of an added service: %v", a)
	}
	if err := s.RemoveService("lobby", "new"); err != nil {
		t.Fatal(err)
	}
	if a := restart(t, s, "lobby", "new"); a["code"] != 7001.0 {
		t.Errorf("restart of a removed service: %v", a)
	}
}

func TestCrashLoop(t *testing.T) {
	fx := DemoFixture()
	fx.Rooms["staging"].Services[0].CrashLoop.Every = Duration(5 * time.Millisecond)
	s := NewServer(t, fx)
	before := state(t, s, "staging", "stg-api")
	s.WaitFor(t, "three crashes", func() bool {
		return state(t, s, "staging", "stg-api").RestartCount >= before.RestartCount+3
	})
	st := state(t, s, "staging", "stg-api")
	if *st.LastExitCode != 1 || len(st.Events) > maxEvents {
		t.Errorf("crash-looping state: %+v", st)
	}
}
