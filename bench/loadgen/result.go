// Package loadgen holds the benchmark scenarios: each drives a Socket.IO
// server that implements the bench/server event contract (bench/README.md)
// through package bench/client, and returns a JSON-serialisable Result.
//
// Scenarios:
//
//   - conns: open N idle connections; connect rate, failures, and the
//     server's RSS per connection from its stats event.
//   - handshake: Concurrency loops of connect + namespace CONNECT + close
//     for Duration; handshakes/s and handshake latency. The loops run on
//     one thread (client.HandshakeLoop, raw epoll), so that the generator
//     is not what bounds the rate.
//   - echo: Conns connections in closed loop (emit echo with an ack, wait,
//     again) for Duration after Warmup; ops/s and round-trip latency. The
//     connections are driven from one thread (client.Loop), so that the
//     generator takes a small share of the cores it shares with the server.
//   - fanout: N receivers in Rooms rooms, server-driven bcast_burst of Count
//     messages of PayloadSize bytes per room; deliveries/s, latency from the
//     server's ts to receipt, and an exactness check per receiver.
//   - churn: N connections joining rooms, disconnecting and reconnecting
//     while a broadcast stream runs; errors, server connections and RSS
//     before and after.
//   - cluster: fanout across the nodes of a Redis cluster (URLs, one server
//     process each, all joined to the Redis at RedisAddr): N receivers in
//     one room, spread over the nodes or all on the second one, a burst
//     from the first node; cluster-wide deliveries/s, latency, exactness,
//     CPU summed over the nodes, and the Redis traffic per broadcast.
//
// Each Result reports the generator's own CPU (ClientCores, and
// ClientSaturated by the SaturationCores rule) and, when the server's pid
// is known, the server's CPU per operation from /proc.
package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riptide-io/riptide/bench/client"
)

// Duration is a time.Duration that reads and writes JSON as a string such
// as "10s".
type Duration time.Duration

// MarshalJSON writes d as "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "1m30s" (or a number of nanoseconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return err
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// Params are a scenario's inputs. Fields a scenario does not use are
// ignored; zero values take the defaults documented on each field.
type Params struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:3000.
	URL string `json:"url"`
	// N: conns: connections to open; fanout: receivers; churn: connections
	// kept churning. Default 1000 (churn: 200).
	N int `json:"n,omitempty"`
	// Conns: echo: connections in closed loop. Default 100.
	Conns int `json:"conns,omitempty"`
	// Concurrency: dials in flight (conns, fanout, churn setup) or handshake
	// loops (handshake). Default 64 (handshake: 32).
	Concurrency int `json:"concurrency,omitempty"`
	// Duration of the measured window: handshake, echo, churn. Default 10s.
	Duration Duration `json:"duration,omitempty"`
	// Warmup before echo's window (not measured). Default 1s.
	Warmup Duration `json:"warmup,omitempty"`
	// EchoRate: echo: 0 runs closed loops (each connection sends its next
	// echo when the last is acknowledged: the server's capacity at that
	// concurrency); > 0 sends that many echoes per second in all, spread
	// over the connections round robin whatever the acknowledgements (open
	// loop, a connection may have several in flight): the latency of
	// servers under the same offered load. Loop driver only.
	EchoRate int `json:"echo_rate,omitempty"`
	// EchoDriver: echo: how the generator drives its connections, EchoLoop
	// (one thread, raw epoll: client.Loop) or EchoGoroutines (a reader
	// goroutine per connection). Default EchoLoop.
	EchoDriver string `json:"echo_driver,omitempty"`
	// HandshakeDriver: handshake: how the generator runs its loops,
	// HandshakeLoop (one thread, raw epoll: client.HandshakeLoop) or
	// HandshakeGoroutines (a goroutine and a client.Dial per handshake).
	// Default HandshakeLoop.
	HandshakeDriver string `json:"handshake_driver,omitempty"`
	// Hold: conns: how long the idle connections are held before the
	// server's RSS is read. Default 2s.
	Hold Duration `json:"hold,omitempty"`
	// Rooms: fanout: receivers are spread round robin over rooms
	// "fanout-0".."fanout-<Rooms-1>" and one burst is sent per room; churn:
	// rooms joined at random. Default 1 (churn: 10).
	Rooms int `json:"rooms,omitempty"`
	// Count: fanout: messages per burst (each receiver expects Count).
	// Default 1000.
	Count int `json:"count,omitempty"`
	// PayloadSize: fanout: bytes of each message's data; churn: of each
	// broadcast. Default 100.
	PayloadSize int `json:"payload_size,omitempty"`
	// IdleTimeout: fanout: a receiver set that made no progress for this
	// long is given up on (its missing messages are counted). Default 10s.
	IdleTimeout Duration `json:"idle_timeout,omitempty"`
	// StartTimeout: fanout: how long to wait for the first message after
	// the bursts were sent. Default 5m.
	StartTimeout Duration `json:"start_timeout,omitempty"`
	// LocalAddrs are source IPs (127.0.0.x); connections are spread over
	// them round robin, with explicit source ports (see nextSource), ~45k
	// per IP. Default: none (the kernel chooses address and port, which
	// gets slow past ~10k connections). With Shards > 1, shard i uses
	// LocalAddrs[i % len]. The handshake scenario ignores them.
	LocalAddrs []string `json:"local_addrs,omitempty"`
	// Shards: conns and fanout: the number of generator processes the
	// connections are split over (this one coordinates; the others are
	// started from WorkerExe with -worker). Default 1 (all in this process).
	Shards int `json:"shards,omitempty"`
	// WorkerExe is the generator binary started for Shards > 1: a program
	// whose main calls loadgen.WorkerMain when run with -worker. Default
	// os.Executable().
	WorkerExe string `json:"-"`
	// ServerPID, when > 0, is the server's process id: its CPU over the
	// measured window is read from /proc.
	ServerPID int `json:"-"`

	// URLs: cluster: the base URLs of the cluster's nodes (at least 2).
	// The burst is sent to the first; URL defaults to it.
	URLs []string `json:"urls,omitempty"`
	// Placement: cluster: "spread" (receiver g on node g mod len(URLs)) or
	// "one" (every receiver on the second node, so the burst reaches them
	// only through Redis). Default "spread".
	Placement string `json:"placement,omitempty"`
	// ClusterMode: cluster: how the nodes were started, which decides the
	// subscriptions awaited before the burst: "classic" (createAdapter),
	// "sharded" (createShardedAdapter, subscriptionMode dynamic),
	// "sharded-static", "sharded-dynamic-private". Default "classic".
	ClusterMode string `json:"cluster_mode,omitempty"`
	// RedisAddr: cluster: host:port of the cluster's redis-server, for
	// PUBSUB and INFO. Required by cluster.
	RedisAddr string `json:"redis_addr,omitempty"`
	// ServerPIDs: cluster: the nodes' process ids, in URLs' order; the
	// server CPU is their sum.
	ServerPIDs []int `json:"-"`
}

// serverPIDs are the processes whose CPU is the server's: ServerPIDs, or
// ServerPID alone.
func (p *Params) serverPIDs() []int {
	if len(p.ServerPIDs) > 0 {
		return p.ServerPIDs
	}
	if p.ServerPID > 0 {
		return []int{p.ServerPID}
	}
	return nil
}

// nodeOf is the index in URLs of the node receiver g connects to (0
// without URLs).
func (p *Params) nodeOf(g int) int {
	switch {
	case len(p.URLs) == 0:
		return 0
	case p.Placement == "one":
		return min(1, len(p.URLs)-1)
	default:
		return g % len(p.URLs)
	}
}

// urlOf is the URL connection g dials: URL, or its node's in a cluster.
func (p *Params) urlOf(g int) string {
	if len(p.URLs) == 0 {
		return p.URL
	}
	return p.URLs[p.nodeOf(g)]
}

func (p *Params) defaults(scenario string) {
	setInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setDur := func(v *Duration, d time.Duration) {
		if *v <= 0 {
			*v = Duration(d)
		}
	}
	switch scenario {
	case "churn":
		setInt(&p.N, 200)
		setInt(&p.Rooms, 10)
	case "handshake":
		setInt(&p.Concurrency, 32)
		if p.HandshakeDriver == "" {
			p.HandshakeDriver = HandshakeLoop
		}
	case "echo":
		if p.EchoDriver == "" {
			p.EchoDriver = EchoLoop
		}
	case "cluster":
		if p.URL == "" && len(p.URLs) > 0 {
			p.URL = p.URLs[0]
		}
		if p.Placement == "" {
			p.Placement = "spread"
		}
		if p.ClusterMode == "" {
			p.ClusterMode = "classic"
		}
	}
	setInt(&p.N, 1000)
	setInt(&p.Conns, 100)
	setInt(&p.Concurrency, 64)
	setInt(&p.Rooms, 1)
	setInt(&p.Count, 1000)
	setInt(&p.PayloadSize, 100)
	setInt(&p.Shards, 1)
	setDur(&p.Duration, 10*time.Second)
	setDur(&p.Warmup, time.Second)
	setDur(&p.Hold, 2*time.Second)
	setDur(&p.IdleTimeout, 10*time.Second)
	setDur(&p.StartTimeout, 5*time.Minute)
}

// Explicit source ports are taken from [portMin, portMax) on each source
// IP. Linux's own choice of a free port scans the ports in use and costs
// ~0.5 ms of CPU per connection once ~19k are open (connect(2) and bind(2)
// alike): it would make the generator, not the server, the bottleneck of
// the conns scenario. The range avoids the kernel's ephemeral range's
// busiest part only by luck; collisions are retried.
const (
	portMin = 20000
	portMax = 65000
)

// portCursors holds, per source IP, the next port to try
// (*atomic.Uint32), started at a random point so that processes sharing an
// IP rarely collide.
var portCursors sync.Map

// nextSource returns the next ip:port to bind for ip.
func nextSource(ip string) string {
	v, ok := portCursors.Load(ip)
	if !ok {
		c := new(atomic.Uint32)
		c.Store(rand.Uint32N(portMax - portMin))
		v, _ = portCursors.LoadOrStore(ip, c)
	}
	n := v.(*atomic.Uint32).Add(1)
	return net.JoinHostPort(ip, strconv.Itoa(portMin+int(n%(portMax-portMin))))
}

// dial opens connection i to urlOf(i): from LocalAddrs[i mod len] with an
// explicit port (retrying another port when that one is taken), or from
// whatever the kernel chooses without LocalAddrs.
func (p *Params) dial(ctx context.Context, i int, opts client.Options) (*client.Conn, error) {
	url := p.urlOf(i)
	if len(p.LocalAddrs) == 0 {
		return client.Dial(ctx, url, opts)
	}
	ip := p.LocalAddrs[i%len(p.LocalAddrs)]
	var err error
	for range 50 {
		opts.LocalAddr = nextSource(ip)
		var c *client.Conn
		if c, err = client.Dial(ctx, url, opts); err == nil || !client.IsAddrError(err) {
			return c, err
		}
	}
	return nil, err
}

// Exactness is fanout's delivery check: every receiver must get every
// message of its room's burst exactly once and in order.
type Exactness struct {
	// Expected is receivers × Count; Delivered the messages received
	// (duplicates included); Unique the distinct (receiver, seq) pairs.
	Expected  int64 `json:"expected"`
	Delivered int64 `json:"delivered"`
	Unique    int64 `json:"unique"`
	// Missing = Expected − Unique; Duplicates = Delivered − Unique.
	Missing    int64 `json:"missing"`
	Duplicates int64 `json:"duplicates"`
	// OutOfOrder counts messages whose seq was not the one expected next.
	OutOfOrder int64 `json:"out_of_order"`
	// Invalid counts msg events whose seq/ts could not be read or whose seq
	// was outside [0, Count).
	Invalid int64 `json:"invalid"`
	// ReceiversIncomplete are receivers that did not get all Count.
	ReceiversIncomplete int64 `json:"receivers_incomplete"`
	// Disconnected are receivers whose connection ended during the run.
	Disconnected int64 `json:"disconnected"`
}

// OK reports a perfect delivery.
func (e *Exactness) OK() bool {
	return e.Missing == 0 && e.Duplicates == 0 && e.OutOfOrder == 0 && e.Invalid == 0 && e.Disconnected == 0
}

func (e *Exactness) add(o *Exactness) {
	e.Expected += o.Expected
	e.Delivered += o.Delivered
	e.Unique += o.Unique
	e.Missing += o.Missing
	e.Duplicates += o.Duplicates
	e.OutOfOrder += o.OutOfOrder
	e.Invalid += o.Invalid
	e.ReceiversIncomplete += o.ReceiversIncomplete
	e.Disconnected += o.Disconnected
}

// Result is one scenario run. Rate is the headline throughput (RateUnit
// says of what); Latency is in milliseconds.
type Result struct {
	Scenario string `json:"scenario"`
	// Label names the configuration, the key under which runs are grouped
	// (e.g. "n=10000", "conns=100", "recv=1000 rooms=100").
	Label  string    `json:"label"`
	Params Params    `json:"params"`
	Start  time.Time `json:"start"`
	// WallSeconds is the measured window.
	WallSeconds float64 `json:"wall_s"`
	// Ops is what the window counted (connections, handshakes, echo
	// round trips, deliveries, churn operations); Rate = Ops / WallSeconds.
	Ops      int64    `json:"ops"`
	Rate     float64  `json:"rate"`
	RateUnit string   `json:"rate_unit"`
	Latency  *Summary `json:"latency,omitempty"`
	// Errors counts failed operations; ErrorSamples keeps a few messages.
	Errors       int64      `json:"errors"`
	ErrorSamples []string   `json:"error_samples,omitempty"`
	Exact        *Exactness `json:"exact,omitempty"`

	// The generator's CPU over the window, all its processes together.
	ClientProcs      int     `json:"client_procs"`
	ClientCPUSeconds float64 `json:"client_cpu_s"`
	ClientCores      float64 `json:"client_cores"`
	// ClientSaturated: ClientCores >= SaturationCores; the server figures
	// of this run are bounded by the generator.
	ClientSaturated bool `json:"client_saturated"`

	// The server's CPU over the window (ServerPID known), and per Op.
	ServerCPUSeconds float64 `json:"server_cpu_s,omitempty"`
	ServerCores      float64 `json:"server_cores,omitempty"`
	ServerCPUPerOpUs float64 `json:"server_cpu_per_op_us,omitempty"`

	// The whole machine over the window (/proc/stat): busy cores, cores
	// stolen by the hypervisor, and OtherCores = busy − client − server,
	// the CPU of everything else (other processes, kernel threads): a run
	// with OtherCores well above 0 shared the machine with other work.
	MachineBusyCores  float64 `json:"machine_busy_cores,omitempty"`
	MachineStealCores float64 `json:"machine_steal_cores,omitempty"`
	OtherCores        float64 `json:"other_cores,omitempty"`

	// The server's own stats (stats event) before and after.
	RSSBefore   int64   `json:"rss_before,omitempty"`
	RSSAfter    int64   `json:"rss_after,omitempty"`
	RSSPerConn  float64 `json:"rss_per_conn,omitempty"`
	ConnsBefore int     `json:"conns_before,omitempty"`
	ConnsAfter  int     `json:"conns_after,omitempty"`

	// Extra holds scenario-specific figures (documented in each scenario).
	Extra map[string]float64 `json:"extra,omitempty"`
}

// machine fills the machine-wide fields; call after finish.
func (r *Result) machine(busy, steal time.Duration) {
	if r.WallSeconds <= 0 || busy <= 0 {
		return
	}
	r.MachineBusyCores = busy.Seconds() / r.WallSeconds
	r.MachineStealCores = steal.Seconds() / r.WallSeconds
	r.OtherCores = max(0, r.MachineBusyCores-r.ClientCores-r.ServerCores)
}

// finish fills the derived fields from the window's wall, client and server
// CPU times.
func (r *Result) finish(wall, clientCPU, serverCPU time.Duration) {
	r.WallSeconds = wall.Seconds()
	if r.WallSeconds > 0 {
		r.Rate = float64(r.Ops) / r.WallSeconds
		r.ClientCores = clientCPU.Seconds() / r.WallSeconds
		r.ServerCores = serverCPU.Seconds() / r.WallSeconds
	}
	r.ClientCPUSeconds = clientCPU.Seconds()
	r.ServerCPUSeconds = serverCPU.Seconds()
	if r.Ops > 0 && serverCPU > 0 {
		r.ServerCPUPerOpUs = serverCPU.Seconds() * 1e6 / float64(r.Ops)
	}
	r.ClientSaturated = r.ClientCores >= SaturationCores
}

// errs collects a count of errors and a few samples, concurrently.
type errs struct {
	mu      sync.Mutex
	n       int64
	samples []string
	seen    map[string]bool
}

// add counts err and keeps its message if it is new (up to 5 kinds).
func (e *errs) add(err error) {
	if err == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	msg := err.Error()
	// Group messages by kind: drop addresses and numbers' variations.
	key := msg
	if i := strings.LastIndex(key, ": "); i > 0 {
		key = key[i:]
	}
	if e.seen == nil {
		e.seen = map[string]bool{}
	}
	if !e.seen[key] && len(e.samples) < 5 {
		e.seen[key] = true
		e.samples = append(e.samples, msg)
	}
}

// into copies the count and the samples into r.
func (e *errs) into(r *Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r.Errors += e.n
	r.ErrorSamples = append(r.ErrorSamples, e.samples...)
}

// Run runs scenario with p and returns its result.
func Run(ctx context.Context, scenario string, p Params) (*Result, error) {
	p.defaults(scenario)
	if p.URL == "" {
		return nil, fmt.Errorf("loadgen: no URL")
	}
	switch scenario {
	case "conns":
		return runConns(ctx, p)
	case "handshake":
		return runHandshake(ctx, p)
	case "echo":
		return runEcho(ctx, p)
	case "fanout":
		return runFanout(ctx, p)
	case "churn":
		return runChurn(ctx, p)
	case "cluster":
		return runCluster(ctx, p)
	}
	return nil, fmt.Errorf("loadgen: unknown scenario %q (have %s)", scenario, strings.Join(Scenarios(), ", "))
}

// Scenarios lists the scenario names, in the order a full run takes them.
func Scenarios() []string {
	return []string{"conns", "handshake", "echo", "fanout", "churn", "cluster"}
}
