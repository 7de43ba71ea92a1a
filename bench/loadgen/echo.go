package loadgen

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/riptide-io/riptide/bench/client"
)

// echoPayload is echo's one argument: a 32-byte string.
var echoPayload = []byte(`"0123456789abcdef0123456789abcdef"`)

// echoConn is one closed loop: at most one echo in flight.
type echoConn struct {
	c      *client.Conn
	h      *Histogram
	sentAt time.Time
	ops    atomic.Int64
	run    *echoRun
	onAck  client.AckFunc
}

// echoRun is the state the loops share.
type echoRun struct {
	measuring atomic.Bool
	stopping  atomic.Bool
	inflight  atomic.Int64
	e         errs
}

// fire sends the next echo.
func (ec *echoConn) fire() {
	ec.run.inflight.Add(1)
	ec.sentAt = time.Now()
	if err := ec.c.EmitAck("echo", ec.onAck, echoPayload); err != nil {
		ec.run.inflight.Add(-1)
		ec.run.e.add(err)
	}
}

// ack handles an echo's reply on the connection's reader goroutine and
// sends the next one at once (no goroutine hand-off in the loop).
func (ec *echoConn) ack(args []byte, err error) {
	defer ec.run.inflight.Add(-1)
	if err != nil {
		ec.run.e.add(err)
		return
	}
	lat := time.Since(ec.sentAt)
	if string(args) != string(echoPayload) {
		ec.run.e.add(fmt.Errorf("echo: reply %q", args))
	}
	if ec.run.measuring.Load() {
		ec.h.Record(int64(lat))
		ec.ops.Add(1)
	}
	if !ec.run.stopping.Load() {
		ec.fire()
	}
}

// Echo drivers (Params.EchoDriver).
const (
	// EchoLoop drives every connection from one client.Loop: one OS
	// thread, raw epoll (the default).
	EchoLoop = "loop"
	// EchoGoroutines is the earlier driver: a client.Conn per connection,
	// its reader goroutine answering each ack with the next emit.
	EchoGoroutines = "goroutines"
)

// runEcho is the echo scenario: p.Conns connections, each a closed loop of
// emit("echo", 32-byte string, ack) → wait for the ack → again, for
// p.Warmup (not measured) then p.Duration, driven by p.EchoDriver.
//
// Result: Ops = acknowledged echoes in the window, Rate = ops/s, Latency =
// round trip emit → ack, Errors = failed dials, failed emits, wrong
// replies, connections lost. Extra: client_cpu_per_op_us, the generator's
// CPU per echo.
func runEcho(ctx context.Context, p Params) (*Result, error) {
	switch p.EchoDriver {
	case EchoLoop:
		return runEchoLoop(ctx, p)
	case EchoGoroutines:
		if p.EchoRate > 0 {
			return nil, fmt.Errorf("echo: a fixed rate needs the %s driver", EchoLoop)
		}
		return runEchoGoroutines(ctx, p)
	}
	return nil, fmt.Errorf("echo: unknown driver %q (have %s, %s)", p.EchoDriver, EchoLoop, EchoGoroutines)
}

// runEchoGoroutines is runEcho with a reader goroutine per connection.
func runEchoGoroutines(ctx context.Context, p Params) (*Result, error) {
	res := &Result{Scenario: "echo", Label: fmt.Sprintf("conns=%d", p.Conns), Params: p, Start: time.Now(),
		RateUnit: "ops/s", ClientProcs: 1}
	run := &echoRun{}
	hist := NewSharded(16)
	loops := make([]*echoConn, p.Conns)
	for i := range loops {
		ec := &echoConn{h: hist.Shard(i), run: run}
		ec.onAck = ec.ack
		loops[i] = ec
	}
	dr := dialMany(ctx, &p, p.Conns, 0, func(i int) client.Options {
		return client.Options{}
	}, nil, &run.e)
	defer closeAll(dr.conns)
	if dr.ok == 0 {
		run.e.into(res)
		return res, fmt.Errorf("echo: no connection: %v", res.ErrorSamples)
	}
	for i, c := range dr.conns {
		if c != nil {
			loops[i].c = c
			loops[i].fire()
		}
	}
	time.Sleep(time.Duration(p.Warmup))
	m := startCPU(p.ServerPID)
	run.measuring.Store(true)
	select {
	case <-time.After(time.Duration(p.Duration)):
	case <-ctx.Done():
	}
	run.measuring.Store(false)
	wall, self, srv := m.stop()
	mach := ReadMachineCPU()
	run.stopping.Store(true)
	// Let the last round trips land before the connections close.
	for end := time.Now().Add(5 * time.Second); run.inflight.Load() > 0 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	for _, ec := range loops {
		res.Ops += ec.ops.Load()
	}
	res.Latency = hist.Merged().Summary()
	run.e.into(res)
	res.finish(wall, self, srv)
	res.machine(m.machine(mach))
	res.cpuPerOpExtra()
	return res, ctx.Err()
}

// cpuPerOpExtra adds the generator's CPU per operation (echo, handshake):
// Extra["client_cpu_per_op_us"].
func (r *Result) cpuPerOpExtra() {
	if r.Ops > 0 {
		r.Extra = map[string]float64{"client_cpu_per_op_us": r.ClientCPUSeconds * 1e6 / float64(r.Ops)}
	}
}
