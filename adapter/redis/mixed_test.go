package redisadapter_test

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/riptide-io/riptide"
	redisadapter "github.com/riptide-io/riptide/adapter/redis"
	"github.com/riptide-io/riptide/internal/interop"
	"github.com/riptide-io/riptide/internal/redistest"
)

// TestMixedCluster puts one Riptide node and one Node node (socket.io 4.8 +
// @socket.io/redis-adapter 8.3) on one Redis, clients on each, and checks
// every cross-node operation in both directions, in every mode.
func TestMixedCluster(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			testMixedCluster(t, m)
		})
	}
}

func testMixedCluster(t *testing.T, m mode) {
	rs := redistest.Start(t)
	R := startNode(t, "R", rs, m.opts)
	N := interop.StartNode(t, "cluster_peer.js", append([]string{"--redis", rs.URL()}, m.peerArgs...)...)
	nURL := N.Hello.Str("url")
	p := N // the Node process hosts the clients too
	r1 := connect(t, p, "r1", R.url, []string{"x"}, map[string]any{"name": "r1"})
	n1 := connect(t, p, "n1", nURL, []string{"x", "y"}, map[string]any{"name": "n1"})
	n2 := connect(t, p, "n2", nURL, []string{"y"}, nil)
	all := []string{"r1", "n1", "n2"}
	ctx := ctxWait(t)
	fromR := func(ev string) { _ = R.srv.Emit(ev) }
	fromN := func(ev string) { p.Do(map[string]any{"op": "emit", "event": ev}) }

	if n, err := R.srv.ServerCount(ctx); err != nil || n != 2 {
		t.Fatalf("Riptide ServerCount = %d, %v; want 2", n, err)
	}
	if c := p.Do(map[string]any{"op": "serverCount"}).Fields["count"]; c != 2.0 {
		t.Fatalf("Node serverCount = %v, want 2", c)
	}

	// Broadcasts both ways.
	_ = R.srv.Emit("m-all", 1, map[string]any{"k": "v"})
	expectDelivery(t, p, all, all, "m-all", fromR)
	if got := received(p, "n2", "m-all"); js(got[0]) != `[1,{"k":"v"}]` {
		t.Errorf("n2 got %s", js(got[0]))
	}
	p.Do(map[string]any{"op": "emit", "rooms": []string{"x"}, "event": "n-x", "args": []any{"a", 2.5}})
	expectDelivery(t, p, all, []string{"r1", "n1"}, "n-x", fromN)
	if got := received(p, "r1", "n-x"); js(got[0]) != `["a",2.5]` {
		t.Errorf("r1 got %s", js(got[0]))
	}
	_ = R.srv.To("y").Except("x").Emit("m-y-not-x")
	expectDelivery(t, p, all, []string{"n2"}, "m-y-not-x", fromR)
	p.Do(map[string]any{"op": "emit", "except": []string{"y"}, "event": "n-not-y"})
	expectDelivery(t, p, all, []string{"r1"}, "n-not-y", fromN)
	blob := []byte{9, 8, 7, 0, 255}
	p.Do(map[string]any{"op": "emit", "rooms": []string{r1}, "event": "n-bin", "args": []any{bin(blob), map[string]any{"nested": bin(blob)}}})
	expectDelivery(t, p, all, []string{"r1"}, "n-bin", fromN)
	if got := received(p, "r1", "n-bin"); js(got[0]) != js([]any{bin(blob), map[string]any{"nested": bin(blob)}}) {
		t.Errorf("r1 binary = %s", js(got[0]))
	}
	_ = R.srv.To(n1).Emit("m-bin", blob)
	expectDelivery(t, p, all, []string{"n1"}, "m-bin", fromR)
	if got := received(p, "n1", "m-bin"); js(got[0]) != js([]any{bin(blob)}) {
		t.Errorf("n1 binary = %s", js(got[0]))
	}

	// fetchSockets both ways.
	list, err := R.srv.FetchAllSockets(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("Riptide FetchAllSockets = %d, %v", len(list), err)
	}
	for _, s := range list {
		if s.ID == n1 && (js(s.Data) != `{"name":"n1"}` || !slices.Contains(s.Rooms, "y") || s.Handshake == nil ||
			s.Handshake.Query.Get("EIO") != "4" || string(s.Handshake.Auth) == "" || s.Handshake.Headers.Get("Host") == "") {
			t.Errorf("n1 seen from Riptide = %+v %+v", s, s.Handshake)
		}
	}
	res := p.Do(map[string]any{"op": "fetchSockets", "rooms": []string{"x"}})
	var sawR1 bool
	for _, s := range res.Fields["sockets"].([]any) {
		s := s.(map[string]any)
		if s["id"] == r1 {
			sawR1 = true
			hs, _ := s["handshake"].(map[string]any)
			auth, _ := hs["auth"].(map[string]any)
			if js(s["data"]) != `{"name":"r1"}` || js(s["rooms"]) != js(sortedOf(r1, "x")) || auth == nil || hs["address"] == nil {
				t.Errorf("r1 seen from Node = %s", js(s))
			}
		}
	}
	if !sawR1 {
		t.Errorf("Node's fetchSockets missed r1: %s", res.Line)
	}

	// Remote joins both ways.
	R.srv.In(n2).SocketsJoin("z")
	p.Do(map[string]any{"op": "sync"})
	_ = R.srv.To("z").Emit("m-z")
	expectDelivery(t, p, all, []string{"n2"}, "m-z", fromR)
	p.Do(map[string]any{"op": "socketsJoin", "rooms": []string{r1}, "join": []string{"w"}})
	waitFor(t, "r1 in w", func() bool {
		s := R.srv.Sockets().Socket(r1)
		return s != nil && slices.Contains(s.Rooms(), "w")
	})
	R.ready(t)
	p.Do(map[string]any{"op": "emit", "rooms": []string{"w"}, "event": "n-w"})
	expectDelivery(t, p, all, []string{"r1"}, "n-w", fromN)
	p.Do(map[string]any{"op": "remoteSocketEmit", "socketId": r1, "event": "n-remote"})
	expectDelivery(t, p, all, []string{"r1"}, "n-remote", fromN)

	res = p.Do(map[string]any{"op": "remoteSocketEmit", "socketId": r1, "event": "please-ack", "args": []any{"rs"}, "ack": true, "timeout": 5000})
	if rp := res.Fields["replies"].([]any); len(rp) != 1 || rp[0].(map[string]any)["client"] != "r1" {
		t.Errorf("Node RemoteSocket emit with ack to r1: %s", res.Line)
	}
	var remoteN1 riptide.RemoteSocket
	for _, s := range list {
		if s.ID == n1 {
			remoteN1 = s
		}
	}
	ackc := make(chan []any, 1)
	if err := remoteN1.EmitWithAck(5*time.Second, "please-ack", func(reply []any, err error) {
		if err != nil {
			t.Errorf("RemoteSocket.EmitWithAck: %v", err)
		}
		ackc <- reply
	}, "rs2"); err != nil {
		t.Fatal(err)
	}
	select {
	case reply := <-ackc:
		if len(reply) != 1 || reply[0].(map[string]any)["client"] != "n1" {
			t.Errorf("RemoteSocket.EmitWithAck reply = %v", reply)
		}
	case <-time.After(wait):
		t.Fatal("RemoteSocket.EmitWithAck never answered")
	}

	// Server-side emits with acks, both ways.
	replies, err := R.srv.ServerSideEmitWithAck(ctx, "ss-echo", "from-riptide")
	if err != nil || len(replies) != 1 || replies[0].(map[string]any)["from"] != "node" {
		t.Errorf("Riptide ServerSideEmitWithAck = %v, %v", replies, err)
	}
	if _, err := p.WaitEvent(wait, 1, func(r interop.Result) bool {
		return r.Str("event") == "serverSideEmit" && js(r.Fields["args"]) == `["from-riptide"]`
	}); err != nil {
		t.Error(err)
	}
	res = p.Do(map[string]any{"op": "serverSideEmit", "event": "ss-echo", "args": []any{"from-node"}, "withAck": true})
	if rs := res.Fields["replies"].([]any); len(rs) != 1 || rs[0].(map[string]any)["from"] != "riptide-R" {
		t.Errorf("Node serverSideEmitWithAck = %s", res.Line)
	}
	if n := R.sseCount("/"); n != 1 {
		t.Errorf("Riptide got %d server-side emits, want 1 (Node's)", n)
	}

	// Broadcasts with acks, both ways: one reply per client, both nodes.
	done := make(chan [][]any, 1)
	_ = R.srv.Timeout(5*time.Second).EmitWithAck("please-ack", func(r [][]any, err error) {
		if err != nil {
			t.Errorf("Riptide EmitWithAck: %v (%v)", err, r)
		}
		done <- r
	}, "q1")
	select {
	case r := <-done:
		if got := ackClients(r); fmt.Sprint(got) != "[n1 n2 r1]" {
			t.Errorf("Riptide EmitWithAck replies from %v", got)
		}
	case <-time.After(wait):
		t.Fatal("Riptide EmitWithAck never completed")
	}
	res = p.Do(map[string]any{"op": "emitWithAck", "event": "please-ack", "args": []any{"q2"}, "timeout": 5000})
	var who []string
	for _, r := range res.Fields["replies"].([]any) {
		who = append(who, r.(map[string]any)["client"].(string))
	}
	sort.Strings(who)
	if fmt.Sprint(who) != "[n1 n2 r1]" {
		t.Errorf("Node emitWithAck replies: %s", res.Line)
	}

	// Emitters: Node's (classic only: it has no sharded mode) and ours.
	if !m.opts.Sharded {
		p.Do(map[string]any{"op": "emitter", "rooms": []string{"x"}, "event": "node-emitter", "args": []any{1}})
		expectDelivery(t, p, all, []string{"r1", "n1"}, "node-emitter", func(ev string) {
			p.Do(map[string]any{"op": "emitter", "event": ev})
		})
	}
	client := goredis.NewClient(&goredis.Options{Addr: rs.Addr()})
	defer client.Close()
	em := redisadapter.NewEmitter(client, m.opts)
	if err := em.To("y").Emit(ctx, "go-emitter", "hi", blob); err != nil {
		t.Fatal(err)
	}
	expectDelivery(t, p, all, []string{"n1", "n2"}, "go-emitter", func(ev string) {
		if err := em.Emit(ctx, ev); err != nil {
			t.Fatal(err)
		}
	})
	if got := received(p, "n2", "go-emitter"); js(got[0]) != js([]any{"hi", bin(blob)}) {
		t.Errorf("go emitter binary = %s", js(got[0]))
	}

	// disconnectSockets from Node reaches Riptide's client, and back.
	p.Do(map[string]any{"op": "disconnectSockets", "rooms": []string{r1}, "close": true})
	R.srv.In(n2).DisconnectSockets(false)
	for _, c := range []string{"r1", "n2"} {
		if _, err := p.WaitEvent(wait, 1, func(r interop.Result) bool {
			return r.Str("event") == "disconnect" && r.Str("client") == c
		}); err != nil {
			t.Fatal(err)
		}
	}
	if st := R.ad.Stats(); st.Malformed != 0 || st.PublishDropped != 0 {
		t.Errorf("Riptide adapter stats: %+v", st)
	}
}

func ackClients(r [][]any) []string {
	var who []string
	for _, rep := range r {
		if len(rep) > 0 {
			if m, ok := rep[0].(map[string]any); ok {
				who = append(who, fmt.Sprint(m["client"]))
			}
		}
	}
	sort.Strings(who)
	return who
}

func sortedOf(s ...string) []string {
	sort.Strings(s)
	return s
}
