package bot

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/roomops/roombot/authz"
	"github.com/roomops/roombot/commands"
	"github.com/roomops/roombot/watch"
)

// watchCmd answers watch, unwatch and watching, once run has checked the
// allow-list: watching a room needs the right to restart, since it sends
// messages to the channel; seeing what is watched, the right to look.
func (b *Bot) watchCmd(ctx context.Context, log *slog.Logger, d *decision, cmd commands.Command, channel, channelName string) commands.Message {
	w := b.cfg.Watcher
	if w == nil {
		d.outcome = "unsupported"
		return commands.Error("Watching rooms is turned off in this roombot.")
	}
	switch cmd.Verb {
	case commands.VerbWatch:
		return b.watchRoom(ctx, log, d, cmd.Room, channel, channelName)
	case commands.VerbUnwatch:
		return b.unwatchRoom(ctx, log, d, cmd.Room, channel)
	}
	pairs, err := w.Pairs(ctx)
	if err != nil {
		return b.watchFailure(log, d, "", err)
	}
	// Only a restarter is told to run watch; a check that fails, as of
	// a group Slack will not resolve, leaves the hint out.
	canWatch := b.may(ctx, d.user, authz.Required(commands.VerbWatch))
	return commands.Watching(pairs, w.Durable(), canWatch)
}

// watchRoom starts channel watching room. The room is listed first: a
// name that does not answer now would only be reported unreachable later.
func (b *Bot) watchRoom(ctx context.Context, log *slog.Logger, d *decision, room, channel, channelName string) commands.Message {
	if !commands.IsChannel(channel) || isDirect(channelName) {
		d.outcome = "not_channel"
		return commands.NotAChannel()
	}
	if _, err := b.list(ctx, room); err != nil {
		return b.roomFailure(log, d, room, err)
	}
	w := b.cfg.Watcher
	err := w.Watch(ctx, room, channel)
	switch {
	case errors.Is(err, watch.ErrNotChannel):
		d.outcome = "not_channel"
		return commands.NotAChannel()
	case errors.Is(err, watch.ErrWatched):
		d.outcome = "watched_already"
		return commands.WatchedAlready(room, channel)
	case err != nil:
		return b.watchFailure(log, d, " Nothing was changed.", err)
	}
	d.outcome = "watched"
	return commands.Watched(room, channel, w.Durable())
}

// isDirect reports whether a slash command's channel_name says it was run
// in a direct message ("directmessage") or a group DM ("mpdm-…"). A group
// DM's id starts with G, as a private channel's does, so the id alone
// cannot tell. Unwatch does not ask: it may remove a pair made before
// group DMs were refused.
func isDirect(channelName string) bool {
	return channelName == "directmessage" ||
		strings.HasPrefix(channelName, "mpdm-")
}

func (b *Bot) unwatchRoom(ctx context.Context, log *slog.Logger, d *decision, room, channel string) commands.Message {
	err := b.cfg.Watcher.Unwatch(ctx, room, channel)
	switch {
	case err == nil:
		d.outcome = "unwatched"
		return commands.Unwatched(room, channel)
	case errors.Is(err, watch.ErrNotChannel):
		d.outcome = "not_channel"
		return commands.NotAChannel()
	case errors.Is(err, watch.ErrConfigured):
		d.outcome = "configured"
		return commands.WatchConfigured(room, channel)
	case errors.Is(err, watch.ErrNotWatched):
		d.outcome = "not_watched"
		return commands.NotWatched(room, channel)
	}
	return b.watchFailure(log, d, " Nothing was changed.", err)
}

// watchFailure answers a failure of the pair store, which lives in Redis
// when replicas share it. changed, roombot's own words, says what that
// meant for a command that would have changed it.
func (b *Bot) watchFailure(log *slog.Logger, d *decision, changed string, err error) commands.Message {
	ref := newNonce()[:8]
	d.outcome = "store_failed"
	log.Error("watch list unavailable", "err", err, "ref", ref)
	return commands.Errorf("roombot cannot reach its list of watched rooms right now."+
		changed+" Try again in a minute (ref %s).", ref)
}
