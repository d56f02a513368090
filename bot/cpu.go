package bot

import (
	"context"
	"net/http"
	"runtime"
	"sync"
	"time"
)

// A cpuGate keeps the CPU-heavy part of replies, rendering the blocks and
// encoding them for Slack, to one fewer goroutine than the runtime has
// processors (at least one). A processor is then nearly always free to
// read Slack's socket and ack: when every processor has work queued, Go
// looks at the network only every 10 ms or so, and acks waited that long
// behind replies. cmd/loadgen, 50 commands outstanding on 2 cores: ack
// p99 1.54–1.60× the ack-only client's without the gate, 1.15–1.38× with
// it (BENCHMARKS.md).
//
// Room calls and the reply's trip over the network happen outside it:
// a command takes its turn after the room has answered, and gives it back
// when the encoded reply reaches the HTTP transport (see HTTPClient) or
// when the command ends, whichever is first.
type cpuGate struct {
	tokens chan struct{}
}

func newCPUGate() *cpuGate {
	return &cpuGate{tokens: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1))}
}

// A cpuTurn is one command's claim on the gate, carried in its context so
// that the HTTP transport can give it back.
type cpuTurn struct {
	gate *cpuGate

	// mu guards held and sent: a command's goroutine and its restart
	// watch can share a turn through their context.
	mu   sync.Mutex
	held bool
	sent bool // given back by the transport at least once
}

type cpuTurnKey struct{}

// withTurn returns ctx carrying a turn, not yet taken; a ctx that
// carries one already keeps it.
func (g *cpuGate) withTurn(ctx context.Context) (context.Context, *cpuTurn) {
	if t := turnOf(ctx); t != nil {
		return ctx, t
	}
	t := &cpuTurn{gate: g}
	return context.WithValue(ctx, cpuTurnKey{}, t), t
}

func turnOf(ctx context.Context) *cpuTurn {
	t, _ := ctx.Value(cpuTurnKey{}).(*cpuTurn)
	return t
}

// takeCPU takes the turn ctx carries, if any, before rendering.
func takeCPU(ctx context.Context) {
	if t := turnOf(ctx); t != nil {
		t.take(ctx)
	}
}

// maxTurnWait bounds the wait for a turn. A turn only orders work; past
// this the work goes on without one rather than delay a reply further.
const maxTurnWait = time.Second

// take waits for the gate unless the turn holds it already, for at most
// maxTurnWait or until ctx ends; then the work runs without it.
func (t *cpuTurn) take(ctx context.Context) {
	t.mu.Lock()
	held := t.held
	t.mu.Unlock()
	if held {
		return
	}
	timer := time.NewTimer(maxTurnWait)
	defer timer.Stop()
	select {
	case t.gate.tokens <- struct{}{}:
	case <-timer.C:
		return
	case <-ctx.Done():
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.held {
		// Another goroutine of the same command took one meanwhile.
		<-t.gate.tokens
		return
	}
	t.held = true
}

// done gives the gate back if the turn holds it.
func (t *cpuTurn) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.releaseLocked()
}

func (t *cpuTurn) releaseLocked() {
	if t.held {
		<-t.gate.tokens
		t.held = false
	}
}

// onNetwork gives the gate back as done does, and records that a post
// went through the transport of HTTPClient.
func (t *cpuTurn) onNetwork() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent = true
	t.releaseLocked()
}

// bypassed reports whether the turn was still held after a post that the
// transport never saw: the Web API client was not made with HTTPClient,
// and replies hold the gate for their whole round trip to Slack.
func (t *cpuTurn) bypassed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.held && !t.sent
}

// HTTPClient returns the client to build Config.API with, through
// slack.OptionHTTPClient. It keeps an idle connection for each of the
// DefaultWorkers posts that can be under way at once, where net/http
// keeps two and dialled again for every reply past them, it gives back a
// command's CPU turn once its reply is encoded and on its way, and it
// gives up on an exchange that lasts longer than a minute.
func HTTPClient() *http.Client {
	t := &http.Transport{Proxy: http.ProxyFromEnvironment}
	if def, ok := http.DefaultTransport.(*http.Transport); ok {
		t = def.Clone()
	}
	t.MaxIdleConnsPerHost = DefaultWorkers
	t.IdleConnTimeout = idleConnTimeout
	// The bot gives each call its own deadline; this one stops a caller
	// that forgot from waiting on Slack for ever.
	return &http.Client{Transport: turnReleaser{t}, Timeout: httpTimeout}
}

// httpTimeout bounds one HTTP exchange with Slack, well past the 15 s
// the bot allows a reply by default.
const httpTimeout = time.Minute

// idleConnTimeout is how long an idle connection to Slack is kept. A
// server closes idle connections after a while of its own, and a POST
// sent on one just as it does is reset; net/http does not send a POST
// again, since it may have been taken, so the reply is lost. Kept well
// under the server's while, a connection is let go by the bot first.
// Slack does not say what its while is; the stand-in's is 10 s (its
// ReadHeaderTimeout), and a reply after a 10 s room call was reset there
// (TestAcksDoNotWaitForTheRoom, once in about 20 runs under -race); load
// balancers commonly take 60 s. net/http's default is 90 s.
const idleConnTimeout = 5 * time.Second

// turnReleaser is the transport of HTTPClient.
type turnReleaser struct {
	next http.RoundTripper
}

func (r turnReleaser) RoundTrip(req *http.Request) (*http.Response, error) {
	if t := turnOf(req.Context()); t != nil {
		t.onNetwork()
	}
	return r.next.RoundTrip(req)
}
