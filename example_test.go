package riptide_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/riptide-io/riptide"
)

// wsClient is the smallest Socket.IO client that can show the examples:
// WebSocket only, text packets only.
type wsClient struct {
	c net.Conn
	r io.Reader
}

func dial(srv *riptide.Server, auth string) *wsClient {
	cl := dialNoConnect(srv)
	cl.send("40" + auth)
	cl.read() // 40{"sid":...}
	return cl
}

// dialNoConnect opens an Engine.IO session and joins no namespace.
func dialNoConnect(srv *riptide.Server) *wsClient { return dialQuery(srv, "") }

// dialQuery is dialNoConnect with more query parameters ("&k=v").
func dialQuery(srv *riptide.Server, query string) *wsClient {
	c, br, _, err := ws.Dial(context.Background(), "ws://"+srv.Addr().String()+"/socket.io/?EIO=4&transport=websocket"+query)
	if err != nil {
		panic(err)
	}
	cl := &wsClient{c: c, r: c}
	if br != nil {
		cl.r = io.MultiReader(br, c)
	}
	cl.read() // the Engine.IO open packet
	if t, ok := testOf.Load(srv); ok {
		t.(testing.TB).Cleanup(func() { _ = cl.c.Close() })
	}
	return cl
}

func (cl *wsClient) sendBinary(b []byte) { _ = wsutil.WriteClientBinary(cl.c, b) }

func (cl *wsClient) send(pkt string) { _ = wsutil.WriteClientText(cl.c, []byte(pkt)) }

// read returns the next packet, answering pings on the way.
func (cl *wsClient) read() string {
	_ = cl.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		b, err := wsutil.ReadServerText(rw{cl.r, cl.c})
		if err != nil {
			return "error: " + err.Error()
		}
		if string(b) == "2" {
			cl.send("3")
			continue
		}
		return string(b)
	}
}

type rw struct {
	io.Reader
	io.Writer
}

// Example shows a chat room: a handler decodes a typed argument, answers
// the client's ack, and broadcasts to the room but the sender.
func Example() {
	srv := riptide.New(riptide.Config{})
	srv.OnConnection(func(s *riptide.Socket) {
		s.Join("lobby")
		s.On("chat", func(args riptide.Args, ack riptide.Ack) {
			msg, _ := riptide.Arg[string](args, 0)
			_ = s.To("lobby").Emit("chat", strings.ToUpper(msg))
			if ack != nil {
				ack("delivered")
			}
		})
	})
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		panic(err)
	}
	defer srv.Close()

	alice, bob := dial(srv, ""), dial(srv, "")
	alice.send(`421["chat","hello"]`)
	fmt.Println("alice got:", alice.read())
	fmt.Println("bob got:  ", bob.read())
	// Output:
	// alice got: 431["delivered"]
	// bob got:   42["chat","HELLO"]
}

// ExampleBroadcastOperator selects sockets with room algebra:
// To(a, b) is a union, Except removes members, each socket at most once.
func ExampleBroadcastOperator() {
	srv := riptide.New(riptide.Config{})
	joined := make(chan struct{}, 3)
	srv.OnConnection(func(s *riptide.Socket) {
		var auth struct {
			Name  string
			Rooms []string
		}
		s.On("hello", func(args riptide.Args, _ riptide.Ack) {
			_ = args.Decode(0, &auth)
			s.Data = auth.Name
			s.Join(auth.Rooms...)
			joined <- struct{}{}
		})
	})
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		panic(err)
	}
	defer srv.Close()

	clients := map[string]*wsClient{}
	for name, rooms := range map[string]string{"alice": `["a"]`, "bob": `["b"]`, "carol": `["a","b"]`} {
		cl := dial(srv, "")
		cl.send(`42["hello",{"name":"` + name + `","rooms":` + rooms + `}]`)
		clients[name] = cl
		<-joined
	}

	names := func(op riptide.BroadcastOperator) []string {
		var out []string
		for _, s := range op.FetchSockets() {
			out = append(out, s.Data.(string))
		}
		slices.Sort(out)
		return out
	}
	fmt.Println("to(a):            ", names(srv.To("a")))
	fmt.Println("to(a, b):         ", names(srv.To("a", "b")))
	fmt.Println("to(a, b).except(b):", names(srv.To("a", "b").Except("b")))
	fmt.Println("except(a):        ", names(srv.Except("a")))

	_ = srv.To("a", "b").Except("b").Emit("news", "only alice")
	fmt.Println("alice got:", clients["alice"].read())
	// Output:
	// to(a):             [alice carol]
	// to(a, b):          [alice bob carol]
	// to(a, b).except(b): [alice]
	// except(a):         [bob]
	// alice got: 42["news","only alice"]
}

// ExampleServer_OnEvent registers a handler once for every socket of the
// default namespace: no closure per socket, which matters when a server
// holds many idle connections.
func ExampleServer_OnEvent() {
	srv := riptide.New(riptide.Config{})
	srv.OnEvent("whoami", func(s *riptide.Socket, _ riptide.Args, ack riptide.Ack) {
		if ack != nil {
			ack(s.Handshake().Query.Get("name"))
		}
	})
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		panic(err)
	}
	defer srv.Close()

	cl := dialQuery(srv, "&name=ada")
	cl.send("40")
	cl.read() // CONNECT
	cl.send(`421["whoami"]`)
	fmt.Println(cl.read())
	// Output:
	// 431["ada"]
}
