// Command bot is roombot: a Slack bot that lists and restarts the services
// of MeshAgent rooms.
//
//	bot                          serve Slack, configured from the environment
//	bot -demo                    the whole bot on this machine, no accounts
//	bot room list ROOM           check room credentials from a terminal
//	bot room restart ROOM SVC
//
// The environment variables are listed by bot -help and in the README.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"github.com/kelseyhightower/envconfig"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Getenv, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bot: %v\n", err)
		os.Exit(1)
	}
}

// run parses the command line and runs the chosen job until ctx is done.
// The bot reads its configuration with envconfig, from the process
// environment; getenv serves the room subcommand, which reads only the
// room settings.
func run(ctx context.Context, getenv func(string) string, args []string,
	stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	demo := fs.Bool("demo", false, "run the bot against an embedded Slack and embedded rooms; the terminal is the Slack user")
	fs.Usage = func() { usage(fs, stderr) }
	if err := fs.Parse(args); err != nil {
		return err
	}

	if fs.Arg(0) == "room" {
		return runRoom(ctx, getenv, fs.Args()[1:], stdout, stderr)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unknown command %q (try bot -help)", fs.Arg(0))
	}
	if *demo {
		return runDemo(ctx, stdin, stdout, stderr)
	}

	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if err := cfg.check(false); err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := newLogger(cfg, stderr)
	log.Info("starting", "config", cfg)
	return serve(ctx, cfg, log, serveOptions{})
}

func usage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "usage: bot [-demo] | bot room list ROOM | bot room restart ROOM (SERVICE | --id ID)\n\n")
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nenvironment:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	envconfig.Usagef("", &Config{}, tw, "{{range .}}  {{usage_key .}}\t{{usage_description .}}"+
		"{{if usage_default .}} (default {{usage_default .}}){{end}}\n{{end}}")
}
