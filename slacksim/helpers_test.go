package slacksim

import (
	"context"
	"io"
	"log"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// patience bounds every wait; a wait that runs out fails the test.
const patience = 10 * time.Second

func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	t.Cleanup(cancel)
	return ctx
}

// client is a real slack-go Socket Mode client run against a Server.
type client struct {
	api    *slack.Client
	sm     *socketmode.Client
	events chan socketmode.Event
	runErr chan error
}

// clientOpts tune startClient.
type clientOpts struct {
	pingInterval time.Duration // OptionPingInterval; 0 keeps slack-go's 30 s
	appToken     string
	// handle sees every event first, on the event loop; ackAll acks
	// slash commands and clicks with no payload when handle is nil.
	handle func(*client, socketmode.Event)
}

// startClient runs a slack-go socketmode client against s until the test
// ends. Events go to c.events after handle has seen them.
func startClient(t *testing.T, s *Server, o clientOpts) *client {
	t.Helper()
	if o.appToken == "" {
		o.appToken = s.Config().AppToken
	}
	quiet := log.New(io.Discard, "", 0)
	api := slack.New(s.Config().BotToken,
		slack.OptionAppLevelToken(o.appToken),
		slack.OptionAPIURL(s.APIURL()),
		slack.OptionLog(quiet))
	opts := []socketmode.Option{socketmode.OptionLog(quiet)}
	if o.pingInterval > 0 {
		opts = append(opts, socketmode.OptionPingInterval(o.pingInterval))
	}
	c := &client{
		api:    api,
		sm:     socketmode.New(api, opts...),
		events: make(chan socketmode.Event, 4096),
		runErr: make(chan error, 1),
	}
	if o.handle == nil {
		o.handle = ackAll
	}

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { c.runErr <- c.sm.RunContext(ctx) }()
	go c.pump(ctx, o.handle, stopped)
	t.Cleanup(func() {
		cancel()
		<-stopped
	})
	return c
}

// pump reads the client's events until ctx ends, as every slack-go
// consumer must, or the client stalls.
func (c *client) pump(ctx context.Context, handle func(*client, socketmode.Event), stopped chan struct{}) {
	defer close(stopped)
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-c.sm.Events:
			handle(c, ev)
			select {
			case c.events <- ev:
			default: // a test that does not read events must not stall
			}
		}
	}
}

// ackAll acks slash commands and interactions without a payload.
func ackAll(c *client, ev socketmode.Event) {
	if ev.Request != nil && ev.Request.EnvelopeID != "" {
		_ = c.sm.Ack(*ev.Request)
	}
}

// waitEvent returns the next event of type typ.
func (c *client) waitEvent(t *testing.T, typ socketmode.EventType) socketmode.Event {
	t.Helper()
	timeout := time.After(patience)
	for {
		select {
		case ev := <-c.events:
			if ev.Type == typ {
				return ev
			}
		case err := <-c.runErr:
			t.Fatalf("client stopped while waiting for %s: %v", typ, err)
		case <-timeout:
			t.Fatalf("no %s event within %v", typ, patience)
		}
	}
}

// waitRunErr waits for RunContext to return.
func (c *client) waitRunErr(t *testing.T) error {
	t.Helper()
	select {
	case err := <-c.runErr:
		return err
	case <-time.After(patience):
		t.Fatalf("RunContext did not return within %v", patience)
		return nil
	}
}

// connected starts one client and waits until it has said hello.
func connected(t *testing.T, s *Server, o clientOpts) *client {
	t.Helper()
	c := startClient(t, s, o)
	c.waitEvent(t, socketmode.EventTypeHello)
	if err := s.WaitConnections(waitCtx(t), 1); err != nil {
		t.Fatalf("WaitConnections: %v", err)
	}
	return c
}

// quietFor fails the test if cond turns true during d: an observation
// window, not synchronisation.
func quietFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(d)
	tick := time.NewTicker(d / 20)
	defer tick.Stop()
	for {
		select {
		case <-deadline:
			return
		case <-tick.C:
			if cond() {
				t.Fatalf("%s within %v", what, d)
			}
		}
	}
}
