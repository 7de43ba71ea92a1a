package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riptide-io/riptide/bench/client"
)

// callTimeout bounds every setup call (join, stats, ...).
const callTimeout = 30 * time.Second

// ServerStats is the reply of the contract's stats event.
type ServerStats struct {
	RSS         int64 `json:"rss"`
	HeapUsed    int64 `json:"heapUsed"`
	Connections int   `json:"connections"`
	// Redis is there when the server is a cluster node (-redis).
	Redis *AdapterStats `json:"redis,omitempty"`
}

// AdapterStats are a cluster node's Redis adapter counters since it
// started (stats' redis field): messages published, messages received from
// Redis (every channel), and those of them that delivered nothing on this
// node (its own, a room without members here, another namespace); Riptide
// also counts the messages it could not publish (queue full, Redis
// unreachable) and those it did not understand.
type AdapterStats struct {
	Published int64 `json:"published"`
	Received  int64 `json:"received"`
	Ignored   int64 `json:"ignored"`
	Dropped   int64 `json:"dropped,omitempty"`
	Malformed int64 `json:"malformed,omitempty"`
}

// QueryStats asks the server for its stats over c.
func QueryStats(ctx context.Context, c *client.Conn) (ServerStats, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var st ServerStats
	raw, err := c.Call(ctx, "stats")
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, fmt.Errorf("stats %q: %w", raw, err)
	}
	return st, nil
}

// call sends event with args and waits for the ack, bounded by callTimeout.
func call(ctx context.Context, c *client.Conn, event string, args ...[]byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return c.Call(ctx, event, args...)
}

// jsonString returns s as a JSON string argument.
func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// dialResult is the outcome of dialMany.
type dialResult struct {
	conns  []*client.Conn // nil where the dial (or setup) failed
	ok     int
	failed int
	start  time.Time
	end    time.Time
	hist   *Histogram // dial+handshake latency of the successes
}

// dialMany opens n connections with concurrency dials in flight.
// opts(i) gives connection i's options; setup(i, c), when not nil, runs
// right after connection i is up (a join): a setup error counts as a
// failure and closes the connection.
// offset is the global index of the first (it picks the source address).
func dialMany(ctx context.Context, p *Params, n, offset int, opts func(i int) client.Options,
	setup func(i int, c *client.Conn) error, e *errs) *dialResult {
	concurrency := p.Concurrency
	r := &dialResult{conns: make([]*client.Conn, n), hist: NewHistogram(), start: time.Now()}
	var next atomic.Int64
	var okN, failN atomic.Int64
	var wg sync.WaitGroup
	for range min(concurrency, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				t := time.Now()
				c, err := p.dial(ctx, offset+i, opts(i))
				if err == nil && setup != nil {
					if err = setup(i, c); err != nil {
						_ = c.Close()
					}
				}
				if err != nil {
					failN.Add(1)
					e.add(err)
					continue
				}
				r.hist.Record(int64(time.Since(t)))
				r.conns[i] = c
				okN.Add(1)
			}
		}()
	}
	wg.Wait()
	r.end = time.Now()
	r.ok, r.failed = int(okN.Load()), int(failN.Load())
	if ctx.Err() != nil {
		r.failed = n - r.ok
	}
	return r
}

// closeAll closes every connection, in parallel (a Close waits for its
// reader goroutine).
func closeAll(conns []*client.Conn) {
	var wg sync.WaitGroup
	const workers = 16
	ch := make(chan *client.Conn, 256)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range ch {
				_ = c.Close()
			}
		}()
	}
	for _, c := range conns {
		if c != nil {
			ch <- c
		}
	}
	close(ch)
	wg.Wait()
}

// waitConnections polls the server's stats until it reports want
// connections or timeout passes; it returns the last stats.
func waitConnections(ctx context.Context, c *client.Conn, want int, timeout time.Duration) (ServerStats, error) {
	deadline := time.Now().Add(timeout)
	for {
		st, err := QueryStats(ctx, c)
		if err != nil || st.Connections == want || time.Now().After(deadline) {
			return st, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
