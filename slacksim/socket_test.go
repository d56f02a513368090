package slacksim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"go.uber.org/goleak"
)

// replyWith acks every slash command with an ephemeral reply.
func replyWith(text string) func(*client, socketmode.Event) {
	return func(c *client, ev socketmode.Event) {
		if ev.Type != socketmode.EventTypeSlashCommand {
			ackAll(c, ev)
			return
		}
		_ = c.sm.Ack(*ev.Request, map[string]any{
			"response_type": "ephemeral",
			"text":          text,
			"blocks": []any{map[string]any{
				"type": "section",
				"text": map[string]any{"type": "mrkdwn", "text": text},
			}},
		})
	}
}

func TestSlashCommandRoundTrip(t *testing.T) {
	s := NewServer(t, Config{})
	c := connected(t, s, clientOpts{handle: replyWith("3 services in myroom")})
	ctx := waitCtx(t)

	env, err := s.SlashCommand(ctx, SlashCommand{
		UserID: "U0ALICE01", UserName: "alice",
		ChannelID: "C0OPS0001", ChannelName: "ops",
		Text: "list myroom",
	})
	if err != nil {
		t.Fatalf("SlashCommand: %v", err)
	}

	ev := c.waitEvent(t, socketmode.EventTypeSlashCommand)
	got := ev.Data.(slack.SlashCommand)
	want := slack.SlashCommand{
		Token: verificationToken, TeamID: DefaultTeamID, TeamDomain: "acme",
		ChannelID: "C0OPS0001", ChannelName: "ops",
		UserID: "U0ALICE01", UserName: "alice",
		Command: "/room-services", Text: "list myroom",
		APIAppID: DefaultAppID, ResponseURL: env.ResponseURL,
	}
	got.TriggerID = "" // checked below
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("slash command as slack-go decodes it (-want +got):\n%s", diff)
	}
	if ev.Request.EnvelopeID != env.ID || !ev.Request.AcceptsResponsePayload {
		t.Errorf("request = %+v, want envelope %s accepting a payload", ev.Request, env.ID)
	}

	ack, err := s.WaitAck(ctx, env.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Latency <= 0 || ack.Latency > time.Second || ack.Payload == nil {
		t.Errorf("ack = %+v, want a payload and a small positive latency", ack)
	}
	reply, err := s.WaitReply(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	m := reply.Message
	if reply.Kind != Posted || m.Source != "ack" || !m.Ephemeral ||
		m.VisibleTo != "U0ALICE01" || m.Channel != "C0OPS0001" || m.Text != "3 services in myroom" {
		t.Errorf("reply = %+v, want the ack payload as an ephemeral message to alice in C0OPS0001", reply)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Errorf("Violations() = %v, want none", v)
	}
}

func TestSlashCommandTriggerIDAndHookAreFresh(t *testing.T) {
	s := NewServer(t, Config{})
	connected(t, s, clientOpts{})
	ctx := waitCtx(t)
	cmd := SlashCommand{UserID: "U1", ChannelID: "C1", Text: "help"}
	a, err := s.SlashCommand(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.SlashCommand(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	var pa, pb slack.SlashCommand
	_ = json.Unmarshal(a.Payload, &pa)
	_ = json.Unmarshal(b.Payload, &pb)
	if a.ID == b.ID || pa.TriggerID == pb.TriggerID || pa.ResponseURL == pb.ResponseURL || pa.TriggerID == "" {
		t.Errorf("two commands share ids: %+v / %+v", pa, pb)
	}
}

func TestPingsKeepClientAlive(t *testing.T) {
	s := NewServer(t, Config{PingInterval: 100 * time.Millisecond})
	connected(t, s, clientOpts{pingInterval: time.Second})

	// Three watchdog periods without a reconnect.
	quietFor(t, 3*time.Second, "client reconnected despite pings",
		func() bool { return s.Opens() > 1 })
}

func TestStopPingsMakesClientReconnect(t *testing.T) {
	s := NewServer(t, Config{PingInterval: 100 * time.Millisecond})
	connected(t, s, clientOpts{pingInterval: 500 * time.Millisecond})
	ctx := waitCtx(t)

	s.StopPings()
	if err := s.WaitOpens(ctx, 2); err != nil {
		t.Fatalf("no reconnect after StopPings: %v", err)
	}
	s.ResumePings()
	if err := s.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}

	// Settled: with pings back, no more reconnects.
	opens := s.Opens()
	quietFor(t, 2*time.Second, "client kept reconnecting after ResumePings",
		func() bool { return s.Opens() > opens+1 })
}

func TestDisconnectMakesClientReconnect(t *testing.T) {
	for _, reason := range []string{"refresh_requested", "warning", "link_disabled"} {
		t.Run(reason, func(t *testing.T) {
			s := NewServer(t, Config{})
			c := connected(t, s, clientOpts{handle: replyWith("ok")})
			ctx := waitCtx(t)
			first := s.Connections()[0].ID

			s.Disconnect(reason)
			if err := s.WaitOpens(ctx, 2); err != nil {
				t.Fatalf("no apps.connections.open after disconnect: %v", err)
			}
			c.waitEvent(t, socketmode.EventTypeHello)
			if err := s.WaitConnections(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if id := s.Connections()[len(s.Connections())-1].ID; id == first {
				t.Errorf("still on connection %d after disconnect", id)
			}
			commandWorks(t, s)
		})
	}
}

func TestDropConnectionsMakesClientReconnect(t *testing.T) {
	s := NewServer(t, Config{})
	c := connected(t, s, clientOpts{handle: replyWith("ok")})
	ctx := waitCtx(t)

	s.DropConnections()
	if err := s.WaitOpens(ctx, 2); err != nil {
		t.Fatalf("no reconnect after DropConnections: %v", err)
	}
	c.waitEvent(t, socketmode.EventTypeHello)
	commandWorks(t, s)
}

// commandWorks runs a command and waits for its acked reply.
func commandWorks(t *testing.T, s *Server) {
	t.Helper()
	ctx := waitCtx(t)
	env, err := s.SlashCommand(ctx, SlashCommand{UserID: "U1", ChannelID: "C1", Text: "help"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitReply(ctx, env); err != nil {
		t.Fatalf("command after reconnect: %v", err)
	}
}

func TestRejectAuthEndsRun(t *testing.T) {
	s := NewServer(t, Config{})
	s.RejectAuth(true)
	c := startClient(t, s, clientOpts{})
	err := c.waitRunErr(t)
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("RunContext = %v, want an error naming invalid_auth", err)
	}
}

func TestWrongAppTokenEndsRun(t *testing.T) {
	s := NewServer(t, Config{})
	c := startClient(t, s, clientOpts{appToken: "xapp-wrong"})
	if err := c.waitRunErr(t); err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("RunContext = %v, want invalid_auth", err)
	}
}

func TestConnectionsOpenFaultIsRetried(t *testing.T) {
	s := NewServer(t, Config{})
	s.FailNext("apps.connections.open", Fault{Status: http.StatusInternalServerError})
	c := startClient(t, s, clientOpts{})
	c.waitEvent(t, socketmode.EventTypeConnectionError)
	c.waitEvent(t, socketmode.EventTypeHello)
	if got := s.Opens(); got != 2 {
		t.Errorf("Opens() = %d, want 2 (one 500, one success)", got)
	}
}

// recorder acks everything and notes which envelopes it saw.
type recorder struct {
	mu   sync.Mutex
	seen map[string]int
}

func (r *recorder) handle(c *client, ev socketmode.Event) {
	if ev.Type == socketmode.EventTypeSlashCommand {
		r.mu.Lock()
		r.seen[ev.Request.EnvelopeID]++
		r.mu.Unlock()
	}
	ackAll(c, ev)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

func TestEnvelopesSplitBetweenConnections(t *testing.T) {
	for _, routing := range []Routing{Random, RoundRobin} {
		t.Run(fmt.Sprint(routing), func(t *testing.T) {
			s := NewServer(t, Config{})
			s.SetRouting(routing)
			recs := []*recorder{{seen: map[string]int{}}, {seen: map[string]int{}}}
			for _, r := range recs {
				startClient(t, s, clientOpts{handle: r.handle})
			}
			ctx := waitCtx(t)
			if err := s.WaitConnections(ctx, 2); err != nil {
				t.Fatal(err)
			}

			const n = 100
			var ids []string
			for i := range n {
				env, err := s.SlashCommand(ctx, SlashCommand{UserID: "U1", ChannelID: "C1", Text: fmt.Sprint(i)})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, env.ID)
			}
			for _, id := range ids {
				if _, err := s.WaitAck(ctx, id); err != nil {
					t.Fatal(err)
				}
			}

			a, b := recs[0].count(), recs[1].count()
			if a+b != n || a == 0 || b == 0 {
				t.Errorf("clients saw %d and %d envelopes, want %d split between both", a, b, n)
			}
			if routing == RoundRobin && a != b {
				t.Errorf("round robin split %d/%d, want even", a, b)
			}
			for _, r := range recs {
				for id, k := range r.seen {
					if k != 1 || recs[0].seen[id]+recs[1].seen[id] != 1 {
						t.Errorf("envelope %s delivered %d times in all", id, recs[0].seen[id]+recs[1].seen[id])
					}
				}
			}
			if got := len(s.Acks()); got != n {
				t.Errorf("len(Acks()) = %d, want %d", got, n)
			}
		})
	}
}

func TestRedeliverGoesToAnotherConnection(t *testing.T) {
	s := NewServer(t, Config{})
	recs := []*recorder{{seen: map[string]int{}}, {seen: map[string]int{}}}
	// The first client does not ack, as if it were too slow.
	startClient(t, s, clientOpts{handle: func(c *client, ev socketmode.Event) {
		if ev.Type == socketmode.EventTypeSlashCommand {
			recs[0].mu.Lock()
			recs[0].seen[ev.Request.EnvelopeID]++
			recs[0].mu.Unlock()
		}
	}})
	ctx := waitCtx(t)
	if err := s.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	first := s.Connections()[0].ID
	s.Pin(first)
	startClient(t, s, clientOpts{handle: recs[1].handle})
	if err := s.WaitConnections(ctx, 2); err != nil {
		t.Fatal(err)
	}

	env, err := s.SlashCommand(ctx, SlashCommand{UserID: "U1", ChannelID: "C1", Text: "list r"})
	if err != nil {
		t.Fatal(err)
	}
	s.Pin(0)
	again, err := s.Redeliver(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := s.WaitAck(ctx, env.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != env.ID || again.RetryAttempt != 1 || again.ConnID == env.ConnID {
		t.Errorf("redelivery = id %s attempt %d conn %d, want id %s attempt 1 on a conn other than %d",
			again.ID, again.RetryAttempt, again.ConnID, env.ID, env.ConnID)
	}
	if ack.Attempt != 1 || ack.ConnID != again.ConnID {
		t.Errorf("ack = %+v, want attempt 1 on conn %d", ack, again.ConnID)
	}
}

func TestUnknownEnvelopeTypeIsNotAcked(t *testing.T) {
	s := NewServer(t, Config{AckDeadline: deadline})
	c := connected(t, s, clientOpts{})
	ctx := waitCtx(t)

	frame := `{"envelope_id":"odd-1","type":"something_new","payload":{}}`
	if _, err := s.SendRaw(ctx, []byte(frame)); err != nil {
		t.Fatal(err)
	}
	c.waitEvent(t, socketmode.EventTypeErrorBadMessage)

	// A click without state, message or channel still reaches the client.
	raw := `{"envelope_id":"bare-1","type":"interactive","accepts_response_payload":true,` +
		`"payload":{"type":"block_actions","user":{"id":"U1"},"actions":[]}}`
	if _, err := s.SendRaw(ctx, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	ev := c.waitEvent(t, socketmode.EventTypeInteractive)
	if cb := ev.Data.(slack.InteractionCallback); cb.Type != slack.InteractionTypeBlockActions {
		t.Errorf("bare click decoded as %q", cb.Type)
	}
	if _, err := s.WaitAck(ctx, "bare-1"); err != nil {
		t.Fatal(err)
	}
	for _, a := range s.Acks() {
		if a.EnvelopeID == "odd-1" {
			t.Errorf("unknown type acked: %+v", a)
		}
	}
	// Left unacked, it is what Slack would count against the app.
	err := s.wait(ctx, func() bool { return slices.Contains(s.unackedLocked(), "odd-1") })
	if err != nil {
		t.Errorf("Unacked() = %v, want odd-1 once its deadline passed: %v", s.Unacked(), err)
	}
}

func TestLateAndUnknownAcksAreViolations(t *testing.T) {
	s := NewServer(t, Config{AckDeadline: time.Nanosecond})
	c := connected(t, s, clientOpts{})
	ctx := waitCtx(t)
	env, err := s.SlashCommand(ctx, SlashCommand{UserID: "U1", ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitAck(ctx, env.ID); err != nil {
		t.Fatal(err)
	}
	_ = c.sm.Ack(socketmode.Request{EnvelopeID: "never-sent"})
	err = s.wait(ctx, func() bool { return len(s.violations) >= 2 })
	if err != nil {
		t.Fatalf("violations = %v: %v", s.Violations(), err)
	}
	// The deadline passes before any ack can come: it is flagged when it
	// passes, or when the ack comes if that is first; once either way.
	v := fmt.Sprint(s.Violations())
	if !strings.Contains(v, "Slack's 1ns") || !strings.Contains(v, "never-sent") {
		t.Errorf("Violations() = %s, want a late ack and an unknown one", v)
	}
	if n := len(s.Violations()); n != 2 {
		t.Errorf("%d violations, want 2: %s", n, v)
	}
}

func TestOversizedAckIsAViolation(t *testing.T) {
	s := NewServer(t, Config{})
	ws := dialRaw(t, s)
	big := `{"envelope_id":"x","payload":{"text":"` + strings.Repeat("a", MaxAckBytes) + `"}}`
	if err := ws.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
		t.Fatal(err)
	}
	err := s.wait(waitCtx(t), func() bool {
		for _, v := range s.violations {
			if strings.Contains(v.Error(), "Slack drops") {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Errorf("no size violation: %v", s.Violations())
	}
}

func TestTooManyWebsockets(t *testing.T) {
	s := NewServer(t, Config{MaxConnections: 1})
	first := dialRaw(t, s)
	readType(t, first, "hello")
	second := dialRaw(t, s)
	if got := readType(t, second, "disconnect"); got["reason"] != "too_many_websockets" {
		t.Errorf("second connection got %v, want too_many_websockets", got)
	}
}

// dialRaw opens a Socket Mode connection by hand.
func dialRaw(t *testing.T, s *Server) *websocket.Conn {
	t.Helper()
	req, _ := http.NewRequest("POST", s.APIURL()+"apps.connections.open", nil)
	req.Header.Set("Authorization", "Bearer "+s.Config().AppToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var open struct{ URL string }
	_ = json.NewDecoder(resp.Body).Decode(&open)
	resp.Body.Close()
	ws, _, err := websocket.DefaultDialer.Dial(open.URL, nil)
	if err != nil {
		t.Fatalf("dialing %q: %v", open.URL, err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func readType(t *testing.T, ws *websocket.Conn, typ string) map[string]any {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(patience))
	var m map[string]any
	if err := ws.ReadJSON(&m); err != nil {
		t.Fatalf("reading %s: %v", typ, err)
	}
	if m["type"] != typ {
		t.Fatalf("got frame %v, want type %s", m, typ)
	}
	return m
}

func TestConcurrentCommandsAcrossThreeClients(t *testing.T) {
	s := NewServer(t, Config{})
	recs := make([]*recorder, 3)
	for i := range recs {
		recs[i] = &recorder{seen: map[string]int{}}
		startClient(t, s, clientOpts{handle: recs[i].handle})
	}
	ctx := waitCtx(t)
	if err := s.WaitConnections(ctx, 3); err != nil {
		t.Fatal(err)
	}

	const workers, each = 10, 30
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				env, err := s.SlashCommand(ctx, SlashCommand{UserID: "U1", ChannelID: "C1", Text: fmt.Sprint(w, i)})
				if err == nil {
					_, err = s.WaitAck(ctx, env.ID)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := 0
	for _, r := range recs {
		total += r.count()
	}
	if total != workers*each || len(s.Acks()) != workers*each || len(s.Violations()) != 0 {
		t.Errorf("clients saw %d envelopes, %d acks, violations %v; want %d each, none",
			total, len(s.Acks()), s.Violations(), workers*each)
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Run("session", func(t *testing.T) {
		s := NewServer(t, Config{PingInterval: 50 * time.Millisecond})
		connected(t, s, clientOpts{handle: replyWith("ok")})
		_ = s.Subscribe(t.Context())
		commandWorks(t, s)
		s.Disconnect("refresh_requested")
	})
	goleak.VerifyNone(t, before)
}
