package bot

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestHTTPClientKeepsConnections: waves of concurrent posts, as a burst of
// replies makes, go over the connections the first wave opened. The
// default transport kept two of them and dialled the rest again each time.
func TestHTTPClientKeepsConnections(t *testing.T) {
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

	client := HTTPClient()
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

// TestCPUGate: a turn holds one of the gate's tokens until it is done,
// taking it twice holds one, and a turn that cannot get a token before its
// context ends, or within maxTurnWait, goes on without one.
func TestCPUGate(t *testing.T) {
	// In a bubble, so that the wait of maxTurnWait passes at once.
	synctest.Test(t, func(t *testing.T) {
		g := &cpuGate{tokens: make(chan struct{}, 1)}
		ctx := context.Background()
		ctxA, a := g.withTurn(ctx)
		if again, same := g.withTurn(ctxA); again != ctxA || same != a {
			t.Fatal("withTurn on a context with a turn made another")
		}
		a.take(ctxA)
		a.take(ctxA)
		if n := len(g.tokens); n != 1 {
			t.Fatalf("one turn taken twice holds %d tokens, want 1", n)
		}

		_, b := g.withTurn(ctx)
		ended, cancel := context.WithCancel(ctx)
		cancel()
		b.take(ended)
		if b.held {
			t.Fatal("a second turn got the only token while the first held it")
		}
		// Without a deadline, the wait ends at maxTurnWait.
		b.take(ctx)
		if b.held {
			t.Fatal("a second turn got the only token after waiting")
		}
		a.done()
		a.done()
		if n := len(g.tokens); n != 0 {
			t.Fatalf("after done, %d tokens held, want 0", n)
		}
		b.take(ctx)
		if !b.held {
			t.Fatal("the second turn did not get the token once it was free")
		}
		b.done()
	})
}

// TestHTTPClientGivesBackTheTurn: a post through HTTPClient gives the
// turn in its context back as it goes out; one through another client
// keeps it, which bypassed reports.
func TestHTTPClientGivesBackTheTurn(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	g := &cpuGate{tokens: make(chan struct{}, 1)}
	for _, tt := range []struct {
		name     string
		client   *http.Client
		bypassed bool
	}{
		{"HTTPClient", HTTPClient(), false},
		{"http.DefaultClient", http.DefaultClient, true},
	} {
		ctx, turn := g.withTurn(context.Background())
		turn.take(ctx)
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL, strings.NewReader("{}"))
		resp, err := tt.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if got := turn.bypassed(); got != tt.bypassed {
			t.Errorf("after a post through %s, bypassed() = %v, want %v", tt.name, got, tt.bypassed)
		}
		turn.done()
		if n := len(g.tokens); n != 0 {
			t.Errorf("after a post through %s and done, %d tokens held", tt.name, n)
		}
	}
}

// TestHTTPClientLetsIdleConnectionsGoFirst: the client drops an idle
// connection to Slack before the server would, so no reply is sent on a
// connection the server is closing: such a POST is reset, and not sent
// again. The stand-in closes idle connections after 10 s.
func TestHTTPClientLetsIdleConnectionsGoFirst(t *testing.T) {
	const serverIdle = 10 * time.Second
	rt, ok := HTTPClient().Transport.(turnReleaser)
	if !ok {
		t.Fatalf("HTTPClient's transport is %T, want turnReleaser", HTTPClient().Transport)
	}
	tr, ok := rt.next.(*http.Transport)
	if !ok {
		t.Fatalf("HTTPClient's transport wraps %T, want *http.Transport", rt.next)
	}
	if tr.IdleConnTimeout <= 0 || tr.IdleConnTimeout > serverIdle/2 {
		t.Errorf("IdleConnTimeout = %v, want at most half the server's %v", tr.IdleConnTimeout, serverIdle)
	}
}
