package riptide_test

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/riptide-io/riptide"
)

// BenchmarkEmitSmallRoomLoops measures what a message to a 2-member room
// costs the whole process (user+system CPU per Emit: the emitter, the
// loops' tasks, the writes, and the in-process clients reading) as the
// number of event loops grows, with only the two members connected, and
// with an idle socket on every loop besides. A broadcast to a room visits
// only the loops where the room has members (roomLoops), so both stay
// flat: ~1.1-1.5 us at 2, 8 and 16 loops, where visiting every loop with a
// socket of the namespace cost ~1.1 / 1.9 / 4.4 us with the idle sockets.
// The emits come back to back, so since they join in the loops' queues
// (PostOrJoinAll: the two members are on two loops) members-only costs
// ~0.76-1.0 us at 2 and 8 loops, against 1.7-1.9 with a task per emit
// (3 alternating runs, -benchtime 200000x). Run it alone:
//
//	go test -run '^$' -bench EmitSmallRoomLoops .
func BenchmarkEmitSmallRoomLoops(b *testing.B) {
	for _, loops := range []int{2, 8, 16} {
		for _, idle := range []bool{false, true} {
			name := fmt.Sprintf("loops=%d/members-only", loops)
			if idle {
				name = fmt.Sprintf("loops=%d/idle-socket-on-every-loop", loops)
			}
			b.Run(name, func(b *testing.B) { benchEmitSmallRoom(b, loops, idle) })
		}
	}
}

func benchEmitSmallRoom(b *testing.B, loops int, idle bool) {
	connected := make(chan struct{}, 2+2*loops)
	srv := riptide.New(riptide.Config{})
	srv.Engine().NumLoops = loops
	var members atomic.Int32
	srv.OnConnection(func(s *riptide.Socket) {
		if members.Add(1) <= 2 {
			s.Join("pair")
		}
		connected <- struct{}{}
	})
	serve(b, srv)
	n := 2
	if idle {
		n += 2 * loops // connections are dealt round-robin: every loop gets some
	}
	for range n {
		cl := dial(srv, "")
		// Drain what arrives; the connection ends with the server.
		go func() { _, _ = io.Copy(io.Discard, cl.r) }()
	}
	for range n {
		<-connected
	}
	time.Sleep(50 * time.Millisecond) // the joins reach the loops
	op := srv.To("pair")
	cpu0 := processCPU()
	b.ReportAllocs()
	for b.Loop() {
		if err := op.Emit("m", 1); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond) // the loops finish the last tasks
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the process's user+system CPU time so far, in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// TestBroadcastReachesSocketsOnEveryLoop: a broadcast skips the loops with
// no socket of the namespace, so it must see a loop gain its first socket
// (before that socket's connection handlers run) and keep visiting loops
// that still have one after others disconnect. Four loops, clients dealt
// round-robin: after each connect and each disconnect, one broadcast must
// reach every connected client.
func TestBroadcastReachesSocketsOnEveryLoop(t *testing.T) {
	const loops, clients = 4, 9
	srv := riptide.New(riptide.Config{})
	srv.Engine().NumLoops = loops
	serve(t, srv)
	seq := 0
	check := func(live []*wsClient) {
		t.Helper()
		seq++
		if err := srv.Emit("n", seq); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf(`42["n",%d]`, seq)
		for i, cl := range live {
			if got := cl.read(); got != want {
				t.Fatalf("broadcast %d, client %d of %d: got %q, want %q", seq, i, len(live), got, want)
			}
		}
	}
	var live []*wsClient
	for range clients {
		live = append(live, dial(srv, ""))
		check(live)
	}
	for len(live) > 1 {
		// Drop every other client, so that loops empty one by one.
		_ = live[0].c.Close()
		live = live[1:]
		time.Sleep(20 * time.Millisecond) // the server sees the close
		check(live)
	}
}

// BenchmarkEmitBurstSmallRooms is bench/'s fan-out to small rooms in
// process: 10 goroutines each emit to their own room of 10 members on one
// loop, as fast as they can; cpu-ns/delivery is the whole process's CPU
// (emitters, loop, writes, and the in-process clients reading) per message
// delivered. Emits that wait in the loop's queue behind one to the same
// room join it (Loop.PostOrJoin): 220-300 cpu-ns/delivery before that,
// 140-145 after (-count 3 each, this 2-core machine). Run it alone:
//
//	go test -run '^$' -bench EmitBurstSmallRooms .
func BenchmarkEmitBurstSmallRooms(b *testing.B) {
	const rooms, members = 10, 10
	connected := make(chan struct{}, rooms*members)
	srv := riptide.New(riptide.Config{})
	srv.Engine().NumLoops = 1
	var joined atomic.Int32
	srv.OnConnection(func(s *riptide.Socket) {
		s.Join(fmt.Sprint("r", (joined.Add(1)-1)%rooms))
		connected <- struct{}{}
	})
	serve(b, srv)
	for range rooms * members {
		cl := dial(srv, "")
		go func() { _, _ = io.Copy(io.Discard, cl.r) }()
	}
	for range rooms * members {
		<-connected
	}
	time.Sleep(50 * time.Millisecond) // the joins reach the loop
	var next atomic.Int32
	var msg any = riptide.RawJSON(`{"seq":1,"data":"` + strings.Repeat("x", 80) + `"}`)
	cpu0 := processCPU()
	b.ReportAllocs()
	b.SetParallelism((rooms + 1) / runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) {
		op := srv.To(fmt.Sprint("r", (next.Add(1)-1)%rooms))
		for pb.Next() {
			if err := op.Emit("m", msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
	time.Sleep(50 * time.Millisecond) // the loop writes the last of it
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/members, "cpu-ns/delivery")
}
