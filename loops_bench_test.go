package riptide_test

import (
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/riptide-io/riptide"
)

// BenchmarkEmitSmallRoomLoops measures what a message to a 2-member room
// costs the whole process (user+system CPU per Emit: the emitter, every
// loop's task, the writes, and the two in-process clients reading) as the
// number of event loops grows. Emit hands a task to every loop, members or
// not, so the cost grows with the loop count even though the room does
// not: the case for per-room loop masks (bench/README.md, "Where Riptide
// trails the ceiling"). Run it alone:
//
//	go test -run '^$' -bench EmitSmallRoomLoops .
func BenchmarkEmitSmallRoomLoops(b *testing.B) {
	for _, loops := range []int{2, 8, 16} {
		b.Run(fmt.Sprintf("loops=%d", loops), func(b *testing.B) {
			joined := make(chan struct{}, 2)
			srv := riptide.New(riptide.Config{})
			srv.Engine().NumLoops = loops
			srv.OnConnection(func(s *riptide.Socket) {
				s.Join("pair")
				joined <- struct{}{}
			})
			if err := srv.Listen("127.0.0.1:0"); err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			for range 2 {
				cl := dial(srv, "")
				// Drain what the room receives; the connection ends with the server.
				go func() { _, _ = io.Copy(io.Discard, cl.r) }()
			}
			<-joined
			<-joined
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
		})
	}
}

// processCPU is the process's user+system CPU time so far, in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
