package commands_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/roomops/roombot/commands"
)

// blockIDs returns the block ids of m, in order.
func blockIDs(t *testing.T, m commands.Message) []string {
	t.Helper()
	var v struct {
		Blocks []struct {
			ID string `json:"block_id"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(marshal(t, m), &v); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range v.Blocks {
		ids = append(ids, b.ID)
	}
	return ids
}

// sharedIDs returns the block ids that a and b both use.
func sharedIDs(t *testing.T, a, b commands.Message) []string {
	var out []string
	bs := blockIDs(t, b)
	for _, id := range blockIDs(t, a) {
		if slices.Contains(bs, id) {
			out = append(out, id)
		}
	}
	return out
}

// TestBlockIDsChangeWithThePage: a page click replaces the list message,
// and Slack wants fresh block ids in an updated message; a client may
// otherwise keep the old pager, whose buttons name the old pages.
func TestBlockIDsChangeWithThePage(t *testing.T) {
	big := bigRoom(80)
	for page := 1; page < 8; page++ {
		a, b := commands.List(big, page, true, now), commands.List(big, page+1, true, now)
		if shared := sharedIDs(t, a, b); len(shared) > 0 {
			t.Errorf("pages %d and %d share block ids %v", page, page+1, shared)
		}
	}
}

// TestBlockIDsChangeWithTheEpisode: a watch message is updated at each
// step of its episode, each time with fresh block ids, and the same step
// renders the same ids.
func TestBlockIDsChangeWithTheEpisode(t *testing.T) {
	e := commands.Episode{Room: "lobby", Service: "worker", ID: "svc-worker",
		Restarts: 1, RestartCount: 3, ExitCode: exit(137),
		First: now, Last: now, State: "restarting"}
	steps := []commands.Episode{e}
	e.Restarts, e.RestartCount, e.Last = 2, 4, now.Add(time.Minute)
	steps = append(steps, e)
	e.Back, e.Took, e.State = true, 2*time.Minute, "running"
	steps = append(steps, e)
	for i := 1; i < len(steps); i++ {
		a, b := commands.Announce(steps[i-1]), commands.Announce(steps[i])
		if shared := sharedIDs(t, a, b); len(shared) > 0 {
			t.Errorf("steps %d and %d share block ids %v", i-1, i, shared)
		}
	}
	if a, b := blockIDs(t, commands.Announce(e)), blockIDs(t, commands.Announce(e)); !slices.Equal(a, b) {
		t.Errorf("one step rendered twice: block ids %v, then %v", a, b)
	}
}
