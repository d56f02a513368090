// Package roomtest is a MeshAgent room simulator for tests and demos, in
// the spirit of net/http/httptest: NewServer starts it on a loopback port,
// and its URL goes where a room base goes (roomclient.Config.URL, or
// MESHAGENT_ROOM_URL).
//
// It speaks the room protocol byte for byte: the framing, the handshake,
// and the services toolkit's list and restart calls with the error codes a
// room answers. The rooms come from a Fixture (JSON, see LoadFixture and
// the embedded DemoFixture), and tests steer them while they run:
//
//   - behind the clients' backs: RestartService, Crash, Recover,
//     ScheduleRestart, FailRestarts, AddService, RemoveService;
//   - the room as a whole: SetReachable, SetDisabled, CloseConnections;
//   - the protocol: SetFaults, with delays, silence, odd chunk sizes,
//     noise, stray and reordered answers, refused handshakes and deaf pings.
//
// Counters (Calls, Restarts, Connections, Open, Broken, …) let a test
// assert what reached the room, and Await or WaitFor block until a
// condition holds, so no test needs to sleep.
package roomtest
