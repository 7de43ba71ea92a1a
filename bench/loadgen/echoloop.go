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

	fixed *fixedRate // nil: closed loops

	measuring atomic.Bool
	stopping  atomic.Bool
	inflight  atomic.Int64
	e         errs
}

// echoSlot is one connection's loop state: the echo in flight (closed
// loop), or the echoes in flight in the order sent (fixed rate: a server
// answers a connection's events in order).
type echoSlot struct {
	id      int64 // its ack id
	sentAt  int64 // ns since base
	waiting bool
	queue   []sentEcho // fixed rate
}

// sentEcho is an echo in flight at a fixed rate.
type sentEcho struct {
	id, sentAt int64
}

// maxQueuedPerConn bounds the echoes in flight on one connection at a
// fixed rate: a server that falls that far behind is not answering, and
// the sends it would get are counted as skipped instead. A variable for
// the tests.
var maxQueuedPerConn = 4096

// fixedRate is the fixed-rate state (Params.EchoRate > 0).
type fixedRate struct {
	rate    int
	due     int64 // echoes due since the start (sent or not)
	sent    int64 // echoes sent
	skipped int64 // echoes not sent: the connection had maxQueuedPerConn in flight
	next    int   // the connection the next echo goes to (round robin)
	start   int64 // ns since base
	// lastTick and maxGap (ns since base, ns): a generator thread that
	// did not get the CPU for a while sent in bursts, and says so.
	lastTick, maxGap int64
}

// tick sends the echoes due since the start at the fixed rate (loop's
// thread, every millisecond): sends come in small bursts, the offered
// load is exact over any window.
func (el *echoLoop) tick() {
	fr := el.fixed
	if el.stopping.Load() {
		return
	}
	now := int64(time.Since(el.base))
	if fr.lastTick != 0 {
		fr.maxGap = max(fr.maxGap, now-fr.lastTick)
	}
	fr.lastTick = now
	due := (now - fr.start) * int64(fr.rate) / int64(time.Second)
	conns := el.loop.Conns()
	for ; fr.due < due; fr.due++ {
		var c *client.LoopConn
		for range conns { // the next open connection
			if k := conns[fr.next]; !k.Closed() {
				c = k
			}
			fr.next = (fr.next + 1) % len(conns)
			if c != nil {
				break
			}
		}
		if c == nil {
			return
		}
		s := &el.conns[c.Index]
		if len(s.queue) >= maxQueuedPerConn {
			fr.skipped++
			continue
		}
		id, err := c.EmitAck("echo", echoPayload)
		if err != nil {
			continue // the connection failing: the loop reports it (onClose)
		}
		s.queue = append(s.queue, sentEcho{id: id, sentAt: now})
		fr.sent++
		el.inflight.Add(1)
	}
}

// onFixedAck checks a reply at a fixed rate and records its round trip.
func (el *echoLoop) onFixedAck(c *client.LoopConn, id int64, args []byte) {
	now := int64(time.Since(el.base))
	s := &el.conns[c.Index]
	if len(s.queue) == 0 || s.queue[0].id != id {
		el.e.add(fmt.Errorf("echo: ack %d, expected the oldest of %d in flight", id, len(s.queue)))
		return
	}
	sent := s.queue[0]
	s.queue = s.queue[1:]
	if len(s.queue) == 0 {
		s.queue = s.queue[:0:0] // let a drained backlog's array go
	}
	if string(args) != string(echoPayload) {
		el.e.add(fmt.Errorf("echo: reply %q", args))
	}
	if el.measuring.Load() {
		el.hist.Record(now - sent.sentAt)
		el.ops++
	}
	el.done()
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
	s := &el.conns[c.Index]
	if s.waiting {
		s.waiting = false
		el.done()
	}
	for range s.queue {
		el.done()
	}
	s.queue = nil
}

// done ends one echo; the last one after stopping stops the loop.
func (el *echoLoop) done() {
	if el.inflight.Add(-1) == 0 && el.stopping.Load() {
		el.loop.Stop()
	}
}

// runEchoLoop is runEcho on a client.Loop.
func runEchoLoop(ctx context.Context, p Params) (*Result, error) {
	label := fmt.Sprintf("conns=%d", p.Conns)
	if p.EchoRate > 0 {
		label += fmt.Sprintf(" rate=%d", p.EchoRate)
	}
	res := &Result{Scenario: "echo", Label: label, Params: p, Start: time.Now(),
		RateUnit: "ops/s", ClientProcs: 1}
	loop, err := client.NewLoop()
	if err != nil {
		return nil, err
	}
	defer loop.Close()
	el := &echoLoop{loop: loop, hist: NewHistogram(), base: time.Now()}
	loop.OnAck, loop.OnClose = el.onAck, el.onClose
	if p.EchoRate > 0 {
		el.fixed = &fixedRate{rate: p.EchoRate}
		loop.OnAck, loop.OnTick, loop.Tick = el.onFixedAck, el.tick, time.Millisecond
	}
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
	if el.fixed != nil {
		el.fixed.start = int64(time.Since(el.base)) // the first tick sends
	} else {
		for _, c := range conns {
			el.fire(c)
		}
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
	fr := el.fixed
	if fr != nil && fr.skipped > 0 {
		el.e.add(fmt.Errorf("echo: %d sends skipped: the server fell %d echoes behind on a connection", fr.skipped, maxQueuedPerConn))
	}
	res.Ops = el.ops
	res.Latency = el.hist.Summary()
	el.e.into(res)
	res.finish(wall, self, srv)
	res.machine(m.machine(mach))
	res.cpuPerOpExtra()
	if fr != nil {
		// A server that did not keep up shows here: its rate falls short
		// of the target (and sends were skipped once it was far behind).
		if res.Extra == nil {
			res.Extra = map[string]float64{}
		}
		res.Extra["target_rate"] = float64(fr.rate)
		res.Extra["sent"] = float64(fr.sent)
		res.Extra["tick_gap_max_ms"] = float64(fr.maxGap) / 1e6
		res.Extra["skipped_sends"] = float64(fr.skipped)
	}
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
