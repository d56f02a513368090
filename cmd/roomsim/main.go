// Command roomsim serves the MeshAgent room simulator on loopback, for
// trying the bot or the room client by hand:
//
//	go run ./cmd/roomsim -fixture rooms.json
//
// Without -fixture it serves the demo rooms. It prints the base URL to put
// in MESHAGENT_ROOM_URL and serves until interrupted. Any non-empty token
// is accepted unless -secret is given.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/roomops/roombot/roomclient/roomtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return // -help printed the usage, as asked
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "roomsim: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("roomsim", flag.ContinueOnError)
	fixture := fs.String("fixture", "", "fixture `file` (JSON); default: the demo rooms")
	addr := fs.String("addr", "127.0.0.1:0", "listen `address`")
	secret := fs.String("secret", "", "verify HS256 tokens with this secret")
	restarting := fs.Duration("restarting", 2*time.Second, "how long a restart stays restarting")
	starting := fs.Duration("starting", 3*time.Second, "how long it then stays starting")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	fx, err := loadFixture(*fixture)
	if err != nil {
		return err
	}
	opts := []roomtest.Option{
		roomtest.WithAddr(*addr),
		roomtest.WithRestartDelays(*restarting, *starting),
	}
	if *secret != "" {
		opts = append(opts, roomtest.WithSecret(*secret))
	}
	srv, err := roomtest.New(fx, opts...)
	if err != nil {
		return err
	}
	defer srv.Close()

	fmt.Fprintf(stdout, "roomsim: serving rooms %s at %s (MESHAGENT_ROOM_URL)\n",
		strings.Join(srv.Rooms(), ", "), srv.URL())
	<-ctx.Done()
	return nil
}

func loadFixture(path string) (*roomtest.Fixture, error) {
	if path == "" {
		return roomtest.DemoFixture(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return roomtest.LoadFixture(f)
}
