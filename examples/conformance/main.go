// Command conformance serves, on one port, exactly the servers the official
// Engine.IO v4 and Socket.IO v5 protocol suites expect (see
// ../shared/conformance/README.md):
//
//   - /engine.io/: a bare Engine.IO echo (text back as text, binary as
//     binary) with pingInterval 300 ms, pingTimeout 200 ms and
//     maxHttpBufferSize 1e6;
//   - /socket.io/: Socket.IO with the same heartbeat and connectTimeout
//     1000 ms; namespaces "/" (auth, message, message-with-ack), "/custom"
//     and "/refused".
//
// Run it with:
//
//	go run ./examples/conformance -addr 127.0.0.1:3000
package main

import (
	"flag"
	"log"
	"time"

	"github.com/riptide-io/riptide"
	"github.com/riptide-io/riptide/engine"
)

// echo sends every message back on the same session: text as text,
// binary as binary.
type echo struct{}

func (echo) OnOpen(*engine.Session) {}
func (echo) OnMessage(s *engine.Session, data []byte, binary bool) {
	if binary {
		s.SendBinary(data)
	} else {
		s.Send(data)
	}
}
func (echo) OnClose(*engine.Session, string) {}

// newServer builds the conformance server; it is shared with the tests.
func newServer() *riptide.Server {
	srv := riptide.New(riptide.Config{
		PingInterval:      300 * time.Millisecond,
		PingTimeout:       200 * time.Millisecond,
		MaxHTTPBufferSize: 1e6,
		ConnectTimeout:    1000 * time.Millisecond,
	})
	srv.Engine().Handle(engine.Config{
		Path:              "/engine.io/",
		PingInterval:      300 * time.Millisecond,
		PingTimeout:       200 * time.Millisecond,
		MaxHTTPBufferSize: 1e6,
	}, echo{})

	srv.OnConnection(func(s *riptide.Socket) {
		_ = s.Emit("auth", riptide.RawJSON(s.Handshake().Auth))
		s.On("message", func(args riptide.Args, _ riptide.Ack) {
			vals, err := args.Values()
			if err == nil {
				_ = s.Emit("message-back", vals...)
			}
		})
		s.On("message-with-ack", func(args riptide.Args, ack riptide.Ack) {
			if ack == nil {
				return // no ack id: nothing to answer (PROTOCOL.md §15.15)
			}
			if vals, err := args.Values(); err == nil {
				ack(vals...)
			}
		})
	})
	srv.Of("/custom").OnConnection(func(s *riptide.Socket) {
		_ = s.Emit("auth", riptide.RawJSON(s.Handshake().Auth))
	})
	srv.Of("/refused").Use(func(_ *riptide.Socket, next func(error)) {
		next(&riptide.ConnectError{Message: "Not authorized", Data: map[string]any{"code": 42}})
	})
	return srv
}

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen address")
	flag.Parse()
	srv := newServer()
	if err := srv.Listen(*addr); err != nil {
		log.Fatal(err)
	}
	log.Printf("conformance server on http://%s (/engine.io/ and /socket.io/)", srv.Addr())
	select {}
}
