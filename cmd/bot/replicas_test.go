package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/roomops/roombot/internal/redistest"
	"github.com/roomops/roombot/roomclient/roomtest"
	"github.com/roomops/roombot/slacksim"
)

// These tests run three bot processes on one Slack app, as Kubernetes
// does: one Slack stand-in handing each envelope to one of their
// connections, one room simulator, one Redis.

// bigRoom is a room of n running services svc-000…, named s000…. Its
// name is new each run: the tests share one Redis, where a replica killed
// by an earlier run may still hold its claims.
func bigRoom(n int) *roomtest.Fixture {
	var svcs []roomtest.Service
	for i := range n {
		id := fmt.Sprintf("svc-%03d", i)
		spec, _ := json.Marshal(map[string]any{"version": "v1", "kind": "Service", "id": id,
			"metadata": map[string]any{"name": fmt.Sprintf("s%03d", i)}})
		svcs = append(svcs, roomtest.Service{Spec: spec, State: &roomtest.State{
			ServiceID: id, State: "running", ContainerID: roomtest.Ptr("c-" + id)}})
	}
	return &roomtest.Fixture{Rooms: map[string]*roomtest.Room{roomName(): {Services: svcs}}}
}

var roomSeq atomic.Int64

// roomName names this run's room; big is its name in the current test.
func roomName() string {
	return fmt.Sprintf("big-%d-%d", time.Now().UnixNano(), roomSeq.Add(1))
}

type replicas struct {
	*world
	big   string // the room
	procs []*proc
}

func startReplicas(t *testing.T, n int, fx *roomtest.Fixture) *replicas {
	t.Helper()
	redisURL := redistest.URL(t)
	w := newWorld(t)
	w.room = roomtest.NewServer(t, fx)
	w.env["MESHAGENT_ROOM_URL"] = w.room.URL()
	w.env["ROOMBOT_REDIS_URL"] = redisURL
	w.env["ROOMBOT_SIGNING_KEY"] = "replica-signing-key-0123456789"
	w.env["ROOMBOT_LOG_LEVEL"] = "debug"

	r := &replicas{world: w}
	for name := range fx.Rooms {
		r.big = name
	}
	for range n {
		r.procs = append(r.procs, startBot(t, w.env))
	}
	ctx := testContext(t)
	if err := w.slack.WaitConnections(ctx, n); err != nil {
		t.Fatalf("%d replicas never connected: %v", n, err)
	}
	return r
}

// user acts as a Slack user would: a command or click that gets no answer
// (its envelope went to a replica that died) is simply tried again.
func (r *replicas) command(ctx context.Context, t *testing.T, user, text string) slacksim.Message {
	t.Helper()
	for attempt := 0; attempt < 5; attempt++ {
		env, err := r.slack.SlashCommand(ctx, slacksim.SlashCommand{UserID: user, ChannelID: "C0OPS0001", Text: text})
		if err != nil {
			t.Fatal(err)
		}
		if ev, ok := r.replyWithin(ctx, env, 10*time.Second); ok {
			return ev.Message
		}
	}
	t.Fatalf("%q never answered", text)
	return slacksim.Message{}
}

func (r *replicas) replyWithin(ctx context.Context, env *slacksim.Envelope, d time.Duration) (slacksim.MessageEvent, bool) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	ev, err := r.slack.WaitReply(ctx, env)
	return ev, err == nil
}

// TestReplicasRestartOnce: 100 restarts, each confirmed by a double click
// whose two clicks land on any of three replicas, and each confirm click
// redelivered too: the room sees exactly 100 restarts, one per service.
func TestReplicasRestartOnce(t *testing.T) {
	const n = 100
	r := startReplicas(t, 3, bigRoom(n))
	ctx := testContext(t)

	var wg sync.WaitGroup
	jobs := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r.doubleClickRestart(ctx, t, i, i%10 == 0, true)
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	// A click is answered before the room is called; wait for the calls.
	r.room.WaitFor(t, fmt.Sprint(n, " restarts"), func() bool { return r.totalRestarts(n) >= n })
	total := 0
	for i := range n {
		got := r.room.Restarts(r.big, fmt.Sprintf("svc-%03d", i))
		if got != 1 {
			t.Errorf("svc-%03d restarted %d times, want 1", i, got)
		}
		total += got
	}
	if total != n {
		t.Errorf("room saw %d restarts, want %d", total, n)
	}
	r.usedEveryReplica(t)
}

func (r *replicas) totalRestarts(n int) int {
	total := 0
	for i := range n {
		total += r.room.Restarts(r.big, fmt.Sprintf("svc-%03d", i))
	}
	return total
}

// doubleClickRestart asks for a card and clicks Confirm on it twice at
// once; redeliver also sends the first click's envelope again. strict
// checks the answers too, which a replica dying mid-click may swallow.
func (r *replicas) doubleClickRestart(ctx context.Context, t *testing.T, i int, redeliver, strict bool) {
	card := r.command(ctx, t, "U0ALICE01", fmt.Sprintf("restart %s s%03d", r.big, i))
	if !strings.Contains(card.Render(), "Restart") {
		t.Errorf("restart s%03d: no card:\n%s", i, card.Render())
		return
	}
	a, b, err := r.slack.DoubleClick(ctx, slacksim.Click{UserID: "U0ALICE01", TS: card.TS, ActionID: "rs.restart.confirm"})
	if err != nil {
		t.Errorf("s%03d: double click: %v", i, err)
		return
	}
	if redeliver {
		if _, err := r.slack.Redeliver(ctx, a); err != nil {
			t.Error(err)
		}
	}
	if !strict {
		r.replyWithin(ctx, a, 5*time.Second)
		r.replyWithin(ctx, b, 5*time.Second)
		return
	}
	ra, oka := r.replyWithin(ctx, a, 20*time.Second)
	rb, okb := r.replyWithin(ctx, b, 20*time.Second)
	if !oka || !okb {
		t.Errorf("s%03d: a click got no answer (first %v, second %v)", i, oka, okb)
		return
	}
	// One click restarted; the other was told who did.
	texts := ra.Message.Render() + "\n" + rb.Message.Render()
	if !strings.Contains(texts, "already") {
		t.Errorf("s%03d: neither click was told the card was already used:\n%s", i, texts)
	}
}

// usedEveryReplica checks that the work was spread: a replica that never
// served anything would make the test prove nothing about sharing.
func (r *replicas) usedEveryReplica(t *testing.T) {
	t.Helper()
	for i, p := range r.procs {
		if !strings.Contains(p.out.String(), `"msg":"audit"`) {
			t.Errorf("replica %d handled nothing", i)
		}
	}
}

// TestReplicasCardConfirmedElsewhere: a card made by one replica is
// confirmed on another, which can check it because the key is shared.
func TestReplicasCardConfirmedElsewhere(t *testing.T) {
	r := startReplicas(t, 3, bigRoom(3))
	ctx := testContext(t)
	conns := r.slack.Connections()
	if len(conns) != 3 {
		t.Fatalf("%d connections, want 3", len(conns))
	}

	r.slack.Pin(conns[0].ID)
	card := r.command(ctx, t, "U0ALICE01", "restart "+r.big+" s001")
	r.slack.Pin(conns[1].ID)
	env, err := r.slack.Click(ctx, slacksim.Click{UserID: "U0ALICE01", TS: card.TS, ActionID: "rs.restart.confirm"})
	if err != nil {
		t.Fatal(err)
	}
	r.slack.Pin(0)
	if _, ok := r.replyWithin(ctx, env, 20*time.Second); !ok {
		t.Fatal("the confirm click got no answer")
	}
	r.room.WaitFor(t, "one restart of svc-001", func() bool { return r.room.Restarts(r.big, "svc-001") == 1 })
}

// TestReplicasSurviveAKill: one replica is killed in the middle of the
// run; the others keep serving and nothing is restarted twice.
func TestReplicasSurviveAKill(t *testing.T) {
	const n = 30
	r := startReplicas(t, 3, bigRoom(n))
	ctx := testContext(t)

	for i := range n {
		if i == n/2 {
			r.procs[1].cmd.Process.Signal(syscall.SIGKILL)
		}
		r.doubleClickRestart(ctx, t, i, false, i < n/2)
	}
	// The last restarts run after the kill, on the survivors; a click is
	// answered before the room is called, so wait for the call.
	last := fmt.Sprintf("svc-%03d", n-1)
	r.room.WaitFor(t, "the last restart", func() bool { return r.room.Restarts(r.big, last) >= 1 })
	for i := range n {
		if got := r.room.Restarts(r.big, fmt.Sprintf("svc-%03d", i)); got > 1 {
			t.Errorf("svc-%03d restarted %d times after a replica died", i, got)
		}
	}
	if got := r.totalRestarts(n); got < n-2 {
		t.Errorf("only %d of %d services restarted: the survivors did not carry on", got, n)
	}
}
