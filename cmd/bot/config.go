package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/redis/go-redis/v9"

	"github.com/roomops/roombot/authz"
	"github.com/roomops/roombot/authz/slackid"
	"github.com/roomops/roombot/roomclient"
	"github.com/roomops/roombot/watch"
)

// Config is roombot's configuration, read from the environment. The
// names are the ones DESIGN.md and the README document.
type Config struct {
	SlackAppToken secret   `envconfig:"SLACK_APP_TOKEN" desc:"app-level token xapp-… (Socket Mode)"`
	SlackBotToken secret   `envconfig:"SLACK_BOT_TOKEN" desc:"bot token xoxb-… (Web API)"`
	SlackAPIURL   endpoint `envconfig:"SLACK_API_URL" default:"https://slack.com/api/" desc:"Slack Web API base"`

	RoomURL endpoint `envconfig:"MESHAGENT_ROOM_URL" default:"wss://api.meshagent.com" desc:"room websocket base"`
	APIKey  secret   `envconfig:"MESHAGENT_API_KEY" desc:"project API key ma-…; a short-lived token is minted per room"`
	Token   secret   `envconfig:"MESHAGENT_TOKEN" desc:"a ready participant token, instead of MESHAGENT_API_KEY"`

	AllowedUsers  string   `envconfig:"ROOMBOT_ALLOWED_USERS" desc:"Slack user (U…/W…) or group (S…) ids that may list and status"`
	RestartUsers  string   `envconfig:"ROOMBOT_RESTART_USERS" desc:"ids or groups that may also restart, watch and unwatch"`
	NotifyChannel string   `envconfig:"ROOMBOT_NOTIFY_CHANNEL" desc:"channel id for restart notifications (default: where asked)"`
	SigningKey    secret   `envconfig:"ROOMBOT_SIGNING_KEY" desc:"key for confirmation tokens; the same on every replica"`
	ConfirmTTL    duration `envconfig:"ROOMBOT_CONFIRM_TTL" default:"10m" desc:"how long a confirmation card stays valid"`
	HTTPAddr      string   `envconfig:"ROOMBOT_HTTP_ADDR" default:":8080" desc:"address of /healthz, /readyz and /metrics"`
	Watch         string   `envconfig:"ROOMBOT_WATCH" desc:"room=channel pairs watched for restarts nobody asked for"`
	WatchInterval duration `envconfig:"ROOMBOT_WATCH_INTERVAL" default:"15s" desc:"how often a watched room is polled"`
	RedisURL      secret   `envconfig:"ROOMBOT_REDIS_URL" desc:"redis:// URL for claims shared by replicas"`
	Drain         duration `envconfig:"ROOMBOT_DRAIN_TIMEOUT" default:"30s" desc:"how long shutdown waits for restarts in flight"`
	Recovery      duration `envconfig:"ROOMBOT_RECOVERY_TIMEOUT" default:"5m" desc:"how long a restarted service may take to run again"`
	LogLevel      string   `envconfig:"ROOMBOT_LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat     string   `envconfig:"ROOMBOT_LOG_FORMAT" default:"json" desc:"json or text"`

	// Parsed by check.
	viewers, restarters []string
	watches             []watch.Pair
	level               slog.Level
}

// A duration is a configured time.Duration. Text that is no duration is
// kept for check rather than failing the read: envconfig stops at its
// first error, and check reports every problem at once, in an operator's
// words rather than Go's.
type duration struct {
	time.Duration
	invalid bool   // the text did not parse
	text    string // the text, when invalid
}

// Decode implements envconfig.Decoder.
func (d *duration) Decode(v string) error {
	parsed, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		*d = duration{invalid: true, text: v}
		return nil
	}
	*d = duration{Duration: parsed}
	return nil
}

// checkRange reports a duration that did not parse or lies outside
// [lo, hi]; hi zero means no upper bound.
func (d duration) checkRange(add func(string, ...any), name string, lo, hi time.Duration) {
	switch {
	case d.invalid && strings.TrimSpace(d.text) == "":
		add("%s: set but empty; leave it unset for the default, or write it like 30s", name)
	case d.invalid:
		add("%s: %q is not a duration; write it like 30s, 10m or 1h", name, d.text)
	case d.Duration < lo || hi > 0 && d.Duration > hi:
		if hi == 0 {
			add("%s: %s is too short (at least %s)", name, short(d.Duration), short(lo))
			return
		}
		add("%s: %s is out of range (%s to %s)", name, short(d.Duration), short(lo), short(hi))
	}
}

// short writes a duration without its zero minutes and seconds: 24h and
// 10m, not 24h0m0s and 10m0s.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// A secret is a configuration value that must never be shown: it prints,
// logs and marshals as *** however it is formatted.
type secret string

func (secret) String() string               { return "***" }
func (secret) GoString() string             { return "***" }
func (secret) LogValue() slog.Value         { return slog.StringValue("***") }
func (secret) MarshalText() ([]byte, error) { return []byte("***"), nil }
func (s secret) set() bool                  { return s != "" }
func (s secret) reveal() string             { return string(s) }

// An endpoint is a configured URL. A proxy's basic auth may ride in it, so
// it prints, logs and marshals with any password masked, as url.Redacted
// writes it.
type endpoint string

func (e endpoint) String() string               { return redactURL(string(e)) }
func (e endpoint) GoString() string             { return strconv.Quote(e.String()) }
func (e endpoint) LogValue() slog.Value         { return slog.StringValue(e.String()) }
func (e endpoint) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Its parts cannot be told apart, so none of it is shown.
		return "(not a URL)"
	}
	return u.Redacted()
}

// urlProblem says what keeps raw from being a base URL with one of
// schemes, named by kinds ("an http or https"), in words that quote it
// with any password masked; "" if nothing.
func urlProblem(raw, kinds string, schemes ...string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Without its parts, a password cannot be told from the rest:
		// the text is shown only when it holds no user part at all.
		shown := ""
		if !strings.Contains(raw, "@") {
			shown = strconv.Quote(raw) + " "
		}
		return fmt.Sprintf("%sis not a URL; write it like %s://host", shown, schemes[0])
	}
	shown := strconv.Quote(raw)
	if _, hasPW := u.User.Password(); hasPW {
		shown = strconv.Quote(u.Redacted())
	}
	switch {
	case !slices.Contains(schemes, u.Scheme):
		return fmt.Sprintf("%s is not %s URL", shown, kinds)
	case u.Host == "":
		return shown + " has no host"
	case u.RawQuery != "" || u.Fragment != "":
		return shown + " must not have a query"
	}
	return ""
}

// roomURLProblem checks a MESHAGENT_ROOM_URL. The room takes a bearer
// token, so a user or password in the URL is a credential in the wrong
// place, and one that would reach logs and error messages.
func roomURLProblem(raw string) string {
	if p := urlProblem(raw, "a ws, wss, http or https", "wss", "ws", "http", "https"); p != "" {
		return p
	}
	if u, _ := url.Parse(raw); u.User != nil {
		return strconv.Quote(u.Redacted()) + " must not hold a user or password; " +
			"the credential goes in MESHAGENT_API_KEY or MESHAGENT_TOKEN"
	}
	return ""
}

// LogValue shows the configuration in logs: secrets say only whether they
// are set, durations read as durations.
func (c *Config) LogValue() slog.Value {
	isSet := func(s secret) string {
		if s.set() {
			return "***"
		}
		return ""
	}
	return slog.GroupValue(
		slog.String("SLACK_APP_TOKEN", isSet(c.SlackAppToken)),
		slog.String("SLACK_BOT_TOKEN", isSet(c.SlackBotToken)),
		slog.String("SLACK_API_URL", c.SlackAPIURL.String()),
		slog.String("MESHAGENT_ROOM_URL", c.RoomURL.String()),
		slog.String("MESHAGENT_API_KEY", isSet(c.APIKey)),
		slog.String("MESHAGENT_TOKEN", isSet(c.Token)),
		slog.Any("ROOMBOT_ALLOWED_USERS", c.viewers),
		slog.Any("ROOMBOT_RESTART_USERS", c.restarters),
		slog.String("ROOMBOT_NOTIFY_CHANNEL", c.NotifyChannel),
		slog.String("ROOMBOT_SIGNING_KEY", isSet(c.SigningKey)),
		slog.String("ROOMBOT_CONFIRM_TTL", c.ConfirmTTL.String()),
		slog.String("ROOMBOT_HTTP_ADDR", c.HTTPAddr),
		slog.String("ROOMBOT_WATCH", c.Watch),
		slog.String("ROOMBOT_WATCH_INTERVAL", c.WatchInterval.String()),
		slog.String("ROOMBOT_REDIS_URL", isSet(c.RedisURL)),
		slog.String("ROOMBOT_DRAIN_TIMEOUT", c.Drain.String()),
		slog.String("ROOMBOT_RECOVERY_TIMEOUT", c.Recovery.String()),
		slog.String("ROOMBOT_LOG_LEVEL", c.LogLevel),
		slog.String("ROOMBOT_LOG_FORMAT", c.LogFormat),
	)
}

// defaultConfig returns a configuration holding only the documented
// defaults, as the struct tags give them, for callers that do not read the
// environment (the demo). Fields with defaults are strings and durations.
func defaultConfig() *Config {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	for i, f := range reflect.VisibleFields(v.Type()) {
		def, ok := f.Tag.Lookup("default")
		if !ok {
			continue
		}
		switch fv := v.Field(i); fv.Interface().(type) {
		case duration:
			d, err := time.ParseDuration(def)
			if err != nil {
				panic(fmt.Sprintf("config field %s: bad default %q", f.Name, def))
			}
			fv.Set(reflect.ValueOf(duration{Duration: d}))
		default:
			fv.SetString(def)
		}
	}
	return &c
}

// loadConfig reads the environment and checks it. demo relaxes the Slack
// and room settings, which the demo provides itself.
func loadConfig() (*Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s: cannot read %q as a %s", pe.KeyName, pe.Value, pe.TypeName)
		}
		return nil, err
	}
	return &c, nil
}

// check validates every setting at once and reports each problem on its
// own line, naming the variable, so one start fixes them all.
func (c *Config) check(demo bool) error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if !demo {
		c.checkSlack(add)
		c.checkRoom(add)
	}
	var err error
	if c.viewers, err = authz.ParseIDs("ROOMBOT_ALLOWED_USERS", c.AllowedUsers); err != nil {
		errs = append(errs, err)
	}
	if c.restarters, err = authz.ParseIDs("ROOMBOT_RESTART_USERS", c.RestartUsers); err != nil {
		errs = append(errs, err)
	}
	if c.watches, err = watch.ParsePairs("ROOMBOT_WATCH", c.Watch); err != nil {
		errs = append(errs, err)
	}
	if c.NotifyChannel != "" && !slackid.IsChannel(c.NotifyChannel) {
		add("ROOMBOT_NOTIFY_CHANNEL: %q is not a channel id (like C0123ABCD); copy it from the channel's details", c.NotifyChannel)
	}
	c.ConfirmTTL.checkRange(add, "ROOMBOT_CONFIRM_TTL", 10*time.Second, 24*time.Hour)
	c.Drain.checkRange(add, "ROOMBOT_DRAIN_TIMEOUT", time.Second, 10*time.Minute)
	// A restarted service counts as back once it has run 10 s in its new
	// container (bot.Config.RecoverySteady); a shorter wait than about
	// 30 s would call most good restarts not back.
	c.Recovery.checkRange(add, "ROOMBOT_RECOVERY_TIMEOUT", 30*time.Second, time.Hour)
	c.WatchInterval.checkRange(add, "ROOMBOT_WATCH_INTERVAL", time.Second, 0)
	if p := addrProblem(c.HTTPAddr); p != "" {
		add("ROOMBOT_HTTP_ADDR: %q %s", c.HTTPAddr, p)
	}
	if c.RedisURL.set() {
		// ParseURL's error may quote the URL, password and all.
		if _, err := redis.ParseURL(c.RedisURL.reveal()); err != nil {
			add("ROOMBOT_REDIS_URL: not a redis:// or rediss:// URL")
		}
	}
	if c.RedisURL.set() && len(c.SigningKey) < 16 {
		add("ROOMBOT_SIGNING_KEY: with ROOMBOT_REDIS_URL set (several replicas), a shared key of at least 16 characters is required")
	} else if c.SigningKey.set() && len(c.SigningKey) < 16 {
		add("ROOMBOT_SIGNING_KEY: too short (at least 16 characters)")
	}
	if err := c.level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		add("ROOMBOT_LOG_LEVEL: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	if f := strings.ToLower(c.LogFormat); f != "json" && f != "text" {
		add("ROOMBOT_LOG_FORMAT: %q is not json or text", c.LogFormat)
	}
	return errors.Join(errs...)
}

// addrProblem says what keeps addr from being an address to listen on,
// host:port, so that it is reported with the rest rather than alone when
// the bot tries it; "" if nothing.
func addrProblem(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "is not host:port (like :8080 or 127.0.0.1:8080)"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "needs a port from 0 to 65535 after the colon"
	}
	if host != "" && net.ParseIP(host) == nil && !hostName.MatchString(host) {
		return "is not an IP address or host name"
	}
	return ""
}

// hostName matches a DNS name that is not all digits and dots, which
// would be an IP address, and one out of range if ParseIP refused it.
var hostName = regexp.MustCompile(`^(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]*[A-Za-z-][A-Za-z0-9-]*\.?$`)

func (c *Config) checkSlack(add func(string, ...any)) {
	switch {
	case !c.SlackAppToken.set():
		add("SLACK_APP_TOKEN: not set; create an app-level token (xapp-…) with connections:write")
	case !strings.HasPrefix(c.SlackAppToken.reveal(), "xapp-"):
		add("SLACK_APP_TOKEN: not an app-level token (it must start with xapp-)")
	}
	switch {
	case !c.SlackBotToken.set():
		add("SLACK_BOT_TOKEN: not set; install the app and copy its bot token (xoxb-…)")
	case !strings.HasPrefix(c.SlackBotToken.reveal(), "xoxb-"):
		add("SLACK_BOT_TOKEN: not a bot token (it must start with xoxb-)")
	}
	if p := urlProblem(string(c.SlackAPIURL), "an http or https", "https", "http"); p != "" {
		add("SLACK_API_URL: %s", p)
	}
	// slack-go appends method names to the base as they are.
	if !strings.HasSuffix(string(c.SlackAPIURL), "/") {
		c.SlackAPIURL += "/"
	}
}

func (c *Config) checkRoom(add func(string, ...any)) {
	if p := roomURLProblem(string(c.RoomURL)); p != "" {
		add("MESHAGENT_ROOM_URL: %s", p)
	}
	switch {
	case c.APIKey.set() && c.Token.set():
		add("MESHAGENT_API_KEY and MESHAGENT_TOKEN: set only one of them")
	case !c.APIKey.set() && !c.Token.set():
		add("MESHAGENT_API_KEY or MESHAGENT_TOKEN: set one (a project API key ma-… is best)")
	case c.APIKey.set() && !strings.HasPrefix(c.APIKey.reveal(), "ma-"):
		add("MESHAGENT_API_KEY: not a project API key (it must start with ma-)")
	case c.APIKey.set():
		if err := roomclient.CheckAPIKey(c.APIKey.reveal()); err != nil {
			add("MESHAGENT_API_KEY: %v", err)
		}
	}
}
