package bot_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/roomops/roombot/bot"
	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/slacksim"
)

// TestNotifierPacesEachChannel: a burst of messages to one channel, as a
// busy room watch makes, goes out at about one a second after the first
// three, Slack's rate for chat.postMessage; another channel is not held
// back by it.
func TestNotifierPacesEachChannel(t *testing.T) {
	s := slacksim.NewServer(t, slacksim.Config{})
	api := slack.New(s.Config().BotToken, slack.OptionAPIURL(s.APIURL()),
		slack.OptionHTTPClient(bot.HTTPClient()))
	n := bot.NewNotifier(api, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	const burst = 5
	done := make(chan error, 1)
	go func() {
		for i := range burst {
			if _, err := n.Post(ctx, "C1", commands.Error(fmt.Sprintf("event %d", i))); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	start := time.Now()
	if _, err := n.Post(ctx, "C2", commands.Error("elsewhere")); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("a post to C2 took %v while C1 was busy, want well under a second", took)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	var times []time.Time
	for _, c := range s.Calls("chat.postMessage") {
		if c.Field("channel") == "C1" {
			times = append(times, c.Time)
		}
	}
	if len(times) != burst {
		t.Fatalf("%d posts to C1 reached Slack, want %d", len(times), burst)
	}
	// Three at once, then one a second: the fifth two seconds after the
	// first, less the limiter's slack.
	if span := times[burst-1].Sub(times[0]); span < 1900*time.Millisecond {
		t.Errorf("%d posts to C1 went out within %v, want at least 2s", burst, span)
	}
}
