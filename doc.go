// Package riptide is a Socket.IO v4 server (Engine.IO v4, Socket.IO
// protocol v5) on gnet event loops. Every existing client — socket.io-client
// in browsers and Node, the mobile clients — connects to it unchanged.
//
// The API follows the Node server (socket.io 4.8): a Node user finds io,
// namespaces, sockets, rooms, acks and broadcast operators where they
// expect them, in Go.
//
//	srv := riptide.New(riptide.Config{})
//	srv.OnConnection(func(s *riptide.Socket) {
//		s.Join("lobby")
//		s.On("chat", func(args riptide.Args, ack riptide.Ack) {
//			msg, _ := riptide.Arg[string](args, 0)
//			s.To("lobby").Emit("chat", msg) // everyone in lobby but s
//			if ack != nil {
//				ack("ok")
//			}
//		})
//	})
//	log.Fatal(srv.Serve("127.0.0.1:3000"))
//
// # Rooms and broadcasting
//
// Server.To, Namespace.To and Socket.To return a BroadcastOperator, a small
// value whose To/In/Except/Volatile/Local/Timeout return modified copies.
// A broadcast encodes its packet and its WebSocket frame once, into one
// pooled buffer that every recipient's connection writes. Room membership
// lives in per-loop bitmaps (package room), so To(a, b).Except(c) is set
// algebra, and a broadcast reaches each event loop once however many
// recipients it has — and only the loops where its rooms have members, so
// a message to a small room costs the same on 2 loops as on 64. Each
// socket is in the room named by its id.
//
// # Concurrency
//
// Each connection belongs to one event loop. Handlers (OnConnection, On,
// middlewares, ack callbacks) run on that loop, one at a time per
// connection: they must not block. Hand slow work to a goroutine and reply
// from there — Emit, Ack, Join, Leave, Disconnect and every broadcast
// operator are goroutine-safe. Writes are coalesced: what a loop turn
// queues for a connection leaves in one write.
//
// # Lifetimes and memory
//
// Args are borrowed: valid until the handler returns. Decode what you keep
// (Arg, Args.Decode, Args.Values). Values passed to Emit are encoded before
// Emit returns, so the caller may reuse them.
//
// # Errors
//
// A middleware refuses a connection by calling next with an error; a
// *ConnectError carries data to the client's connect_error. Malformed
// packets close the connection with the reference's reasons; nothing a
// client sends can panic the server, and a panicking handler closes only
// its own connection.
package riptide
