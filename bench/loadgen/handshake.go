package loadgen

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riptide-io/riptide/bench/client"
)

// runHandshake is the handshake scenario: p.Concurrency loops, each
// repeating TCP connect + WebSocket upgrade + Engine.IO OPEN + namespace
// CONNECT + close, for p.Duration.
//
// Result: Ops = completed handshakes, Rate = handshakes/s, Latency = one
// handshake (connect to CONNECT received), Errors = failed handshakes.
// The generator closes first, so TIME_WAIT stays on its side; with no
// LocalAddrs, connect(2) picks the ports and Linux reuses TIME_WAIT ports on
// loopback (net.ipv4.tcp_tw_reuse=2), which a bound source address would
// not allow (so LocalAddrs are ignored here).
func runHandshake(ctx context.Context, p Params) (*Result, error) {
	res := &Result{Scenario: "handshake", Label: fmt.Sprintf("loops=%d", p.Concurrency), Params: p,
		Start: time.Now(), RateUnit: "handshakes/s", ClientProcs: 1}
	hist := NewSharded(16)
	var e errs
	var n atomic.Int64
	m := startCPU(p.ServerPID)
	deadline := time.Now().Add(time.Duration(p.Duration))
	var wg sync.WaitGroup
	for g := range p.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := hist.Shard(g)
			for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
				t := time.Now()
				c, err := client.Dial(ctx, p.URL, client.Options{})
				if err != nil {
					e.add(err)
					time.Sleep(time.Millisecond) // do not spin on a refusing server
					continue
				}
				h.Record(int64(time.Since(t)))
				_ = c.Close()
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	wall, self, srv := m.stop()
	mach := ReadMachineCPU()
	res.Ops = n.Load()
	res.Latency = hist.Merged().Summary()
	e.into(res)
	res.finish(wall, self, srv)
	res.machine(m.machine(mach))
	return res, ctx.Err()
}
