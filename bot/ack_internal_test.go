package bot

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/roomops/roombot/authz"
	"github.com/roomops/roombot/roomclient"
)

// wait bounds each wait in these tests.
const wait = 20 * time.Second

type noRooms struct{}

func (noRooms) List(context.Context, string) (*roomclient.List, error) { return nil, nil }
func (noRooms) Restart(context.Context, string, string) error          { return nil }

type noPolicy struct{}

func (noPolicy) Check(context.Context, string, authz.Permission) error { return authz.ErrNotAllowed }

// TestAckDoesNotBlockWithoutSocket: slack-go queues acks for a writer
// that runs only while a socket is open. Between connections the queue
// fills, and an ack that waited for room without end held the Socket
// Mode loop, which then saw neither the next event nor the signal to
// stop. Each ack gives up after ackTimeout instead.
func TestAckDoesNotBlockWithoutSocket(t *testing.T) {
	b, err := New(Config{
		API:   slack.New("xoxb-test", slack.OptionAppLevelToken("xapp-test")),
		Rooms: noRooms{}, Policy: noPolicy{},
	})
	if err != nil {
		t.Fatal(err)
	}
	// One more than slack-go's queue of 20 holds.
	const acks = 21
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range acks {
			b.ack(&socketmode.Request{EnvelopeID: fmt.Sprint("env-", i)}, nil)
		}
	}()
	select {
	case <-done:
	case <-time.After(acks*ackTimeout + wait):
		t.Fatalf("%d acks with no socket open did not return", acks)
	}
}
