package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roomops/roombot/roomclient"
	"github.com/roomops/roombot/roomclient/roomtest"
)

// env returns a getenv over m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// roomCmd runs "bot room args…" against srv and returns stdout and the error.
func roomCmd(t *testing.T, srv *roomtest.Server, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	getenv := env(map[string]string{
		"MESHAGENT_ROOM_URL": srv.URL(),
		"MESHAGENT_API_KEY":  roomtest.APIKey("cli-secret"),
	})
	err := run(ctx, getenv, append([]string{"room"}, args...), strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), err
}

func TestRoomList(t *testing.T) {
	srv := roomtest.NewServer(t, nil, roomtest.WithSecret("cli-secret"))
	out, err := roomCmd(t, srv, "list", "lobby")
	if err != nil {
		t.Fatalf("room list lobby: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("room list lobby printed %d lines, want a header and 4 rows:\n%s", len(lines), out)
	}
	for _, want := range []string{"Id", "Restart_Scheduled_At", "Last_Start_Error", "Events"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("header %q lacks %q", lines[0], want)
		}
	}
	if !strings.Contains(lines[2], "9000: ready, 9090: no liveness") {
		t.Errorf("api row %q lacks its ports", lines[2])
	}
}

// TestRoomListNoServices: a room without services answered, which is
// what an operator checking credentials wants to know: no error.
func TestRoomListNoServices(t *testing.T) {
	fx := &roomtest.Fixture{Rooms: map[string]*roomtest.Room{"void": {}}}
	srv := roomtest.NewServer(t, fx)
	out, err := roomCmd(t, srv, "list", "void")
	if err != nil || out != "No rows to print (room \"void\" has no services)\n" {
		t.Errorf("room list void = %q, %v; want the No rows line and no error", out, err)
	}
}

func TestRoomRestart(t *testing.T) {
	srv := roomtest.NewServer(t, nil)
	out, err := roomCmd(t, srv, "restart", "lobby", "web")
	if err != nil || out != "Restart requested: web (svc-web)\n" {
		t.Fatalf("room restart lobby web = %q, %v", out, err)
	}
	out, err = roomCmd(t, srv, "restart", "--id", "svc-api", "lobby")
	if err != nil || out != "Restart requested: api (svc-api)\n" {
		t.Fatalf("room restart --id svc-api lobby = %q, %v", out, err)
	}
	// As in Slack, a SERVICE that no name matches may be an id.
	out, err = roomCmd(t, srv, "restart", "lobby", "svc-worker")
	if err != nil || out != "Restart requested: worker (svc-worker)\n" {
		t.Fatalf("room restart lobby svc-worker = %q, %v", out, err)
	}
	for _, id := range []string{"svc-web", "svc-api", "svc-worker"} {
		if n := srv.Restarts("lobby", id); n != 1 {
			t.Errorf("simulator restarted %s %d times, want 1", id, n)
		}
	}
}

func TestRoomRestartAmbiguous(t *testing.T) {
	fx := &roomtest.Fixture{Rooms: map[string]*roomtest.Room{"r": {Services: []roomtest.Service{
		{Spec: []byte(`{"version":"v1","kind":"Service","id":"a-1","metadata":{"name":"dup"}}`)},
		{Spec: []byte(`{"version":"v1","kind":"Service","id":"a-2","metadata":{"name":"dup"}}`)},
		{Spec: []byte(`{"version":"v1","kind":"Service","metadata":{"name":"anon"}}`)},
	}}}}
	srv := roomtest.NewServer(t, fx)
	_, err := roomCmd(t, srv, "restart", "r", "dup")
	if err == nil || !strings.Contains(err.Error(), "a-1, a-2") || !strings.Contains(err.Error(), "--id") {
		t.Errorf("room restart r dup = %v, want both candidate ids and how to pass one", err)
	}
	_, err = roomCmd(t, srv, "restart", "r", "anon")
	if err == nil || !strings.Contains(err.Error(), "no id") {
		t.Errorf("room restart r anon = %v, want a no-id error", err)
	}
	if n := srv.Calls("r", "restart"); n != 0 {
		t.Errorf("simulator saw %d restart calls, want 0", n)
	}
}

// TestRoomRestartRefused: the room's own refusal of a restart is told
// with its code.
func TestRoomRestartRefused(t *testing.T) {
	fx := &roomtest.Fixture{Rooms: map[string]*roomtest.Room{"r": {Services: []roomtest.Service{{
		Spec: []byte(`{"version":"v1","kind":"Service","id":"a-1","metadata":{"name":"pinned"},` +
			`"container":{"image":"x"}}`),
		RestartForbidden: true,
	}}}}}
	srv := roomtest.NewServer(t, fx)
	_, err := roomCmd(t, srv, "restart", "r", "pinned")
	if err == nil || !strings.Contains(err.Error(), "room error 7002") {
		t.Errorf("room restart r pinned = %v, want the room's 7002", err)
	}
}

// TestRoomHint: a room that never answered is told with the server asked
// and how long it was given, not only that time ran out; a redirect says
// where to look.
func TestRoomHint(t *testing.T) {
	cfg := roomclient.Config{URL: "wss://rooms.example", CallTimeout: 30 * time.Second}
	err := hint(fmt.Errorf("listing services of room %q: %w", "edge", context.DeadlineExceeded), cfg)
	want := "the room server at wss://rooms.example did not answer within 30s " +
		`(listing services of room "edge": context deadline exceeded)`
	if err == nil || err.Error() != want || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hint = %v, want %q", err, want)
	}
	err = hint(&roomclient.StatusError{Room: "edge", Status: 307}, cfg)
	if err == nil || !strings.Contains(err.Error(), "redirect (HTTP 307); check MESHAGENT_ROOM_URL") {
		t.Errorf("hint of a redirect = %v, want it to name MESHAGENT_ROOM_URL", err)
	}
	// A web server that is no room server may answer 200 to anything.
	err = hint(&roomclient.StatusError{Room: "edge", Status: 200}, cfg)
	if err == nil || !strings.Contains(err.Error(), "HTTP 200, not a websocket; check MESHAGENT_ROOM_URL") {
		t.Errorf("hint of HTTP 200 = %v, want it to name MESHAGENT_ROOM_URL", err)
	}
}

// TestRoomWrongKey: a room server that refuses the key says which
// variables hold it.
func TestRoomWrongKey(t *testing.T) {
	srv := roomtest.NewServer(t, roomtest.DemoFixture(), roomtest.WithSecret("the-right-secret"))
	getenv := env(map[string]string{
		"MESHAGENT_ROOM_URL": srv.URL(),
		"MESHAGENT_API_KEY":  roomtest.APIKey("another-secret"),
	})
	var stdout, stderr bytes.Buffer
	err := run(testContext(t), getenv, []string{"room", "list", "lobby"}, strings.NewReader(""), &stdout, &stderr)
	want := "(HTTP 401 Unauthorized); check MESHAGENT_API_KEY or MESHAGENT_TOKEN"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("bot room list with the wrong key = %v, want %q", err, want)
	}
}

func TestRoomErrors(t *testing.T) {
	srv := roomtest.NewServer(t, nil)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no credentials", map[string]string{}, []string{"list", "lobby"},
			"MESHAGENT_API_KEY or MESHAGENT_TOKEN"},
		{"both credentials", map[string]string{"MESHAGENT_API_KEY": "ma-x", "MESHAGENT_TOKEN": "t"},
			[]string{"list", "lobby"}, "only one"},
		{"bad key", map[string]string{"MESHAGENT_API_KEY": "sk-nope"}, []string{"list", "lobby"},
			"MESHAGENT_API_KEY: not a project API key"},
		{"short key", map[string]string{"MESHAGENT_API_KEY": "ma-abc"}, []string{"list", "lobby"},
			"MESHAGENT_API_KEY: invalid API key"},
		{"room url scheme", map[string]string{"MESHAGENT_TOKEN": "t", "MESHAGENT_ROOM_URL": "ftp://x"},
			[]string{"list", "lobby"}, `MESHAGENT_ROOM_URL: "ftp://x" is not a ws, wss, http or https URL`},
		{"room url with password", map[string]string{"MESHAGENT_TOKEN": "t",
			"MESHAGENT_ROOM_URL": "ws://u:hunter2@127.0.0.1:1"}, []string{"list", "lobby"},
			"MESHAGENT_ROOM_URL: \"ws://u:xxxxx@127.0.0.1:1\" must not hold a user or password"},
		// A web server that is no room answers 404 too.
		{"unknown room", nil, []string{"list", "nowhere"},
			`room "nowhere" not found (HTTP 404); if it exists, check MESHAGENT_ROOM_URL`},
		{"flag as room", nil, []string{"list", "-x"}, `unknown flag "-x"`},
		{"extra argument", nil, []string{"list", "lobby", "web"}, `unexpected "web"; usage: bot room list ROOM`},
		{"unknown service", nil, []string{"restart", "lobby", "nope"}, `no service named "nope", nor one with that id`},
		{"dot room", nil, []string{"list", ".."}, `".." is not a room name`},
		{"usage", nil, []string{"list"}, "usage:"},
		{"unknown verb", nil, []string{"describe", "lobby"}, "unknown room command"},
		{"external service", nil, []string{"restart", "staging", "stg-docs"},
			`service "docs" runs outside room "staging", at https://docs.example.com`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.env
			if e == nil {
				e = map[string]string{"MESHAGENT_TOKEN": "t"}
			}
			if _, ok := e["MESHAGENT_ROOM_URL"]; !ok {
				e["MESHAGENT_ROOM_URL"] = srv.URL()
			}
			var stdout, stderr bytes.Buffer
			args := append([]string{"room"}, tt.args...)
			err := run(context.Background(), env(e), args, strings.NewReader(""), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("bot room %v = %v, want one line containing %q", tt.args, err, tt.want)
			}
		})
	}
}

// TestRoomDoubleDash: "--" ends the flags, so a name may start with a
// dash.
func TestRoomDoubleDash(t *testing.T) {
	srv := roomtest.NewServer(t, nil)
	_, err := roomCmd(t, srv, "list", "--", "-lobby")
	if err == nil || !strings.Contains(err.Error(), `room "-lobby" not found`) {
		t.Errorf("room list -- -lobby = %v, want the room -lobby asked for", err)
	}
}

func TestRoomHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"list", "-help"}, {"restart", "lobby", "--help"}} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), env(nil), append([]string{"room"}, args...),
			strings.NewReader(""), &stdout, &stderr)
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stdout.String(), "usage: bot room list ROOM") {
			t.Errorf("bot room %v = %v, stdout %q; want the usage on stdout and ErrHelp (exit 0)",
				args, err, stdout.String())
		}
	}
}

func TestWriteTable(t *testing.T) {
	code := 137
	list := &roomclient.List{Services: []roomclient.Service{
		{ID: "s-1", Name: "web", Image: "img:1", State: &roomclient.State{
			State: "running", ContainerID: "c-1",
			StartedAt:    time.Unix(1700000000, 250000000),
			RestartCount: 2, LastExitCode: &code,
			Ports: []roomclient.PortStatus{
				{Num: "8080", LivenessStatus: "ready"},
				{Num: "*", LivenessStatus: "not_configured"},
			},
			Events: make([]roomclient.Event, 3),
		}},
		{Name: "bare"},
	}}
	var b bytes.Buffer
	if err := writeTable(&b, list, time.UTC); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"Id    Name  Image  State    Ports                        Container_Id  Started_At                  Restart_Scheduled_At  Restart_Count  Last_Exit_Code  Last_Start_Error  Events\n" +
		"s-1   web   img:1  running  8080: ready, *: no liveness  c-1           2023-11-14T22:13:20.250000  None                  2              137             None              3\n" +
		"None  bare  None   None     None                         None          None                        None                  None           None            None              None\n"
	if b.String() != want {
		t.Errorf("writeTable =\n%s\nwant\n%s", b.String(), want)
	}
}

// TestRoomUsageBeforeCredentials: a mistyped room command is told how to
// write it even when no credentials are set, rather than to set them.
func TestRoomUsageBeforeCredentials(t *testing.T) {
	noEnv := func(string) string { return "" }
	for _, args := range [][]string{{"list"}, {"frob", "x"}, {"list", "a", "b"}, {"restart", "a"}} {
		err := runRoom(context.Background(), noEnv, args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "usage: bot room") {
			t.Errorf("bot room %q with no credentials = %v, want the usage", args, err)
		}
	}
	err := runRoom(context.Background(), noEnv, []string{"list", "lobby"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "MESHAGENT_API_KEY") {
		t.Errorf("bot room list lobby with no credentials = %v, want them asked for", err)
	}
}

// TestRoomTLSHints: a room server whose certificate is not trusted, or
// is for another host, or that does not speak TLS at all, is told at
// once with what to change, not retried until the dial gives up.
func TestRoomTLSHints(t *testing.T) {
	untrusted := httptest.NewUnstartedServer(http.NotFoundHandler())
	untrusted.Config.ErrorLog = log.New(io.Discard, "", 0)
	untrusted.StartTLS()
	t.Cleanup(untrusted.Close)
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)

	for url, want := range map[string]string{
		untrusted.URL: "certificate signed by unknown authority; for a private CA, point SSL_CERT_FILE at its PEM",
		// httptest's certificate names 127.0.0.1 and example.com only.
		strings.Replace(untrusted.URL, "127.0.0.1", "localhost", 1): "not localhost; check the host in MESHAGENT_ROOM_URL",
		"wss" + strings.TrimPrefix(plain.URL, "http"):               "does not speak TLS: MESHAGENT_ROOM_URL may need ws://",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		getenv := env(map[string]string{
			"MESHAGENT_ROOM_URL": url,
			"MESHAGENT_API_KEY":  roomtest.APIKey("cli-secret"),
		})
		var stdout, stderr bytes.Buffer
		err := run(ctx, getenv, []string{"room", "list", "lobby"}, strings.NewReader(""), &stdout, &stderr)
		cancel()
		if err == nil || !strings.Contains(err.Error(), want) || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("bot room list lobby at %s = %v, want at once %q", url, err, want)
		}
	}
}

// TestRoomPrintsNoControls: names, ids and errors from a room reach the
// terminal with their control characters escaped: an escape sequence in
// a service name cleared the screen and retitled the window, and a
// newline broke the table.
func TestRoomPrintsNoControls(t *testing.T) {
	evil := "\x1b[2J\x1b]0;title\x07x\ny\u202e"
	fx := roomtest.DemoFixture()
	spec, _ := json.Marshal(map[string]any{"version": "v1", "kind": "Service", "id": "ev-1",
		"metadata": map[string]any{"name": evil}, "container": map[string]any{"image": "img\t1"}})
	blank, _ := json.Marshal(map[string]any{"version": "v1", "kind": "Service", "id": "ev-2",
		"metadata": map[string]any{"name": "  "}, "container": map[string]any{"image": "img"}})
	fx.Rooms["lobby"].Services = append(fx.Rooms["lobby"].Services,
		roomtest.Service{Spec: spec}, roomtest.Service{Spec: blank})
	srv := roomtest.NewServer(t, fx)

	out, err := roomCmd(t, srv, "list", "lobby")
	if err != nil {
		t.Fatal(err)
	}
	out2, err := roomCmd(t, srv, "restart", "lobby", "--id", "ev-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{out, out2} {
		if strings.ContainsAny(o, "\x1b\x07\u202e") || strings.Contains(o, "x\ny") {
			t.Errorf("output holds the room's control characters raw:\n%q", o)
		}
		if !strings.Contains(o, `\x1b[2J`) {
			t.Errorf("output does not show the name escaped:\n%q", o)
		}
	}
	if !regexp.MustCompile(`(?m)^ev-2 +"  " +img `).MatchString(out) {
		t.Errorf("a name of spaces is not shown quoted:\n%s", out)
	}
	if strings.Count(out, "\n") != len(fx.Rooms["lobby"].Services)+1 {
		t.Errorf("the table has other than a header and a line per service:\n%s", out)
	}
}
