package redisadapter_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/riptide-io/riptide"
	redisadapter "github.com/riptide-io/riptide/adapter/redis"
	"github.com/riptide-io/riptide/internal/interop"
	"github.com/riptide-io/riptide/internal/redistest"
)

// The tests here run real redis-servers (internal/redistest installs one when
// missing, and fails rather than skips) and real socket.io-client 4.8 sockets
// (hosted by internal/interop's cluster_peer.js), connected to Riptide nodes
// and, in the mixed tests, to Node servers running @socket.io/redis-adapter
// 8.3 on the same Redis.

const wait = 10 * time.Second

// mode is one adapter configuration, with the cluster_peer.js flags of the
// same configuration on the Node side.
type mode struct {
	name     string
	opts     redisadapter.Options
	peerArgs []string
}

var modes = []mode{
	{"classic", redisadapter.Options{}, nil},
	{"classic-specific", redisadapter.Options{PublishOnSpecificResponseChannel: true}, []string{"--specific-response-channel"}},
	{"sharded-dynamic", redisadapter.Options{Sharded: true}, []string{"--sharded", "--mode", "dynamic"}},
	{"sharded-static", redisadapter.Options{Sharded: true, SubscriptionMode: redisadapter.Static}, []string{"--sharded", "--mode", "static"}},
	{"sharded-dynamic-private", redisadapter.Options{Sharded: true, SubscriptionMode: redisadapter.DynamicPrivate}, []string{"--sharded", "--mode", "dynamic-private"}},
}

// node is one Riptide server in a cluster.
type node struct {
	name string
	srv  *riptide.Server
	ad   *redisadapter.Adapter
	url  string

	mu  sync.Mutex
	sse []sseCall // server-side emits received
}

type sseCall struct {
	nsp  string
	args []any
}

type authPayload struct {
	Rooms []string `json:"rooms"`
	Data  any      `json:"data"`
}

// startNode starts a Riptide node on rs with the handlers cluster_peer.js
// has (so either can stand in for the other): a middleware joins
// auth.rooms and keeps auth.data, "ping-ack" echoes, "join"/"leave" rooms,
// "ss-echo" server-side emits are logged and answered.
func startNode(t *testing.T, name string, rs *redistest.Server, opts redisadapter.Options) *node {
	t.Helper()
	client := goredis.NewClient(&goredis.Options{Addr: rs.Addr(), MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	n := &node{name: name, ad: redisadapter.New(client, opts)}
	n.srv = riptide.New(riptide.Config{Adapter: n.ad})
	for _, nsp := range []string{"/", "/chat"} {
		ns := n.srv.Of(nsp)
		ns.Use(func(s *riptide.Socket, next func(error)) {
			var a authPayload
			_ = json.Unmarshal(s.Handshake().Auth, &a)
			s.Data = a.Data
			s.Join(a.Rooms...)
			go func() { // room subscriptions live before CONNECT, as the peer does
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				defer cancel()
				next(n.ad.Ready(ctx))
			}()
		})
		ns.OnConnection(func(s *riptide.Socket) {
			s.On("ping-ack", func(args riptide.Args, ack riptide.Ack) {
				v, _ := args.Values()
				ack(v...)
			})
			s.On("join", func(args riptide.Args, ack riptide.Ack) {
				r, _ := riptide.Arg[string](args, 0)
				s.Join(r)
				ack()
			})
		})
		ns.OnServerSideEmit("ss-echo", func(args []any, ack func(any)) {
			n.mu.Lock()
			n.sse = append(n.sse, sseCall{nsp, args})
			n.mu.Unlock()
			ack(map[string]any{"from": "riptide-" + name, "args": args})
		})
	}
	if err := n.srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.srv.Close() })
	n.url = "http://" + n.srv.Addr().String()
	n.ready(t)
	return n
}

// ready waits until the node's subscriptions are live.
func (n *node) ready(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := n.ad.Ready(ctx); err != nil {
		t.Fatalf("%s: adapter not ready: %v", n.name, err)
	}
}

func (n *node) sseCount(nsp string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, e := range n.sse {
		if e.nsp == nsp {
			c++
		}
	}
	return c
}

// clients hosts socket.io-client sockets in a cluster_peer.js whose own
// server is kept out of the cluster (another key prefix).
func startClients(t *testing.T, rs *redistest.Server) *interop.Proc {
	t.Helper()
	return interop.StartNode(t, "cluster_peer.js", "--redis", rs.URL(), "--key", "not-in-the-cluster")
}

// connect opens a client named name to url with auth; it returns the
// socket id.
func connect(t *testing.T, p *interop.Proc, name, url string, rooms []string, data any) string {
	t.Helper()
	r := p.Do(map[string]any{"op": "connect", "client": name, "url": url,
		"auth": map[string]any{"rooms": rooms, "data": data}})
	id := r.Str("socketId")
	if id == "" {
		t.Fatalf("connect %s: %s", name, r.Line)
	}
	return id
}

// received returns the events client got named event (their args).
func received(p *interop.Proc, client, event string) [][]any {
	var out [][]any
	for _, e := range p.Events(func(r interop.Result) bool {
		return r.Str("event") == "recv" && r.Str("client") == client && r.Str("name") == event
	}) {
		args, _ := e.Fields["args"].([]any)
		out = append(out, args)
	}
	return out
}

// expectDelivery checks that exactly the clients in want got event exactly
// once (and the others never): after the event, a marker broadcast to
// every client from emitter proves the event had its chance to arrive.
func expectDelivery(t *testing.T, p *interop.Proc, all []string, want []string, event string, marker func(name string)) {
	t.Helper()
	mark := "mark-" + event
	marker(mark)
	for _, c := range all {
		if _, err := p.WaitEvent(wait, 1, func(r interop.Result) bool {
			return r.Str("event") == "recv" && r.Str("client") == c && r.Str("name") == mark
		}); err != nil {
			t.Fatalf("marker %s for %s: %v", mark, c, err)
		}
	}
	for _, c := range all {
		got := len(received(p, c, event))
		exp := 0
		if slices.Contains(want, c) {
			exp = 1
		}
		if got != exp {
			t.Errorf("%s: client %s got %d, want %d", event, c, got, exp)
		}
	}
}

// waitFor polls cond until true or fails after wait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func bin(b []byte) map[string]any {
	return map[string]any{"$bin": base64.StdEncoding.EncodeToString(b)}
}

func ctxWait(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// TestRiptideCluster runs three Riptide nodes on one Redis in every mode
// and checks every cross-node operation.
func TestRiptideCluster(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			testRiptideCluster(t, m)
		})
	}
}

func testRiptideCluster(t *testing.T, m mode) {
	rs := redistest.Start(t)
	A := startNode(t, "A", rs, m.opts)
	B := startNode(t, "B", rs, m.opts)
	C := startNode(t, "C", rs, m.opts)
	p := startClients(t, rs)
	a1 := connect(t, p, "a1", A.url, []string{"r1"}, map[string]any{"name": "a1"})
	b1 := connect(t, p, "b1", B.url, []string{"r1", "r2"}, map[string]any{"name": "b1"})
	c1 := connect(t, p, "c1", C.url, []string{"r2"}, map[string]any{"name": "c1"})
	all := []string{"a1", "b1", "c1"}
	_ = b1
	ctx := ctxWait(t)
	markFrom := func(n *node) func(string) {
		return func(ev string) {
			if err := n.srv.Emit(ev); err != nil {
				t.Fatal(err)
			}
		}
	}

	if n, err := A.srv.ServerCount(ctx); err != nil || n != 3 {
		t.Fatalf("ServerCount = %d, %v; want 3", n, err)
	}

	// Broadcasts: everyone, rooms, except, a socket id, binary.
	if err := A.srv.Emit("e-all", 1, "x"); err != nil {
		t.Fatal(err)
	}
	expectDelivery(t, p, all, all, "e-all", markFrom(A))
	if got := received(p, "c1", "e-all"); len(got) != 1 || fmt.Sprint(got[0]) != "[1 x]" {
		t.Errorf("c1 e-all args = %v", got)
	}
	// (A marker comes from the emitting node: a node's messages keep
	// their order through Redis, two nodes' do not.)
	_ = A.srv.To("r1").Emit("e-r1")
	expectDelivery(t, p, all, []string{"a1", "b1"}, "e-r1", markFrom(A))
	_ = C.srv.To("r2").Except("r1").Emit("e-r2-not-r1")
	expectDelivery(t, p, all, []string{"c1"}, "e-r2-not-r1", markFrom(C))
	_ = B.srv.To("r1", "r2").Except(c1).Emit("e-union")
	expectDelivery(t, p, all, []string{"a1", "b1"}, "e-union", markFrom(B))
	payload := []byte{0, 1, 2, 0xff}
	_ = B.srv.To(a1).Emit("e-direct", map[string]any{"blob": payload}, payload)
	expectDelivery(t, p, all, []string{"a1"}, "e-direct", markFrom(B))
	got := received(p, "a1", "e-direct")
	wantArgs := []any{map[string]any{"blob": bin(payload)}, bin(payload)}
	if js(got[0]) != js(wantArgs) {
		t.Errorf("binary args = %s, want %s", js(got[0]), js(wantArgs))
	}
	_ = C.srv.Local().Emit("e-local")
	expectDelivery(t, p, all, []string{"c1"}, "e-local", markFrom(C))

	// Fetch sockets across nodes, with data, rooms and handshake.
	list, err := A.srv.FetchAllSockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("FetchAllSockets = %d sockets, want 3: %+v", len(list), list)
	}
	byID := map[string]riptide.RemoteSocket{}
	for _, s := range list {
		byID[s.ID] = s
	}
	if s, ok := byID[c1]; !ok || js(s.Data) != `{"name":"c1"}` || !slices.Contains(s.Rooms, "r2") || !slices.Contains(s.Rooms, c1) ||
		s.Handshake == nil || s.Handshake.Query.Get("EIO") != "4" || !json.Valid(s.Handshake.Auth) {
		t.Errorf("remote c1 = %+v (handshake %+v)", s, s.Handshake)
	}
	r2, err := A.srv.In("r2").FetchRemoteSockets(ctx)
	if err != nil || len(r2) != 2 {
		t.Fatalf("In(r2).FetchRemoteSockets = %d, %v; want b1 and c1", len(r2), err)
	}
	if err := byID[c1].Emit("e-remote"); err != nil {
		t.Fatal(err)
	}
	expectDelivery(t, p, all, []string{"c1"}, "e-remote", markFrom(A))

	// Remote join/leave, then a broadcast to the new room.
	A.srv.In(c1).SocketsJoin("r3")
	inRoom := func(n *node, id, room string) bool {
		s := n.srv.Sockets().Socket(id)
		return s != nil && slices.Contains(s.Rooms(), room)
	}
	waitFor(t, "c1 in r3", func() bool { return inRoom(C, c1, "r3") })
	C.ready(t)
	_ = B.srv.To("r3").Emit("e-r3")
	expectDelivery(t, p, all, []string{"c1"}, "e-r3", markFrom(B))
	byID[c1].Leave("r3")
	waitFor(t, "c1 left r3", func() bool { return !inRoom(C, c1, "r3") })
	_ = B.srv.To("r3").Emit("e-r3-after")
	expectDelivery(t, p, all, nil, "e-r3-after", markFrom(B))

	// Server-side emits, with and without acks.
	if err := A.srv.ServerSideEmit("ss-echo", "hello"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "server-side emit on B and C", func() bool { return B.sseCount("/") == 1 && C.sseCount("/") == 1 })
	if A.sseCount("/") != 0 {
		t.Errorf("the sender received its own server-side emit")
	}
	replies, err := A.srv.ServerSideEmitWithAck(ctx, "ss-echo", 42)
	if err != nil || len(replies) != 2 {
		t.Fatalf("ServerSideEmitWithAck = %v, %v; want 2 replies", replies, err)
	}
	froms := []string{}
	for _, r := range replies {
		froms = append(froms, r.(map[string]any)["from"].(string))
	}
	sort.Strings(froms)
	if fmt.Sprint(froms) != "[riptide-B riptide-C]" {
		t.Errorf("replies from %v", froms)
	}

	// Broadcast with acks gathered across nodes.
	done := make(chan [][]any, 1)
	if err := A.srv.Timeout(5*time.Second).EmitWithAck("please-ack", func(r [][]any, err error) {
		if err != nil {
			t.Errorf("EmitWithAck: %v", err)
		}
		done <- r
	}, "q"); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		var who []string
		for _, rep := range r {
			who = append(who, rep[0].(map[string]any)["client"].(string))
		}
		sort.Strings(who)
		if fmt.Sprint(who) != "[a1 b1 c1]" {
			t.Errorf("acks from %v (%v)", who, r)
		}
	case <-time.After(wait):
		t.Fatal("EmitWithAck never completed")
	}

	// Dynamic subscriptions: A has no member in r2; a broadcast to r2 is
	// not even received there (sharded dynamic), or received and dropped.
	before := A.ad.Stats()
	for i := range 5 {
		_ = B.srv.To("r2").Emit("e-r2-traffic", i)
	}
	expectDelivery(t, p, all, nil, "never-sent", markFrom(B))
	waitFor(t, "c1 got the r2 traffic", func() bool { return len(received(p, "c1", "e-r2-traffic")) == 5 })
	after := A.ad.Stats()
	extra := after.Received - before.Received - 1 // the marker
	switch {
	case m.opts.Sharded && m.opts.SubscriptionMode != redisadapter.Static:
		if extra != 0 {
			t.Errorf("dynamic mode: A received %d messages for a room it has no member in, want 0", extra)
		}
	default:
		if extra != 5 {
			t.Errorf("A received %d messages for r2, want 5 (every node receives every broadcast)", extra)
		}
	}
	t.Logf("%s: node A received %d of 5 broadcasts to a room without members there", m.name, extra)

	// Disconnect across nodes.
	A.srv.In("r2").DisconnectSockets(true)
	for _, c := range []string{"b1", "c1"} {
		if _, err := p.WaitEvent(wait, 1, func(r interop.Result) bool {
			return r.Str("event") == "disconnect" && r.Str("client") == c
		}); err != nil {
			t.Fatalf("%v (stats A %+v B %+v C %+v)", err, A.ad.Stats(), B.ad.Stats(), C.ad.Stats())
		}
	}
	if n := len(p.Events(func(r interop.Result) bool { return r.Str("event") == "disconnect" && r.Str("client") == "a1" })); n != 0 {
		t.Errorf("a1 was disconnected too")
	}
	for _, n := range []*node{A, B, C} {
		if st := n.ad.Stats(); st.Malformed != 0 || st.PublishDropped != 0 {
			t.Errorf("%s stats: %+v", n.name, st)
		}
	}
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
