package loadgen

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/riptide-io/riptide/bench/client"
)

// echoLoop is the echo scenario on one client.Loop: every connection's
// closed loop runs on the loop's thread. Fields without atomics belong to
// that thread (and to runEchoLoop once the loop has returned).
type echoLoop struct {
	loop  *client.Loop
	conns []echoSlot // by LoopConn.Index
	hist  *Histogram
	base  time.Time // latencies are time.Since(base) differences
	ops   int64     // echoes acknowledged in the window

	measuring atomic.Bool
	stopping  atomic.Bool
	inflight  atomic.Int64
	e         errs
}

// echoSlot is one connection's loop state: the echo in flight.
type echoSlot struct {
	id      int64 // its ack id
	sentAt  int64 // ns since base
	waiting bool
}

// fire sends c's next echo.
func (el *echoLoop) fire(c *client.LoopConn) {
	s := &el.conns[c.Index]
	s.waiting = true
	el.inflight.Add(1)
	s.sentAt = int64(time.Since(el.base))
	// An error is the connection failing: onClose counts it.
	s.id, _ = c.EmitAck("echo", echoPayload)
}

// onAck checks a reply, records its round trip and sends the next echo at
// once.
func (el *echoLoop) onAck(c *client.LoopConn, id int64, args []byte) {
	now := int64(time.Since(el.base))
	s := &el.conns[c.Index]
	if !s.waiting || id != s.id {
		el.e.add(fmt.Errorf("echo: ack %d, expected %d (waiting %v)", id, s.id, s.waiting))
		return
	}
	s.waiting = false
	if string(args) != string(echoPayload) {
		el.e.add(fmt.Errorf("echo: reply %q", args))
	}
	if el.measuring.Load() {
		el.hist.Record(now - s.sentAt)
		el.ops++
	}
	if !el.stopping.Load() {
		el.fire(c)
	}
	el.done()
}

// onClose counts a connection lost during the run.
func (el *echoLoop) onClose(c *client.LoopConn, err error) {
	el.e.add(fmt.Errorf("echo: connection %d: %w", c.Index, err))
	if s := &el.conns[c.Index]; s.waiting {
		s.waiting = false
		el.done()
	}
}

// done ends one echo; the last one after stopping stops the loop.
func (el *echoLoop) done() {
	if el.inflight.Add(-1) == 0 && el.stopping.Load() {
		el.loop.Stop()
	}
}

// runEchoLoop is runEcho on a client.Loop.
func runEchoLoop(ctx context.Context, p Params) (*Result, error) {
	res := &Result{Scenario: "echo", Label: fmt.Sprintf("conns=%d", p.Conns), Params: p, Start: time.Now(),
		RateUnit: "ops/s", ClientProcs: 1}
	loop, err := client.NewLoop()
	if err != nil {
		return nil, err
	}
	defer loop.Close()
	el := &echoLoop{loop: loop, hist: NewHistogram(), base: time.Now()}
	loop.OnAck, loop.OnClose = el.onAck, el.onClose
	dr := dialMany(ctx, &p, p.Conns, 0, func(i int) client.Options {
		return client.Options{Detached: true}
	}, nil, &el.e)
	for _, c := range dr.conns {
		if c == nil {
			continue
		}
		if _, err := loop.Add(c); err != nil {
			el.e.add(err)
			_ = c.Close()
		}
	}
	conns := loop.Conns()
	if len(conns) == 0 {
		el.e.into(res)
		return res, fmt.Errorf("echo: no connection: %v", res.ErrorSamples)
	}
	el.conns = make([]echoSlot, len(conns))
	for _, c := range conns {
		el.fire(c)
	}
	done := make(chan error, 1)
	go func() { done <- loop.Run() }()

	waitWindow(ctx, time.Duration(p.Warmup), done)
	m := startCPU(p.ServerPID)
	el.measuring.Store(true)
	waitWindow(ctx, time.Duration(p.Duration), done)
	el.measuring.Store(false)
	wall, self, srv := m.stop()
	mach := ReadMachineCPU()
	// Let the last round trips land (the last ack stops the loop) before
	// the connections close.
	el.stopping.Store(true)
	if el.inflight.Load() == 0 {
		loop.Stop()
	}
	var loopErr error
	select {
	case loopErr = <-done:
	case <-time.After(5 * time.Second):
		loop.Stop()
		loopErr = <-done
	}
	if loopErr != nil {
		el.e.add(loopErr)
	}
	res.Ops = el.ops
	res.Latency = el.hist.Summary()
	el.e.into(res)
	res.finish(wall, self, srv)
	res.machine(m.machine(mach))
	res.cpuPerOpExtra()
	return res, ctx.Err()
}

// waitWindow waits until d has passed or ctx ended, or until the run that
// reports on done returned early (its result is put back on done for the
// caller's final receive): the measured window ends then.
func waitWindow(ctx context.Context, d time.Duration, done chan error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case err := <-done:
		done <- err
	}
}
