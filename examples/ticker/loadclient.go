package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// clientConfig configures the client mode.
type clientConfig struct {
	URL      string        // the server, "http://127.0.0.1:8081"
	Conns    int           // connections
	Subs     int           // symbols each connection subscribes to
	Duration time.Duration // of the measurement, once every connection is subscribed
	Orders   int           // orders each connection places during the measurement
	Seed     uint64        // picks the subscriptions; 0: random
}

// report is what a client run measured.
type report struct {
	Conns    int
	Subs     int           // per connection
	Elapsed  time.Duration // of the measurement
	Symbols  int           // in the market
	Rate     float64       // the feed's ticks per second, all symbols
	Ticks    uint64        // delivered during the measurement
	Wrong    uint64        // ticks for a symbol the connection did not subscribe to
	Covered  int           // subscriptions that received at least one tick
	Latency  *hist         // now − ts of each tick, microseconds
	Orders   int           // placed
	Filled   int           // acknowledged with an order id and a fill price
	Rejected []string      // orders acknowledged with an error
	OrderRTT *hist         // from emit to acknowledgement, microseconds
	Lost     int           // connections that ended during the measurement
	PerConn  []connSummary // per connection: subscriptions and what arrived
}

type connSummary struct {
	Subs  []string
	Ticks map[string]uint64 // per symbol, during the measurement
}

// TicksPerSec is the delivered rate, every connection together.
func (r *report) TicksPerSec() float64 { return float64(r.Ticks) / r.Elapsed.Seconds() }

// Expected is the rate every connection together would receive if no tick
// were dropped: each connection gets its symbols' share of the feed.
func (r *report) Expected() float64 {
	return r.Rate * float64(r.Conns) * float64(min(r.Subs, r.Symbols)) / float64(r.Symbols)
}

// loadConn is one client connection and what it counts. Its counters are
// written by its reader goroutine only, and read after the connection closed.
type loadConn struct {
	c      *sioConn
	market chan marketInfo
	subs   atomic.Pointer[map[string]bool]
	on     *atomic.Bool // measuring
	total  *atomic.Uint64
	ticks  map[string]uint64
	wrong  uint64
	lat    hist
	errs   int
}

func (lc *loadConn) onEvent(name string, args []json.RawMessage) {
	switch name {
	case "market":
		var m marketInfo
		if len(args) > 0 && json.Unmarshal(args[0], &m) == nil {
			select {
			case lc.market <- m:
			default:
			}
		}
	case "tick":
		if !lc.on.Load() || len(args) == 0 {
			return
		}
		t, ok := parseTick(args[0])
		if !ok {
			lc.errs++
			return
		}
		lc.lat.add(int64((nowMillis() - t.TS) * 1000))
		lc.total.Add(1)
		if subs := lc.subs.Load(); subs == nil || !(*subs)[t.Sym] {
			lc.wrong++
			return
		}
		lc.ticks[t.Sym]++
	}
}

// parseTick decodes a tick. The server writes its fields in one order,
// {"sym":"AAPL","px":187.23,"ts":1700000000123.456}: that shape is read
// without a JSON decoder, anything else with one.
func parseTick(b []byte) (tick, bool) {
	if t, ok := parseTickFast(b); ok {
		return t, true
	}
	var t tick
	err := json.Unmarshal(b, &t)
	return t, err == nil && t.Sym != ""
}

func parseTickFast(b []byte) (tick, bool) {
	rest, ok := bytes.CutPrefix(b, []byte(`{"sym":"`))
	if !ok {
		return tick{}, false
	}
	sym, rest, ok := bytes.Cut(rest, []byte(`","px":`))
	if !ok || len(sym) == 0 || bytes.ContainsAny(sym, `\"`) {
		return tick{}, false
	}
	px, rest, ok := bytes.Cut(rest, []byte(`,"ts":`))
	if !ok {
		return tick{}, false
	}
	ts, ok := bytes.CutSuffix(rest, []byte(`}`))
	if !ok {
		return tick{}, false
	}
	t := tick{Sym: string(sym)}
	var err1, err2 error
	t.Px, err1 = strconv.ParseFloat(string(px), 64)
	t.TS, err2 = strconv.ParseFloat(string(ts), 64)
	return t, err1 == nil && err2 == nil
}

// runClient opens cfg.Conns connections to cfg.URL, subscribes each to
// cfg.Subs symbols, measures the ticks they receive for cfg.Duration while
// placing orders, and reports. Progress and the summary go to out.
func runClient(ctx context.Context, cfg clientConfig, out io.Writer) (*report, error) {
	cfg.Conns, cfg.Subs = max(cfg.Conns, 1), max(cfg.Subs, 1)
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()
	}
	var (
		measuring atomic.Bool
		total     atomic.Uint64
	)
	conns := make([]*loadConn, cfg.Conns)
	defer func() {
		for _, lc := range conns {
			if lc != nil && lc.c != nil {
				lc.c.close()
			}
		}
	}()

	// Connect, a few at a time.
	fmt.Fprintf(out, "ticker client: %d connections to %s, %d subscriptions each\n", cfg.Conns, cfg.URL, cfg.Subs)
	start := time.Now()
	var (
		wg   sync.WaitGroup
		emu  sync.Mutex
		errs []error
		sem  = make(chan struct{}, 32)
	)
	for i := range conns {
		lc := &loadConn{market: make(chan marketInfo, 1), on: &measuring, total: &total, ticks: map[string]uint64{}}
		conns[i] = lc
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			c, err := dialSocketIO(dctx, cfg.URL, lc.onEvent)
			if err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
				return
			}
			lc.c = c
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, fmt.Errorf("%d of %d connections failed, first: %w", len(errs), cfg.Conns, errs[0])
	}

	// Subscribe each connection to Subs symbols of the market it was shown.
	rep := &report{Conns: cfg.Conns, Subs: cfg.Subs, Latency: &hist{}, OrderRTT: &hist{}}
	for i, lc := range conns {
		var m marketInfo
		select {
		case m = <-lc.market:
		case <-time.After(10 * time.Second):
			return nil, errors.New(`no "market" event from the server`)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if i == 0 {
			rep.Symbols, rep.Rate = len(m.Symbols), m.Rate
			if rep.Symbols == 0 {
				return nil, errors.New("the market has no symbols")
			}
		}
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
		perm := rng.Perm(len(m.Symbols))[:min(cfg.Subs, len(m.Symbols))]
		subs := make(map[string]bool, len(perm))
		names := make([]string, 0, len(perm))
		for _, k := range perm {
			subs[m.Symbols[k].Sym] = true
			names = append(names, m.Symbols[k].Sym)
		}
		slices.Sort(names)
		lc.subs.Store(&subs)
		var res subscribed
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := lc.c.call(cctx, "subscribe", &res, names)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("subscribe: %w", err)
		}
		if !res.OK || !slices.Equal(res.Subscribed, names) {
			return nil, fmt.Errorf("subscribe %v: acknowledged %+v", names, res)
		}
	}
	fmt.Fprintf(out, "  connected and subscribed in %v; market: %d symbols, feed %.0f ticks/s; measuring for %v\n",
		time.Since(start).Round(time.Millisecond), rep.Symbols, rep.Rate, cfg.Duration)

	// Measure.
	mctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	measuring.Store(true)
	began := time.Now()
	type orderResult struct {
		rtt    time.Duration
		fill   fill
		reject string
		err    error
	}
	results := make(chan orderResult, cfg.Conns*max(cfg.Orders, 0))
	var owg sync.WaitGroup
	for i, lc := range conns {
		if cfg.Orders <= 0 {
			break
		}
		owg.Add(1)
		go func() {
			defer owg.Done()
			rng := rand.New(rand.NewPCG(cfg.Seed^0xabcdef, uint64(i)))
			subs := *lc.subs.Load()
			syms := make([]string, 0, len(subs))
			for s := range subs {
				syms = append(syms, s)
			}
			slices.Sort(syms)
			for range cfg.Orders {
				// Spread the orders over the first half of the run.
				wait := time.Duration(rng.Int64N(int64(cfg.Duration/time.Duration(2*cfg.Orders)) + 1))
				select {
				case <-mctx.Done():
					return
				case <-time.After(wait):
				}
				o := order{Sym: syms[rng.IntN(len(syms))], Side: []string{"buy", "sell"}[rng.IntN(2)], Qty: 1 + rng.Int64N(500)}
				sent := time.Now()
				raw := json.RawMessage{}
				octx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := lc.c.call(octx, "order", &raw, o)
				cancel()
				r := orderResult{rtt: time.Since(sent), err: err}
				if err == nil {
					var f failure
					if json.Unmarshal(raw, &f) == nil && !f.OK {
						r.reject = fmt.Sprintf("%+v: %s", o, f.Error)
					} else if err := json.Unmarshal(raw, &r.fill); err != nil {
						r.err = err
					}
				}
				results <- r
			}
		}()
	}
	progress := time.NewTicker(time.Second)
	defer progress.Stop()
	last, lastAt := uint64(0), began
loop:
	for {
		select {
		case <-mctx.Done():
			break loop
		case now := <-progress.C:
			n := total.Load()
			fmt.Fprintf(out, "  %4.0fs  %10.0f ticks/s\n", now.Sub(began).Seconds(), float64(n-last)/now.Sub(lastAt).Seconds())
			last, lastAt = n, now
		}
	}
	measuring.Store(false)
	rep.Elapsed = time.Since(began)
	owg.Wait()
	close(results)
	for r := range results {
		rep.Orders++
		switch {
		case r.err != nil:
			rep.Rejected = append(rep.Rejected, "error: "+r.err.Error())
		case r.reject != "":
			rep.Rejected = append(rep.Rejected, r.reject)
		case r.fill.OK && r.fill.ID != "" && r.fill.Px > 0:
			rep.Filled++
			rep.OrderRTT.add(r.rtt.Microseconds())
		default:
			rep.Rejected = append(rep.Rejected, fmt.Sprintf("unexpected ack %+v", r.fill))
		}
	}

	// Close, then read what each reader goroutine counted.
	for _, lc := range conns {
		select {
		case <-lc.c.done:
			rep.Lost++
		default:
		}
		lc.c.close()
		lc.c = nil
		rep.Wrong += lc.wrong
		rep.Latency.merge(&lc.lat)
		cs := connSummary{Ticks: lc.ticks}
		for s := range *lc.subs.Load() {
			cs.Subs = append(cs.Subs, s)
			if lc.ticks[s] > 0 {
				rep.Covered++
			}
			rep.Ticks += lc.ticks[s]
		}
		slices.Sort(cs.Subs)
		rep.PerConn = append(rep.PerConn, cs)
	}
	rep.Ticks += rep.Wrong
	rep.print(out)
	return rep, nil
}

func (r *report) print(out io.Writer) {
	ms := func(us int64) string { return fmt.Sprintf("%.2f ms", float64(us)/1000) }
	fmt.Fprintf(out, "\nsummary (%v, %d connections × %d symbols of %d, feed %.0f ticks/s)\n", r.Elapsed.Round(time.Millisecond), r.Conns, min(r.Subs, r.Symbols), r.Symbols, r.Rate)
	exp := r.Expected()
	fmt.Fprintf(out, "  delivered  %d ticks: %.0f ticks/s (%.1f per connection); %.0f/s expected without drops: %.1f%%\n",
		r.Ticks, r.TicksPerSec(), r.TicksPerSec()/float64(r.Conns), exp, 100*r.TicksPerSec()/max(exp, 1e-9))
	if r.Latency.n > 0 {
		fmt.Fprintf(out, "  latency    p50 %s   p90 %s   p99 %s   max %s   (now − ts)\n",
			ms(r.Latency.quantile(0.5)), ms(r.Latency.quantile(0.9)), ms(r.Latency.quantile(0.99)), ms(r.Latency.max))
	}
	fmt.Fprintf(out, "  symbols    %d of %d subscriptions ticked; %d ticks for symbols not subscribed\n", r.Covered, r.Conns*min(r.Subs, r.Symbols), r.Wrong)
	fmt.Fprintf(out, "  orders     %d placed, %d filled", r.Orders, r.Filled)
	if r.OrderRTT.n > 0 {
		fmt.Fprintf(out, ", ack p50 %s p99 %s", ms(r.OrderRTT.quantile(0.5)), ms(r.OrderRTT.quantile(0.99)))
	}
	fmt.Fprintln(out)
	for i, s := range r.Rejected {
		if i == 5 {
			fmt.Fprintf(out, "    ... %d more\n", len(r.Rejected)-5)
			break
		}
		fmt.Fprintf(out, "    rejected: %s\n", s)
	}
	if r.Lost > 0 {
		fmt.Fprintf(out, "  lost       %d connections ended during the run\n", r.Lost)
	}
}

// hist is a histogram of non-negative integers (microseconds) with ~1.5%
// precision: values below 128 exactly, then 64 buckets per power of two.
type hist struct {
	counts [histBuckets]uint64
	n      uint64
	max    int64
}

const histBuckets = 128 + 40*64 // up to 2^46 µs

func histBucket(v int64) int {
	if v < 128 {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - 7 // v >> e is in [64, 128)
	return min(128+(e-1)*64+int(v>>e-64), histBuckets-1)
}

// histValue is the middle of bucket i.
func histValue(i int) int64 {
	if i < 128 {
		return int64(i)
	}
	e := (i-128)/64 + 1
	m := int64((i-128)%64 + 64)
	return m<<e + 1<<(e-1)
}

func (h *hist) add(v int64) {
	v = max(v, 0)
	h.counts[histBucket(v)]++
	h.n++
	h.max = max(h.max, v)
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the value below which a fraction q of the samples fall.
func (h *hist) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	if q >= 1 {
		return h.max
	}
	rank := uint64(q*float64(h.n-1)) + 1
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(histValue(i), h.max)
		}
	}
	return h.max
}
