package roomtest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/roomops/roombot/roomclient"
	"github.com/roomops/roombot/roomclient/roomtest"
)

// A test serves the demo rooms, talks to them with the real client, and
// checks what the room saw.
func Example() {
	srv, err := roomtest.New(nil) // in a test: roomtest.NewServer(t, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	c, err := roomclient.New(roomclient.Config{URL: srv.URL(), Token: "any"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	ctx := context.Background()
	web, err := c.Resolve(ctx, "lobby", "web")
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Restart(ctx, "lobby", web.ID); err != nil {
		log.Fatal(err)
	}
	// A restart nobody asked for, as a watcher would notice it.
	srv.RestartService("lobby", "svc-worker", 137)

	list, _ := c.List(ctx, "lobby")
	for _, s := range list.Services {
		fmt.Println(s.Name, s.State.State, s.State.RestartCount)
	}
	fmt.Println("restarts asked for:", srv.Restarts("lobby", web.ID))
	// Output:
	// web running 2
	// api running 0
	// worker running 3
	// assistant running 0
	// restarts asked for: 1
}
