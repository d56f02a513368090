package bot_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/roomops/roombot/bot"
	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/slacksim"
)

// TestNotifierPacesEachChannel: a burst of messages to one channel, as a
// busy room watch makes, goes out at about one a second after the first
// three, Slack's rate for chat.postMessage; a post to another channel
// meanwhile is not held back.
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
	// Once the burst allowance is spent, C1's next post waits a second.
	if _, err := s.WaitMessage(ctx, func(m slacksim.Message) bool {
		return m.Channel == "C1" && strings.Contains(m.Text, "event 2")
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Post(ctx, "C2", commands.Error("elsewhere")); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	var c1 []time.Time
	var c2 time.Time
	for _, c := range s.Calls("chat.postMessage") {
		switch c.Field("channel") {
		case "C1":
			c1 = append(c1, c.Time)
		case "C2":
			c2 = c.Time
		}
	}
	if len(c1) != burst {
		t.Fatalf("%d posts to C1 reached Slack, want %d", len(c1), burst)
	}
	if !c2.Before(c1[3]) {
		t.Errorf("C2's post went out at %v, after C1's fourth at %v: held back by C1", c2, c1[3])
	}
	// Three at once, then one a second: the fifth two seconds after the
	// first, less the limiter's slack.
	if span := c1[burst-1].Sub(c1[0]); span < 1900*time.Millisecond {
		t.Errorf("%d posts to C1 went out within %v, want at least 2s", burst, span)
	}
}

// TestNotifierBacksOffTogether: Slack rate-limits chat.postMessage for
// the workspace, not for one caller. After a 429 with Retry-After on a
// post to one channel, a post to another channel waits it out too; it
// used to go at once, and meet the same 429.
func TestNotifierBacksOffTogether(t *testing.T) {
	s := slacksim.NewServer(t, slacksim.Config{})
	api := slack.New(s.Config().BotToken, slack.OptionAPIURL(s.APIURL()),
		slack.OptionHTTPClient(bot.HTTPClient()))
	logs := &syncBuffer{}
	n := bot.NewNotifier(api, nil, slog.New(slog.NewJSONHandler(logs, nil)))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	s.FailNext("chat.postMessage", slacksim.Fault{
		Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	first := make(chan error, 1)
	go func() {
		_, err := n.Post(ctx, "C1", commands.Error("first"))
		first <- err
	}()
	calls, err := s.WaitCalls(ctx, "chat.postMessage", 1)
	if err != nil {
		t.Fatal(err)
	}
	limited := calls[0].Time
	// The stand-in records the 429 before it answers; the Notifier has it
	// once it logs it.
	waitLogged(t, ctx, logs, "slack rate limited")
	if _, err := n.Post(ctx, "C2", commands.Error("second")); err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}

	for _, c := range s.Calls("chat.postMessage")[1:] {
		if gap := c.Time.Sub(limited); gap < time.Second {
			t.Errorf("post to %s went out %v after the 429, want at least Retry-After (1s)",
				c.Field("channel"), gap)
		}
	}
}

// waitLogged waits for a log line whose msg is msg.
func waitLogged(t *testing.T, ctx context.Context, logs *syncBuffer, msg string) {
	t.Helper()
	for {
		text, changed := logs.next()
		for _, l := range parseLog(text) {
			if l.str("msg") == msg {
				return
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("no log line %q\nlogs:\n%s", msg, text)
		}
	}
}
