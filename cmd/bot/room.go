package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/roomclient"
)

const roomUsage = "usage: bot room list ROOM | bot room restart ROOM (SERVICE | --id ID)"

// roomCallTimeout bounds each room call of a room command, as the bot's
// own call timeout does.
const roomCallTimeout = 30 * time.Second

// runRoom runs "bot room list ROOM" and "bot room restart ROOM SERVICE":
// the room client from a terminal, so an operator can check credentials
// and rooms without Slack. Output follows `meshagent room service`.
func runRoom(ctx context.Context, getenv func(string) string, args []string,
	stdout, stderr io.Writer) error {
	// The command line is checked before the credentials, so a mistyped
	// command is told so whatever the environment holds.
	ra, err := parseRoomArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, roomUsage)
	}
	if err != nil {
		return err
	}
	verb, room, name, id := ra.verb, ra.room, ra.name, ra.id
	cfg, err := roomConfig(getenv)
	if err != nil {
		return err
	}
	if verb == "list" {
		err = roomList(ctx, cfg, room, stdout)
	} else {
		err = roomRestart(ctx, cfg, room, name, id, stdout)
	}
	if err = hint(err, cfg); err != nil {
		// The error may quote the room's own words.
		return printableError{err}
	}
	return nil
}

// printableError is an error whose text may hold what a room sent, shown
// through printable.
type printableError struct{ error }

func (e printableError) Error() string { return printable(e.error.Error()) }
func (e printableError) Unwrap() error { return e.error }

// roomArgs is a room command line: its verb, the room, and the service
// by name or by --id.
type roomArgs struct{ verb, room, name, id string }

// parseRoomArgs reads "list ROOM" or "restart ROOM (SERVICE | --id ID)",
// with --id anywhere after the verb and "--" ending the flags. A request
// for help, or any other flag, is found before anything is taken for a
// name: no room name starts with a dash that an operator meant, short of
// one after "--".
func parseRoomArgs(args []string) (roomArgs, error) {
	var ra roomArgs
	var pos []string
	flags := true
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case !flags || !strings.HasPrefix(a, "-"):
			pos = append(pos, a)
		case a == "--":
			flags = false
		case a == "-h" || a == "-help" || a == "--help":
			return ra, flag.ErrHelp
		case a == "--id" || a == "-id":
			if i+1 >= len(args) {
				return ra, errors.New("--id needs a service id")
			}
			i++
			ra.id = args[i]
		case strings.HasPrefix(a, "--id="):
			ra.id = strings.TrimPrefix(a, "--id=")
		default:
			return ra, fmt.Errorf("unknown flag %q; %s", a, roomUsage)
		}
	}
	if len(pos) == 0 {
		return ra, errors.New(roomUsage)
	}
	ra.verb, pos = pos[0], pos[1:]
	want := 1 // the room
	switch {
	case ra.verb != "list" && ra.verb != "restart":
		return ra, fmt.Errorf("unknown room command %q; %s", ra.verb, roomUsage)
	case ra.verb == "list" && ra.id != "":
		return ra, fmt.Errorf("list takes no --id; %s", roomUsage)
	case ra.verb == "restart" && ra.id == "":
		want = 2 // and the service
	}
	if len(pos) > want {
		return ra, fmt.Errorf("unexpected %q; %s", pos[want], roomUsage)
	}
	if len(pos) < want {
		return ra, errors.New(roomUsage)
	}
	ra.room = pos[0]
	if want == 2 {
		ra.name = pos[1]
	}
	return ra, nil
}

// hint adds where to look to a TLS failure; to a room's 404 or redirect,
// since a base URL that points at some other web server answers every
// room so; and to a room that never answered, whose error would say only
// that time ran out.
func hint(err error, cfg roomclient.Config) error {
	var (
		se *roomclient.StatusError
		ua x509.UnknownAuthorityError
		hn x509.HostnameError
		te *roomclient.TLSError
	)
	switch {
	case errors.As(err, &ua):
		return fmt.Errorf("%w; for a private CA, point SSL_CERT_FILE at its PEM", err)
	case errors.As(err, &hn):
		return fmt.Errorf("%w; check the host in MESHAGENT_ROOM_URL", err)
	case errors.As(err, &te) && te.NotTLS():
		return fmt.Errorf("%w; the room server does not speak TLS: MESHAGENT_ROOM_URL may need ws://", err)
	case errors.As(err, &se) && se.Status == 404:
		return fmt.Errorf("%w; if it exists, check MESHAGENT_ROOM_URL", err)
	case errors.As(err, &se) && (se.Redirect() || se.NotUpgraded()):
		return fmt.Errorf("%w; check MESHAGENT_ROOM_URL, which should name a MeshAgent room server", err)
	case errors.As(err, &se) && se.Status == 401:
		return fmt.Errorf("%w; check MESHAGENT_API_KEY or MESHAGENT_TOKEN", err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("the room server at %s did not answer within %s (%w)",
			cfg.URL, cfg.CallTimeout, err)
	}
	return err
}

// roomConfig reads the room settings of DESIGN.md from the environment
// and checks them as the bot does at start.
func roomConfig(getenv func(string) string) (roomclient.Config, error) {
	c := Config{
		RoomURL: endpoint(getenv("MESHAGENT_ROOM_URL")),
		APIKey:  secret(getenv("MESHAGENT_API_KEY")),
		Token:   secret(getenv("MESHAGENT_TOKEN")),
	}
	if c.RoomURL == "" {
		c.RoomURL = roomclient.DefaultURL
	}
	var problems []string
	c.checkRoom(func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) })
	if len(problems) > 0 {
		// One line, as every error of this command is.
		return roomclient.Config{}, errors.New(strings.Join(problems, "; "))
	}
	return roomclient.Config{URL: string(c.RoomURL), APIKey: c.APIKey.reveal(),
		Token: c.Token.reveal(), CallTimeout: roomCallTimeout}, nil
}

func withClient(cfg roomclient.Config, fn func(*roomclient.Client) error) error {
	c, err := roomclient.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(c)
}

func roomList(ctx context.Context, cfg roomclient.Config, room string, w io.Writer) error {
	return withClient(cfg, func(c *roomclient.Client) error {
		list, err := c.List(ctx, room)
		if err != nil {
			return err
		}
		if len(list.Services) == 0 {
			// As meshagent's CLI says it; the room answered, so the
			// credentials work, and that is no error.
			_, err := fmt.Fprintf(w, "No rows to print (room %q has no services)\n", room)
			return err
		}
		return writeTable(w, list, time.Local)
	})
}

func roomRestart(ctx context.Context, cfg roomclient.Config, room, name, id string,
	w io.Writer) error {
	return withClient(cfg, func(c *roomclient.Client) error {
		svc, err := findService(ctx, c, room, name, id)
		if err != nil {
			return err
		}
		switch {
		case svc.ID == "":
			return fmt.Errorf("service %q has no id and cannot be restarted", svc.Name)
		case svc.External():
			return fmt.Errorf("service %q runs outside room %q, at %s, so the room cannot restart it",
				svc.Name, room, svc.ExternalURL)
		}
		if err := c.Restart(ctx, room, svc.ID); err != nil {
			return err
		}
		fmt.Fprintf(w, "Restart requested: %s (%s)\n", printable(svc.Name), printable(svc.ID))
		return nil
	})
}

// findService finds the service that name names, as the slash command
// does: by name, or by id when no name matches, refusing a name that
// several services share. With --id, id alone is matched.
func findService(ctx context.Context, c *roomclient.Client,
	room, name, id string) (roomclient.Service, error) {
	list, err := c.List(ctx, room)
	if err != nil {
		return roomclient.Service{}, err
	}
	if id != "" {
		if s, ok := list.ByID(id); ok {
			return s, nil
		}
		return roomclient.Service{}, fmt.Errorf("room %q has no service with id %q", room, id)
	}
	found := commands.Match(list, name)
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return roomclient.Service{}, fmt.Errorf("room %q has no service named %q, nor one with that id", room, name)
	}
	ids := make([]string, len(found))
	for i, s := range found {
		ids[i] = s.ID
	}
	return roomclient.Service{}, fmt.Errorf("room %q has %d services named %q (ids %s); name one with --id ID",
		room, len(found), name, strings.Join(ids, ", "))
}

var tableHeader = []string{"Id", "Name", "Image", "State", "Ports", "Container_Id",
	"Started_At", "Restart_Scheduled_At", "Restart_Count", "Last_Exit_Code",
	"Last_Start_Error", "Events"}

// writeTable prints a list as `meshagent room service list` does: one row
// per service in the room's order, "None" for what is missing.
func writeTable(w io.Writer, list *roomclient.List, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(tableHeader, "\t"))
	for _, s := range list.Services {
		row := tableRow(s, loc)
		for i := range row {
			row[i] = printable(row[i])
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// printable shows s from a room on a terminal: as it is when every
// character is one a reader sees, and quoted, with the rest escaped, when
// not. A room's names and errors could otherwise hold escape sequences
// that clear the screen or retitle the window, a newline or tab that
// breaks the table, or a right-to-left override that reverses what
// follows. Space at either end is quoted too, or a name of spaces would
// print as nothing.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r != ' ' && !unicode.IsGraphic(r) }) < 0 &&
		strings.TrimSpace(s) == s {
		return s
	}
	return strconv.QuoteToGraphic(s)
}

func tableRow(s roomclient.Service, loc *time.Location) []string {
	row := []string{none(s.ID), none(s.Name), none(s.Image)}
	st := s.State
	if st == nil {
		for range len(tableHeader) - len(row) {
			row = append(row, "None")
		}
		return row
	}
	exit := "None"
	if st.LastExitCode != nil {
		exit = strconv.Itoa(*st.LastExitCode)
	}
	return append(row, none(st.State), ports(st.Ports), none(st.ContainerID),
		stamp(st.StartedAt, loc), stamp(st.RestartScheduledAt, loc),
		strconv.Itoa(st.RestartCount), exit, none(oneLine(st.LastStartError)),
		strconv.Itoa(len(st.Events)))
}

func none(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

// oneLine keeps a multi-line start error from breaking the table.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// stamp writes a time as the CLI does: local ISO-8601 without a zone,
// with microseconds only when there are some.
func stamp(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "None"
	}
	t = t.In(loc)
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02T15:04:05.000000")
	}
	return t.Format("2006-01-02T15:04:05")
}

// ports writes "8080: ready, *: no liveness" from the port states.
func ports(ps []roomclient.PortStatus) string {
	if len(ps) == 0 {
		return "None"
	}
	labels := map[string]string{"ready": "ready", "not_ready": "not ready"}
	parts := make([]string, len(ps))
	for i, p := range ps {
		label, ok := labels[p.LivenessStatus]
		if !ok {
			label = "no liveness"
		}
		parts[i] = p.Num + ": " + label
	}
	return strings.Join(parts, ", ")
}
