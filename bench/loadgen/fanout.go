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

// fanoutRoom names room r of a fanout run.
func fanoutRoom(r int) string { return fmt.Sprintf("fanout-%d", r) }

// runFanout is the fanout scenario. p.N receivers (over p.Shards generator
// processes) join rooms: receiver g joins "fanout-<g mod p.Rooms>", so with
// Rooms=1 all share one room and with Rooms=100 each room holds N/100.
// A separate sender connection, in no room, then emits one bcast_burst
// {room, count: p.Count, payload_size: p.PayloadSize} per room, all at once
// (pipelined: the server runs them as it schedules them), and waits for
// their acks. Every receiver expects p.Count messages, seq 0..Count-1, in
// order.
//
// Result: Ops = unique deliveries (receiver, seq), Rate = deliveries/s from
// the first burst's emit to the last message received, Latency = receipt
// time − the server's ts (same machine, same clock: the time a message
// spent in the server's queues, the kernel and the generator's read loop),
// Exact = the exactness check. Extra: burst_ms_max (the longest burst by
// the server's own clock), sender_ms (first emit to last burst ack),
// server_msgs (messages the server emitted: Rooms × Count).
func runFanout(ctx context.Context, p Params) (*Result, error) {
	res := &Result{Scenario: "fanout", Label: fmt.Sprintf("recv=%d rooms=%d", p.N, p.Rooms), Params: p,
		Start: time.Now(), RateUnit: "deliveries/s", ClientProcs: p.Shards, Extra: map[string]float64{}}
	return fanout(ctx, p, res, nil)
}

// fanout runs the fanout measurement into res. The receivers dial
// p.urlOf(their index), the sender p.URL. ready, when not nil, runs once
// every receiver is connected and in its room, before the measured window
// opens; its error ends the run. The server's CPU is summed over
// p.serverPIDs().
func fanout(ctx context.Context, p Params, res *Result, ready func(receivers int) error) (*Result, error) {
	sender, err := client.Dial(ctx, p.URL, client.Options{})
	if err != nil {
		return nil, err
	}
	defer sender.Close()
	handles, err := startShards(ctx, "fanout", p)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, h := range handles {
			h.kill()
		}
	}()
	receivers := 0
	for _, h := range handles {
		rd, err := h.ready()
		if err != nil {
			return nil, err
		}
		receivers += rd.Connected
		res.Errors += int64(rd.Failed)
		res.ErrorSamples = append(res.ErrorSamples, rd.ErrorSamples...)
	}
	if receivers == 0 {
		return res, fmt.Errorf("%s: no receiver connected: %v", res.Scenario, res.ErrorSamples)
	}
	if ready != nil {
		if err := ready(receivers); err != nil {
			return nil, err
		}
	}
	m := startCPU(p.serverPIDs()...)
	for _, h := range handles {
		if err := h.start(); err != nil {
			return nil, err
		}
	}

	// The bursts.
	type burstAck struct {
		Sent  int    `json:"sent"`
		US    int64  `json:"us"`
		Error string `json:"error"`
	}
	var (
		amu      sync.Mutex
		burstMax int64
		lastAck  time.Time
		acked    = make(chan error, p.Rooms)
	)
	t0 := time.Now()
	for r := range p.Rooms {
		arg, _ := json.Marshal(map[string]any{"room": fanoutRoom(r), "count": p.Count, "payload_size": p.PayloadSize})
		err := sender.EmitAck("bcast_burst", func(args []byte, err error) {
			var a burstAck
			if err == nil {
				if jerr := json.Unmarshal(args, &a); jerr != nil || a.Error != "" || a.Sent != p.Count {
					err = fmt.Errorf("bcast_burst ack %q", args)
				}
			}
			amu.Lock()
			burstMax = max(burstMax, a.US)
			lastAck = time.Now()
			amu.Unlock()
			acked <- err
		}, arg)
		if err != nil {
			acked <- err
		}
	}
	// The acks are collected meanwhile: once all are in (the server emitted
	// everything), the shards start their idle timeout.
	var e errs
	acksDone := make(chan struct{})
	go func() {
		defer close(acksDone)
		defer func() {
			for _, h := range handles {
				h.acked()
			}
		}()
		for got := 0; got < p.Rooms; got++ {
			select {
			case err := <-acked:
				e.add(err)
			case <-time.After(time.Duration(p.StartTimeout)):
				e.add(fmt.Errorf("bcast_burst: %d of %d acks missing after %s", p.Rooms-got, p.Rooms, time.Duration(p.StartTimeout)))
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	// The receivers decide when the run is over.
	hist := NewHistogram()
	exact := &Exactness{}
	var last, srvEnd, end int64
	var machEnd MachineCPU
	var cpu float64
	for _, h := range handles {
		r, err := h.result()
		if err != nil {
			return nil, err
		}
		cpu += r.CPUSeconds
		srvEnd = max(srvEnd, r.ServerCPUEnd)
		end = max(end, r.EndNano)
		if r.MachineEnd.Total > machEnd.Total {
			machEnd = r.MachineEnd
		}
		hist.Merge(r.Hist)
		exact.add(r.Exact)
		last = max(last, r.LastRecv)
		res.Errors += r.Errors
		res.ErrorSamples = append(res.ErrorSamples, r.ErrorSamples...)
	}
	<-acksDone
	amu.Lock()
	res.Extra["burst_ms_max"] = float64(burstMax) / 1e3
	if !lastAck.IsZero() {
		res.Extra["sender_ms"] = float64(lastAck.Sub(t0)) / 1e6
	}
	amu.Unlock()
	res.Extra["server_msgs"] = float64(p.Rooms * p.Count)
	// This process's CPU as the sender (with worker processes it does
	// nothing else meanwhile).
	_, senderCPU, _ := m.stop()
	handles = nil
	e.into(res)
	res.Exact = exact
	res.Ops = exact.Unique
	res.Latency = hist.Summary()
	window := time.Duration(last - t0.UnixNano())
	if last == 0 {
		window = time.Since(t0)
	}
	// The CPU window ends when the last receiver completed, before the
	// receivers are closed (closing 19k connections costs both sides more
	// than a burst). Workers report their CPU up to then, and the server's
	// cumulative CPU read at that moment; with one shard the worker is this
	// process, and its figure includes the sender.
	clientCPU := time.Duration(cpu * float64(time.Second))
	if p.Shards > 1 {
		clientCPU += senderCPU
	}
	var srv time.Duration
	if len(p.serverPIDs()) > 0 && srvEnd > 0 && !m.serverFailed {
		srv = time.Duration(srvEnd) - m.srv0
	}
	res.finish(window, clientCPU, srv)
	// The CPU figures cover the measurement, from the start meter to the
	// moment the last shard stopped measuring: the delivery window when
	// every receiver completed, longer when a shard waited for stragglers.
	if span := time.Duration(end - m.wall0.UnixNano()); end > 0 && span > 0 {
		res.ClientCores = clientCPU.Seconds() / span.Seconds()
		res.ServerCores = srv.Seconds() / span.Seconds()
		res.ClientSaturated = res.ClientCores >= SaturationCores
		if busy, steal := m.machine(machEnd); busy > 0 {
			res.MachineBusyCores = busy.Seconds() / span.Seconds()
			res.MachineStealCores = steal.Seconds() / span.Seconds()
			res.OtherCores = max(0, res.MachineBusyCores-res.ClientCores-res.ServerCores)
		}
	}
	return res, nil
}

// recvState is one receiver's delivery bookkeeping. The fast path (the
// expected seq arrives) touches only next, unique and got; any anomaly
// switches to a bitmap of the seqs seen, so duplicates and gaps are exact.
type recvState struct {
	got      atomic.Int64 // messages received (read by the progress watchdog)
	next     int64        // the seq expected next
	unique   int64
	ooo      int64
	invalid  int64
	seen     []uint64 // after the first anomaly: bit s set when seq s arrived
	first    int64    // receipt times, unix ns
	last     int64
	complete bool
	dropped  bool
	_        [16]byte // keeps hot neighbours off each other's cache line
}

// record takes one message's seq; it reports whether the receiver just
// became complete.
func (st *recvState) record(seq, count int64) bool {
	st.got.Add(1)
	if seq < 0 || seq >= count {
		st.invalid++
		return false
	}
	if st.seen == nil {
		if seq == st.next {
			st.next++
			st.unique++
			if st.unique == count && !st.complete {
				st.complete = true
				return true
			}
			return false
		}
		// First anomaly: remember everything received so far (0..next-1).
		st.seen = make([]uint64, (count+63)/64)
		for s := int64(0); s < st.next; s++ {
			st.seen[s/64] |= 1 << (s % 64)
		}
	}
	if seq != st.next {
		st.ooo++
	}
	st.next = seq + 1
	if st.seen[seq/64]&(1<<(seq%64)) != 0 {
		return false // duplicate
	}
	st.seen[seq/64] |= 1 << (seq % 64)
	st.unique++
	if st.unique == count && !st.complete {
		st.complete = true
		return true
	}
	return false
}

// fanoutWorker holds one shard of the receivers.
type fanoutWorker struct {
	spec      shardSpec
	conns     []*client.Conn
	states    []recvState
	hist      *Sharded
	remaining atomic.Int64
	done      chan struct{}
	doneOnce  sync.Once
	closing   atomic.Bool
	dialErr   errs
	runErr    errs
}

func newFanoutWorker(spec shardSpec) *fanoutWorker {
	return &fanoutWorker{spec: spec, states: make([]recvState, spec.N), hist: NewSharded(32),
		done: make(chan struct{})}
}

func (w *fanoutWorker) setup(ctx context.Context) (*shardReady, error) {
	p := w.spec.Params
	count := int64(p.Count)
	cpu0 := SelfCPU()
	dr := dialMany(ctx, &p, w.spec.N, w.spec.Offset, func(i int) client.Options {
		st := &w.states[i]
		h := w.hist.Shard(i)
		return client.Options{
			OnEvent: func(c *client.Conn, ev *client.Event) {
				if string(ev.Name) != "msg" {
					return
				}
				seq, ts, ok := client.ParseSeqTS(ev.Args)
				if !ok {
					st.got.Add(1)
					st.invalid++
					return
				}
				h.Record(ev.RecvNano - ts*1000)
				if st.first == 0 {
					st.first = ev.RecvNano
				}
				st.last = ev.RecvNano
				if st.record(seq, count) && w.remaining.Add(-1) == 0 {
					w.doneOnce.Do(func() { close(w.done) })
				}
			},
			OnClose: func(c *client.Conn, err error) {
				if !w.closing.Load() {
					st.dropped = true
					w.runErr.add(fmt.Errorf("receiver dropped: %v", err))
				}
			},
		}
	}, func(i int, c *client.Conn) error {
		_, err := call(ctx, c, "join", jsonString(fanoutRoom((w.spec.Offset+i)%p.Rooms)))
		return err
	}, &w.dialErr)
	w.conns = dr.conns
	w.remaining.Store(int64(dr.ok))
	rd := &shardReady{Connected: dr.ok, Failed: dr.failed, Start: dr.start, End: dr.end,
		CPUSeconds: (SelfCPU() - cpu0).Seconds(), Hist: dr.hist}
	var r Result
	w.dialErr.into(&r)
	rd.Errors, rd.ErrorSamples = r.Errors, r.ErrorSamples
	return rd, nil
}

// run waits until every receiver is complete, or no message arrived for
// IdleTimeout, then closes the receivers and tallies.
func (w *fanoutWorker) run(ctx context.Context, started func(), acked <-chan struct{}) (*shardResult, error) {
	p := w.spec.Params
	cpu0 := SelfCPU()
	started()
	if w.remaining.Load() == 0 {
		w.doneOnce.Do(func() { close(w.done) })
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	// Until the server acked every burst, the wait is bounded by
	// StartTimeout only: a server may hold its event loop for the whole
	// burst with nothing leaving it meanwhile, as Node does. After the acks,
	// IdleTimeout counts from the later of the acks and the last message.
	var lastGot int64
	lastProgress := time.Now()
	limit := time.Duration(p.StartTimeout)
wait:
	for {
		select {
		case <-w.done:
			break wait
		case <-ctx.Done():
			break wait
		case <-acked:
			acked = nil
			lastProgress, limit = time.Now(), time.Duration(p.IdleTimeout)
		case <-tick.C:
			var got int64
			for i := range w.states {
				got += w.states[i].got.Load()
			}
			if got != lastGot {
				lastGot, lastProgress = got, time.Now()
			} else if time.Since(lastProgress) > limit {
				w.runErr.add(fmt.Errorf("fanout: no message for %s, giving up", limit))
				break wait
			}
		}
	}
	res := &shardResult{CPUSeconds: (SelfCPU() - cpu0).Seconds()}
	if pids := p.serverPIDs(); len(pids) > 0 {
		if c, err := ProcsCPU(pids); err == nil {
			res.ServerCPUEnd = int64(c)
		}
	}
	res.MachineEnd = ReadMachineCPU()
	res.EndNano = time.Now().UnixNano()
	w.closing.Store(true)
	closeAll(w.conns) // after this the states are ours to read
	res.Hist, res.Exact = w.hist.Merged(), &Exactness{}
	count := int64(p.Count)
	for i := range w.states {
		if w.conns[i] == nil {
			continue // never connected: counted as a failed dial
		}
		st := &w.states[i]
		x := res.Exact
		x.Expected += count
		x.Delivered += st.got.Load() - st.invalid
		x.Unique += st.unique
		x.OutOfOrder += st.ooo
		x.Invalid += st.invalid
		if !st.complete {
			x.ReceiversIncomplete++
		}
		if st.dropped {
			x.Disconnected++
		}
		if st.first != 0 && (res.FirstRecv == 0 || st.first < res.FirstRecv) {
			res.FirstRecv = st.first
		}
		res.LastRecv = max(res.LastRecv, st.last)
	}
	res.Exact.Missing = res.Exact.Expected - res.Exact.Unique
	res.Exact.Duplicates = res.Exact.Delivered - res.Exact.Unique
	var r Result
	w.runErr.into(&r)
	res.Errors, res.ErrorSamples = r.Errors, r.ErrorSamples
	return res, nil
}

func (w *fanoutWorker) close() {
	w.closing.Store(true)
	closeAll(w.conns)
}
