package interop

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riptide-io/riptide/internal/redistest"
)

// These tests run two cluster_peer.js processes (Node's own Redis adapter) on
// one redis-server and check, through the control protocol of
// testdata/cluster_peer.md, that the fixture does what the Riptide Redis
// adapter tests will rely on when Riptide replaces one of the two nodes.

const clusterWait = 10 * time.Second

func TestClusterPeerClassic(t *testing.T) {
	t.Parallel()
	testClusterPeers(t, true)
}

func TestClusterPeerClassicSpecificResponseChannel(t *testing.T) {
	t.Parallel()
	testClusterPeers(t, true, "--specific-response-channel")
}

func TestClusterPeerShardedDynamic(t *testing.T) {
	t.Parallel()
	testClusterPeers(t, false, "--sharded", "--mode", "dynamic")
}

func TestClusterPeerShardedStatic(t *testing.T) {
	t.Parallel()
	testClusterPeers(t, false, "--sharded", "--mode", "static")
}

// startClusterPeer starts one cluster_peer.js on redis and returns it with its
// base URL.
func startClusterPeer(t *testing.T, redis *redistest.Server, args ...string) (*Proc, string) {
	t.Helper()
	p := StartNode(t, "cluster_peer.js", append([]string{"--redis", redis.URL()}, args...)...)
	url := p.Hello.Str("url")
	if p.Hello.Str("event") != "listening" || url == "" {
		t.Fatalf("cluster_peer.js first line = %s, want a listening event", p.Hello.Line)
	}
	return p, url
}

// recv matches a "recv" event of client for event name.
func recv(client, name string) func(Result) bool {
	return func(r Result) bool {
		return r.Str("event") == "recv" && r.Str("client") == client && r.Str("name") == name
	}
}

// jsonOf decodes a JSON literal for comparisons with decoded fields.
func jsonOf(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON literal %s: %v", s, err)
	}
	return v
}

func wantJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	if w := jsonOf(t, want); !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		t.Errorf("%s = %s, want %s", what, g, want)
	}
}

func waitEvents(t *testing.T, p *Proc, n int, match func(Result) bool, what string) []Result {
	t.Helper()
	got, err := p.WaitEvent(clusterWait, n, match)
	if err != nil {
		t.Fatalf("%s: %v\nevents so far:\n%s", what, err, p.Stdout())
	}
	return got
}

func testClusterPeers(t *testing.T, classic bool, args ...string) {
	redis := redistest.Start(t)
	a, urlA := startClusterPeer(t, redis, args...)
	b, urlB := startClusterPeer(t, redis, args...)

	for _, p := range []*Proc{a, b} {
		for _, nsp := range []string{"/", "/chat"} {
			if n := p.Do(map[string]any{"op": "serverCount", "nsp": nsp}).Fields["count"]; n != 2.0 {
				t.Fatalf("serverCount(%s) = %v, want 2", nsp, n)
			}
		}
	}

	// One client per node, each opened by its own peer's control channel.
	ca := a.Do(map[string]any{"op": "connect", "client": "ca", "url": urlA,
		"auth": map[string]any{"rooms": []string{"room-a"}, "data": map[string]any{"name": "alice"}}}).Str("socketId")
	cbAuth := map[string]any{"rooms": []string{"room1", "room2"}, "data": map[string]any{"name": "bob", "n": 1}}
	cb := b.Do(map[string]any{"op": "connect", "client": "cb", "url": urlB, "auth": cbAuth}).Str("socketId")
	if ca == "" || cb == "" {
		t.Fatalf("client ids: ca=%q cb=%q", ca, cb)
	}

	// The adapters subscribed where Node's adapter does (so the flags took).
	chans := func(args ...string) []string {
		out, err := redis.Do(args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return strings.Split(out, "\n")
	}
	shard := chans("PUBSUB", "SHARDCHANNELS")
	switch {
	case classic:
		if c := chans("PUBSUB", "CHANNELS"); !slices.Contains(c, "socket.io-request#/#") || !slices.Contains(c, "socket.io-response#/#") {
			t.Errorf("classic: PUBSUB CHANNELS = %q", c)
		}
		if n := chans("PUBSUB", "NUMPAT"); n[0] != "2" { // unique patterns: socket.io#/#* and socket.io#/chat#*
			t.Errorf("classic: PUBSUB NUMPAT = %q, want 2", n)
		}
	case slices.Contains(args, "dynamic"):
		if !slices.Contains(shard, "socket.io#/#") || !slices.Contains(shard, "socket.io#/#room1#") {
			t.Errorf("sharded dynamic: PUBSUB SHARDCHANNELS = %q, want socket.io#/# and socket.io#/#room1#", shard)
		}
	default:
		if !slices.Contains(shard, "socket.io#/#") || slices.Contains(shard, "socket.io#/#room1#") {
			t.Errorf("sharded static: PUBSUB SHARDCHANNELS = %q, want socket.io#/# and no room channel", shard)
		}
	}

	// An emit to a room on A reaches the client on B exactly once, binaries
	// intact, and not the client on A. The marker to everyone, published after
	// it on the same connection, proves nothing more is on its way.
	const payload = `[1,"two",{"$bin":"AAECAw=="},{"nested":[{"$bin":""},null,true]}]`
	a.Do(map[string]any{"op": "emit", "rooms": []string{"room1"}, "event": "hello", "args": jsonOf(t, payload)})
	a.Do(map[string]any{"op": "emit", "event": "marker", "args": []any{1}})
	waitEvents(t, b, 1, recv("cb", "marker"), "marker at cb")
	waitEvents(t, a, 1, recv("ca", "marker"), "marker at ca")
	hello := b.Events(recv("cb", "hello"))
	if len(hello) != 1 {
		t.Fatalf("cb got %d hello, want 1:\n%s", len(hello), b.Stdout())
	}
	wantJSON(t, "hello args", hello[0].Fields["args"], payload)
	if n := len(a.Events(recv("ca", "hello"))); n != 0 {
		t.Errorf("ca (not in room1) got %d hello", n)
	}

	// except, across nodes: to room1 and room-a except room2 reaches ca only.
	a.Do(map[string]any{"op": "emit", "rooms": []string{"room1", "room-a"}, "except": []string{"room2"}, "event": "exc", "args": []any{}})
	a.Do(map[string]any{"op": "emit", "event": "marker2", "args": []any{}})
	waitEvents(t, b, 1, recv("cb", "marker2"), "marker2 at cb")
	waitEvents(t, a, 1, recv("ca", "exc"), "exc at ca")
	if n := len(b.Events(recv("cb", "exc"))); n != 0 {
		t.Errorf("cb (in the except room) got %d exc", n)
	}

	// fetchSockets from A sees B's socket, with its data, rooms and handshake.
	socks := a.Do(map[string]any{"op": "fetchSockets", "rooms": []string{"room1"}}).Fields["sockets"].([]any)
	if len(socks) != 1 {
		t.Fatalf("fetchSockets(room1) from A = %v, want cb only", socks)
	}
	s := socks[0].(map[string]any)
	if s["id"] != cb || s["local"] != false {
		t.Errorf("fetchSockets(room1)[0] id=%v local=%v, want %s remote", s["id"], s["local"], cb)
	}
	wantJSON(t, "remote data", s["data"], `{"name":"bob","n":1}`)
	wantRooms := []string{cb, "room1", "room2"}
	slices.Sort(wantRooms) // the peer sorts rooms
	wb, _ := json.Marshal(wantRooms)
	wantJSON(t, "remote rooms", s["rooms"], string(wb))
	hs := s["handshake"].(map[string]any)
	b2, _ := json.Marshal(cbAuth)
	wantJSON(t, "remote handshake.auth", hs["auth"], string(b2))
	if q, ok := hs["query"].(map[string]any); !ok || q["EIO"] != "4" || q["transport"] != "websocket" {
		t.Errorf("remote handshake.query = %v", hs["query"])
	}
	all := a.Do(map[string]any{"op": "fetchSockets"}).Fields["sockets"].([]any)
	var ids []string
	for _, x := range all {
		ids = append(ids, x.(map[string]any)["id"].(string))
	}
	slices.Sort(ids)
	if want := []string{ca, cb}; !slices.Equal(ids, slices.Sorted(slices.Values(want))) {
		t.Errorf("fetchSockets() from A = %v, want %v", ids, want)
	}

	// serverSideEmit with an ack: B answers, A gets one reply per other node.
	r := a.Do(map[string]any{"op": "serverSideEmit", "event": "ss-echo", "args": []any{"x", 1}, "withAck": true, "timeout": 5000})
	wantJSON(t, "serverSideEmit replies", r.Fields["replies"], `[{"from":"node","args":["x",1]}]`)
	ss := waitEvents(t, b, 1, func(r Result) bool { return r.Str("event") == "serverSideEmit" }, "serverSideEmit at B")
	wantJSON(t, "serverSideEmit at B", ss[0].Fields["args"], `["x",1]`)
	if n := len(a.Events(func(r Result) bool { return r.Str("event") == "serverSideEmit" })); n != 0 {
		t.Errorf("A received its own serverSideEmit %d times", n)
	}

	// Broadcast with acks across the cluster: one reply per client, both nodes.
	r = a.Do(map[string]any{"op": "emitWithAck", "event": "please-ack", "args": []any{"q"}, "timeout": 5000})
	var from []string
	for _, x := range r.Fields["replies"].([]any) {
		m := x.(map[string]any)
		from = append(from, m["client"].(string))
		wantJSON(t, "please-ack reply args", m["args"], `["q"]`)
	}
	slices.Sort(from)
	if !slices.Equal(from, []string{"ca", "cb"}) {
		t.Errorf("emitWithAck replies from %v, want [ca cb]", from)
	}

	// A timed-out broadcast ack reports the replies it did get.
	r, err := a.Call(map[string]any{"op": "emitWithAck", "event": "no-ack", "args": []any{}, "timeout": 300})
	if err == nil || r.Str("error") != "operation has timed out" {
		t.Errorf("emitWithAck nobody answers: err=%v reply=%s", err, r.Line)
	}

	// Remote room operations, then the sync barrier on B.
	a.Do(map[string]any{"op": "socketsJoin", "rooms": []string{"room2"}, "join": []string{"joined"}})
	b.Do(map[string]any{"op": "sync"})
	a.Do(map[string]any{"op": "emit", "rooms": []string{"joined"}, "event": "to-joined", "args": []any{}})
	waitEvents(t, b, 1, recv("cb", "to-joined"), "emit to a remotely joined room")

	a.Do(map[string]any{"op": "remoteSocketEmit", "socketId": cb, "event": "direct", "args": []any{"d"}})
	waitEvents(t, b, 1, recv("cb", "direct"), "remoteSocketEmit")

	if classic {
		// The emitter publishes in the classic format only.
		a.Do(map[string]any{"op": "emitter", "rooms": []string{"room1"}, "event": "from-emitter", "args": jsonOf(t, `[{"$bin":"/w=="}]`)})
		got := waitEvents(t, b, 1, recv("cb", "from-emitter"), "emitter")
		wantJSON(t, "emitter args", got[0].Fields["args"], `[{"$bin":"/w=="}]`)
	}

	// The other namespace is a separate adapter.
	cc := b.Do(map[string]any{"op": "connect", "client": "cc", "url": urlB, "nsp": "/chat"}).Str("socketId")
	a.Do(map[string]any{"op": "emit", "nsp": "/chat", "event": "chat-msg", "args": []any{"hi"}})
	waitEvents(t, b, 1, recv("cc", "chat-msg"), "emit on /chat")
	chat := a.Do(map[string]any{"op": "fetchSockets", "nsp": "/chat"}).Fields["sockets"].([]any)
	if len(chat) != 1 || chat[0].(map[string]any)["id"] != cc {
		t.Errorf("fetchSockets(/chat) = %v, want only %s", chat, cc)
	}

	// disconnectSockets across nodes.
	a.Do(map[string]any{"op": "disconnectSockets", "rooms": []string{"room1"}})
	d := waitEvents(t, b, 1, func(r Result) bool { return r.Str("event") == "disconnect" && r.Str("client") == "cb" }, "remote disconnect")
	if d[0].Str("reason") != "io server disconnect" {
		t.Errorf("cb disconnect reason = %q", d[0].Str("reason"))
	}

	// Clean exit: the adapter unsubscribes and serverCount drops.
	b.Quit()
	deadline := time.Now().Add(clusterWait)
	for {
		n := a.Do(map[string]any{"op": "serverCount"}).Fields["count"]
		if n == 1.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serverCount after B quit = %v, want 1", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestClusterPeerOpsClassic(t *testing.T) {
	t.Parallel()
	testClusterPeerOps(t, true)
}

func TestClusterPeerOpsSharded(t *testing.T) {
	t.Parallel()
	testClusterPeerOps(t, false, "--sharded")
}

// testClusterPeerOps covers the control operations testClusterPeers does not.
func testClusterPeerOps(t *testing.T, classic bool, args ...string) {
	redis := redistest.Start(t)
	a, urlA := startClusterPeer(t, redis, args...)
	b, urlB := startClusterPeer(t, redis, args...)
	ca := a.Do(map[string]any{"op": "connect", "client": "ca", "url": urlA}).Str("socketId")
	cb := b.Do(map[string]any{"op": "connect", "client": "cb", "url": urlB, "auth": map[string]any{"rooms": []string{"r"}}}).Str("socketId")

	// Errors are replies, not crashes.
	if _, err := a.Call(map[string]any{"op": "nope"}); err == nil {
		t.Error("unknown op: no error")
	}
	if r, err := a.Call(map[string]any{"op": "connect", "client": "bad", "url": urlB, "nsp": "/nope"}); err == nil ||
		!strings.Contains(r.Str("error"), "Invalid namespace") {
		t.Errorf("connect to an unknown namespace: err=%v reply=%s", err, r.Line)
	}
	if _, err := a.Call(map[string]any{"op": "remoteSocketEmit", "socketId": "nobody", "event": "x"}); err == nil {
		t.Error("remoteSocketEmit to an unknown socket: no error")
	}
	info := a.Do(map[string]any{"op": "info"})
	if uids, _ := info.Fields["uids"].(map[string]any); uids["/"] == nil || uids["/"] != a.Hello.Fields["uids"].(map[string]any)["/"] {
		t.Errorf("info uids = %v, hello uids = %v", info.Fields["uids"], a.Hello.Fields["uids"])
	}

	// Client side: emit with and without ack (the server answers ping-ack with
	// its arguments, binaries included), join over the socket, then close.
	r := b.Do(map[string]any{"op": "clientEmit", "client": "cb", "event": "ping-ack", "args": jsonOf(t, `[1,{"$bin":"qg=="}]`), "ack": true})
	wantJSON(t, "clientEmit ack", r.Fields["args"], `[1,{"$bin":"qg=="}]`)
	b.Do(map[string]any{"op": "clientEmit", "client": "cb", "event": "join", "args": []any{"via-client"}, "ack": true})
	a.Do(map[string]any{"op": "emit", "rooms": []string{"via-client"}, "event": "vc", "args": []any{}})
	waitEvents(t, b, 1, recv("cb", "vc"), "emit to a room joined by the client")

	// local and volatile flags.
	a.Do(map[string]any{"op": "emit", "local": true, "event": "only-local", "args": []any{}})
	a.Do(map[string]any{"op": "emit", "volatile": true, "event": "vol", "args": []any{}})
	a.Do(map[string]any{"op": "emit", "event": "m1", "args": []any{}})
	waitEvents(t, b, 1, recv("cb", "m1"), "m1")
	waitEvents(t, a, 1, recv("ca", "only-local"), "local emit at ca")
	if n := len(b.Events(recv("cb", "only-local"))); n != 0 {
		t.Errorf("local emit on A reached B's client %d times", n)
	}
	waitEvents(t, b, 1, recv("cb", "vol"), "volatile emit")

	// socketsLeave from A; the marker after it must not be preceded by "left".
	a.Do(map[string]any{"op": "socketsLeave", "rooms": []string{"r"}, "leave": []string{"r"}})
	b.Do(map[string]any{"op": "sync"})
	a.Do(map[string]any{"op": "emit", "rooms": []string{"r"}, "event": "left", "args": []any{}})
	a.Do(map[string]any{"op": "emit", "event": "m2", "args": []any{}})
	waitEvents(t, b, 1, recv("cb", "m2"), "m2")
	if n := len(b.Events(recv("cb", "left"))); n != 0 {
		t.Errorf("cb got %d emits to a room it left", n)
	}

	// The classic adapter applies socketsJoin to the sender's own sockets only
	// when its request comes back from Redis; the reply waits for that.
	a.Do(map[string]any{"op": "socketsJoin", "join": []string{"everyone"}})
	b.Do(map[string]any{"op": "sync"})
	a.Do(map[string]any{"op": "emit", "rooms": []string{"everyone"}, "event": "ev", "args": []any{}})
	waitEvents(t, a, 1, recv("ca", "ev"), "socketsJoin applied on the sender")
	waitEvents(t, b, 1, recv("cb", "ev"), "socketsJoin applied remotely")

	// Remote socket operations.
	a.Do(map[string]any{"op": "remoteSocketJoin", "socketId": cb, "room": "rj"})
	b.Do(map[string]any{"op": "sync"})
	a.Do(map[string]any{"op": "emit", "rooms": []string{"rj"}, "event": "rj-msg", "args": []any{}})
	waitEvents(t, b, 1, recv("cb", "rj-msg"), "remoteSocketJoin")
	a.Do(map[string]any{"op": "remoteSocketLeave", "socketId": cb, "room": "rj"})
	b.Do(map[string]any{"op": "sync"})
	socks := a.Do(map[string]any{"op": "fetchSockets", "rooms": []string{"rj"}}).Fields["sockets"].([]any)
	if len(socks) != 0 {
		t.Errorf("after remoteSocketLeave, fetchSockets(rj) = %v", socks)
	}
	r = a.Do(map[string]any{"op": "remoteSocketEmit", "socketId": cb, "event": "please-ack", "args": []any{"one"}, "ack": true, "timeout": 5000})
	if r.Fields["local"] != false {
		t.Errorf("remoteSocketEmit local = %v", r.Fields["local"])
	}
	// RemoteSocket acks expect a single response: the client's first ack argument.
	wantJSON(t, "remoteSocketEmit ack", r.Fields["replies"], `[{"client":"cb","args":["one"]}]`)

	if classic {
		// The emitter's room operations and serverSideEmit (no acks).
		a.Do(map[string]any{"op": "emitterOp", "action": "socketsJoin", "rooms": []string{"everyone"}, "join": []string{"em-room"}})
		b.Do(map[string]any{"op": "sync"})
		a.Do(map[string]any{"op": "emitter", "rooms": []string{"em-room"}, "event": "em-msg", "args": []any{}})
		waitEvents(t, b, 1, recv("cb", "em-msg"), "emitter socketsJoin + emit")
		a.Do(map[string]any{"op": "emitterOp", "action": "serverSideEmit", "event": "ss-echo", "args": []any{"from-emitter"}})
		for _, p := range []*Proc{a, b} { // uid "emitter": every node gets it, the publisher too
			ss := waitEvents(t, p, 1, func(r Result) bool { return r.Str("event") == "serverSideEmit" }, "emitter serverSideEmit")
			wantJSON(t, "emitter serverSideEmit args", ss[0].Fields["args"], `["from-emitter"]`)
		}
		a.Do(map[string]any{"op": "emitterOp", "action": "socketsLeave", "rooms": []string{"everyone"}, "leave": []string{"em-room"}})
		a.Do(map[string]any{"op": "emitterOp", "action": "disconnectSockets", "rooms": []string{cb}, "close": true})
	} else {
		a.Do(map[string]any{"op": "remoteSocketDisconnect", "socketId": cb, "close": true})
	}
	d := waitEvents(t, b, 1, func(r Result) bool { return r.Str("event") == "disconnect" && r.Str("client") == "cb" }, "disconnect")
	if d[0].Str("reason") != "io server disconnect" {
		t.Errorf("cb disconnect reason = %q, want io server disconnect", d[0].Str("reason"))
	}

	a.Do(map[string]any{"op": "clientClose", "client": "ca"})
	d = waitEvents(t, a, 1, func(r Result) bool { return r.Str("event") == "disconnect" && r.Str("client") == "ca" }, "client close")
	if d[0].Str("reason") != "io client disconnect" {
		t.Errorf("ca disconnect reason = %q", d[0].Str("reason"))
	}
	waitEvents(t, a, 1, func(r Result) bool { return r.Str("event") == "server-disconnect" && r.Str("id") == ca }, "server-side disconnect of ca")
}

// TestClusterPeerRedisRestart checks that the fixture survives a Redis restart
// (node-redis reconnects and re-subscribes), so tests can restart Redis under a
// mixed cluster and blame only Riptide.
func TestClusterPeerRedisRestart(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name string
		args []string
	}{{"classic", nil}, {"sharded", []string{"--sharded"}}} {
		t.Run(mode.name, func(t *testing.T) {
			redis := redistest.Start(t)
			a, _ := startClusterPeer(t, redis, mode.args...)
			b, urlB := startClusterPeer(t, redis, mode.args...)
			b.Do(map[string]any{"op": "connect", "client": "cb", "url": urlB, "auth": map[string]any{"rooms": []string{"r"}}})

			redis.Restart()
			for _, p := range []*Proc{a, b} {
				for _, c := range []string{"pub", "sub"} {
					waitEvents(t, p, 1, func(r Result) bool {
						return r.Str("event") == "redis" && r.Str("client") == c && r.Str("state") == "ready"
					}, "redis "+c+" ready after restart")
				}
				p.Do(map[string]any{"op": "sync"})
			}
			if n := a.Do(map[string]any{"op": "serverCount"}).Fields["count"]; n != 2.0 {
				t.Fatalf("serverCount after restart = %v, want 2", n)
			}
			a.Do(map[string]any{"op": "emit", "rooms": []string{"r"}, "event": "after-restart", "args": []any{}})
			waitEvents(t, b, 1, recv("cb", "after-restart"), "emit after Redis restart")
		})
	}
}
