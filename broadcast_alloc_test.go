package riptide

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/riptide-io/riptide/codec"
	"github.com/riptide-io/riptide/engine"
)

// detachedSockets connects n sockets of nsp on a detached loop (no
// network): the broadcast path runs exactly as on a real loop.
func detachedSockets(tb testing.TB, srv *Server, nsp *Namespace, l *engine.Loop, n int) []*Socket {
	tb.Helper()
	out := make([]*Socket, 0, n)
	l.Run(func() {
		for i := 0; i < n; i++ {
			sess := l.NewDetachedSession((*engineHandler)(srv))
			openClient(srv, sess)
			c := clientOf(sess)
			s := newSocket(nsp, sess, nil)
			c.stopConnectTimeout()
			c.addSocket(s)
			s.onConnect()
			out = append(out, s)
		}
	})
	return out
}

func joinAll(l *engine.Loop, socks []*Socket, pick func(i int) []string) {
	for i, s := range socks {
		s.Join(pick(i)...)
	}
	l.Run(func() {}) // apply the queued joins
}

// broadcastOnce is one broadcast on one loop: encode once, select, write.
func broadcastOnce(b BroadcastOperator, l *engine.Loop) {
	msgs, err := encodeEvent(nil, b.nsp.name, codec.NoAckID, "tick", []any{codec.RawJSON(`{"sym":"AAPL","px":187.25}`)})
	if err != nil {
		panic(err)
	}
	l.Run(func() { b.deliverOnLoop(l, msgs, nil) })
	for _, p := range msgs {
		p.Release()
	}
}

// TestBroadcastAllocsDoNotScale pins the encode-once design: a broadcast to
// 10 sockets and to 10,000 allocates the same (nothing per recipient).
func TestBroadcastAllocsDoNotScale(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race; pinned by the non-race run")
	}
	measure := func(n int) float64 {
		srv := New(Config{})
		l := engine.NewDetachedLoop()
		socks := detachedSockets(t, srv, srv.root, l, n)
		joinAll(l, socks, func(i int) []string {
			if i%2 == 0 {
				return []string{"even", "all"}
			}
			return []string{"odd", "all"}
		})
		op := srv.To("even", "odd").Except("nobody")
		return testing.AllocsPerRun(20, func() { broadcastOnce(op, l) })
	}
	small, large := measure(10), measure(10_000)
	t.Logf("allocations per broadcast: 10 recipients %.1f, 10,000 recipients %.1f", small, large)
	if large > small {
		t.Fatalf("a broadcast to 10,000 sockets allocates %.1f times, to 10 sockets %.1f: something allocates per recipient", large, small)
	}
}

// TestBroadcastReachesExactlyTheSelection checks the set algebra end to end
// on a detached loop: bytes written per socket.
func TestBroadcastReachesExactlyTheSelection(t *testing.T) {
	srv := New(Config{})
	l := engine.NewDetachedLoop()
	socks := detachedSockets(t, srv, srv.root, l, 6)
	rooms := [][]string{{"a"}, {"a", "b"}, {"b"}, {"c"}, {"a", "c"}, nil}
	joinAll(l, socks, func(i int) []string { return rooms[i] })
	before := make([]int64, len(socks))
	for i, s := range socks {
		before[i] = s.sess.Written()
	}
	broadcastOnce(srv.To("a", "b").Except("c").Except(socks[2].ID()), l)
	want := []bool{true, true, false, false, false, false}
	for i, s := range socks {
		got := s.sess.Written() > before[i]
		if got != want[i] {
			t.Errorf("socket %d (rooms %v): received=%v, want %v", i, rooms[i], got, want[i])
		}
		before[i] = s.sess.Written()
	}
	// A socket's private room (its id), beside a named room.
	if len(socks[5].ID()) != socketIDLen {
		t.Fatalf("socket id %q is not %d characters", socks[5].ID(), socketIDLen)
	}
	broadcastOnce(srv.To(socks[5].ID(), "b").Except(socks[1].ID()), l)
	want = []bool{false, false, true, false, false, true}
	for i, s := range socks {
		if got := s.sess.Written() > before[i]; got != want[i] {
			t.Errorf("to(id of 5, b).except(id of 1): socket %d received=%v, want %v", i, got, want[i])
		}
	}
}

func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{1, 100, 10_000} {
		for _, nrooms := range []int{1, 4} {
			b.Run(fmt.Sprintf("recipients=%d/rooms=%d+except", n, nrooms), func(b *testing.B) {
				srv := New(Config{})
				l := engine.NewDetachedLoop()
				socks := detachedSockets(b, srv, srv.root, l, n)
				names := []string{"r0", "r1", "r2", "r3"}[:nrooms]
				joinAll(l, socks, func(i int) []string { return []string{names[i%nrooms]} })
				op := srv.To(names...).Except("x")
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					broadcastOnce(op, l)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/recipient")
			})
		}
	}
}

// BenchmarkBroadcastMillion measures the broadcast path — room selection
// over per-loop bitmaps plus queueing the shared frame — for one million
// members on one loop, with no sockets (issue 4's 1M question: this box
// caps a process at 20k files). Run it alone:
//
//	go test -run '^$' -bench BroadcastMillion -benchtime 20x .
func BenchmarkBroadcastMillion(b *testing.B) {
	const n = 1_000_000
	srv := New(Config{})
	l := engine.NewDetachedLoop()
	socks := detachedSockets(b, srv, srv.root, l, n)
	joinAll(l, socks, func(i int) []string { return []string{"all", fmt.Sprintf("r%d", i%100)} })
	for _, tc := range []struct {
		name string
		op   BroadcastOperator
		want int
	}{
		{"to(all)", srv.To("all"), n},
		{"to(r1,r2).except(r3)", srv.To("r1", "r2").Except("r3"), n / 50},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				broadcastOnce(tc.op, l)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(tc.want), "ns/recipient")
		})
	}
}

// TestEventAckAllocs pins what an incoming event with an ack costs on its
// loop: the packet is parsed in place, its name interned, its arguments
// split into the loop's scratch, and the ack encoded into a pooled buffer;
// what remains is the Ack closure and its once flag (it may be called from
// any goroutine, later, twice: it cannot be pooled), and the handler's own
// boxing of its reply. It was 6 before the name was interned and the ack
// encoded into a slice on the stack.
func TestEventAckAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race; pinned by the non-race run")
	}
	srv := New(Config{})
	reply := []any{nil}
	calls := 0
	srv.OnEvent("echo", func(s *Socket, args Args, ack Ack) {
		calls++
		reply[0] = RawJSON(args.Raw(0))
		ack(reply...)
	})
	l := engine.NewDetachedLoop()
	socks := detachedSockets(t, srv, srv.root, l, 1)
	c := socks[0].conn()
	pkt := []byte(`21["echo","0123456789abcdef0123456789abcdef"]`) // an Engine.IO message's payload
	before := socks[0].sess.Written()
	event := func() { c.onMessage(pkt, false) }
	l.Run(event) // warm up: interned name, pooled buffers
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	const runs = 1000
	for range runs {
		l.Run(event)
	}
	runtime.ReadMemStats(&ms1)
	allocs := float64(ms1.Mallocs-ms0.Mallocs) / runs // AllocsPerRun would round down
	if calls != runs+1 || socks[0].sess.Written() == before {
		t.Fatalf("%d handler calls for %d events, %d bytes written", calls, runs+1, socks[0].sess.Written()-before)
	}
	t.Logf("%.2f allocations per event with ack", allocs)
	if allocs > 3.1 { // 0.1: a stray runtime allocation may land in the window
		t.Errorf("%.2f allocations per incoming event with ack, want at most 3 (the Ack closure, its flag and the reply's boxing)", allocs)
	}
}

// TestEmitAllocs pins what a broadcast costs the emitting goroutine:
// nothing, whatever the number of recipients (the task every loop runs,
// which holds the message, comes from a pool).
func TestEmitAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race; pinned by the non-race run")
	}
	srv := New(Config{})
	op := srv.To("room").Except("other")
	args := []any{RawJSON(`{"sym":"AAPL","px":187.25}`)}
	if err := op.Emit("tick", args...); err != nil { // warm up the pools
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(200, func() {
		if err := op.Emit("tick", args...); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.1f allocations per Emit", allocs)
	if allocs > 0 {
		t.Errorf("%.1f allocations per Emit, want 0", allocs)
	}
}
