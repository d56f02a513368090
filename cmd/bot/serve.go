package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"golang.org/x/sync/errgroup"

	"github.com/roomops/roombot/authz"
	"github.com/roomops/roombot/bot"
	"github.com/roomops/roombot/claims"
	"github.com/roomops/roombot/roomclient"
	"github.com/roomops/roombot/watch"
)

func newLogger(c *Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.level}
	if strings.EqualFold(c.LogFormat, "text") {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// serveOptions adjust serve for the demo and tests.
type serveOptions struct {
	socket  []socketmode.Option
	botConf func(*bot.Config)
	ready   chan<- string // receives the HTTP address once listening
}

// serve runs the bot until ctx is done: Socket Mode, the room client, the
// claim store and the operator HTTP endpoints. It returns nil after a
// clean drain.
func serve(ctx context.Context, c *Config, log *slog.Logger, o serveOptions) error {
	api := slack.New(c.SlackBotToken.reveal(),
		slack.OptionAppLevelToken(c.SlackAppToken.reveal()),
		slack.OptionAPIURL(string(c.SlackAPIURL)),
		slack.OptionHTTPClient(bot.HTTPClient()))

	rooms, err := roomclient.New(roomclient.Config{
		URL: string(c.RoomURL), Token: c.Token.reveal(), APIKey: c.APIKey.reveal(),
		Logger: log.With("component", "roomclient"),
	})
	if err != nil {
		return err
	}
	defer rooms.Close()

	policy, err := authz.New(c.viewers, c.restarters, api)
	if err != nil {
		return err
	}
	if policy.Empty() {
		log.Warn("nobody may use roombot: ROOMBOT_ALLOWED_USERS and ROOMBOT_RESTART_USERS are empty")
	}

	st, err := openStores(c, log)
	if err != nil {
		return err
	}
	defer st.close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	met := bot.NewMetrics(reg)
	notifier := bot.NewNotifier(api, met, log)
	watcher := watch.New(watch.Config{
		Lister: rooms, Poster: notifier,
		Claims: st.claims, Pairs: st.pairs, State: st.state,
		Configured: c.watches, Interval: c.WatchInterval.Duration,
		Logger: log.With("component", "watch"),
	})
	bc := bot.Config{
		API: api, SocketOptions: o.socket,
		Rooms: rooms, Policy: policy, Claims: st.claims,
		Notifier: notifier, Watcher: watcher,
		SigningKey: []byte(c.SigningKey.reveal()), ConfirmTTL: c.ConfirmTTL.Duration,
		NotifyChannel: c.NotifyChannel,
		DrainTimeout:  c.Drain.Duration, RecoveryTimeout: c.Recovery.Duration,
		Logger: log, Metrics: met,
	}
	if o.botConf != nil {
		o.botConf(&bc)
	}
	b, err := bot.New(bc)
	if err != nil {
		return err
	}

	httpCtx, stopHTTP := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHTTP()
	addr, waitHTTP, err := serveHTTP(httpCtx, log, c.HTTPAddr, newMux(b, reg))
	if err != nil {
		return fmt.Errorf("ROOMBOT_HTTP_ADDR %q: %w", c.HTTPAddr, err)
	}
	if o.ready != nil {
		o.ready <- addr
	}

	// The HTTP endpoints stay up while the bot drains, so probes see it
	// go unready rather than vanish; they stop once the bot has.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer stopHTTP()
		return b.Run(gctx)
	})
	g.Go(func() error { return watcher.Run(gctx) })
	g.Go(func() error {
		resolveGroups(gctx, policy, log)
		return nil
	})
	g.Go(waitHTTP)
	return g.Wait()
}

// resolveGroups asks Slack once at start for the members of the user
// groups the allow-lists name, so that a group it will not resolve shows
// in the log at once, not when a member is first refused. The bot runs
// regardless: Slack may only be slow, and each check asks again. A token
// Slack refuses is left to the bot's own check, which names it and ends
// the process.
func resolveGroups(ctx context.Context, policy *authz.Policy, log *slog.Logger) {
	err := policy.Resolve(ctx)
	var se slack.SlackErrorResponse
	if err == nil || ctx.Err() != nil ||
		errors.As(err, &se) && slices.Contains(refusedTokens, se.Err) {
		return
	}
	log.Warn("user groups not resolved", "err", err,
		"effect", "users the lists do not name are told the allow-list could not be checked until Slack resolves them",
		"hint", "check the group ids, and that the app has usergroups:read")
}

// refusedTokens are Slack's errors for a token it will not take.
var refusedTokens = []string{"invalid_auth", "not_authed", "token_revoked",
	"token_expired", "account_inactive"}

// stores are what replicas share: claims, the watched rooms and the
// rooms' watch state.
type stores struct {
	claims claims.Store
	pairs  watch.PairStore
	state  watch.StateStore
	close  func()
}

// openStores returns the stores: in memory, or sharing one Redis client
// when ROOMBOT_REDIS_URL is set.
func openStores(c *Config, log *slog.Logger) (stores, error) {
	if !c.RedisURL.set() {
		return stores{claims: claims.NewMemory(nil), pairs: watch.NewMemoryPairs(),
			state: watch.NewMemoryState(nil), close: func() {}}, nil
	}
	// go-redis prints its own notes to stderr, one per failed dial while
	// Redis is down; they go to the bot's log at debug instead, since the
	// bot reports Redis being unreachable itself. The logger is global to
	// go-redis: one process serves one bot, so the last one set is its.
	redis.SetLogger(redisLog{log.With("component", "redis")})
	const prefix = "roombot:"
	r, err := claims.OpenRedis(c.RedisURL.reveal(), prefix)
	if err != nil {
		return stores{}, err
	}
	// The watch state shares the claims' prefix: its saves are refused
	// to a replica whose lease on the room has passed to another.
	return stores{claims: r, pairs: watch.NewRedisPairs(r.Client(), prefix),
		state: watch.NewRedisState(r.Client(), prefix),
		close: func() { r.Close() }}, nil
}

// redisLog is go-redis's logger, writing to the bot's.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, args ...any) {
	l.log.DebugContext(ctx, "redis client", "detail", fmt.Sprintf(format, args...))
}
