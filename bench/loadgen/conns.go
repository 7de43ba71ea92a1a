package loadgen

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/riptide-io/riptide/bench/client"
)

// runConns is the conns scenario: open p.N idle connections (p.Concurrency
// dials in flight, over p.Shards generator processes), hold them p.Hold,
// then read the server's RSS.
//
// Result: Ops = connections opened, Rate = connections/s over the connect
// phase (first dial to last CONNECT), Latency = per-connection dial time
// (TCP + upgrade + OPEN + CONNECT), Errors = failed dials plus connections
// that dropped while held, RSSPerConn = (RSSAfter − RSSBefore) / Ops, where
// both come from the server's stats (before: with only the control
// connection; after: with all held). Extra: conns_after_close (the server's
// count once the generator closed them, should be 1), heap_per_conn.
func runConns(ctx context.Context, p Params) (*Result, error) {
	res := &Result{Scenario: "conns", Label: fmt.Sprintf("n=%d", p.N), Params: p, Start: time.Now(),
		RateUnit: "conns/s", ClientProcs: p.Shards, Extra: map[string]float64{}}
	ctl, err := client.Dial(ctx, p.URL, client.Options{})
	if err != nil {
		return nil, err
	}
	defer ctl.Close()
	before, err := QueryStats(ctx, ctl)
	if err != nil {
		return nil, err
	}
	var srv0 time.Duration
	if p.ServerPID > 0 {
		srv0, _ = ProcCPU(p.ServerPID)
	}
	mach0 := ReadMachineCPU()
	handles, err := startShards(ctx, "conns", p)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, h := range handles {
			h.kill()
		}
	}()
	hist := NewHistogram()
	var start, end time.Time
	var cpu float64
	for _, h := range handles {
		rd, err := h.ready()
		if err != nil {
			return nil, err
		}
		res.Ops += int64(rd.Connected)
		res.Errors += int64(rd.Failed)
		res.ErrorSamples = append(res.ErrorSamples, rd.ErrorSamples...)
		cpu += rd.CPUSeconds
		hist.Merge(rd.Hist)
		if start.IsZero() || rd.Start.Before(start) {
			start = rd.Start
		}
		if rd.End.After(end) {
			end = rd.End
		}
	}
	var srvCPU time.Duration
	if p.ServerPID > 0 {
		s1, _ := ProcCPU(p.ServerPID)
		srvCPU = s1 - srv0
	}
	res.Latency = hist.Summary()
	res.finish(end.Sub(start), time.Duration(cpu*float64(time.Second)), srvCPU)
	if mach1 := ReadMachineCPU(); mach0.Total > 0 && mach1.Total > 0 {
		// The window here runs from before the shards start to after they
		// are all ready: a little longer than the connect phase.
		busy, steal := mach1.sub(mach0)
		wall := time.Since(res.Start)
		res.MachineBusyCores, res.MachineStealCores = busy.Seconds()/wall.Seconds(), steal.Seconds()/wall.Seconds()
		res.OtherCores = max(0, res.MachineBusyCores-(time.Duration(cpu*float64(time.Second)).Seconds()+srvCPU.Seconds())/wall.Seconds())
	}

	time.Sleep(time.Duration(p.Hold))
	after, err := QueryStats(ctx, ctl)
	if err != nil {
		return nil, err
	}
	res.RSSBefore, res.RSSAfter = before.RSS, after.RSS
	res.ConnsBefore, res.ConnsAfter = before.Connections, after.Connections
	if res.Ops > 0 {
		res.RSSPerConn = float64(after.RSS-before.RSS) / float64(res.Ops)
		res.Extra["heap_per_conn"] = float64(after.HeapUsed-before.HeapUsed) / float64(res.Ops)
	}
	if lost := int64(before.Connections) + res.Ops - int64(after.Connections); lost != 0 {
		res.Extra["server_count_mismatch"] = float64(lost)
	}

	for _, h := range handles {
		if err := h.start(); err != nil {
			return nil, err
		}
	}
	for _, h := range handles {
		r, err := h.result()
		if err != nil {
			return nil, err
		}
		res.Errors += r.Errors
		res.ErrorSamples = append(res.ErrorSamples, r.ErrorSamples...)
	}
	handles = nil
	st, err := waitConnections(ctx, ctl, 1, 10*time.Second)
	if err == nil {
		res.Extra["conns_after_close"] = float64(st.Connections)
	}
	return res, nil
}

// connsWorker holds one shard of the idle connections.
type connsWorker struct {
	spec    shardSpec
	conns   []*client.Conn
	dialErr errs // failed dials
	dropErr errs // held connections that ended before run closed them
	dropped atomic.Int64
	closing atomic.Bool
}

func (w *connsWorker) setup(ctx context.Context) (*shardReady, error) {
	p := w.spec.Params
	cpu0 := SelfCPU()
	onClose := func(c *client.Conn, err error) {
		if !w.closing.Load() {
			w.dropped.Add(1)
			w.dropErr.add(fmt.Errorf("held connection dropped: %v", err))
		}
	}
	dr := dialMany(ctx, &p, w.spec.N, w.spec.Offset, func(i int) client.Options {
		return client.Options{OnClose: onClose}
	}, nil, &w.dialErr)
	w.conns = dr.conns
	rd := &shardReady{Connected: dr.ok, Failed: dr.failed, Start: dr.start, End: dr.end,
		CPUSeconds: (SelfCPU() - cpu0).Seconds(), Hist: dr.hist}
	var r Result
	w.dialErr.into(&r)
	rd.Errors, rd.ErrorSamples = r.Errors, r.ErrorSamples
	return rd, nil
}

func (w *connsWorker) run(ctx context.Context, started func(), _ <-chan struct{}) (*shardResult, error) {
	cpu0 := SelfCPU()
	started()
	w.closing.Store(true)
	closeAll(w.conns)
	res := &shardResult{CPUSeconds: (SelfCPU() - cpu0).Seconds()}
	var r Result
	w.dropErr.into(&r)
	res.Errors, res.ErrorSamples = r.Errors, r.ErrorSamples
	return res, nil
}

func (w *connsWorker) close() {
	w.closing.Store(true)
	closeAll(w.conns)
}
