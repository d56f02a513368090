package slacksim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"
)

func botAPI(s *Server) *slack.Client {
	return slack.New(s.Config().BotToken, slack.OptionAPIURL(s.APIURL()))
}

func post(api *slack.Client, channel string, i int) error {
	_, _, err := api.PostMessageContext(context.Background(), channel,
		slack.MsgOptionText(fmt.Sprint("message ", i), false))
	return err
}

// A burst of posts to one channel gets Slack's answer once its burst is
// spent: 429 with Retry-After, the message not posted, and a violation.
// Another channel is not held back. The stand-in used to take any number.
func TestPostMessageIsLimitedPerChannel(t *testing.T) {
	// A slow refill keeps the test off the clock.
	s := NewServer(t, Config{PostRate: rate.Every(time.Minute), PostBurst: 3})
	api := botAPI(s)
	for i := range 3 {
		if err := post(api, "C1", i); err != nil {
			t.Fatalf("post %d of a burst of 3: %v", i, err)
		}
	}
	err := post(api, "C1", 3)
	rl, ok := errors.AsType[*slack.RateLimitedError](err)
	if !ok || rl.RetryAfter != time.Minute {
		t.Errorf("4th post at once = %v, want *slack.RateLimitedError after 1m", err)
	}
	if err := post(api, "C2", 0); err != nil {
		t.Errorf("post to another channel = %v, want it taken", err)
	}

	if n := len(s.Messages("C1")); n != 3 {
		t.Errorf("C1 shows %d messages, want the 3 taken", n)
	}
	calls := s.Calls("chat.postMessage")
	if last := calls[3]; last.Status != http.StatusTooManyRequests || last.Error != "ratelimited" {
		t.Errorf("4th call recorded as %d %q, want 429 ratelimited", last.Status, last.Error)
	}
	v := fmt.Sprint(s.Violations())
	if len(s.Violations()) != 1 || !strings.Contains(v, "C1") {
		t.Errorf("Violations() = %s, want one, for C1", v)
	}
}

// chat.update has no per-channel rate (it is Tier 3, counted per
// workspace), and a test that posts in bursts on purpose turns the
// limit off.
func TestUpdatesAndUnlimitedPosts(t *testing.T) {
	s := NewServer(t, Config{PostRate: rate.Inf})
	api := botAPI(s)
	for i := range 20 {
		if err := post(api, "C1", i); err != nil {
			t.Fatalf("post %d with the limit off: %v", i, err)
		}
	}
	ts := s.Messages("C1")[0].TS
	for i := range 20 {
		_, _, _, err := api.UpdateMessageContext(context.Background(), "C1", ts,
			slack.MsgOptionText(fmt.Sprint("version ", i), false))
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	if v := s.Violations(); len(v) != 0 {
		t.Errorf("Violations() = %v, want none", v)
	}
}

// The default limit is on: Slack's one a second with a short burst.
func TestPostMessageLimitIsOnByDefault(t *testing.T) {
	s := NewServer(t, Config{})
	api := botAPI(s)
	var err error
	for i := 0; err == nil && i < 20; i++ {
		err = post(api, "C1", i)
	}
	if _, ok := errors.AsType[*slack.RateLimitedError](err); !ok {
		t.Errorf("20 posts at once to one channel all taken; want a 429 past the burst")
	}
	// A second may pass while the posts go, and let one more through.
	if n := len(s.Messages("C1")); n < defaultPostBurst || n > defaultPostBurst+1 {
		t.Errorf("C1 shows %d messages, want the default burst of %d", n, defaultPostBurst)
	}
}
