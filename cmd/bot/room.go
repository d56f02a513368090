package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/roomops/roombot/roomclient"
)

const roomUsage = "usage: bot room list ROOM | bot room restart ROOM (SERVICE | --id ID)"

// runRoom runs "bot room list ROOM" and "bot room restart ROOM SERVICE":
// the room client from a terminal, so an operator can check credentials
// and rooms without Slack. Output follows `meshagent room service`.
func runRoom(ctx context.Context, getenv func(string) string, args []string,
	stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(roomUsage)
	}
	// The command line is checked before the credentials, so a mistyped
	// command is told so whatever the environment holds.
	if err := roomFlags(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, roomUsage)
		}
		return err
	}
	verb, rest := args[0], args[1:]
	var room, name, id string
	switch verb {
	case "list":
		if len(rest) != 1 {
			return errors.New(roomUsage)
		}
		room = rest[0]
	case "restart":
		var err error
		if room, name, id, err = restartArgs(rest); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown room command %q; %s", verb, roomUsage)
	}
	cfg, err := roomConfig(getenv)
	if err != nil {
		return err
	}
	if verb == "list" {
		err = roomList(ctx, cfg, room, stdout)
	} else {
		err = roomRestart(ctx, cfg, room, name, id, stdout)
	}
	return hint404(err)
}

// roomFlags finds a request for help, or a flag other than --id, before
// anything is taken for a room or service name: no room name starts with
// a dash that an operator meant.
func roomFlags(args []string) error {
	for i, a := range args {
		switch {
		case a == "-h" || a == "-help" || a == "--help":
			return flag.ErrHelp
		case a == "--id" || a == "-id" || strings.HasPrefix(a, "--id="):
		case strings.HasPrefix(a, "-") && (i == 0 || !isIDFlag(args[i-1])):
			return fmt.Errorf("unknown flag %q; %s", a, roomUsage)
		}
	}
	return nil
}

func isIDFlag(a string) bool { return a == "--id" || a == "-id" }

// hint404 adds where to look to a room's 404: a base URL that points at
// some other web server answers every room with 404 too.
func hint404(err error) error {
	var se *roomclient.StatusError
	if errors.As(err, &se) && se.Status == 404 {
		return fmt.Errorf("%w; if it exists, check MESHAGENT_ROOM_URL", err)
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
		Token: c.Token.reveal()}, nil
}

// restartArgs reads "ROOM SERVICE" or "ROOM --id ID", flags anywhere.
func restartArgs(args []string) (room, name, id string, err error) {
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--id" || a == "-id":
			if i+1 >= len(args) {
				return "", "", "", errors.New("--id needs a service id")
			}
			i++
			id = args[i]
		case strings.HasPrefix(a, "--id="):
			id = strings.TrimPrefix(a, "--id=")
		default:
			pos = append(pos, a)
		}
	}
	switch {
	case len(pos) == 2 && id == "":
		return pos[0], pos[1], "", nil
	case len(pos) == 1 && id != "":
		return pos[0], "", id, nil
	}
	return "", "", "", errors.New(roomUsage)
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
			return fmt.Errorf("No rows to print (room %q has no services)", room)
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
		if svc.ID == "" {
			return fmt.Errorf("service %q has no id and cannot be restarted", svc.Name)
		}
		if err := c.Restart(ctx, room, svc.ID); err != nil {
			return err
		}
		fmt.Fprintf(w, "Restart requested: %s (%s)\n", svc.Name, svc.ID)
		return nil
	})
}

// findService resolves by name, refusing ambiguity, or by id.
func findService(ctx context.Context, c *roomclient.Client,
	room, name, id string) (roomclient.Service, error) {
	if id == "" {
		return c.Resolve(ctx, room, name)
	}
	list, err := c.List(ctx, room)
	if err != nil {
		return roomclient.Service{}, err
	}
	for _, s := range list.Services {
		if s.ID == id {
			return s, nil
		}
	}
	return roomclient.Service{}, fmt.Errorf("room %q has no service with id %q", room, id)
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
		fmt.Fprintln(tw, strings.Join(tableRow(s, loc), "\t"))
	}
	return tw.Flush()
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
