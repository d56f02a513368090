// Package slacksim is a stand-in for Slack on loopback: Socket Mode, the
// few Web API methods roombot calls, and response_url webhooks. The real
// slack-go socketmode client runs against it unchanged once pointed at
// Server.APIURL with slack.OptionAPIURL.
//
// Besides the wire protocol it keeps a small model of the workspace, so a
// test (or a person at a terminal, in demo mode) can act as a Slack user:
// run a slash command, read the reply, click a button of a stored message.
// Every message that lands is checked against Slack's limits with
// CheckMessage; violations are kept for the test to assert on, as are
// envelopes not acked within Slack's deadline and posts to a channel
// past Slack's rate, which are answered 429 as Slack answers them.
//
// Like Slack, the server hands each envelope to exactly one of the open
// Socket Mode connections, so several bot instances can share it.
package slacksim
