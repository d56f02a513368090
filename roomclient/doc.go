// Package roomclient talks to MeshAgent rooms: it lists the services of a
// room with their runtime state, and restarts one of them by id.
//
// A room is reached over a websocket at <base>/rooms/<room>. Every message
// on it is framed as the MeshAgent room protocol says (a header frame, then
// data frames of at most 1,024 bytes, each carrying a slice of a packed
// JSON body), and the services calls are tool calls to the room's built-in
// "services" toolkit. The wire itself lives in internal/wire, shared with
// the simulator in roomclient/roomtest.
//
// A Client keeps one connection per room and shares it among concurrent
// calls, which it tells apart by message id. A connection that drops fails
// every call waiting on it with ErrDisconnected, and the next call dials
// again; one that nobody uses for a while is closed. Each call is bounded
// by its context.
//
// A Client authenticates with a participant token used as is, or with a
// project API key from which it mints a short-lived token for each room.
// Neither ever appears in a log line or an error.
//
// Errors a caller may act on are typed: *Error for an error answer from the
// room (match its Code with errors.Is), *StatusError for a refused
// connection, *NameError from Resolve, and the sentinels ErrDisconnected
// and ErrClosed.
package roomclient
