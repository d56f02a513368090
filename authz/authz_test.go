package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/roomops/roombot/commands"
)

// The bot passes its *slack.Client.
var _ GroupMembers = (*slack.Client)(nil)

// fakeGroups is a usergroups.users.list that answers from a map.
type fakeGroups struct {
	mu      sync.Mutex
	members map[string][]string
	err     error
	calls   int
	byGroup map[string]int

	// When gate is set, each call announces itself on entered and then
	// waits for gate to close, or for its context.
	gate    chan struct{}
	entered chan struct{}
}

func (f *fakeGroups) GetUserGroupMembersContext(ctx context.Context, group string, _ ...slack.GetUserGroupMembersOption) ([]string, error) {
	f.mu.Lock()
	f.calls++
	if f.byGroup == nil {
		f.byGroup = map[string]int{}
	}
	f.byGroup[group]++
	gate, entered := f.gate, f.entered
	f.mu.Unlock()

	if gate != nil {
		entered <- struct{}{}
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return slices.Clone(f.members[group]), nil
}

func (f *fakeGroups) set(group string, members ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.members[group] = members
}

func (f *fakeGroups) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeGroups) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeGroups) callsFor(group string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byGroup[group]
}

// clock is a time that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock {
	return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

const (
	alice = "U0ALICE01" // viewer
	bob   = "U0BOB0002" // restarter
	carol = "U0CAROL03" // in the viewers' group
	dave  = "W0DAVE004" // in the restarters' group
	eve   = "U0EVE0005" // nobody
	views = "S0VIEW001"
	ops   = "S0OPS0001"
)

func newPolicy(t *testing.T, opts ...Option) (*Policy, *fakeGroups, *clock) {
	t.Helper()
	f := &fakeGroups{members: map[string][]string{
		views: {carol},
		ops:   {dave, "U0OTHER01"},
	}}
	c := newClock()
	opts = append([]Option{WithClock(c.now)}, opts...)
	p, err := New([]string{alice, views}, []string{bob, ops}, f, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p, f, c
}

func TestCheck(t *testing.T) {
	p, _, _ := newPolicy(t)
	tests := []struct {
		user string
		perm Permission
		want bool
	}{
		{alice, View, true},
		{alice, Restart, false},
		{bob, View, true}, // restart implies view
		{bob, Restart, true},
		{carol, View, true},
		{carol, Restart, false},
		{dave, View, true},
		{dave, Restart, true},
		{eve, View, false},
		{eve, Restart, false},
		{"u0alice01", View, false}, // ids match exactly
		{"<@" + alice + ">", View, false},
		{"", View, false},
		{views, View, false}, // a group is not a user
		{bob, Permission(0), false},
		{bob, Permission(3), false},
	}
	for _, tt := range tests {
		err := p.Check(context.Background(), tt.user, tt.perm)
		if tt.want && err != nil {
			t.Errorf("Check(%q, %v) = %v; want nil", tt.user, tt.perm, err)
		}
		if !tt.want && !errors.Is(err, ErrNotAllowed) {
			t.Errorf("Check(%q, %v) = %v; want ErrNotAllowed",
				tt.user, tt.perm, err)
		}
	}
}

func TestEmpty(t *testing.T) {
	p, err := New(nil, nil, nil)
	if err != nil {
		t.Fatalf("New(nil, nil, nil): %v", err)
	}
	if !p.Empty() {
		t.Error("Empty() = false for no lists; want true")
	}
	for _, perm := range []Permission{View, Restart} {
		if err := p.Check(context.Background(), alice, perm); !errors.Is(err, ErrNotAllowed) {
			t.Errorf("empty policy: Check(%v) = %v; want ErrNotAllowed", perm, err)
		}
	}
	if v, err := Verbs(context.Background(), p, alice); len(v) != 0 || err != nil {
		t.Errorf("empty policy: Verbs = %v, %v; want none, nil", v, err)
	}

	for _, lists := range [][2][]string{{{alice}, nil}, {nil, {bob}}} {
		p, err := New(lists[0], lists[1], nil)
		if err != nil || p.Empty() {
			t.Errorf("New(%q, %q) = Empty %v, %v; want not empty",
				lists[0], lists[1], p != nil && p.Empty(), err)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	f := &fakeGroups{}
	tests := []struct {
		name                string
		viewers, restarters []string
		groups              GroupMembers
		opts                []Option
	}{
		{"lower case", []string{"u0alice01"}, nil, nil, nil},
		{"mention", nil, []string{"<@U0BOB0002>"}, nil, nil},
		{"name", []string{"alice"}, nil, nil, nil},
		{"channel", []string{"C0OPS0001"}, nil, nil, nil},
		{"group without resolver", []string{views}, nil, nil, nil},
		{"stale shorter than ttl", []string{views}, nil, f,
			[]Option{WithGroupTTL(time.Hour), WithMaxStale(time.Minute)}},
	}
	for _, tt := range tests {
		if p, err := New(tt.viewers, tt.restarters, tt.groups, tt.opts...); err == nil {
			t.Errorf("%s: New = %v, nil; want an error", tt.name, p)
		}
	}
}

func TestVerbs(t *testing.T) {
	p, _, _ := newPolicy(t)
	ctx := context.Background()
	view := []commands.Verb{commands.VerbList, commands.VerbStatus,
		commands.VerbWatching, commands.VerbHelp}
	tests := []struct {
		user  string
		verbs []commands.Verb
	}{
		{alice, view},
		{carol, view},
		{bob, commands.Verbs()},
		{eve, nil},
	}
	for _, tt := range tests {
		got, err := Verbs(ctx, p, tt.user)
		if !slices.Equal(got, tt.verbs) || err != nil {
			t.Errorf("Verbs(%s) = %v, %v; want %v, nil", tt.user, got, err, tt.verbs)
		}
	}
}

// TestVerbsUnresolved: while the groups cannot be resolved, Verbs gives
// what the lists grant directly, and says that it could not check the
// rest.
func TestVerbsUnresolved(t *testing.T) {
	p, f, _ := newPolicy(t)
	f.fail(errors.New("missing_scope"))
	view := []commands.Verb{commands.VerbList, commands.VerbStatus,
		commands.VerbWatching, commands.VerbHelp}
	tests := []struct {
		user  string
		verbs []commands.Verb
	}{
		{alice, view}, // a viewer by name, perhaps a restarter by group
		{carol, nil},  // in a group only
		{eve, nil},
	}
	for _, tt := range tests {
		got, err := Verbs(context.Background(), p, tt.user)
		if !slices.Equal(got, tt.verbs) || !errors.Is(err, ErrUnresolved) {
			t.Errorf("Verbs(%s) = %v, %v; want %v, ErrUnresolved",
				tt.user, got, err, tt.verbs)
		}
	}
	got, err := Verbs(context.Background(), p, bob)
	if !slices.Equal(got, commands.Verbs()) || err != nil {
		t.Errorf("Verbs(bob) = %v, %v; want every verb, nil", got, err)
	}
}

func TestRequired(t *testing.T) {
	tests := map[commands.Verb]Permission{
		commands.VerbHelp:     View,
		commands.VerbList:     View,
		commands.VerbStatus:   View,
		commands.VerbWatching: View,
		commands.VerbRestart:  Restart,
		commands.VerbWatch:    Restart,
		commands.VerbUnwatch:  Restart,
		"reboot":              Restart,
	}
	for v, want := range tests {
		if got := Required(v); got != want {
			t.Errorf("Required(%q) = %v; want %v", v, got, want)
		}
	}
}

func TestGroupCacheRefreshesAfterTTL(t *testing.T) {
	p, f, c := newPolicy(t, WithGroupTTL(5*time.Minute))
	ctx := context.Background()
	mustAllow(t, p, carol, View)
	if n := f.callsFor(views); n != 1 {
		t.Fatalf("after one check: %d lookups; want 1", n)
	}

	// Within the TTL the cached list answers, even once carol has left.
	f.set(views, "U0NEW0001")
	c.advance(4 * time.Minute)
	mustAllow(t, p, carol, View)
	if n := f.callsFor(views); n != 1 {
		t.Errorf("within the TTL: %d lookups; want 1", n)
	}

	c.advance(2 * time.Minute)
	if err := p.Check(ctx, carol, View); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("after the TTL, carol removed: Check = %v; want ErrNotAllowed", err)
	}
	mustAllow(t, p, "U0NEW0001", View)
	if n := f.callsFor(views); n != 2 {
		t.Errorf("after the TTL: %d lookups; want 2", n)
	}
}

func TestGroupCacheFailure(t *testing.T) {
	p, f, c := newPolicy(t, WithGroupTTL(5*time.Minute),
		WithMaxStale(15*time.Minute))
	ctx := context.Background()
	boom := errors.New("slack is down")
	mustAllow(t, p, dave, Restart)

	// Slack fails: the last good list goes on answering, and Slack is
	// not asked again until retryAfter has passed.
	f.fail(boom)
	c.advance(6 * time.Minute)
	mustAllow(t, p, dave, Restart)
	mustAllow(t, p, dave, Restart)
	if n := f.callCount(); n != 2 {
		t.Errorf("one failed refresh: %d lookups; want 2", n)
	}
	c.advance(retryAfter)
	mustAllow(t, p, dave, Restart)
	if n := f.callCount(); n != 3 {
		t.Errorf("after retryAfter: %d lookups; want 3", n)
	}

	// Past the staleness bound, the group allows nobody.
	c.advance(10 * time.Minute)
	err := p.Check(ctx, dave, Restart)
	if !errors.Is(err, ErrUnresolved) || !errors.Is(err, boom) {
		t.Errorf("list too old: Check = %v; want ErrUnresolved and %v", err, boom)
	}
	// A user named directly is still allowed.
	mustAllow(t, p, bob, Restart)

	// Slack is back: after retryAfter the group works again.
	f.fail(nil)
	c.advance(retryAfter)
	mustAllow(t, p, dave, Restart)
}

func TestGroupNeverResolved(t *testing.T) {
	p, f, c := newPolicy(t)
	ctx := context.Background()
	boom := errors.New("missing_scope")
	f.fail(boom)
	for range 3 {
		err := p.Check(ctx, carol, View)
		if !errors.Is(err, ErrUnresolved) || !errors.Is(err, boom) {
			t.Fatalf("Check = %v; want ErrUnresolved and %v", err, boom)
		}
	}
	// View asks both groups once; the other checks are held off.
	if n := f.callCount(); n != 2 {
		t.Errorf("3 checks during a failure: %d lookups; want 2", n)
	}
	c.advance(retryAfter)
	f.fail(nil)
	mustAllow(t, p, carol, View)
}

// TestResolve: Resolve asks for every group once, names each that
// failed, and keeps what it got, so the first Check asks Slack nothing.
func TestResolve(t *testing.T) {
	p, f, _ := newPolicy(t)
	ctx := context.Background()
	if err := p.Resolve(ctx); err != nil {
		t.Fatalf("Resolve = %v, want nil", err)
	}
	if a, b := f.callsFor(views), f.callsFor(ops); a != 1 || b != 1 {
		t.Errorf("Resolve looked up %s %d times and %s %d times, want once each", views, a, ops, b)
	}
	mustAllow(t, p, carol, View)
	mustAllow(t, p, dave, Restart)
	if n := f.callCount(); n != 2 {
		t.Errorf("checks after Resolve made %d lookups in all, want Resolve's 2", n)
	}

	p, f, _ = newPolicy(t)
	boom := errors.New("missing_scope")
	f.fail(boom)
	err := p.Resolve(ctx)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), views) || !strings.Contains(err.Error(), ops) {
		t.Errorf("Resolve with Slack refusing = %v, want %v naming %s and %s", err, boom, views, ops)
	}
	// Slack is back at once: the first check asks it again rather than
	// repeat Resolve's failure until retryAfter has passed.
	f.fail(nil)
	mustAllow(t, p, dave, Restart)

	p, err = New([]string{alice}, []string{bob}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Resolve(ctx); err != nil {
		t.Errorf("Resolve without groups = %v, want nil", err)
	}
}

func TestOneRefreshAtATime(t *testing.T) {
	p, f, _ := newPolicy(t)
	f.gate = make(chan struct{})
	f.entered = make(chan struct{}, 1)

	const n = 8
	errs := make(chan error, n)
	check := func() { errs <- p.Check(context.Background(), dave, Restart) }
	go check()
	wait(t, f.entered, "the first lookup")
	for range n - 1 {
		go check()
	}
	close(f.gate)
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Check = %v; want nil", err)
		}
	}
	if got := f.callCount(); got != 1 {
		t.Errorf("%d concurrent checks: %d lookups; want 1", n, got)
	}
}

func TestWaiterGivesUp(t *testing.T) {
	p, f, _ := newPolicy(t)
	f.gate = make(chan struct{})
	f.entered = make(chan struct{}, 2)

	leaderCtx, stopLeader := context.WithCancel(context.Background())
	leader := make(chan error, 1)
	go func() { leader <- p.Check(leaderCtx, dave, Restart) }()
	wait(t, f.entered, "the first lookup")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := p.Check(ctx, dave, Restart)
	if !errors.Is(err, ErrUnresolved) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: Check = %v; want ErrUnresolved, Canceled", err)
	}

	// The leader giving up is not Slack failing: the next check asks
	// again at once, and succeeds.
	stopLeader()
	if err := waitErr(t, leader); !errors.Is(err, ErrUnresolved) {
		t.Errorf("cancelled leader: Check = %v; want ErrUnresolved", err)
	}
	close(f.gate)
	go func() { <-f.entered }()
	mustAllow(t, p, dave, Restart)
	if n := f.callCount(); n != 2 {
		t.Errorf("after the leader gave up: %d lookups; want 2", n)
	}
}

func TestConcurrentChecks(t *testing.T) {
	p, f, c := newPolicy(t, WithGroupTTL(time.Minute),
		WithMaxStale(2*time.Minute))
	boom := errors.New("flaky")
	var wg sync.WaitGroup
	stop := make(chan struct{})

	// The clock and Slack change under the checks.
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c.advance(7 * time.Second)
			if i%10 == 0 {
				f.fail(boom)
			} else if i%10 == 5 {
				f.fail(nil)
			}
		}
	})
	var checkers sync.WaitGroup
	for g := range 8 {
		checkers.Go(func() {
			for i := range 300 {
				concurrentCheck(t, p, g+i)
			}
		})
	}
	checkers.Wait()
	close(stop)
	wg.Wait()
}

// concurrentCheck checks one user: those named directly are always
// allowed, those named nowhere always denied, and group members get
// either answer, but never another error.
func concurrentCheck(t *testing.T, p *Policy, i int) {
	ctx := context.Background()
	users := []string{alice, bob, carol, dave, eve}
	user, perm := users[i%len(users)], Permission(1+i%2)
	err := p.Check(ctx, user, perm)
	denial := errors.Is(err, ErrNotAllowed) || errors.Is(err, ErrUnresolved)
	switch {
	case user == bob || (user == alice && perm == View):
		if err != nil {
			t.Errorf("Check(%s, %v) = %v; want nil", user, perm, err)
		}
	case user == eve || (user == alice && perm == Restart):
		if !denial {
			t.Errorf("Check(%s, %v) = %v; want a denial", user, perm, err)
		}
	case err != nil && !denial:
		t.Errorf("Check(%s, %v) = %v; want nil or a denial", user, perm, err)
	}
}

func mustAllow(t *testing.T, p *Policy, user string, perm Permission) {
	t.Helper()
	if err := p.Check(context.Background(), user, perm); err != nil {
		t.Fatalf("Check(%s, %v) = %v; want nil", user, perm, err)
	}
}

func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func waitErr(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for Check")
		return nil
	}
}

func TestPermissionString(t *testing.T) {
	for p, want := range map[Permission]string{
		View: "view", Restart: "restart", 0: "permission(0)",
	} {
		if got := fmt.Sprint(p); got != want {
			t.Errorf("Permission(%d) = %q; want %q", int(p), got, want)
		}
	}
}
