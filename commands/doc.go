// Package commands turns the text of a /room-services slash command into a
// Command, and renders every Block Kit message the bot sends: service
// lists, the detail of one service, the restart confirmation card and its
// outcomes, channel notifications, help and errors.
//
// Everything here is a pure function of its arguments. There is no network
// access and no state, so the bot may call any of it from any goroutine.
//
// # Text from outside
//
// Every string that comes from a room or a user (room and service names,
// ids, images, states, error texts, event messages) is escaped for Slack
// (&, < and > only) and placed in a verbatim mrkdwn or a plain_text object,
// so a service named <!channel> pings nobody. Names are shown in code
// spans, where Slack ignores *, _ and ~. Slack has no way to escape a
// backtick inside a code span, so a backtick in a name is shown as the
// look-alike ˋ (U+02CB); buttons act on service ids, never on shown names.
// The only mentions in the output are of Slack user ids the caller passes
// in, and only when they look like user ids.
//
// Message.Text is escaped already: post it without escaping it again
// (slack.MsgOptionText(m.Text, false)). Slack shows it in notifications,
// and parses it for mentions and channel names when a message is posted
// with parse=full or link_names, so every @ and # from data in it is
// followed by a word joiner (U+2060): @here, @channel and #general in a
// name stay text. Posting with slack.MsgOptionParse(false), parse=none,
// also keeps Slack from linking URLs in it.
//
// # Limits
//
// Every message fits Slack's limits (50 blocks, 3000 characters a section,
// 75 a button label, 2000 a button value, …) whatever the data, and its
// JSON stays under MaxMessageBytes, well below the 20 KB a Socket Mode
// reply may carry. Long strings are cut between grapheme clusters (what a
// reader sees as one character, such as a flag or a family emoji) with an
// ellipsis, after escaping, and lists are paged PageSize services at a
// time.
package commands
