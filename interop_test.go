package riptide

import (
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/riptide-io/riptide/internal/interop"
)

// newContractServer implements the Socket.IO event contract of
// internal/interop/testdata/CONTRACT.md §3, which sio_client.js drives and
// the Node twin (sio_ref_server.js) implements too.
func newContractServer(t testing.TB) (*Server, string) {
	t.Helper()
	srv := New(Config{
		PingInterval:      2 * time.Second,
		PingTimeout:       5 * time.Second,
		MaxHTTPBufferSize: 1e6,
		ConnectTimeout:    10 * time.Second,
	})
	srv.Engine().NumLoops = 2
	onConn := func(s *Socket) { contractHandlers(s) }
	srv.OnConnection(onConn)
	srv.Of("/custom").OnConnection(onConn)
	srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`)).OnConnection(onConn)
	srv.Of("/refused").Use(func(_ *Socket, next func(error)) {
		next(&ConnectError{Message: "Not authorized", Data: map[string]any{"code": 42}})
	})
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, "http://" + srv.Addr().String()
}

func contractHandlers(s *Socket) {
	nsp := s.Namespace()
	_ = s.Emit("auth", RawJSON(s.Handshake().Auth))
	values := func(a Args) []any {
		v, err := a.Values()
		if err != nil {
			panic(err)
		}
		return v
	}
	echo := func(event string) EventHandler {
		return func(args Args, ack Ack) {
			if ack != nil {
				ack(values(args)...)
				return
			}
			_ = s.Emit(event, values(args)...)
		}
	}
	s.On("echo", echo("echo"))
	s.On("echo-binary", echo("echo-binary"))
	s.On("handshake", func(_ Args, ack Ack) {
		hs := s.Handshake()
		q := map[string]any{}
		for k, v := range hs.Query {
			q[k] = v[0]
		}
		var hdr any
		if v := hs.Headers.Get("X-Interop"); v != "" {
			hdr = v
		}
		if ack != nil {
			ack(map[string]any{"auth": RawJSON(hs.Auth), "query": q, "headers": map[string]any{"x-interop": hdr}, "nsp": nsp.Name(), "id": s.ID()})
		}
	})
	s.On("join", func(args Args, ack Ack) {
		r, _ := Arg[string](args, 0)
		s.Join(r)
		if ack != nil {
			ack()
		}
	})
	s.On("leave", func(args Args, ack Ack) {
		r, _ := Arg[string](args, 0)
		s.Leave(r)
		if ack != nil {
			ack()
		}
	})
	s.On("rooms", func(_ Args, ack Ack) {
		rooms := s.Rooms()
		slices.Sort(rooms)
		if ack != nil {
			ack(rooms)
		}
	})
	s.On("to", func(args Args, ack Ack) {
		rooms, _ := Arg[[]string](args, 0)
		event, _ := Arg[string](args, 1)
		payload := values(args)[2]
		_ = nsp.To(rooms...).Emit(event, payload)
		if ack != nil {
			ack()
		}
	})
	s.On("except", func(args Args, ack Ack) {
		var sel struct{ To, Except []string }
		_ = args.Decode(0, &sel)
		payload := values(args)[1]
		_ = nsp.To(sel.To...).Except(sel.Except...).Emit("msg", payload)
		if ack != nil {
			ack()
		}
	})
	s.On("broadcast", func(args Args, ack Ack) {
		_ = s.Broadcast().Emit("broadcast", values(args)[0])
		if ack != nil {
			ack()
		}
	})
	s.On("volatile", func(args Args, ack Ack) {
		_ = nsp.Volatile().Emit("volatile", values(args)[0])
		if ack != nil {
			ack()
		}
	})
	s.On("server-ack", func(_ Args, ack Ack) {
		_ = s.Timeout(2*time.Second).EmitWithAck("ask", func(reply Args, err error) {
			if ack == nil {
				return
			}
			if err != nil {
				ack(map[string]any{"error": err.Error()})
				return
			}
			ack(values(reply)...)
		}, 1)
	})
	s.On("server-ack-timeout", func(_ Args, ack Ack) {
		_ = s.Timeout(300*time.Millisecond).EmitWithAck("ask-never", func(_ Args, err error) {
			if ack != nil && err != nil {
				ack(map[string]any{"timedOut": true})
			}
		}, 1)
	})
	s.On("fetch", func(args Args, ack Ack) {
		var r *string
		_ = args.Decode(0, &r)
		op := nsp.op()
		if r != nil {
			op = op.In(*r)
		}
		ids := []string{}
		for _, o := range op.FetchSockets() {
			ids = append(ids, o.ID())
		}
		slices.Sort(ids)
		if ack != nil {
			ack(ids)
		}
	})
	s.On("sockets-join", func(args Args, ack Ack) {
		from, _ := Arg[string](args, 0)
		to, _ := Arg[string](args, 1)
		nsp.In(from).SocketsJoin(to)
		if ack != nil {
			ack()
		}
	})
	s.On("sockets-leave", func(args Args, ack Ack) {
		from, _ := Arg[string](args, 0)
		r, _ := Arg[string](args, 1)
		nsp.In(from).SocketsLeave(r)
		if ack != nil {
			ack()
		}
	})
	s.On("disconnect-me", func(args Args, _ Ack) {
		closeToo, _ := Arg[bool](args, 0)
		s.Disconnect(closeToo)
	})
	s.On("disconnect-room", func(args Args, ack Ack) {
		r, _ := Arg[string](args, 0)
		if ack != nil {
			ack()
		}
		nsp.In(r).DisconnectSockets(false)
	})
	s.On("close-engine", func(Args, Ack) { s.Conn().Close() })
}

// TestSocketIOClientInterop drives the real socket.io-client from npm
// against Riptide through every scenario of the contract, on every
// transport: websocket, polling, and polling then upgrade.
func TestSocketIOClientInterop(t *testing.T) {
	interop.Setup(t)
	_, url := newContractServer(t)
	for _, sc := range interop.SocketScenarios {
		for _, tr := range sc.Transports {
			t.Run(fmt.Sprintf("%s/%s", sc.Name, tr), func(t *testing.T) {
				t.Parallel()
				interop.RunNode(t, "sio_client.js", url, sc.Name, tr)
			})
		}
	}
}
