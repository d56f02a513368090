package commands

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/roomops/roombot/authz/slackid"
)

// A WatchPair is one room watched for one channel: the channel hears of
// the restarts of the room's services that nobody asked for.
type WatchPair struct {
	Room    string
	Channel string // a channel id, C… or G…; see IsChannel

	// Configured is set for pairs from roombot's configuration
	// (ROOMBOT_WATCH), which /room-services unwatch cannot remove.
	Configured bool
}

// IsChannel reports whether id is a Slack channel id: C… for a public
// channel or G… for a private one, by the rule authz reads ids with
// (slackid.IsChannel). Direct messages (D…) and names (#general) are not
// channels a room can be watched from.
func IsChannel(id string) bool { return slackid.IsChannel(id) }

// channelRef names a channel so Slack shows its name. Only a string that
// IsChannel accepts is ever put inside <#…>.
func channelRef(id string) string {
	if !IsChannel(id) {
		return code(id, 40)
	}
	return "<#" + id + ">"
}

// An Episode is what the channels watching a room are told about one of
// its services, from its first event to the last: a restart, a crash
// loop, a failed start, a scheduled restart, the service added or
// removed, and whether it runs again. One message tells an episode, and
// is updated as the episode goes on.
type Episode struct {
	Room    string
	Service string // the service's name
	ID      string // the service's id

	Added   bool // the service appeared in the room
	Removed bool // the service left the room

	Restarts     int       // restarts seen in the episode
	RestartCount int       // the room's restart count, as last seen
	ExitCode     *int      // the last exit code; nil when unknown
	StartError   string    // the last start error seen in the episode
	ScheduledAt  time.Time // a restart the room has scheduled; zero if none

	First, Last time.Time // the first and the latest event

	// State is the service's state as last seen. Back is set once it
	// runs again, Took saying how long it was down.
	State string
	Back  bool
	Took  time.Duration
}

// Announce renders the message about an episode, for its first post and
// for every update: what happened, the restart count and last exit, and
// whether the service runs again. Each step of the episode has block ids
// of its own, as Slack wants fresh ids when a message is updated.
func Announce(e Episode) Message {
	icon, what := e.headline()
	text := icon + " " + name(e.Service, capName) + " in " +
		name(e.Room, capRoom) + " " + what + "."
	if facts := e.facts(); len(facts) > 0 {
		text += "\n" + strings.Join(facts, " · ")
	}
	if st := e.status(); st != "" {
		text += "\n" + st
	}

	var foot []string
	if e.ID != "" {
		foot = append(foot, "service id "+code(e.ID, capID))
	}
	if !e.First.IsZero() {
		foot = append(foot, e.span())
	}
	if len(foot) == 0 {
		foot = append(foot, "roombot watches this room")
	}
	footText := strings.Join(foot, " · ")
	step := versionOf(text, footText)
	return Message{
		Text: flat(e.Service, 100) + " in " + flat(e.Room, 100) + " " +
			e.summary(),
		Blocks: []slack.Block{
			section("rs-watch-"+step, text),
			note("rs-watch-foot-"+step, footText),
		},
	}
}

// headline picks the emoji and the words for what matters most in the
// episode: a removal, then a failed start, then restarts.
func (e Episode) headline() (icon, what string) {
	switch {
	case e.Removed:
		return ":heavy_minus_sign:", "was removed from the room"
	case e.StartError != "":
		return ":red_circle:", "failed to start"
	case e.Restarts > 1:
		return ":repeat:", "restarted " + plural(e.Restarts, "time") +
			e.within()
	case e.Restarts == 1:
		return ":arrows_counterclockwise:", "restarted by itself"
	case e.ExitCode != nil && *e.ExitCode != 0:
		return ":red_circle:", fmt.Sprintf("exited with code %d", *e.ExitCode)
	case e.Added:
		return ":heavy_plus_sign:", "was added to the room"
	case !e.ScheduledAt.IsZero():
		return ":calendar:", "has a restart scheduled"
	}
	return ":information_source:", "changed"
}

// within says over how long the restarts happened, when it was a while.
func (e Episode) within() string {
	d := e.Last.Sub(e.First)
	if e.First.IsZero() || d < time.Second {
		return ""
	}
	return " in " + age(d)
}

func (e Episode) facts() []string {
	var out []string
	if e.Restarts > 0 || e.RestartCount > 0 {
		out = append(out, fmt.Sprintf("restart count %d", e.RestartCount))
	}
	if e.ExitCode != nil {
		out = append(out, fmt.Sprintf("last exit %d", *e.ExitCode))
	}
	if e.StartError != "" {
		out = append(out, "start error "+code(e.StartError, capDetail))
	}
	if !e.ScheduledAt.IsZero() {
		out = append(out, "restart scheduled for "+clock(e.ScheduledAt))
	}
	return out
}

// status says how the service is doing as of the latest event.
func (e Episode) status() string {
	switch {
	case e.Removed:
		return ""
	case e.Back && e.Took >= time.Second:
		return ":large_green_circle: Running again after " + age(e.Took) + "."
	case e.Back:
		return ":large_green_circle: Running again."
	case e.State != "":
		return "Now " + word(e.State, capState) + "."
	}
	return ""
}

func (e Episode) span() string {
	if e.Last.Sub(e.First) < time.Minute {
		return clock(e.First)
	}
	return "from " + clock(e.First) + " to " + clock(e.Last)
}

// summary is the notification text: the headline without formatting.
func (e Episode) summary() string {
	_, what := e.headline()
	if e.ExitCode != nil && e.Restarts > 0 {
		what += fmt.Sprintf(", last exit %d", *e.ExitCode)
	}
	if e.Back {
		what += "; running again"
	}
	return what
}

// Unreachable tells the channels watching room that it has not answered
// since since; reason is a short cause, shown as given.
func Unreachable(room string, since time.Time, reason string) Message {
	text := ":warning: Room " + name(room, capRoom) + " is unreachable " +
		"since " + clock(since)
	if reason != "" {
		text += ": " + code(reason, capDetail)
	}
	text += ". roombot keeps trying, and will say when it answers again."
	return simple("rs-watch-down", text,
		"Room "+flat(room, 100)+" is unreachable")
}

// Reachable tells the channels watching room that it answers again,
// after having been unreachable for down.
func Reachable(room string, down time.Duration) Message {
	text := ":white_check_mark: Room " + name(room, capRoom) +
		" answers again after " + age(down) + "."
	return simple("rs-watch-up", text,
		"Room "+flat(room, 100)+" answers again")
}

// Caps of the watching list: how many channels one room's line names,
// and what all the lines together may cost, which keeps the message
// under MaxMessageBytes however many pairs there are.
const (
	maxWatchChannels = 20
	watchingBudget   = 12 << 10
)

// Watching renders the pairs in effect, one line per room with the
// channels that watch it, configured ones marked. durable says whether
// pairs added at run time survive a restart of roombot; when they do
// not, the message says so. The lines stop at a size budget, with a
// count of the rooms left out. canWatch says whether the reader may run
// watch, which an empty list suggests only to those who may.
func Watching(pairs []WatchPair, durable, canWatch bool) Message {
	if len(pairs) == 0 {
		text := ":eyes: No room is watched. Run `/room-services watch " +
			"ROOM` in a channel to hear there of ROOM's restarts."
		if !canWatch {
			text = ":eyes: No room is watched. People allowed to restart " +
				"services can have a channel told of a room's restarts."
		}
		return Message{
			Text: "No room is watched",
			Blocks: []slack.Block{
				section("rs-watching", text),
				note("rs-watching-foot", keptNote(durable)),
			},
		}
	}

	lines := watchLines(pairs)
	blocks := []slack.Block{section("rs-watching",
		fmt.Sprintf(":eyes: Watched rooms (%d):", len(lines)))}
	var cur []string
	size, used := 0, 0
	for i, l := range lines {
		c := textCost(l) + 1
		if used+c > watchingBudget {
			blocks = flushLines(blocks, cur)
			cur = nil
			blocks = append(blocks, note("rs-watching-more",
				fmt.Sprintf("…and %s more not shown.",
					plural(len(lines)-i, "room"))))
			break
		}
		if size+c > maxSection {
			blocks = flushLines(blocks, cur)
			cur, size = nil, 0
		}
		cur = append(cur, l)
		size += c
		used += c
	}
	blocks = flushLines(blocks, cur)

	foot := keptNote(durable)
	if slices.ContainsFunc(pairs, func(p WatchPair) bool { return p.Configured }) {
		foot += " Channels marked _configured_ come from ROOMBOT_WATCH " +
			"and change only there."
	}
	blocks = append(blocks, note("rs-watching-foot", foot))
	return Message{
		Text:   fmt.Sprintf("%s watched", plural(len(lines), "room")),
		Blocks: blocks,
	}
}

func flushLines(blocks []slack.Block, lines []string) []slack.Block {
	if len(lines) == 0 {
		return blocks
	}
	id := fmt.Sprintf("rs-watching-%d", len(blocks))
	return append(blocks, section(id, strings.Join(lines, "\n")))
}

// watchLines are the lines of Watching: rooms in order, each with its
// channels.
func watchLines(pairs []WatchPair) []string {
	sorted := slices.Clone(pairs)
	slices.SortFunc(sorted, func(a, b WatchPair) int {
		return cmp.Or(cmp.Compare(a.Room, b.Room),
			cmp.Compare(a.Channel, b.Channel))
	})
	var lines []string
	for i := 0; i < len(sorted); {
		j := i
		for j < len(sorted) && sorted[j].Room == sorted[i].Room {
			j++
		}
		lines = append(lines, watchLine(sorted[i:j]))
		i = j
	}
	return lines
}

func watchLine(pairs []WatchPair) string {
	var chans []string
	for i, p := range pairs {
		if i == maxWatchChannels {
			chans = append(chans, fmt.Sprintf("+%d more", len(pairs)-i))
			break
		}
		c := channelRef(p.Channel)
		if p.Configured {
			c += " _(configured)_"
		}
		chans = append(chans, c)
	}
	return "• " + name(pairs[0].Room, capRoom) + ": " +
		strings.Join(chans, ", ")
}

func keptNote(durable bool) string {
	if durable {
		return "Rooms added with `watch` are kept in Redis and survive " +
			"a restart of roombot."
	}
	return "Rooms added with `watch` are kept in memory only: roombot " +
		"has no Redis configured, so they are lost when it restarts."
}

// Watched confirms that channel now hears of room's restarts. When
// durable is false it warns that this lasts only until roombot restarts.
func Watched(room, channel string, durable bool) Message {
	text := ":eyes: " + channelRef(channel) + " now hears when a " +
		"service of " + name(room, capRoom) + " restarts, crashes or " +
		"comes back without anyone asking."
	if !durable {
		text += " This lasts until roombot restarts: it has no Redis " +
			"to keep it in."
	}
	return simple("rs-watch-added", text, "Watching "+flat(room, 100))
}

// WatchedAlready answers a watch of room by a channel that hears of it
// already.
func WatchedAlready(room, channel string) Message {
	text := ":eyes: " + channelRef(channel) + " already hears when a " +
		"service of " + name(room, capRoom) + " restarts; nothing changed."
	return simple("rs-watch-added", text, "Already watching "+flat(room, 100))
}

// Unwatched confirms that channel no longer hears of room.
func Unwatched(room, channel string) Message {
	text := ":no_bell: " + channelRef(channel) + " no longer hears of " +
		"the restarts of " + name(room, capRoom) + "."
	return simple("rs-watch-removed", text,
		"No longer watching "+flat(room, 100))
}

// NotWatched answers an unwatch of a room that channel does not watch.
func NotWatched(room, channel string) Message {
	text := ":information_source: " + channelRef(channel) + " does not " +
		"watch " + name(room, capRoom) + ", so there is nothing to undo. " +
		"`/room-services watching` shows what is watched."
	return simple("rs-watch-none", text, flat(room, 100)+" is not watched here")
}

// WatchConfigured refuses to unwatch a pair that roombot's configuration
// sets: only a change of ROOMBOT_WATCH can remove it.
func WatchConfigured(room, channel string) Message {
	text := ":lock: " + channelRef(channel) + " watches " +
		name(room, capRoom) + " because roombot's configuration " +
		"(ROOMBOT_WATCH) says so, and `unwatch` cannot change that. " +
		"Ask whoever runs roombot to take it out of ROOMBOT_WATCH."
	return simple("rs-watch-configured", text,
		flat(room, 100)+" is watched by configuration")
}

// NotAChannel refuses watch and unwatch outside a channel, such as in a
// direct message: a watch posts to a channel.
func NotAChannel() Message {
	text := ":warning: Rooms can be watched from channels only, not " +
		"from direct messages. Run the command in the channel that " +
		"should hear of the restarts."
	return simple("rs-watch-nochannel", text,
		"Rooms can be watched from channels only")
}
