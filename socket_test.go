package riptide_test

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riptide-io/riptide"
)

func listen(t *testing.T, cfg riptide.Config, setup func(*riptide.Server)) *riptide.Server {
	t.Helper()
	srv := riptide.New(cfg)
	setup(srv)
	serve(t, srv)
	return srv
}

// serve starts srv on a free port for the test and closes it after.
// The clients dialled to it live, and close, with the test (dialQuery): a
// client the test no longer references would be closed by its
// connection's finalizer at the next GC, a disconnect the test never
// asked for (it made TestBroadcastWithAckCollectsEveryReply fail ~1 in 50
// under -race, and TestRoomLoopMaskPendingJoins now and then).
func serve(tb testing.TB, srv *riptide.Server) {
	tb.Helper()
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	testOf.Store(srv, tb)
	tb.Cleanup(func() { _ = srv.Close(); testOf.Delete(srv) })
}

// testOf maps each server serve started to its test.
var testOf sync.Map // *riptide.Server → testing.TB

func expect(t *testing.T, cl *wsClient, want string) {
	t.Helper()
	if got := cl.read(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestBroadcastWithAckCollectsEveryReply(t *testing.T) {
	conns := make(chan struct{}, 10)
	srv := listen(t, riptide.Config{}, func(s *riptide.Server) {
		s.OnConnection(func(*riptide.Socket) { conns <- struct{}{} })
	})
	a, b := dial(srv, ""), dial(srv, "")
	<-conns
	<-conns
	type result struct {
		replies [][]any
		err     error
	}
	done := make(chan result, 1)
	// ask broadcasts question n with acks and returns its ack id, once both
	// clients got the same packet (encoded once, one ack id).
	ask := func(timeout time.Duration, n int) string {
		t.Helper()
		err := srv.Timeout(timeout).EmitWithAck("question", func(replies [][]any, err error) {
			done <- result{replies, err}
		}, n)
		if err != nil {
			t.Fatal(err)
		}
		pa, pb := a.read(), b.read()
		q := fmt.Sprintf(`["question",%d]`, n)
		if pa != pb || !strings.HasPrefix(pa, "42") || !strings.HasSuffix(pa, q) {
			t.Fatalf("got %q and %q", pa, pb)
		}
		return strings.TrimSuffix(strings.TrimPrefix(pa, "42"), q)
	}

	// Both answer.
	id := ask(2*time.Second, 1)
	a.send("43" + id + `["a"]`)
	b.send("43" + id + `["b"]`)
	r := <-done
	if r.err != nil || len(r.replies) != 2 {
		t.Fatalf("replies %v, err %v", r.replies, r.err)
	}

	// One client that never answers: the timeout reports the replies so far.
	id = ask(200*time.Millisecond, 2)
	a.send("43" + id + `["a"]`)
	r = <-done
	if !errors.Is(r.err, riptide.ErrAckTimeout) || len(r.replies) != 1 {
		t.Fatalf("replies %v, err %v", r.replies, r.err)
	}

	// One client that disconnects instead of answering: it never will, so
	// the callback runs once a has answered, long before the timeout.
	start := time.Now()
	id = ask(time.Minute, 3)
	_ = b.c.Close()
	a.send("43" + id + `["a"]`)
	r = <-done
	if !errors.Is(r.err, riptide.ErrDisconnected) || len(r.replies) != 1 || r.replies[0][0] != "a" {
		t.Fatalf("replies %v, err %v", r.replies, r.err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("the callback waited %v", d)
	}
}

func TestListenersOnceOffAny(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	record := func(s string) { mu.Lock(); seen = append(seen, s); mu.Unlock() }
	ready := make(chan struct{}, 1)
	srv := listen(t, riptide.Config{}, func(s *riptide.Server) {
		s.OnConnection(func(sock *riptide.Socket) {
			sock.OnAny(func(event string, _ riptide.Args) { record("any:" + event) })
			sock.PrependAny(func(event string, _ riptide.Args) { record("first:" + event) })
			sock.Once("once", func(riptide.Args, riptide.Ack) { record("once") })
			sock.On("off", func(riptide.Args, riptide.Ack) { record("off") })
			sock.Off("off")
			sock.OnAnyOutgoing(func(event string, _ []any) { record("out:" + event) })
			sock.On("done", func(_ riptide.Args, ack riptide.Ack) { _ = sock.Emit("bye"); ack() })
			ready <- struct{}{}
		})
	})
	cl := dial(srv, "")
	<-ready
	cl.send(`42["once"]`)
	cl.send(`42["once"]`)
	cl.send(`42["off"]`)
	cl.send(`421["done"]`)
	expect(t, cl, `42["bye"]`)
	expect(t, cl, `431[]`)
	mu.Lock()
	defer mu.Unlock()
	want := "first:once any:once once first:once any:once first:off any:off first:done any:done out:bye"
	if got := strings.Join(seen, " "); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestMiddlewareAsyncNextAndHandshake(t *testing.T) {
	srv := listen(t, riptide.Config{}, func(s *riptide.Server) {
		s.Use(func(sock *riptide.Socket, next func(error)) {
			go func() { // next from another goroutine, later
				time.Sleep(20 * time.Millisecond)
				if !strings.Contains(string(sock.Handshake().Auth), `"token":"ok"`) {
					next(&riptide.ConnectError{Message: "bad token", Data: map[string]any{"retry": false}})
					return
				}
				sock.Data = "authenticated"
				next(nil)
			}()
		})
		s.OnConnection(func(sock *riptide.Socket) {
			_ = sock.Emit("hello", sock.Data, sock.Handshake().Query.Get("EIO"))
		})
	})
	ok := dial(srv, `{"token":"ok"}`)
	expect(t, ok, `42["hello","authenticated","4"]`)

	bad := dialNoConnect(srv)
	bad.send(`40{"token":"nope"}`)
	expect(t, bad, `44{"message":"bad token","data":{"retry":false}}`)
	// The connection stays up after a refusal (PROTOCOL.md §11).
	bad.send(`40{"token":"ok"}`)
	if got := bad.read(); !strings.HasPrefix(got, `40{"sid":"`) {
		t.Fatalf("got %q", got)
	}
}

func TestHandlerPanicClosesOnlyItsConnection(t *testing.T) {
	srv := listen(t, riptide.Config{}, func(s *riptide.Server) {
		s.OnConnection(func(sock *riptide.Socket) {
			sock.On("boom", func(riptide.Args, riptide.Ack) { panic("handler bug") })
			sock.On("ping", func(_ riptide.Args, ack riptide.Ack) { ack("pong") })
		})
	})
	victim, other := dial(srv, ""), dial(srv, "")
	victim.send(`42["boom"]`)
	if got := victim.read(); !strings.HasPrefix(got, "error") {
		t.Fatalf("victim connection still open: %q", got)
	}
	other.send(`421["ping"]`)
	expect(t, other, `431["pong"]`)
}

func TestConnectTimeout(t *testing.T) {
	srv := listen(t, riptide.Config{ConnectTimeout: 200 * time.Millisecond}, func(*riptide.Server) {})
	cl := dialNoConnect(srv)
	start := time.Now()
	if got := cl.read(); !strings.HasPrefix(got, "error") {
		t.Fatalf("got %q", got)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("closed after %v", d)
	}
}

func TestServerCloseDisconnectsClients(t *testing.T) {
	reasons := make(chan string, 2)
	srv := riptide.New(riptide.Config{})
	srv.OnConnection(func(sock *riptide.Socket) {
		sock.OnDisconnecting(func(string) {
			if len(sock.Rooms()) != 2 {
				reasons <- "rooms not readable while disconnecting"
			}
		})
		sock.OnDisconnect(func(reason string) { reasons <- reason })
		sock.Join("r")
	})
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	cl := dial(srv, "")
	time.Sleep(20 * time.Millisecond)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if r := <-reasons; r != riptide.ReasonServerShuttingDown {
		t.Fatalf("reason %q", r)
	}
	if got := cl.read(); !strings.HasPrefix(got, "error") {
		t.Fatalf("client still connected: %q", got)
	}
}

func TestTypedArgs(t *testing.T) {
	type order struct {
		Symbol string  `json:"symbol"`
		Qty    int     `json:"qty"`
		Price  float64 `json:"price"`
		Memo   []byte  `json:"memo"`
	}
	srv := listen(t, riptide.Config{}, func(s *riptide.Server) {
		s.OnConnection(func(sock *riptide.Socket) {
			sock.On("order", func(args riptide.Args, ack riptide.Ack) {
				o, err := riptide.Arg[order](args, 0)
				if err != nil {
					ack(err.Error())
					return
				}
				ack(o.Symbol, o.Qty*2, o.Price, string(o.Memo))
			})
		})
	})
	cl := dial(srv, "")
	// A binary attachment fills the []byte field.
	cl.send(`451-1["order",{"symbol":"AAPL","qty":21,"price":187.5,"memo":{"_placeholder":true,"num":0}}]`)
	cl.sendBinary([]byte("note"))
	expect(t, cl, `431["AAPL",42,187.5,"note"]`)
}

// TestMetricsCountKnownTraffic: N messages in, the counters say N.
func TestMetricsCountKnownTraffic(t *testing.T) {
	srv := listen(t, riptide.Config{}, func(s *riptide.Server) {
		s.OnConnection(func(sock *riptide.Socket) {
			sock.Join("r")
			sock.On("ping", func(_ riptide.Args, ack riptide.Ack) { ack() })
		})
	})
	a, b := dial(srv, ""), dial(srv, "")
	a.send(`420["ping"]`)
	expect(t, a, `430[]`)
	m0 := srv.Metrics()
	for i := 1; i <= 10; i++ {
		a.send(`42` + string(rune('0'+i%10)) + `["ping"]`)
		a.read()
	}
	for i := 0; i < 5; i++ {
		_ = srv.To("r").Emit("tick", i)
	}
	for i := 0; i < 5; i++ {
		a.read()
		b.read()
	}
	m := srv.Metrics()
	if d := m.PacketsIn - m0.PacketsIn; d != 10 {
		t.Errorf("PacketsIn grew by %d, want 10", d)
	}
	if d := m.MessagesIn - m0.MessagesIn; d != 10 {
		t.Errorf("MessagesIn grew by %d, want 10", d)
	}
	if d := m.Broadcasts - m0.Broadcasts; d != 5 {
		t.Errorf("Broadcasts grew by %d, want 5", d)
	}
	if d := m.Recipients - m0.Recipients; d != 10 {
		t.Errorf("Recipients grew by %d, want 10", d)
	}
	if m.Sessions != 2 || m.SessionsWebSocket != 2 || m.Sockets != 2 || m.Connections != 2 {
		t.Errorf("gauges: %+v", m)
	}
	if m.Rooms < 1 || m.Rooms > 2 { // "r" on one or both loops
		t.Errorf("Rooms %d", m.Rooms)
	}
	// 10 acks + 10 deliveries (+ pings). MessagesOut is published as each
	// loop's turn ends, which may come after the client has read what the
	// turn wrote: wait for it (a preempted loop failed this once).
	deadline := time.Now().Add(5 * time.Second)
	for m.MessagesOut-m0.MessagesOut < 20 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		m = srv.Metrics()
	}
	if m.MessagesOut-m0.MessagesOut < 20 {
		t.Errorf("MessagesOut grew by %d", m.MessagesOut-m0.MessagesOut)
	}
}

func TestDynamicChildrenAreRemovedWhenEmpty(t *testing.T) {
	srv := listen(t, riptide.Config{}, func(s *riptide.Server) {
		s.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`)).OnConnection(func(*riptide.Socket) {})
	})
	base := srv.Metrics().Namespaces
	cl := dial(srv, "")
	for i := 0; i < 20; i++ {
		nsp := "/dyn-" + strconv.Itoa(i)
		cl.send("40" + nsp + ",")
		if got := cl.read(); !strings.HasPrefix(got, "40"+nsp+`,{"sid":`) {
			t.Fatalf("got %q", got)
		}
		cl.send("41" + nsp + ",")
	}
	cl.send(`42["sync"]`) // processed after every DISCONNECT above
	deadline := time.Now().Add(2 * time.Second)
	for srv.Metrics().Namespaces != base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := srv.Metrics().Namespaces; n != base {
		t.Fatalf("%d namespaces left, want %d", n, base)
	}
}

func TestMissingAttachmentsTimeOut(t *testing.T) {
	srv := listen(t, riptide.Config{BinaryTimeout: 200 * time.Millisecond}, func(*riptide.Server) {})
	cl := dial(srv, "")
	cl.send(`451-["upload",{"_placeholder":true,"num":0}]`) // the attachment never comes
	start := time.Now()
	if got := cl.read(); !strings.HasPrefix(got, "error") {
		t.Fatalf("got %q", got)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("closed after %v", d)
	}
}

// Node lets a middleware join rooms before the connection completes; the
// room must hold the socket once it is connected.
func TestJoinInMiddleware(t *testing.T) {
	conns := make(chan *riptide.Socket, 1)
	srv := listen(t, riptide.Config{}, func(s *riptide.Server) {
		s.Use(func(sk *riptide.Socket, next func(error)) {
			sk.Join("early")
			next(nil)
		})
		s.OnConnection(func(sk *riptide.Socket) { conns <- sk })
	})
	cl := dial(srv, "")
	sk := <-conns
	if err := srv.To("early").Emit("hi"); err != nil {
		t.Fatal(err)
	}
	expect(t, cl, `42["hi"]`)
	if got := srv.Metrics().Rooms; got != 1 {
		t.Errorf("Metrics().Rooms = %d, want 1", got)
	}
	sk.Leave("early")
	if err := srv.To("early").Emit("gone"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Emit("all"); err != nil {
		t.Fatal(err)
	}
	expect(t, cl, `42["all"]`)
}

// TestNamespaceOnEvent: handlers added with OnEvent (server, namespace,
// parent namespace) run for every socket, before the socket's own, with
// the socket that received the event; one added later reaches sockets
// already connected; Once listeners are removed by identity, not by name.
func TestNamespaceOnEvent(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	record := func(s string) { mu.Lock(); seen = append(seen, s); mu.Unlock() }
	ready := make(chan *riptide.Socket, 4)
	var parent *riptide.ParentNamespace
	srv := listen(t, riptide.Config{}, func(s *riptide.Server) {
		s.OnEvent("ping", func(sock *riptide.Socket, args riptide.Args, ack riptide.Ack) {
			n, _ := riptide.Arg[int](args, 0)
			record("ns:" + sock.Namespace().Name() + ":" + strconv.Itoa(n))
			if ack != nil {
				ack(sock.ID())
			}
		})
		s.OnConnection(func(sock *riptide.Socket) {
			sock.On("ping", func(riptide.Args, riptide.Ack) { record("own") })
			sock.Once("ping", func(riptide.Args, riptide.Ack) { record("once-a") })
			sock.Once("ping", func(riptide.Args, riptide.Ack) { record("once-b") })
			ready <- sock
		})
		parent = s.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
		parent.OnEvent("ping", func(sock *riptide.Socket, _ riptide.Args, _ riptide.Ack) {
			record("parent:" + sock.Namespace().Name())
		})
		parent.OnConnection(func(sock *riptide.Socket) { ready <- sock })
	})
	cl := dial(srv, "")
	sock := <-ready
	cl.send(`421["ping",1]`)
	expect(t, cl, `431["`+sock.ID()+`"]`)
	cl.send(`422["late"]`) // no handler yet: no reply
	cl.send(`425["ping",2]`)
	expect(t, cl, `435["`+sock.ID()+`"]`) // "late" was handled (by nobody) before
	srv.Of("/").OnEvent("late", func(_ *riptide.Socket, _ riptide.Args, ack riptide.Ack) { ack("added later") })
	cl.send(`423["late"]`)
	expect(t, cl, `433["added later"]`)

	cl.send(`40/dyn-7,`)
	if got := cl.read(); !strings.HasPrefix(got, `40/dyn-7,{"sid":"`) {
		t.Fatalf("connect to /dyn-7: %q", got)
	}
	child := <-ready
	child.Namespace().OnEvent("ping", func(_ *riptide.Socket, _ riptide.Args, ack riptide.Ack) {
		record("child")
		ack()
	})
	cl.send(`42/dyn-7,4["ping"]`)
	expect(t, cl, `43/dyn-7,4[]`)
	mu.Lock()
	defer mu.Unlock()
	want := "ns:/:1 own once-a once-b ns:/:2 own parent:/dyn-7 child"
	if got := strings.Join(seen, " "); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
