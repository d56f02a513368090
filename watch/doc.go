// Package watch polls MeshAgent rooms and tells Slack channels of the
// restarts nobody asked for: a crash loop, an out-of-memory kill, a
// scheduled restart, a service that fails to start, appears or goes, and
// its coming back.
//
// # Pairs
//
// A channel watches a room through a Pair. Pairs come from configuration
// (ROOMBOT_WATCH, read with ParsePairs) and from /room-services watch at
// run time, kept in a PairStore: MemoryPairs, lost at restart, or
// RedisPairs, shared by replicas and kept. A configured pair can be
// removed only from the configuration. The Watcher reloads the pairs
// every interval, so a pair added on one replica is polled by whichever
// replica holds the room's lease.
//
// # Polls
//
// Each room is polled once an interval, however many channels watch it,
// give or take a tenth so that many rooms do not poll in step. With
// several replicas, only the holder of the room's lease in the claim
// store ("watch:<room>", renewed at each poll, lasting three intervals
// and a poll's timeout) polls it.
//
// The holder keeps the room's state in a StateStore beside the lease:
// the last list (as much as Diff reads), the open episodes with their
// messages' ts in each channel, and the room's outage. It saves it after
// a poll that changed it, when a message gets its ts, and before it lets
// the lease go; the state lasts a Window. A replica that takes the lease
// over, or the same one after a restart with Redis, carries on from it:
// its first list is compared with the saved one, and the episodes' next
// versions update their messages. With no state, or one a Window old,
// the first list is a silent baseline, so a change made while nobody
// polled the room may go unannounced; none is announced twice.
//
// Diff compares successive lists of a room. Services are matched by id;
// those without one are skipped.
//
// # Messages
//
// The changes of one service form an episode, told by one message in
// each watching channel (commands.Announce) and updated as the episode
// goes on: ten restarts in two minutes are one message saying so. A
// change after its message has been quiet for Window posts a new one.
// Messages go through the Poster, one at a time per channel, so its rate
// limit holds back that channel only; a newer version of a message that
// waits replaces the older. A message Slack refuses is logged, once per
// channel until one gets through, and never reported to Slack.
//
// A room that fails UnreachableAfter polls in a row is reported once,
// and once more when it answers again; the baseline is kept meanwhile,
// so what changed during the outage is told then.
//
// # roombot's own restarts
//
// The bot calls Performed before it restarts a service. That marks the
// service in the claim store, shared by replicas, and while the mark
// holds no change of the service is announced: the bot's own
// notification tells that restart. One thing still is: the service
// running again ends an episode the channels heard of before, so its
// message does not say "restarting" for good.
//
// TODO(watch): that message says "Running again after …" counted from
// the crash, without saying roombot's restart brought it back;
// commands.Episode has no field for it.
package watch
