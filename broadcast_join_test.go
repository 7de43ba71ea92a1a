package riptide_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riptide-io/riptide"
	"github.com/riptide-io/riptide/engine"
)

// pollClient is a Socket.IO client on HTTP long-polling only.
type pollClient struct {
	t    *testing.T
	url  string
	got  []string // packets read and not yet taken
	http http.Client
}

// dialPolling opens a polling session and connects it to "/".
func dialPolling(t *testing.T, srv *riptide.Server) *pollClient {
	t.Helper()
	pc := &pollClient{t: t, http: http.Client{Timeout: 10 * time.Second}}
	base := "http://" + srv.Addr().String() + "/socket.io/?EIO=4&transport=polling"
	open := pc.get(base)
	var hs struct{ Sid string }
	if !strings.HasPrefix(open, "0") || json.Unmarshal([]byte(open[1:]), &hs) != nil || hs.Sid == "" {
		t.Fatalf("polling handshake: %q", open)
	}
	pc.url = base + "&sid=" + hs.Sid
	pc.post("40")
	if p := pc.read(); !strings.HasPrefix(p, "40{") {
		t.Fatalf("polling CONNECT: got %q", p)
	}
	return pc
}

func (pc *pollClient) get(url string) string {
	pc.t.Helper()
	resp, err := pc.http.Get(url)
	if err != nil {
		pc.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		pc.t.Fatalf("GET: %d %q %v", resp.StatusCode, b, err)
	}
	return string(b)
}

func (pc *pollClient) post(payload string) {
	pc.t.Helper()
	resp, err := pc.http.Post(pc.url, "text/plain;charset=UTF-8", strings.NewReader(payload))
	if err != nil {
		pc.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		pc.t.Fatalf("POST %q: %d", payload, resp.StatusCode)
	}
}

// read returns the next packet, polling for more when none is left and
// answering pings.
func (pc *pollClient) read() string {
	pc.t.Helper()
	for {
		for len(pc.got) > 0 {
			p := pc.got[0]
			pc.got = pc.got[1:]
			if p == "2" {
				pc.post("3")
				continue
			}
			return p
		}
		pc.got = strings.Split(pc.get(pc.url), "\x1e")
	}
}

// holdLoops blocks every loop of srv until release is called (or the test
// ends), so that what is posted meanwhile waits in their queues, and turns
// the count of live messages on: live0 is the count with the loops held.
func holdLoops(t *testing.T, srv *riptide.Server) (release func(), live0 int64) {
	t.Helper()
	engine.TrackPrepared(true)
	t.Cleanup(func() { engine.TrackPrepared(false) })
	ch := make(chan struct{})
	release = sync.OnceFunc(func() { close(ch) })
	t.Cleanup(release)
	for _, l := range srv.Engine().Loops() {
		held := make(chan struct{})
		l.Post(func() { close(held); <-ch })
		<-held
	}
	return release, engine.LivePrepared()
}

// TestEmitBurstJoins: emits to the same room that wait, one after the
// other, in the loop's queue travel as one message, and reach every member
// — WebSocket and polling — exactly as separate emits would: every
// message, in order, interleaved with the emits to another room or with
// another selection as they were made; and the metrics count every message.
func TestEmitBurstJoins(t *testing.T) {
	srv := roomServer(t, 1, nil)
	a, b, c := dial(srv, ""), dial(srv, ""), dial(srv, "")
	for _, cl := range []*wsClient{a, b} {
		cl.call(t, "join", "r")
	}
	c.call(t, "join", "s")
	pc := dialPolling(t, srv)
	pc.post(`421["join","r"]`)
	if got := pc.read(); got != "431[]" {
		t.Fatalf("polling join: got %q", got)
	}

	release, live0 := holdLoops(t, srv) // the emits wait in the loop's queue
	m0 := srv.Metrics()
	const n = 200
	var want []string // what a member of r must read, in order
	emit := func(op riptide.BroadcastOperator, v string) {
		t.Helper()
		if err := op.Emit("m", v); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		v := fmt.Sprint("r", i)
		emit(srv.To("r"), v)
		want = append(want, fmt.Sprintf(`42["m",%q]`, v))
		switch i {
		case n / 2:
			emit(srv.To("s"), "s") // the next emit to r starts a new message
		case n/2 + 10:
			emit(srv.To("r").Except("nobody"), "v") // the same sockets, not the same selection: not joined
			want = append(want, `42["m","v"]`)
		}
	}
	// Queued: r0..r100, s, r101..r110, v, r111..r199.
	if got := engine.LivePrepared() - live0; got != 5 {
		t.Errorf("%d messages wait in the queue, want 5 (joined runs split by the other emits)", got)
	}
	release()

	for _, cl := range []*wsClient{a, b} {
		for i, w := range want {
			if got := cl.read(); got != w {
				t.Fatalf("WebSocket member, packet %d: got %q, want %q", i, got, w)
			}
		}
	}
	for i, w := range want {
		if got := pc.read(); got != w {
			t.Fatalf("polling member, packet %d: got %q, want %q", i, got, w)
		}
	}
	expect(t, c, `42["m","s"]`)
	m := srv.Metrics()
	if d := m.Broadcasts - m0.Broadcasts; d != n+2 {
		t.Errorf("Broadcasts grew by %d, want %d", d, n+2)
	}
	if d, w := m.Recipients-m0.Recipients, uint64(3*(n+1)+1); d != w {
		t.Errorf("Recipients grew by %d, want %d", d, w)
	}
	// MessagesOut is published as the loop's turn ends: wait for it.
	deadline := time.Now().Add(5 * time.Second)
	for m.MessagesOut-m0.MessagesOut < uint64(3*(n+1)+1) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		m = srv.Metrics()
	}
	if d := m.MessagesOut - m0.MessagesOut; d < uint64(3*(n+1)+1) {
		t.Errorf("MessagesOut grew by %d, want at least %d", d, 3*(n+1)+1)
	}
}

// TestSocketEmitsJoin: emits to one socket that wait in the loop's queue
// one after the other join (engine.Session.SendPrepared); an emit to
// another socket in between starts a new message, and each socket gets
// exactly its own, in order.
func TestSocketEmitsJoin(t *testing.T) {
	srv := roomServer(t, 1, nil)
	a, b := dial(srv, ""), dial(srv, "")
	sa, _ := socketOf(t, srv, a)
	sb, _ := socketOf(t, srv, b)
	release, live0 := holdLoops(t, srv)
	for _, e := range []struct {
		s *riptide.Socket
		v string
	}{{sa, "a1"}, {sa, "a2"}, {sa, "a3"}, {sb, "b1"}, {sa, "a4"}, {sa, "a5"}} {
		if err := e.s.Emit("m", e.v); err != nil {
			t.Fatal(err)
		}
	}
	if got := engine.LivePrepared() - live0; got != 3 {
		t.Errorf("%d messages wait in the queue, want 3", got)
	}
	release()
	for _, v := range []string{"a1", "a2", "a3", "a4", "a5"} {
		expect(t, a, fmt.Sprintf(`42["m",%q]`, v))
	}
	expect(t, b, `42["m","b1"]`)
}

// TestEmitBurstJoinsAcrossLoops: a burst to a room with members on two
// loops joins on both at once, and an emit to a room on one loop only, in
// between, starts new messages; every member gets its room's messages, in
// order.
func TestEmitBurstJoinsAcrossLoops(t *testing.T) {
	srv := roomServer(t, 2, nil)
	var onLoop [2][]*wsClient
	for len(onLoop[0]) < 2 || len(onLoop[1]) < 2 {
		cl := dial(srv, "")
		i := loopOf(t, srv, cl)
		onLoop[i] = append(onLoop[i], cl)
	}
	members := []*wsClient{onLoop[0][0], onLoop[1][0]}
	for _, cl := range members {
		cl.call(t, "join", "r")
	}
	solo := onLoop[0][1]
	solo.call(t, "join", "s") // a room on loop 0 only
	release, live0 := holdLoops(t, srv)
	const n = 100
	for i := range n {
		if err := srv.To("r").Emit("m", i); err != nil {
			t.Fatal(err)
		}
		if i == n/2 {
			if err := srv.To("s").Emit("m", "s"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := engine.LivePrepared() - live0; got != 3 {
		t.Errorf("%d messages wait in the queues, want 3 (r's two runs and s's)", got)
	}
	release()
	for _, cl := range members {
		for i := range n {
			expect(t, cl, fmt.Sprintf(`42["m",%d]`, i))
		}
	}
	expect(t, solo, `42["m","s"]`)
}

// TestConcurrentEmittersOneRoom: four goroutines burst to one room whose
// members live on two loops, so that their emits join each other's
// broadcasts while those are still being posted and released; every member
// must get every message exactly once, each goroutine's in its order.
func TestConcurrentEmittersOneRoom(t *testing.T) {
	const emitters, msgs = 4, 500
	srv := roomServer(t, 2, nil)
	var members []*wsClient
	seen := map[int]bool{}
	for len(members) < 4 || len(seen) < 2 {
		cl := dial(srv, "")
		seen[loopOf(t, srv, cl)] = true
		cl.call(t, "join", "r")
		members = append(members, cl)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for e := range emitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			op := srv.To("r")
			for i := range msgs {
				if err := op.Emit("m", e, i); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for _, cl := range members {
		next := make([]int, emitters)
		for range emitters * msgs {
			var e, i int
			got := cl.read()
			if _, err := fmt.Sscanf(got, `42["m",%d,%d]`, &e, &i); err != nil || e < 0 || e >= emitters {
				t.Fatalf("got %q", got)
			}
			if i != next[e] {
				t.Fatalf("from emitter %d: message %d, want %d", e, i, next[e])
			}
			next[e]++
		}
	}
}

// TestJoinRandomized: one goroutine makes 3,000 random emits — to rooms,
// unions, excepts, a socket id, the whole namespace, a socket directly,
// another socket's broadcast — over six sockets on two loops, now and then
// holding the loops so that long runs wait in their queues and join. Every
// socket must get exactly the emits whose selection holds it, in the order
// they were made (one emitter: a total order).
func TestJoinRandomized(t *testing.T) {
	srv := roomServer(t, 2, nil)
	const clients = 6
	cls := make([]*wsClient, clients)
	socks := make([]*riptide.Socket, clients)
	ids := make([]string, clients)
	rooms := map[string][]int{"r0": {0, 1, 2}, "r1": {2, 3, 4}, "r2": {4, 5, 0}}
	loops := map[int]bool{}
	for i := range clients {
		cls[i] = dial(srv, "")
		var l int
		socks[i], l = socketOf(t, srv, cls[i])
		loops[l] = true
		ids[i] = socks[i].ID()
	}
	if len(loops) != 2 {
		t.Skip("the sockets landed on one loop")
	}
	for name, members := range rooms {
		for _, i := range members {
			cls[i].call(t, "join", name)
		}
	}
	in := func(i int, names ...string) bool {
		for _, n := range names {
			if n == ids[i] || slices.Contains(rooms[n], i) {
				return true
			}
		}
		return false
	}
	type target struct {
		emit func(k int) error
		gets func(i int) bool
	}
	targets := []target{
		{func(k int) error { return srv.To("r0").Emit("m", k) }, func(i int) bool { return in(i, "r0") }},
		{func(k int) error { return srv.To("r1").Emit("m", k) }, func(i int) bool { return in(i, "r1") }},
		{func(k int) error { return srv.To("r0", "r1").Emit("m", k) }, func(i int) bool { return in(i, "r0", "r1") }},
		{func(k int) error { return srv.To("r2").Except("r1").Emit("m", k) },
			func(i int) bool { return in(i, "r2") && !in(i, "r1") }},
		{func(k int) error { return srv.To(ids[3]).Emit("m", k) }, func(i int) bool { return i == 3 }},
		{func(k int) error { return srv.Emit("m", k) }, func(int) bool { return true }},
		{func(k int) error { return socks[1].Emit("m", k) }, func(i int) bool { return i == 1 }},
		{func(k int) error { return socks[0].To("r2").Emit("m", k) }, func(i int) bool { return i != 0 && in(i, "r2") }},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	want := make([][]int, clients)
	var release func()
	const emits = 3000
	emit := func(tg target, k int) {
		t.Helper()
		if err := tg.emit(k); err != nil {
			t.Fatal(err)
		}
		for i := range clients {
			if tg.gets(i) {
				want[i] = append(want[i], k)
			}
		}
	}
	for k := 0; k < emits; {
		switch {
		case release == nil && rng.IntN(100) == 0:
			release, _ = holdLoops(t, srv)
		case release != nil && rng.IntN(50) == 0:
			release()
			release = nil
		}
		// Runs of one target, as a burst makes them.
		tg := targets[rng.IntN(len(targets))]
		for n := 1 + rng.IntN(8); n > 0 && k < emits; n-- {
			emit(tg, k)
			k++
		}
	}
	if release != nil {
		release()
	}
	for i, cl := range cls {
		for j, w := range want[i] {
			if got := cl.read(); got != fmt.Sprintf(`42["m",%d]`, w) {
				t.Fatalf("socket %d, message %d of %d: got %q, want emit %d", i, j, len(want[i]), got, w)
			}
		}
	}
}
