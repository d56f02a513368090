package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestSlackHTTPKeepsConnections: waves of concurrent posts, as a burst of
// replies makes, go over the connections the first wave opened. The
// default transport kept two of them and dialled the rest again each time.
func TestSlackHTTPKeepsConnections(t *testing.T) {
	const inFlight, waves = 16, 3
	var dials atomic.Int64
	var arrived sync.WaitGroup
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Hold every post until the whole wave is in, so that a wave
		// needs inFlight connections at once.
		arrived.Done()
		arrived.Wait()
		w.Write([]byte(`{"ok":true}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			dials.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	client := slackHTTP()
	for range waves {
		arrived.Add(inFlight)
		var wg sync.WaitGroup
		for range inFlight {
			wg.Go(func() {
				resp, err := client.Post(srv.URL, "application/json", strings.NewReader(`{}`))
				if err != nil {
					t.Error(err)
					return
				}
				// Read to the end, as slack-go does, or the connection
				// cannot be used again.
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		wg.Wait()
	}
	// A connection handed back a moment after the next wave asked may
	// be dialled again; two such are allowed. The default transport
	// dialled 14 more for every wave.
	if n := dials.Load(); n > inFlight+2 {
		t.Errorf("%d waves of %d posts opened %d connections, want at most %d",
			waves, inFlight, n, inFlight+2)
	}
}
