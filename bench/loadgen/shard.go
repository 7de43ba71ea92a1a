package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Sharded scenarios (conns, fanout) split their connections over
// Params.Shards generators. With one shard everything runs in this process;
// with more, each shard is a worker process (WorkerExe -worker) with its own
// source address, its own 20k file limit and its own CPU accounting, and
// this process only coordinates. The two talk JSON lines:
//
//	parent → worker stdin:  the shardSpec, then "go" when every shard is ready,
//	                        then "acked" once the server acknowledged its work
//	worker → parent stdout: {"ready":…}, then {"started":true}, then {"result":…}
//
// A worker exits when its stdin closes, so a dying parent leaves none behind.

// shardSpec is a worker's assignment.
type shardSpec struct {
	Scenario string `json:"scenario"`
	Params   Params `json:"params"`
	// Index is the shard's number; Offset the global index of its first
	// connection; N its number of connections.
	Index  int `json:"index"`
	Offset int `json:"offset"`
	N      int `json:"n"`
	// ServerPID and ServerPIDs are Params' (which JSON leaves out).
	ServerPID  int   `json:"server_pid,omitempty"`
	ServerPIDs []int `json:"server_pids,omitempty"`
}

// shardReady is a worker's report once its connections are set up.
type shardReady struct {
	Connected    int        `json:"connected"`
	Failed       int        `json:"failed"`
	Start        time.Time  `json:"start"` // of the connect phase
	End          time.Time  `json:"end"`
	CPUSeconds   float64    `json:"cpu_s"` // over the connect phase
	Hist         *Histogram `json:"hist"`  // connect latencies
	Errors       int64      `json:"errors"`
	ErrorSamples []string   `json:"error_samples,omitempty"`
}

// shardResult is a worker's report at the end of its run.
type shardResult struct {
	CPUSeconds float64 `json:"cpu_s"` // from "go" to the end of the measurement
	// ServerCPUEnd is the server's cumulative CPU (ns, ProcCPU; summed
	// over a cluster's nodes) read when the shard's measurement ended, when
	// Params.ServerPID or ServerPIDs is set.
	ServerCPUEnd int64 `json:"server_cpu_end,omitempty"`
	// MachineEnd is the machine's CPU snapshot at the same moment, and
	// EndNano that moment (unix ns).
	MachineEnd MachineCPU `json:"machine_end"`
	EndNano    int64      `json:"end_nano,omitempty"`
	// fanout
	Hist         *Histogram `json:"hist,omitempty"`
	Exact        *Exactness `json:"exact,omitempty"`
	FirstRecv    int64      `json:"first_recv,omitempty"` // unix ns
	LastRecv     int64      `json:"last_recv,omitempty"`
	Errors       int64      `json:"errors"`
	ErrorSamples []string   `json:"error_samples,omitempty"`
}

// shardMsg is one line from a worker.
type shardMsg struct {
	Ready   *shardReady  `json:"ready,omitempty"`
	Started bool         `json:"started,omitempty"`
	Result  *shardResult `json:"result,omitempty"`
	Error   string       `json:"error,omitempty"`
}

// shardWorker is the worker side of a sharded scenario.
type shardWorker interface {
	// setup opens (and prepares) the shard's connections.
	setup(ctx context.Context) (*shardReady, error)
	// run measures, calling started once its CPU baseline is taken, and
	// returns when the shard's part is done. It closes the connections.
	// acked is closed when the parent got the server's acks (fanout: every
	// burst was emitted).
	run(ctx context.Context, started func(), acked <-chan struct{}) (*shardResult, error)
	// close releases whatever setup opened (after a failure).
	close()
}

// newShardWorker builds the worker of spec's scenario.
func newShardWorker(spec shardSpec) (shardWorker, error) {
	switch spec.Scenario {
	case "conns":
		return &connsWorker{spec: spec}, nil
	case "fanout":
		return newFanoutWorker(spec), nil
	}
	return nil, fmt.Errorf("loadgen: scenario %q is not sharded", spec.Scenario)
}

// shardHandle is the parent's side of one shard.
type shardHandle interface {
	ready() (*shardReady, error)
	start() error
	acked()
	result() (*shardResult, error)
	kill()
}

// startShards starts p.Shards shards of scenario over p.N connections.
func startShards(ctx context.Context, scenario string, p Params) ([]shardHandle, error) {
	specs := make([]shardSpec, p.Shards)
	off := 0
	for i := range specs {
		n := p.N / p.Shards
		if i < p.N%p.Shards {
			n++
		}
		sp := p
		if len(p.LocalAddrs) > 0 {
			sp.LocalAddrs = []string{p.LocalAddrs[i%len(p.LocalAddrs)]}
		}
		specs[i] = shardSpec{Scenario: scenario, Params: sp, Index: i, Offset: off, N: n, ServerPID: p.ServerPID,
			ServerPIDs: p.ServerPIDs}
		off += n
	}
	if p.Shards == 1 {
		w, err := newShardWorker(specs[0])
		if err != nil {
			return nil, err
		}
		return []shardHandle{newLocalHandle(ctx, w)}, nil
	}
	exe := p.WorkerExe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	hs := make([]shardHandle, 0, len(specs))
	for _, sp := range specs {
		h, err := newProcHandle(ctx, exe, sp)
		if err != nil {
			for _, h := range hs {
				h.kill()
			}
			return nil, err
		}
		hs = append(hs, h)
	}
	return hs, nil
}

// localHandle runs a worker on goroutines of this process.
type localHandle struct {
	readyCh   chan error
	goCh      chan struct{}
	startedCh chan struct{}
	resultCh  chan error
	rd        *shardReady
	res       *shardResult
	w         shardWorker
	once      sync.Once
	ackCh     chan struct{}
	ackOnce   sync.Once
}

func newLocalHandle(ctx context.Context, w shardWorker) *localHandle {
	h := &localHandle{
		readyCh: make(chan error, 1), goCh: make(chan struct{}), startedCh: make(chan struct{}),
		resultCh: make(chan error, 1), w: w, ackCh: make(chan struct{}),
	}
	go func() {
		var err error
		h.rd, err = w.setup(ctx)
		h.readyCh <- err
		if err != nil {
			w.close()
			return
		}
		select {
		case <-h.goCh:
		case <-ctx.Done():
			w.close()
			h.resultCh <- ctx.Err()
			return
		}
		h.res, err = w.run(ctx, func() { close(h.startedCh) }, h.ackCh)
		h.resultCh <- err
	}()
	return h
}

func (h *localHandle) ready() (*shardReady, error) {
	err := <-h.readyCh // h.rd is written before the send
	return h.rd, err
}

func (h *localHandle) start() error {
	h.once.Do(func() { close(h.goCh) })
	select {
	case <-h.startedCh:
		return nil
	case err := <-h.resultCh:
		h.resultCh <- err
		// A quick shard (conns: close and return) may have started and
		// ended before this select ran; with both ready, select picks
		// either.
		select {
		case <-h.startedCh:
			return nil
		default:
		}
		if err == nil {
			return errors.New("loadgen: shard ended before it started")
		}
		return err
	}
}

func (h *localHandle) acked() { h.ackOnce.Do(func() { close(h.ackCh) }) }

func (h *localHandle) result() (*shardResult, error) {
	err := <-h.resultCh
	h.resultCh <- err
	return h.res, err
}

func (h *localHandle) kill() {
	h.once.Do(func() { close(h.goCh) })
}

// procHandle runs a worker process.
type procHandle struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	out     *bufio.Scanner
	ackOnce sync.Once
}

func newProcHandle(ctx context.Context, exe string, spec shardSpec) (*procHandle, error) {
	cmd := exec.CommandContext(ctx, exe, "-worker")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("loadgen: start worker %s: %w", exe, err)
	}
	h := &procHandle{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	h.out.Buffer(make([]byte, 64<<10), 64<<20)
	b, _ := json.Marshal(spec)
	if _, err := fmt.Fprintf(stdin, "%s\n", b); err != nil {
		h.kill()
		return nil, err
	}
	return h, nil
}

// next reads the worker's next message.
func (h *procHandle) next() (*shardMsg, error) {
	if !h.out.Scan() {
		err := h.out.Err()
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("loadgen: worker %d: %w", h.cmd.Process.Pid, err)
	}
	var m shardMsg
	if err := json.Unmarshal(h.out.Bytes(), &m); err != nil {
		return nil, fmt.Errorf("loadgen: worker line %q: %w", h.out.Bytes(), err)
	}
	if m.Error != "" {
		return nil, fmt.Errorf("loadgen: worker %d: %s", h.cmd.Process.Pid, m.Error)
	}
	return &m, nil
}

func (h *procHandle) ready() (*shardReady, error) {
	m, err := h.next()
	if err != nil {
		return nil, err
	}
	if m.Ready == nil {
		return nil, errors.New("loadgen: worker: expected ready")
	}
	return m.Ready, nil
}

func (h *procHandle) start() error {
	if _, err := io.WriteString(h.stdin, "go\n"); err != nil {
		return err
	}
	m, err := h.next()
	if err != nil {
		return err
	}
	if !m.Started {
		return errors.New("loadgen: worker: expected started")
	}
	return nil
}

func (h *procHandle) acked() {
	h.ackOnce.Do(func() { _, _ = io.WriteString(h.stdin, "acked\n") })
}

func (h *procHandle) result() (*shardResult, error) {
	m, err := h.next()
	if err == nil && m.Result == nil {
		err = errors.New("loadgen: worker: expected result")
	}
	_ = h.stdin.Close()
	if werr := h.cmd.Wait(); err == nil && werr != nil {
		err = werr
	}
	if err != nil {
		return nil, err
	}
	return m.Result, nil
}

func (h *procHandle) kill() {
	_ = h.stdin.Close()
	_ = h.cmd.Process.Kill()
	_ = h.cmd.Wait()
}

// WorkerMain is the worker side of a sharded scenario: a generator binary
// calls it when started with -worker. It reads its shardSpec from in,
// reports on out, and returns when its part is done or in closes.
func WorkerMain(in io.Reader, out io.Writer) error {
	br := bufio.NewReader(in)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("worker: read spec: %w", err)
	}
	var spec shardSpec
	if err := json.Unmarshal(line, &spec); err != nil {
		return fmt.Errorf("worker: spec: %w", err)
	}
	spec.Params.defaults(spec.Scenario)
	spec.Params.ServerPID, spec.Params.ServerPIDs = spec.ServerPID, spec.ServerPIDs
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wmu sync.Mutex
	send := func(m shardMsg) {
		b, _ := json.Marshal(m)
		wmu.Lock()
		defer wmu.Unlock()
		_, _ = fmt.Fprintf(out, "%s\n", b)
	}
	fail := func(err error) error {
		send(shardMsg{Error: err.Error()})
		return err
	}
	w, err := newShardWorker(spec)
	if err != nil {
		return fail(err)
	}
	rd, err := w.setup(ctx)
	if err != nil {
		w.close()
		return fail(err)
	}
	send(shardMsg{Ready: rd})
	// Wait for "go"; EOF means the parent gave up: stop.
	goLine, err := br.ReadString('\n')
	if err != nil || goLine != "go\n" {
		w.close()
		return fmt.Errorf("worker: no go (%q, %v)", goLine, err)
	}
	// "acked" may follow; a parent that dies closes our stdin: cancel the
	// run then.
	acked := make(chan struct{})
	go func() {
		var once sync.Once
		for {
			l, err := br.ReadString('\n')
			if l == "acked\n" {
				once.Do(func() { close(acked) })
			}
			if err != nil {
				cancel()
				return
			}
		}
	}()
	res, err := w.run(ctx, func() { send(shardMsg{Started: true}) }, acked)
	if err != nil {
		return fail(err)
	}
	send(shardMsg{Result: res})
	return nil
}
