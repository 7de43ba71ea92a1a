package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riptide-io/riptide/bench/client"
)

// churnWorkers is the number of goroutines churning connections.
const churnWorkers = 8

// churnSlot is one churning connection; mu is held while a worker churns it.
type churnSlot struct {
	mu   sync.Mutex
	c    *client.Conn
	ours *atomic.Bool // set before we close c ourselves
}

// runChurn is the churn scenario. p.N connections each join one of p.Rooms
// rooms ("churn-<k>"); then, for p.Duration, a broadcaster emits bcast
// {room, payload of p.PayloadSize bytes} round robin over the rooms (one
// every millisecond at most, each waiting for its ack) while 8 workers
// pick connections at random and either join them to another room or
// disconnect them and connect a new one in their place (joining a room).
// The contract has no leave event: a socket leaves its rooms by
// disconnecting, which is what a churning client does.
//
// Result: Ops = churn operations (joins + reconnects), Rate = ops/s,
// Latency = one operation (a join's round trip; close + connect + join),
// Errors = failed operations, failed broadcasts and connections the server
// dropped. RSSBefore/ConnsBefore come from the server's stats before any
// churning connection exists, RSSAfter/ConnsAfter once all are closed
// again (ConnsAfter should equal ConnsBefore: no leak). Extra: joins,
// reconnects, bcasts, msgs_received, conns_mid (the server's count at the
// end of the window, expected N+2), rss_mid, leaked_conns.
func runChurn(ctx context.Context, p Params) (*Result, error) {
	res := &Result{Scenario: "churn", Label: fmt.Sprintf("n=%d", p.N), Params: p, Start: time.Now(),
		RateUnit: "ops/s", ClientProcs: 1, Extra: map[string]float64{}}
	ctl, err := client.Dial(ctx, p.URL, client.Options{})
	if err != nil {
		return nil, err
	}
	defer ctl.Close()
	before, err := QueryStats(ctx, ctl)
	if err != nil {
		return nil, err
	}
	res.RSSBefore, res.ConnsBefore = before.RSS, before.Connections

	var (
		e         errs
		received  atomic.Int64
		joins     atomic.Int64
		reconns   atomic.Int64
		bcasts    atomic.Int64
		hist      = NewSharded(churnWorkers)
		randomRm  = func() []byte { return jsonString(fmt.Sprintf("churn-%d", rand.IntN(p.Rooms))) }
		slots     = make([]*churnSlot, p.N)
		onEvent   = func(c *client.Conn, ev *client.Event) { received.Add(1) }
		dialIndex atomic.Int64
	)
	// options returns a churning connection's options: it counts events and
	// tells our closes (ours set first) from the server's.
	options := func(ours *atomic.Bool) client.Options {
		return client.Options{
			OnEvent: onEvent,
			OnClose: func(c *client.Conn, err error) {
				if !ours.Load() {
					e.add(fmt.Errorf("server dropped a connection: %v", err))
				}
			},
		}
	}
	// dial opens one churning connection (not yet in a room).
	dial := func() (*client.Conn, *atomic.Bool, error) {
		ours := &atomic.Bool{}
		c, err := p.dial(ctx, int(dialIndex.Add(1)), options(ours))
		return c, ours, err
	}
	for i := range slots {
		slots[i] = &churnSlot{ours: &atomic.Bool{}}
	}
	var setupErr errs
	dr := dialMany(ctx, &p, p.N, 0, func(i int) client.Options { return options(slots[i].ours) },
		func(i int, c *client.Conn) error {
			slots[i].ours.Store(true) // a failed join closes it: not the server's doing
			_, err := call(ctx, c, "join", randomRm())
			slots[i].ours.Store(err != nil)
			return err
		}, &setupErr)
	for i, c := range dr.conns {
		slots[i].c = c
	}
	if dr.failed > 0 {
		closeChurn(slots)
		var r Result
		setupErr.into(&r)
		return nil, fmt.Errorf("churn: %d of %d connections failed: %v", dr.failed, p.N, r.ErrorSamples)
	}
	bc, err := client.Dial(ctx, p.URL, client.Options{})
	if err != nil {
		closeChurn(slots)
		return nil, err
	}

	m := startCPU(p.ServerPID)
	deadline := time.Now().Add(time.Duration(p.Duration))
	var wg sync.WaitGroup
	// The broadcast stream.
	wg.Add(1)
	go func() {
		defer wg.Done()
		payload := jsonString(strings.Repeat("x", p.PayloadSize))
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for k := 0; time.Now().Before(deadline) && ctx.Err() == nil; k++ {
			room := jsonString(fmt.Sprintf("churn-%d", k%p.Rooms))
			if _, err := call(ctx, bc, "bcast", room, payload); err != nil {
				e.add(fmt.Errorf("bcast: %w", err))
				return
			}
			bcasts.Add(1)
			<-tick.C
		}
	}()
	// The churners.
	for w := range churnWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := hist.Shard(w)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				s := slots[rand.IntN(len(slots))]
				if !s.mu.TryLock() {
					continue
				}
				t := time.Now()
				if rand.IntN(2) == 0 {
					if _, err := call(ctx, s.c, "join", randomRm()); err != nil {
						e.add(fmt.Errorf("join: %w", err))
					} else {
						joins.Add(1)
						h.Record(int64(time.Since(t)))
					}
				} else {
					s.ours.Store(true)
					_ = s.c.Close()
					c, ours, err := dial()
					if err == nil {
						if _, err = call(ctx, c, "join", randomRm()); err != nil {
							ours.Store(true)
							_ = c.Close()
						}
					}
					if err != nil {
						e.add(fmt.Errorf("reconnect: %w", err))
						// Keep the slot usable: retry until a connection holds.
						for err != nil && time.Now().Before(deadline.Add(10*time.Second)) {
							time.Sleep(10 * time.Millisecond)
							c, ours, err = dial()
						}
					} else {
						reconns.Add(1)
						h.Record(int64(time.Since(t)))
					}
					if c != nil {
						s.c, s.ours = c, ours
					}
				}
				s.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	wall, self, srv := m.stop()
	mach := ReadMachineCPU()

	if mid, err := QueryStats(ctx, ctl); err == nil {
		res.Extra["conns_mid"] = float64(mid.Connections)
		res.Extra["rss_mid"] = float64(mid.RSS)
	}
	bc.Close()
	closeChurn(slots)
	after, err := waitConnections(ctx, ctl, before.Connections, 10*time.Second)
	if err != nil {
		return nil, err
	}
	res.RSSAfter, res.ConnsAfter = after.RSS, after.Connections
	res.Extra["leaked_conns"] = float64(after.Connections - before.Connections)
	res.Extra["joins"] = float64(joins.Load())
	res.Extra["reconnects"] = float64(reconns.Load())
	res.Extra["bcasts"] = float64(bcasts.Load())
	res.Extra["msgs_received"] = float64(received.Load())
	res.Ops = joins.Load() + reconns.Load()
	res.Latency = hist.Merged().Summary()
	setupErr.into(res)
	e.into(res)
	res.finish(wall, self, srv)
	res.machine(m.machine(mach))
	return res, ctx.Err()
}

// closeChurn closes the slots' connections as ours.
func closeChurn(slots []*churnSlot) {
	conns := make([]*client.Conn, 0, len(slots))
	for _, s := range slots {
		if s.c != nil {
			s.ours.Store(true)
			conns = append(conns, s.c)
		}
	}
	closeAll(conns)
}
