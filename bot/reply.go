package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/roomops/roombot/commands"
)

// replyTo is where an answer to one user goes: the response_url of the
// command or click, and the channel and user for the fallback.
type replyTo struct {
	url     string
	channel string
	user    string
}

// Rate-limit handling: Slack's Retry-After is honoured, but a reply that
// would wait longer than maxRetryWait, or past its deadline, or a third
// time, is given up.
const (
	maxAttempts  = 3
	maxRetryWait = 30 * time.Second
)

// respond posts m to the user through the response_url, replacing the
// message the click came from when replace is set. A response_url lasts
// 30 minutes and 5 uses; when Slack says it is spent, the answer goes as
// an ephemeral message instead. A 5xx is not retried: the post may have
// landed, and a duplicate is worse than a log line.
func (b *Bot) respond(ctx context.Context, log *slog.Logger, to replyTo, m commands.Message, replace bool) {
	// The answer is owed even when the work's deadline has passed.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.SlackTimeout)
	defer cancel()

	// Encoding the reply is the costliest part of it: it runs in the
	// command's CPU turn, which the transport gives back.
	ctx, turn := b.cpu.withTurn(ctx)
	turn.take(ctx)
	defer turn.done()

	hook := slack.MsgOptionResponseURL(to.url, slack.ResponseTypeEphemeral)
	if replace {
		hook = slack.MsgOptionReplaceOriginal(to.url)
	}
	err := errors.New("no response_url")
	if to.url != "" {
		err = retryLimited(ctx, log, b.met, "response_url", func() error {
			_, _, err := b.api.PostMessageContext(ctx, to.channel, messageOptions(m, hook)...)
			return err
		})
	}
	if err == nil {
		b.checkTransport(turn)
		return
	}
	turn.done()
	if !undelivered(err) || to.channel == "" || to.user == "" {
		log.Warn("reply not delivered", "err", hideURL(err))
		return
	}
	err = retryLimited(ctx, log, b.met, "chat.postEphemeral", func() error {
		_, err := b.api.PostEphemeralContext(ctx, to.channel, to.user, messageOptions(m)...)
		return err
	})
	if err != nil {
		log.Warn("reply not delivered", "err", err, "fallback", "chat.postEphemeral")
	}
}

// checkTransport warns, once, when a reply went out without passing
// through HTTPClient's transport: every reply then holds the CPU gate
// for its whole round trip to Slack, and replies queue behind each other.
func (b *Bot) checkTransport(turn *cpuTurn) {
	if turn.bypassed() {
		b.bypass.Do(func() {
			b.log.Warn("bot.Config.API was not made with bot.HTTPClient; replies will queue")
		})
	}
}

func messageOptions(m commands.Message, extra ...slack.MsgOption) []slack.MsgOption {
	// Message text is escaped by the renderer already; slack-go's own
	// escaping would double it. parse=none keeps Slack from turning
	// words of the text into mentions or links; response_url posts have
	// no such field, and slack-go leaves it out of them.
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false), slack.MsgOptionParse(false)}
	if len(m.Blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(m.Blocks...))
	}
	return append(opts, extra...)
}

// hideURL takes the URL out of an error of Go's HTTP client, which names
// the URL it failed on: a response_url lets whoever holds it post to the
// user for half an hour, so it stays out of the logs.
func hideURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s response_url: %w", ue.Op, ue.Err)
	}
	return err
}

// undelivered reports whether err proves Slack did not take the message,
// so that sending it another way cannot duplicate it: Slack's own error
// answer, a 4xx, or a 429 whose Retry-After was too long to wait out.
func undelivered(err error) bool {
	var (
		se slack.SlackErrorResponse
		sc slack.StatusCodeError
		rl *slack.RateLimitedError
	)
	switch {
	case errors.As(err, &se), errors.As(err, &rl):
		return true
	case errors.As(err, &sc):
		return sc.Code >= 400 && sc.Code < 500
	}
	return false
}

// retryLimited calls f again after each 429, waiting Retry-After, at most
// maxAttempts times in all. Other errors are returned at once.
func retryLimited(ctx context.Context, log *slog.Logger, met *Metrics, method string, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) {
			return err
		}
		met.limited(method)
		wait := max(rl.RetryAfter, 100*time.Millisecond)
		if attempt == maxAttempts || wait > maxRetryWait || !leaves(ctx, wait) {
			return err
		}
		log.Warn("slack rate limited", "method", method,
			"retry_after", rl.RetryAfter, "attempt", attempt)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

// leaves reports whether ctx leaves more than d before its deadline: a
// wait that outlasts it would only end in the same error, later.
func leaves(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > d
}

// A Notifier posts and edits channel messages, at most about one a second
// per channel: Slack's own limit for chat.postMessage, past which it
// answers 429 or drops messages. The bot's restart notifications and the
// room watch share one, so together they keep to that limit; and when
// Slack answers one of them 429, every post of that method waits out the
// Retry-After, since Slack counts a method's calls for the whole
// workspace, not for one channel.
type Notifier struct {
	api *slack.Client
	met *Metrics
	log *slog.Logger
	now func() time.Time // for forgetting idle channels

	// mu guards limits, sweepAt and paused.
	mu      sync.Mutex
	limits  map[string]*channelLimit
	sweepAt time.Time
	paused  map[string]time.Time // method → when Slack lets it go again
}

// A channelLimit paces the messages of one channel.
type channelLimit struct {
	*rate.Limiter
	used time.Time
}

// Each channel may post a burst of limitBurst, then one a second.
const limitBurst = 3

// limiterIdle is how long a channel's limiter is kept unused. It is far
// past the few seconds it takes to refill, after which it is the same as
// a new one.
const limiterIdle = time.Minute

// NewNotifier returns a Notifier posting with api. met and log may be nil.
func NewNotifier(api *slack.Client, met *Metrics, log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notifier{api: api, met: met, log: log, now: time.Now,
		limits: make(map[string]*channelLimit), paused: make(map[string]time.Time)}
}

func (n *Notifier) limiter(channel string) *rate.Limiter {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.now()
	n.sweepLocked(now)
	l, ok := n.limits[channel]
	if !ok {
		l = &channelLimit{Limiter: rate.NewLimiter(rate.Every(time.Second), limitBurst)}
		n.limits[channel] = l
	}
	l.used = now
	return l.Limiter
}

// sweepLocked forgets, once a limiterIdle, the limiters unused that long
// and full again; one with messages still waiting on it is kept.
func (n *Notifier) sweepLocked(now time.Time) {
	if now.Before(n.sweepAt) {
		return
	}
	n.sweepAt = now.Add(limiterIdle)
	for ch, l := range n.limits {
		if now.Sub(l.used) > limiterIdle && l.Tokens() >= limitBurst {
			delete(n.limits, ch)
		}
	}
}

// Post sends m to channel and returns the message's ts.
func (n *Notifier) Post(ctx context.Context, channel string, m commands.Message) (string, error) {
	if err := n.limiter(channel).Wait(ctx); err != nil {
		return "", err
	}
	var ts string
	err := n.call(ctx, "chat.postMessage", func() error {
		var err error
		_, ts, err = n.api.PostMessageContext(ctx, channel, messageOptions(m)...)
		return err
	})
	return ts, err
}

// Update replaces the message at ts in channel with m.
func (n *Notifier) Update(ctx context.Context, channel, ts string, m commands.Message) error {
	if err := n.limiter(channel).Wait(ctx); err != nil {
		return err
	}
	return n.call(ctx, "chat.update", func() error {
		_, _, _, err := n.api.UpdateMessageContext(ctx, channel, ts, messageOptions(m)...)
		return err
	})
}

// call makes one call of method with f, after any pause Slack asked of
// the method, retrying on 429 as retryLimited does. A 429 pauses every
// call of the method, not only this one.
func (n *Notifier) call(ctx context.Context, method string, f func() error) error {
	return retryLimited(ctx, n.log, n.met, method, func() error {
		if err := n.waitPause(ctx, method); err != nil {
			return err
		}
		err := f()
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) {
			n.pause(method, rl.RetryAfter)
		}
		return err
	})
}

// pause holds every call of method for d. Slack's Retry-After counts in
// real time, whatever clock the Notifier reads for its channels.
func (n *Notifier) pause(method string, d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if until := time.Now().Add(d); until.After(n.paused[method]) {
		n.paused[method] = until
	}
}

// waitPause waits until method may be called again, or ctx is done.
func (n *Notifier) waitPause(ctx context.Context, method string) error {
	n.mu.Lock()
	d := time.Until(n.paused[method])
	n.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
