// Package engine is Riptide's transport: a gnet event-loop server that
// speaks Engine.IO v4 over WebSocket and HTTP long-polling.
//
// A Server owns one listening socket and one event loop per core. It
// parses HTTP/1.1 heads straight out of a loop's read buffer
// (internal/http1), answers Engine.IO handshakes, long-polls and WebSocket
// upgrades, and hands every other request to a net/http Fallback handler.
// Endpoints mounted with Server.Handle each serve one path ("/engine.io/",
// "/socket.io/") with their own Config and Handler.
//
// # Loops and sessions
//
// A session lives on its home loop, the loop of its handshake. Its state,
// its timers (one timer wheel per loop, ticked every 10 ms) and the
// Handler calls for it all run there, so nothing on the per-message path
// takes a lock. A request or WebSocket of the session that another loop
// accepted is handed to the home loop through its queue; answers travel
// back with gnet's AsyncWrite. Other goroutines reach a loop the same way
// (Loop.Post, Session.Send).
//
// Writes are coalesced: whatever a turn of the loop queues for a session
// goes out in one write (WebSocket) or one poll response, after the
// callback that produced it returns. Messages are joined, too: a
// broadcast or a Session.SendPrepared that reaches a loop's queue right
// behind one to the same sessions, not yet started, is appended to it
// (Prepared.Join, Loop.PostOrJoin, PostOrJoinAll), so a burst costs the
// loop one selection and one queue entry per recipient per run of
// messages rather than per message; the order of everything is the same.
//
// # Lifetimes
//
// Bytes given to Handler.OnMessage are borrowed until it returns. A
// Prepared is a reference-counted, pre-framed message: encode once, send
// to any number of sessions, Release when done.
//
// # Memory
//
// An idle WebSocket session costs the engine about 217 bytes of heap
// (TestHeapPerIdleSession): its Session (112 bytes) and conn (48; the
// HTTP state, the polling state and a fragmented message's state exist only
// while used), one string holding its sid, remote address and compacted
// handshake head (headdict.go; 48 bytes for a typical client), and its
// loop's slot table entry (8). There is no sid table: a sid names its loop
// and slot (appendSID), so a lookup needs no lock and no hash. No
// goroutine, no buffer and no closure is held per connection. gnet's own connection state adds about 360 bytes
// (its conn, the peer's address, its fd map).
//
// # Errors
//
// Every malformed request gets the reference server's answer (PROTOCOL.md
// §6): HTTP status plus {"code":N,"message":...} for polling and
// handshakes, a raw 400 for refused upgrades, close code 1002/1007/1009
// for bad WebSocket frames, "parse error" closes for bad packets.
package engine
