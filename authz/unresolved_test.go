package authz

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestUnresolvedIsNotADenial: a user group Slack will not resolve still
// denies, but as ErrUnresolved wrapping Slack's cause, not as
// ErrNotAllowed, so the bot can log it and tell the user to try again
// rather than that they are not on the list.
func TestUnresolvedIsNotADenial(t *testing.T) {
	p, f, _ := newPolicy(t)
	ctx := context.Background()
	boom := errors.New("missing_scope")
	f.fail(boom)

	tests := []struct {
		name       string
		user       string
		perm       Permission
		unresolved bool
	}{
		// The groups cannot be resolved, and might name them.
		{"stranger asks to view", eve, View, true},
		{"stranger asks to restart", eve, Restart, true},
		{"viewer asks to restart", alice, Restart, true},
		{"group member asks to view", carol, View, true},
		// Nothing that could not be resolved would change the answer.
		{"not a user id", "u0eve0005", Restart, false},
		{"no such permission", eve, Permission(0), false},
	}
	for _, tt := range tests {
		err := p.Check(ctx, tt.user, tt.perm)
		switch {
		case err == nil:
			t.Errorf("%s: Check(%s, %v) = nil; want a denial", tt.name, tt.user, tt.perm)
		case tt.unresolved && (!errors.Is(err, ErrUnresolved) ||
			!errors.Is(err, boom) || errors.Is(err, ErrNotAllowed)):
			t.Errorf("%s: Check(%s, %v) = %v; want ErrUnresolved wrapping %v, "+
				"not ErrNotAllowed", tt.name, tt.user, tt.perm, err, boom)
		case !tt.unresolved && (!errors.Is(err, ErrNotAllowed) ||
			errors.Is(err, ErrUnresolved)):
			t.Errorf("%s: Check(%s, %v) = %v; want ErrNotAllowed only",
				tt.name, tt.user, tt.perm, err)
		}
	}
	// Named directly: the groups do not matter.
	mustAllow(t, p, alice, View)
	mustAllow(t, p, bob, Restart)
}

// TestGroupsResolvedTogether: a Check asks for every group it needs at
// once, so a slow Slack costs one lookup time, not one per group.
func TestGroupsResolvedTogether(t *testing.T) {
	// Longer than wait waits, so that a lookup giving up cannot let the
	// next one start.
	p, f, _ := newPolicy(t, WithLookupTimeout(time.Minute))
	f.gate = make(chan struct{})
	f.entered = make(chan struct{}, 2)

	done := make(chan error, 1)
	go func() { done <- p.Check(context.Background(), dave, View) }()
	// View needs views and ops; both are asked before either answers.
	wait(t, f.entered, "the first lookup")
	wait(t, f.entered, "the second lookup, while the first still waits")
	close(f.gate)
	if err := waitErr(t, done); err != nil {
		t.Errorf("Check(dave, View) = %v; want nil", err)
	}
}

// TestCheckTakesAtMostTheLookupTimeout: with Slack hanging, one Check
// gives up after the lookup timeout however many groups it needs, and
// the next Check does not ask Slack again before retryAfter.
func TestCheckTakesAtMostTheLookupTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 5 * time.Second
		f := &fakeGroups{members: map[string][]string{}}
		f.gate = make(chan struct{}) // never opened: Slack hangs
		f.entered = make(chan struct{}, 10)
		groups := []string{"S0AAAAAA1", "S0AAAAAA2", "S0AAAAAA3", "S0AAAAAA4"}
		p, err := New(groups, nil, f, WithLookupTimeout(timeout))
		if err != nil {
			t.Fatal(err)
		}

		start := time.Now()
		err = p.Check(context.Background(), alice, View)
		if took := time.Since(start); took > timeout {
			t.Errorf("Check with %d hanging groups took %v; want at most %v",
				len(groups), took, timeout)
		}
		if !errors.Is(err, ErrUnresolved) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Check with hanging groups = %v; want ErrUnresolved "+
				"wrapping DeadlineExceeded", err)
		}

		// Slack being slow is Slack failing: the groups are held off.
		start = time.Now()
		err = p.Check(context.Background(), alice, View)
		if took := time.Since(start); took != 0 || !errors.Is(err, ErrUnresolved) {
			t.Errorf("second Check = %v after %v; want ErrUnresolved at once", err, took)
		}
		if n := f.callCount(); n != len(groups) {
			t.Errorf("two checks: %d lookups; want %d", n, len(groups))
		}
	})
}

// TestWaiterBoundedByTheLookupTimeout: a Check that waits for another's
// lookup, then has to ask again itself when that one gives up, still
// returns within one lookup timeout of its start.
func TestWaiterBoundedByTheLookupTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 5 * time.Second
		f := &fakeGroups{members: map[string][]string{}}
		f.gate = make(chan struct{})
		f.entered = make(chan struct{}, 10)
		p, err := New([]string{views}, nil, f, WithLookupTimeout(timeout))
		if err != nil {
			t.Fatal(err)
		}

		// The first Check gives up after 4 s, for its own reasons.
		first, stop := context.WithTimeout(context.Background(), 4*time.Second)
		defer stop()
		go p.Check(first, carol, View)
		<-f.entered
		time.Sleep(time.Second) // fake time, in the bubble

		start := time.Now()
		err = p.Check(context.Background(), carol, View)
		if took := time.Since(start); took > timeout {
			t.Errorf("waiting Check took %v; want at most %v", took, timeout)
		}
		if !errors.Is(err, ErrUnresolved) {
			t.Errorf("waiting Check = %v; want ErrUnresolved", err)
		}
		synctest.Wait()
	})
}

// TestFreshGroupAnswersAlone: a group whose fresh member list names the
// user answers without Slack being asked for the others, as it did when
// groups were asked one after the other; asking together must not cost
// Slack a call per Check.
func TestFreshGroupAnswersAlone(t *testing.T) {
	p, f, _ := newPolicy(t)
	mustAllow(t, p, dave, Restart) // resolves ops
	for range 3 {
		mustAllow(t, p, dave, View) // views is never needed
	}
	if n := f.callsFor(views); n != 0 {
		t.Errorf("views was asked for %d times; want 0: ops named dave", n)
	}
}
