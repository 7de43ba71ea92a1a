package loadgen

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riptide-io/riptide/bench/client"
)

// Handshake drivers (Params.HandshakeDriver).
const (
	// HandshakeLoop runs every handshake loop on one client.HandshakeLoop:
	// one OS thread, raw non-blocking sockets in one epoll set (the
	// default).
	HandshakeLoop = "loop"
	// HandshakeGoroutines is the earlier driver: a goroutine per loop, a
	// client.Dial and a Close per handshake.
	HandshakeGoroutines = "goroutines"
)

// runHandshake is the handshake scenario: p.Concurrency loops, each
// repeating TCP connect + WebSocket upgrade + Engine.IO OPEN + namespace
// CONNECT + close, for p.Duration, driven by p.HandshakeDriver.
//
// Result: Ops = completed handshakes, Rate = handshakes/s, Latency = one
// handshake (connect to CONNECT received), Errors = failed handshakes.
// Extra: client_cpu_per_op_us, the generator's CPU per handshake.
// The generator closes first, so TIME_WAIT stays on its side; with no
// LocalAddrs, connect(2) picks the ports and Linux reuses TIME_WAIT ports on
// loopback (net.ipv4.tcp_tw_reuse=2), which a bound source address would
// not allow (so LocalAddrs are ignored here).
func runHandshake(ctx context.Context, p Params) (*Result, error) {
	switch p.HandshakeDriver {
	case HandshakeLoop:
		return runHandshakeLoop(ctx, p)
	case HandshakeGoroutines:
		return runHandshakeGoroutines(ctx, p)
	}
	return nil, fmt.Errorf("handshake: unknown driver %q (have %s, %s)", p.HandshakeDriver, HandshakeLoop,
		HandshakeGoroutines)
}

// runHandshakeLoop is runHandshake on a client.HandshakeLoop: its
// p.Concurrency slots are the loops. Handshakes are started until the
// window ends; those in flight then complete (and count), as with the
// goroutines.
func runHandshakeLoop(ctx context.Context, p Params) (*Result, error) {
	res := &Result{Scenario: "handshake", Label: fmt.Sprintf("loops=%d", p.Concurrency), Params: p,
		Start: time.Now(), RateUnit: "handshakes/s", ClientProcs: 1}
	hl, err := client.NewHandshakeLoop(p.URL, p.Concurrency)
	if err != nil {
		return nil, err
	}
	defer hl.Close()
	hist := NewHistogram()
	var e errs
	var n int64 // the loop's thread's until Run returns
	hl.OnHandshake = func(lat time.Duration) {
		hist.Record(int64(lat))
		n++
	}
	hl.OnError = e.add
	m := startCPU(p.ServerPID)
	done := make(chan error, 1)
	go func() { done <- hl.Run() }()
	waitWindow(ctx, time.Duration(p.Duration), done)
	hl.Stop()
	runErr := <-done
	wall, self, srv := m.stop()
	mach := ReadMachineCPU()
	if runErr != nil {
		e.add(runErr)
	}
	res.Ops = n
	res.Latency = hist.Summary()
	e.into(res)
	res.finish(wall, self, srv)
	res.machine(m.machine(mach))
	res.cpuPerOpExtra()
	return res, ctx.Err()
}

// runHandshakeGoroutines is runHandshake with a goroutine per loop.
func runHandshakeGoroutines(ctx context.Context, p Params) (*Result, error) {
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
	res.cpuPerOpExtra()
	return res, ctx.Err()
}
