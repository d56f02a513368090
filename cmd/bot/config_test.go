package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/roomops/roombot/roomclient/roomtest"
)

// A complete, valid production environment. Tests change one variable at
// a time from it.
var goodEnv = map[string]string{
	"SLACK_APP_TOKEN":       "xapp-1-A0APP0001-secretapp",
	"SLACK_BOT_TOKEN":       "xoxb-1111-secretbot",
	"MESHAGENT_API_KEY":     roomtest.APIKey("secretkey"),
	"ROOMBOT_ALLOWED_USERS": "U0VERA001",
	"ROOMBOT_RESTART_USERS": "U0ALICE01, S0OPS0001",
}

// setEnv clears every variable the bot reads, then sets env over goodEnv.
// Config comes from the process environment (envconfig), so these tests
// cannot run in parallel.
func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, k := range configVars() {
		// Setenv restores the variable afterwards; Unsetenv then makes it
		// absent, since envconfig reads a set but empty one as "".
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for k, v := range goodEnv {
		t.Setenv(k, v)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func configVars() []string {
	return []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_API_URL",
		"MESHAGENT_ROOM_URL", "MESHAGENT_API_KEY", "MESHAGENT_TOKEN",
		"ROOMBOT_ALLOWED_USERS", "ROOMBOT_RESTART_USERS", "ROOMBOT_NOTIFY_CHANNEL",
		"ROOMBOT_SIGNING_KEY", "ROOMBOT_CONFIRM_TTL", "ROOMBOT_HTTP_ADDR",
		"ROOMBOT_WATCH", "ROOMBOT_WATCH_INTERVAL", "ROOMBOT_REDIS_URL",
		"ROOMBOT_DRAIN_TIMEOUT", "ROOMBOT_RECOVERY_TIMEOUT",
		"ROOMBOT_LOG_LEVEL", "ROOMBOT_LOG_FORMAT"}
}

func loadChecked(t *testing.T) (*Config, error) {
	t.Helper()
	c, err := loadConfig()
	if err != nil {
		return nil, err
	}
	return c, c.check(false)
}

func TestConfigGood(t *testing.T) {
	setEnv(t, nil)
	c, err := loadChecked(t)
	if err != nil {
		t.Fatalf("good environment refused: %v", err)
	}
	if c.SlackAPIURL != "https://slack.com/api/" || c.HTTPAddr != ":8080" {
		t.Errorf("defaults: SLACK_API_URL %q, ROOMBOT_HTTP_ADDR %q", c.SlackAPIURL, c.HTTPAddr)
	}
	if got := fmt.Sprint(c.restarters); got != "[U0ALICE01 S0OPS0001]" {
		t.Errorf("restarters = %s, want [U0ALICE01 S0OPS0001]", got)
	}
}

// TestLogFormats: ROOMBOT_LOG_FORMAT picks JSON or text, in any case,
// and ROOMBOT_LOG_LEVEL drops what is below it.
func TestLogFormats(t *testing.T) {
	const (
		jsonInfo  = `{"time":"T","level":"INFO","msg":"room listed","room":"lobby"}`
		jsonWarn  = `{"time":"T","level":"WARN","msg":"room slow","room":"lobby"}`
		jsonError = `{"time":"T","level":"ERROR","msg":"room down","room":"lobby"}`
		textInfo  = `time=T level=INFO msg="room listed" room=lobby`
		textWarn  = `time=T level=WARN msg="room slow" room=lobby`
		textError = `time=T level=ERROR msg="room down" room=lobby`
	)
	tests := []struct {
		format, level string
		want          []string
	}{
		{"", "", []string{jsonInfo, jsonWarn, jsonError}},
		{"JSON", "warn", []string{jsonWarn, jsonError}},
		{"text", "", []string{textInfo, textWarn, textError}},
		{"Text", "warn", []string{textWarn, textError}},
		{"TEXT", "error", []string{textError}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("format=%q level=%q", tt.format, tt.level), func(t *testing.T) {
			env := map[string]string{}
			if tt.format != "" {
				env["ROOMBOT_LOG_FORMAT"] = tt.format
			}
			if tt.level != "" {
				env["ROOMBOT_LOG_LEVEL"] = tt.level
			}
			setEnv(t, env)
			c, err := loadChecked(t)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			log := newLogger(c, &buf)
			log.Debug("room dialled", "room", "lobby")
			log.Info("room listed", "room", "lobby")
			log.Warn("room slow", "room", "lobby")
			log.Error("room down", "room", "lobby")
			out := strings.TrimSpace(timeField.ReplaceAllString(buf.String(), "${1}T"))
			if want := strings.Join(tt.want, "\n"); out != want {
				t.Errorf("logged:\n%s\nwant:\n%s", out, want)
			}
		})
	}
}

// timeField matches the time of a JSON or text log line.
var timeField = regexp.MustCompile(`("time":"|time=)[^" ]+`)

// TestConfigErrors checks that each bad setting is refused with a message
// naming its variable.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string // must appear in the error
	}{
		{"no app token", map[string]string{"SLACK_APP_TOKEN": ""}, "SLACK_APP_TOKEN: not set"},
		{"bot token as app token", map[string]string{"SLACK_APP_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN: not an app-level token"},
		{"no bot token", map[string]string{"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN: not set"},
		{"user token as bot token", map[string]string{"SLACK_BOT_TOKEN": "xoxp-1"}, "SLACK_BOT_TOKEN: not a bot token"},
		{"neither room credential", map[string]string{"MESHAGENT_API_KEY": ""}, "MESHAGENT_API_KEY or MESHAGENT_TOKEN"},
		{"both room credentials", map[string]string{"MESHAGENT_TOKEN": "tok"}, "set only one"},
		{"malformed api key", map[string]string{"MESHAGENT_API_KEY": "sk-123"}, "MESHAGENT_API_KEY: not a project API key"},
		{"name in allow-list", map[string]string{"ROOMBOT_ALLOWED_USERS": "@alice"}, "ROOMBOT_ALLOWED_USERS"},
		{"channel in restart list", map[string]string{"ROOMBOT_RESTART_USERS": "C0OPS0001"}, "ROOMBOT_RESTART_USERS"},
		{"channel name as notify", map[string]string{"ROOMBOT_NOTIFY_CHANNEL": "#ops"}, "ROOMBOT_NOTIFY_CHANNEL"},
		{"confirm ttl not a duration", map[string]string{"ROOMBOT_CONFIRM_TTL": "ten"},
			`ROOMBOT_CONFIRM_TTL: "ten" is not a duration; write it like 30s, 10m or 1h`},
		{"confirm ttl too short", map[string]string{"ROOMBOT_CONFIRM_TTL": "1s"}, "ROOMBOT_CONFIRM_TTL: 1s is out of range (10s to 24h)"},
		{"drain too long", map[string]string{"ROOMBOT_DRAIN_TIMEOUT": "20m"}, "ROOMBOT_DRAIN_TIMEOUT: 20m is out of range (1s to 10m)"},
		{"recovery too long", map[string]string{"ROOMBOT_RECOVERY_TIMEOUT": "2h"}, "ROOMBOT_RECOVERY_TIMEOUT: 2h is out of range (30s to 1h)"},
		// Shorter than a restart takes to count as back.
		{"recovery too short", map[string]string{"ROOMBOT_RECOVERY_TIMEOUT": "8s"}, "ROOMBOT_RECOVERY_TIMEOUT: 8s is out of range (30s to 1h)"},
		{"http port out of range", map[string]string{"ROOMBOT_HTTP_ADDR": ":99999"},
			`ROOMBOT_HTTP_ADDR: ":99999" needs a port from 0 to 65535 after the colon`},
		{"http port not a number", map[string]string{"ROOMBOT_HTTP_ADDR": "foo:bar"},
			`ROOMBOT_HTTP_ADDR: "foo:bar" needs a port from 0 to 65535 after the colon`},
		{"http address not an address", map[string]string{"ROOMBOT_HTTP_ADDR": "256.1.1.1:80"},
			`ROOMBOT_HTTP_ADDR: "256.1.1.1:80" is not an IP address or host name`},
		{"notify channel a direct message", map[string]string{"ROOMBOT_NOTIFY_CHANNEL": "D0DIRECT1"}, "ROOMBOT_NOTIFY_CHANNEL"},
		{"notify channel too short", map[string]string{"ROOMBOT_NOTIFY_CHANNEL": "C01"}, "ROOMBOT_NOTIFY_CHANNEL"},
		{"room url without a scheme", map[string]string{"MESHAGENT_ROOM_URL": "127.0.0.1:47811"},
			`MESHAGENT_ROOM_URL: "127.0.0.1:47811" is not a URL; write it like wss://host`},
		{"watch interval empty", map[string]string{"ROOMBOT_WATCH_INTERVAL": ""}, "ROOMBOT_WATCH_INTERVAL: set but empty"},
		{"watch interval too short", map[string]string{"ROOMBOT_WATCH_INTERVAL": "10ms"}, "ROOMBOT_WATCH_INTERVAL"},
		{"drain without a unit", map[string]string{"ROOMBOT_DRAIN_TIMEOUT": "5"},
			`ROOMBOT_DRAIN_TIMEOUT: "5" is not a duration; write it like 30s`},
		{"short api key", map[string]string{"MESHAGENT_TOKEN": "", "MESHAGENT_API_KEY": "ma-abc"},
			"MESHAGENT_API_KEY: invalid API key"},
		{"redis url not redis", map[string]string{"ROOMBOT_REDIS_URL": "http://r:6379",
			"ROOMBOT_SIGNING_KEY": "signing-key-0123456789"}, "ROOMBOT_REDIS_URL: not a redis:// or rediss:// URL"},
		{"http addr without port", map[string]string{"ROOMBOT_HTTP_ADDR": "nonsense"},
			`ROOMBOT_HTTP_ADDR: "nonsense" is not host:port`},
		{"redis without signing key", map[string]string{"ROOMBOT_REDIS_URL": "redis://r:6379"}, "ROOMBOT_SIGNING_KEY"},
		{"short signing key", map[string]string{"ROOMBOT_SIGNING_KEY": "abc"}, "ROOMBOT_SIGNING_KEY: too short"},
		{"log level", map[string]string{"ROOMBOT_LOG_LEVEL": "loud"}, "ROOMBOT_LOG_LEVEL"},
		{"log format", map[string]string{"ROOMBOT_LOG_FORMAT": "xml"}, "ROOMBOT_LOG_FORMAT"},
		{"api url", map[string]string{"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"},
		{"api url without host", map[string]string{"SLACK_API_URL": "https:///api/"}, `SLACK_API_URL: "https:///api/" has no host`},
		{"room url scheme", map[string]string{"MESHAGENT_ROOM_URL": "ftp://x"},
			`MESHAGENT_ROOM_URL: "ftp://x" is not a ws, wss, http or https URL`},
		{"room url without host", map[string]string{"MESHAGENT_ROOM_URL": "ws://"}, `MESHAGENT_ROOM_URL: "ws://" has no host`},
		{"room url with query", map[string]string{"MESHAGENT_ROOM_URL": "wss://h/?a=b"}, "MESHAGENT_ROOM_URL: \"wss://h/?a=b\" must not have a query"},
		{"room url with password", map[string]string{"MESHAGENT_ROOM_URL": "wss://u:pw@h"},
			"MESHAGENT_ROOM_URL: \"wss://u:xxxxx@h\" must not hold a user or password; the credential goes in MESHAGENT_API_KEY or MESHAGENT_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, tt.env)
			_, err := loadChecked(t)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("config with %v: error %v, want one containing %q", tt.env, err, tt.want)
			}
		})
	}
}

func TestConfigReportsEveryProblem(t *testing.T) {
	setEnv(t, map[string]string{"SLACK_APP_TOKEN": "", "SLACK_BOT_TOKEN": "", "ROOMBOT_LOG_FORMAT": "xml",
		// Durations that do not parse are reported with the rest, not
		// alone: envconfig stopped at the first of them.
		"ROOMBOT_CONFIRM_TTL": "banana", "ROOMBOT_WATCH_INTERVAL": "pear"})
	_, err := loadChecked(t)
	if err == nil {
		t.Fatal("five bad settings accepted")
	}
	for _, v := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "ROOMBOT_LOG_FORMAT",
		"ROOMBOT_CONFIRM_TTL", "ROOMBOT_WATCH_INTERVAL"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error does not name %s:\n%v", v, err)
		}
	}
}

// TestConfigHidesSecrets dumps the configuration every way it could be
// dumped and looks for the secrets in the output.
func TestConfigHidesSecrets(t *testing.T) {
	setEnv(t, map[string]string{
		"ROOMBOT_SIGNING_KEY": "signing-key-0123456789",
		"ROOMBOT_REDIS_URL":   "redis://:redispass@r:6379",
		// A proxy in front of Slack may take basic auth in its URL.
		"SLACK_API_URL": "https://u:slackpass@slack.example/api/",
	})
	c, err := loadChecked(t)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "%v %+v %#v\n", c, c, c)
	js, _ := json.Marshal(c)
	out.Write(js)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("config", "config", c)
	slog.New(slog.NewTextHandler(&out, nil)).Info("config", "config", c)

	secrets := []string{"secretapp", "secretbot", "secretkey", "signing-key-0123456789",
		"redispass", "slackpass"}
	for _, s := range secrets {
		if strings.Contains(out.String(), s) {
			t.Errorf("configuration dump shows %q:\n%s", s, out.String())
		}
	}
	if !strings.Contains(out.String(), "***") {
		t.Errorf("dump shows no redaction marker:\n%s", out.String())
	}
}

// TestDefaultConfigMatchesEnvconfig: the defaults the demo starts from are
// the ones envconfig applies to an empty environment.
func TestDefaultConfigMatchesEnvconfig(t *testing.T) {
	setEnv(t, nil)
	for k := range goodEnv {
		os.Unsetenv(k)
	}
	fromEnv, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprintf("%#v", *defaultConfig()), fmt.Sprintf("%#v", *fromEnv); got != want {
		t.Errorf("defaultConfig() = %s\nenvconfig gives %s", got, want)
	}
}

// TestConfigReportsEveryBadEntry: a list with several wrong entries names
// each of them, so one start fixes them all.
func TestConfigReportsEveryBadEntry(t *testing.T) {
	setEnv(t, map[string]string{
		"ROOMBOT_ALLOWED_USERS": "@alice, bob@example.com, C0123CHAN, U0VERA001",
		"ROOMBOT_WATCH":         "a, b, lobby=#ops, lobby=C0OPS0001",
	})
	_, err := loadChecked(t)
	if err == nil {
		t.Fatal("lists with bad entries accepted")
	}
	for _, entry := range []string{`"@alice"`, `"bob@example.com"`, `"C0123CHAN"`,
		`"a"`, `"b"`, `"lobby=#ops"`} {
		if !strings.Contains(err.Error(), "entry "+entry) {
			t.Errorf("error does not name the entry %s:\n%v", entry, err)
		}
	}
}
