// Command run is the benchmark runner: it builds the servers under test and
// the load generator, runs each chosen scenario configuration against a
// fresh server process, and writes bench/results/<YYYY-MM-DD>/:
//
//   - runs.jsonl: one JSON line per run (Run: the server, the generator's
//     arguments and its loadgen.Result), appended as runs finish (a second
//     invocation on the same day adds to the same file, and the tables
//     take the medians over everything in it: delete the file to start
//     afresh);
//   - results.md: medians per server and configuration, with
//     Riptide/peer ratios;
//   - <scenario>-*.png: throughput and latency charts per scenario.
//
// Usage, from the module root:
//
//	go run ./bench/cmd/run -servers riptide,node -scenarios conns,handshake,echo,fanout,churn,cluster -size small
//	go run ./bench/cmd/run -size full -repeat 3
//	go run ./bench/cmd/run -size full -servers riptide,node -scenarios cluster -only 'recv=1000 '
//
// -size small is a smoke of every scenario in seconds (what CI runs);
// -size full takes the sizes of issue 4 (1k/10k/19k connections, echo at
// 1/100/1000 connections in closed loop and at 10k and 20k echoes/s over
// 100, fan-out to 1k/10k/19k receivers in 1 and 100 rooms) and of issue 6 (cluster fan-out over 2 and 3 nodes, classic and
// sharded, 1k and 10k receivers). -report DIR only rewrites results.md and
// the charts from DIR's runs.jsonl.
//
// Servers: riptide (go build ./bench/server, then the binary), node
// (node bench/node/server.js, after npm ci when its lock changed), zishang
// (bench/peers/zishang) and ceiling (bench/ceiling: a bare batched
// WebSocket broadcast, the fan-out ceiling; fanout only).
// Each prints "listening on ADDR"; the runner passes port 0 and reads the
// address. The generator is bench/cmd/loadgen, run as a subprocess with
// -server-pid so that the server's CPU over the measured window comes from
// /proc.
//
// The cluster scenario starts, per run, a redis-server (from PATH, on a
// free port, no persistence) and K processes of the server under test
// joined to it (-redis/--redis), and passes the generator every node's
// URL and pid (see cluster.go). It runs only for riptide and node; without
// redis-server its runs fail, saying so.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/riptide-io/riptide/bench/loadgen"
)

// Run is one line of runs.jsonl: a scenario configuration run once against
// one server.
type Run struct {
	Server        string    `json:"server"`
	ServerVersion string    `json:"server_version"`
	Size          string    `json:"size"`
	Repeat        int       `json:"repeat"`
	Scenario      string    `json:"scenario"`
	Label         string    `json:"label"`
	Started       time.Time `json:"started"`
	// Args are the generator's arguments (the URL and pid excepted).
	Args []string `json:"args"`
	// TimeWait is the machine's TCP sockets in TIME_WAIT when the run
	// started (/proc/net/sockstat; -1 when unknown): handshake runs wait for
	// the earlier runs' to drain first (see waitTimeWait).
	TimeWait int `json:"time_wait"`
	// ServerCrashed: the server process was gone when the run ended.
	ServerCrashed bool `json:"server_crashed,omitempty"`
	// Error is why the run produced no (or a partial) result.
	Error  string          `json:"error,omitempty"`
	Result *loadgen.Result `json:"result,omitempty"`
	// Machine describes where it ran.
	Machine string `json:"machine"`
	// Command is the runner invocation that made this run.
	Command string `json:"command,omitempty"`
}

// config is one scenario configuration: the generator's arguments.
type config struct {
	scenario string
	label    string
	args     []string
	// cluster: the number of nodes and their mode (loadgen's
	// -cluster-mode: classic, sharded, sharded-static,
	// sharded-dynamic-private).
	nodes int
	mode  string
}

// configs returns the configurations of size for the chosen scenarios.
func configs(size string, scenarios []string) ([]config, error) {
	var all []config
	// Long-lived connections come from 127.0.0.2 with explicit source
	// ports (the kernel's own port search costs ~0.5 ms per connect at
	// 19k); the handshake scenario lets the kernel choose.
	local := []string{"-local", "127.0.0.2"}
	add := func(scenario, label string, args ...string) {
		if scenario != "handshake" && !slices.Contains(args, "-local") {
			args = append(args, local...)
		}
		all = append(all, config{scenario: scenario, label: label, args: args})
	}
	// cluster: n receivers in one room over k nodes, placed "spread" or
	// "one" (all on the second node), count messages in the burst; the
	// label is the one the generator gives the run.
	addCluster := func(mode string, k int, placement string, n, count int, more ...string) {
		where := map[string]string{"spread": "spread", "one": "one-node"}[placement]
		args := append([]string{"-cluster-mode", mode, "-placement", placement, "-n", fmt.Sprint(n),
			"-count", fmt.Sprint(count)}, more...)
		args = append(args, local...)
		all = append(all, config{scenario: "cluster", label: fmt.Sprintf("%s k=%d recv=%d %s", mode, k, n, where),
			args: args, nodes: k, mode: mode})
	}
	switch size {
	case "small":
		add("conns", "n=50", "-n", "50", "-hold", "200ms")
		add("handshake", "loops=8", "-concurrency", "8", "-duration", "1s")
		add("echo", "conns=10", "-conns", "10", "-duration", "1s", "-warmup", "200ms")
		add("echo", "conns=10 rate=500", "-conns", "10", "-echo-rate", "500", "-duration", "1s", "-warmup", "200ms")
		add("fanout", "recv=50 rooms=1", "-n", "50", "-rooms", "1", "-count", "20", "-idle-timeout", "5s")
		add("fanout", "recv=50 rooms=5", "-n", "50", "-rooms", "5", "-count", "20", "-idle-timeout", "5s")
		add("churn", "n=20", "-n", "20", "-rooms", "5", "-duration", "1s")
		// Both protocols, and the placement that shows sharded dynamic
		// mode sparing the node without members.
		addCluster("classic", 2, "spread", 40, 20, "-idle-timeout", "5s")
		addCluster("sharded", 3, "one", 40, 20, "-idle-timeout", "5s")
	case "full":
		// 19k connections take two generator processes with their own
		// source addresses (each process may hold 20k files; one could
		// hold them all, two halve the per-process fd pressure and
		// spread the generator over both cores).
		sharded := []string{"-shards", "2", "-local", "127.0.0.2,127.0.0.3"}
		for _, n := range []int{1000, 10000, 19000} {
			args := []string{"-n", fmt.Sprint(n), "-hold", "2s"}
			if n > 10000 {
				args = append(args, sharded...)
			}
			add("conns", fmt.Sprintf("n=%d", n), args...)
		}
		add("handshake", "loops=32", "-concurrency", "32", "-duration", "10s")
		for _, c := range []int{1, 100, 1000} {
			add("echo", fmt.Sprintf("conns=%d", c), "-conns", fmt.Sprint(c), "-duration", "10s", "-warmup", "1s")
		}
		// The same offered load for every server (open loop: echoes sent
		// on a clock), at ~40% and ~80% of what Node answers in closed
		// loop at 100 connections: latency compared at equal load, where
		// the closed loops compare it at each server's own throughput.
		for _, r := range []int{10000, 20000} {
			add("echo", fmt.Sprintf("conns=100 rate=%d", r), "-conns", "100", "-echo-rate", fmt.Sprint(r),
				"-duration", "10s", "-warmup", "1s")
		}
		// Messages per burst: 1M–2M deliveries per run (a few seconds
		// each), the same for every server.
		counts := map[int]int{1000: 1000, 10000: 200, 19000: 100}
		for _, rooms := range []int{1, 100} {
			for _, n := range []int{1000, 10000, 19000} {
				args := []string{"-n", fmt.Sprint(n), "-rooms", fmt.Sprint(rooms), "-count", fmt.Sprint(counts[n]),
					"-idle-timeout", "20s"}
				if n > 10000 {
					args = append(args, sharded...)
				}
				add("fanout", fmt.Sprintf("recv=%d rooms=%d", n, rooms), args...)
			}
		}
		add("churn", "n=1000", "-n", "1000", "-rooms", "10", "-duration", "20s")
		// Cluster fan-out: the same counts per receiver as fanout, the
		// receivers spread over 2 or 3 nodes; then all of them on one node
		// with the burst from another.
		for _, mode := range []string{"classic", "sharded"} {
			for _, k := range []int{2, 3} {
				for _, n := range []int{1000, 10000} {
					addCluster(mode, k, "spread", n, counts[n], "-idle-timeout", "20s")
				}
			}
			addCluster(mode, 3, "one", 1000, counts[1000], "-idle-timeout", "20s")
		}
	default:
		return nil, fmt.Errorf("unknown -size %q (small or full)", size)
	}
	want := map[string]bool{}
	for _, s := range scenarios {
		want[s] = true
	}
	var out []config
	for _, c := range all {
		if want[c.scenario] {
			out = append(out, c)
		}
	}
	return out, nil
}

func main() {
	var (
		servers   = flag.String("servers", "riptide,node,zishang", "servers to compare: riptide, node, zishang, ceiling (a bare batched WebSocket broadcast, fanout only)")
		scenarios = flag.String("scenarios", strings.Join(loadgen.Scenarios(), ","), "scenarios to run")
		size      = flag.String("size", "small", "small (a smoke, seconds) or full (issue 4's sizes)")
		repeat    = flag.Int("repeat", 1, "runs per configuration and server (the tables show medians)")
		only      = flag.String("only", "", "run only the configurations whose label contains this")
		out       = flag.String("out", "", "output directory (default bench/results/<YYYY-MM-DD>)")
		report    = flag.String("report", "", "only rewrite results.md and the charts from DIR/runs.jsonl")
		profile   = flag.Bool("profile", false, "write a CPU profile of each riptide server run under bench/results/tmp/prof")
		runTO     = flag.Duration("run-timeout", 15*time.Minute, "abort one run after this long")
		loops     = flag.Int("riptide-loops", -1, "event loops of the riptide server: -1 half the machine's cores, at least one (the generator needs the rest); 0 the server's own default, one per core")
	)
	flag.Parse()
	if *report != "" {
		if err := writeReport(*report, ""); err != nil {
			fatal(err)
		}
		return
	}
	root, err := moduleRoot()
	if err != nil {
		fatal(err)
	}
	if *out == "" {
		*out = filepath.Join(root, "bench", "results", time.Now().Format("2006-01-02"))
	}
	cfgs, err := configs(*size, split(*scenarios))
	if err != nil {
		fatal(err)
	}
	if *only != "" {
		var keep []config
		for _, c := range cfgs {
			if strings.Contains(c.label, *only) {
				keep = append(keep, c)
			}
		}
		cfgs = keep
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tmp := filepath.Join(root, "bench", "results", "tmp")
	if *loops < -1 {
		fatal(fmt.Errorf("-riptide-loops must be >= -1"))
	}
	if *loops == -1 {
		*loops = halfTheCores(runtime.NumCPU())
	}
	b := &bench{root: root, tmp: tmp, profile: *profile, runTimeout: *runTO, machine: machine(),
		drainTimeWait: *size == "full", riptideLoops: *loops}
	if err := b.prepare(ctx, split(*servers)); err != nil {
		fatal(err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fatal(err)
	}
	jsonl, err := os.OpenFile(filepath.Join(*out, "runs.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		fatal(err)
	}
	defer jsonl.Close()

	cmdline := "go run ./bench/cmd/run " + strings.Join(os.Args[1:], " ")
	var broken []string  // Riptide runs that failed, crashed or lost messages
	var skipped []string // servers without a cluster mode
	runs := func(srv server, c config) bool {
		return (c.nodes == 0 || srv.cluster != nil) && (srv.scenarios == nil || slices.Contains(srv.scenarios, c.scenario))
	}
	total, done := 0, 0
	for _, c := range cfgs {
		for _, srv := range b.servers {
			if runs(srv, c) {
				total += *repeat
			} else if c.scenario == "cluster" && !slices.Contains(skipped, srv.name) {
				skipped = append(skipped, srv.name)
				fmt.Fprintf(os.Stderr, "%s has no cluster mode here: cluster runs skipped for it\n", srv.name)
			}
		}
	}
	// Repeats outermost and servers innermost: the servers under comparison
	// run back to back under the same machine conditions.
	for rep := range *repeat {
		for _, c := range cfgs {
			for _, srv := range b.servers {
				if ctx.Err() != nil {
					fatal(ctx.Err())
				}
				if !runs(srv, c) {
					continue
				}
				done++
				fmt.Fprintf(os.Stderr, "[%d/%d] %s %s %s (repeat %d)\n", done, total, srv.name, c.scenario, c.label, rep+1)
				var r *Run
				if c.nodes > 0 {
					r = b.runCluster(ctx, srv, c)
				} else {
					r = b.run(ctx, srv, c)
				}
				r.Size, r.Repeat, r.Command = *size, rep+1, cmdline
				line, _ := json.Marshal(r)
				if _, err := fmt.Fprintf(jsonl, "%s\n", line); err != nil {
					fatal(err)
				}
				fmt.Fprintf(os.Stderr, "    %s\n", summaryLine(r))
				if srv.name == "riptide" && (r.Error != "" || r.ServerCrashed || (r.Result.Exact != nil && !r.Result.Exact.OK())) {
					broken = append(broken, c.scenario+" "+c.label)
				}
			}
		}
	}
	if err := writeReport(*out, cmdline); err != nil {
		fatal(err)
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", *out)
	if len(broken) > 0 {
		// Speed is never gated; correctness is: CI's smoke fails here.
		fatal(fmt.Errorf("riptide failed in %d run(s): %s", len(broken), strings.Join(broken, "; ")))
	}
}

// server is a server under test.
type server struct {
	name    string
	version string
	// command returns the command line that serves on 127.0.0.1, any port.
	command func(profile string) []string
	// cluster, when not nil, returns the command line of one cluster node
	// joined to the Redis at redisURL in mode (see config.mode).
	cluster func(profile, redisURL, mode string) []string
	// scenarios, when not nil, are the only scenarios it runs
	// (bench/ceiling speaks just enough for fanout).
	scenarios []string
}

// bench holds the prepared binaries and servers.
type bench struct {
	root, tmp  string
	loadgen    string
	servers    []server
	profile    bool
	runTimeout time.Duration
	machine    string
	// drainTimeWait: handshake runs wait for TIME_WAIT to drain (full
	// size; a smoke does not wait).
	drainTimeWait bool
	// riptideLoops, when > 0, is the riptide server's -loops.
	riptideLoops int
}

// halfTheCores is the riptide server's loop count unless -riptide-loops
// says otherwise: the generator runs on the same machine and needs about
// as much CPU as the server, so the server gets a loop per core of its
// half. A loop per core (the server's default, right on a machine of its
// own) makes the loops time-slice with the generator: on 2 cores that
// doubled the closed-loop echo p99 (bench/results/2026-11-28-loops).
// Node's server is one thread whatever the machine.
func halfTheCores(cores int) int {
	return max(1, cores/2)
}

// maxTimeWait is how many TIME_WAIT sockets a handshake run may start with.
// The generator connects without choosing its ports, and Linux's search for
// a free one walks the ports in use, TIME_WAIT included: after a conns or
// fanout run has left tens of thousands, a connect(2) costs several times
// more and the generator, not the server, sets the handshake rate (the
// 2026-11-27-b run: 600 µs of generator CPU per handshake, against ~200 µs
// on a drained machine). Every server's run starts from the same state.
const maxTimeWait = 2000

// waitTimeWait waits until the machine has at most max sockets in
// TIME_WAIT, or limit passed (Linux keeps one for 60 s).
func waitTimeWait(ctx context.Context, max int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for n := timeWait(); n > max && time.Now().Before(deadline) && ctx.Err() == nil; n = timeWait() {
		time.Sleep(time.Second)
	}
}

// timeWait is the number of TCP sockets in TIME_WAIT (IPv4 and IPv6), from
// /proc/net/sockstat{,6}; -1 when unreadable.
func timeWait() int {
	total, ok := 0, false
	for _, f := range []string{"/proc/net/sockstat", "/proc/net/sockstat6"} {
		if b, err := os.ReadFile(f); err == nil {
			if n, found := parseTimeWait(string(b)); found {
				total, ok = total+n, true
			}
		}
	}
	if !ok {
		return -1
	}
	return total
}

// parseTimeWait reads the "tw" field of the TCP line of a sockstat file.
func parseTimeWait(sockstat string) (n int, ok bool) {
	for line := range strings.Lines(sockstat) {
		fields := strings.Fields(line)
		if len(fields) == 0 || (fields[0] != "TCP:" && fields[0] != "TCP6:") {
			continue
		}
		for i := 1; i+1 < len(fields); i += 2 {
			if fields[i] == "tw" {
				v, err := strconv.Atoi(fields[i+1])
				return v, err == nil
			}
		}
	}
	return 0, false
}

// prepare builds the generator and the Go server and installs the Node
// twin's packages when they are missing.
func (b *bench) prepare(ctx context.Context, names []string) error {
	bin := filepath.Join(b.tmp, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	b.loadgen = filepath.Join(bin, "loadgen")
	if err := b.cmd(ctx, b.root, "go", "build", "-o", b.loadgen, "./bench/cmd/loadgen"); err != nil {
		return err
	}
	for _, name := range names {
		switch name {
		case "riptide":
			exe := filepath.Join(bin, "riptide-server")
			if err := b.cmd(ctx, b.root, "go", "build", "-o", exe, "./bench/server"); err != nil {
				return err
			}
			version := riptideVersion(b.root)
			command := func(profile string) []string {
				args := []string{exe, "-addr", "127.0.0.1:0"}
				if b.riptideLoops > 0 {
					args = append(args, "-loops", fmt.Sprint(b.riptideLoops))
				}
				if profile != "" {
					args = append(args, "-cpuprofile", profile)
				}
				return args
			}
			if b.riptideLoops > 0 {
				version += fmt.Sprintf(", %d event loop(s)", b.riptideLoops)
			}
			b.servers = append(b.servers, server{name: name, version: version, command: command,
				cluster: func(profile, redisURL, mode string) []string {
					return append(command(profile), clusterFlags("-", redisURL, mode)...)
				}})
		case "node":
			dir := filepath.Join(b.root, "bench", "node")
			if err := b.npmCI(ctx, dir); err != nil {
				return err
			}
			script := filepath.Join(dir, "server.js")
			b.servers = append(b.servers, server{name: name, version: nodeVersion(dir),
				command: func(string) []string { return []string{"node", script, "0"} },
				cluster: func(_, redisURL, mode string) []string {
					return append([]string{"node", script, "0"}, clusterFlags("--", redisURL, mode)...)
				}})
		case "zishang":
			// github.com/zishang520/socket.io v3, the most complete Go port,
			// in its own module so that Riptide's go.mod does not carry it.
			exe := filepath.Join(bin, "zishang-server")
			if err := b.cmd(ctx, filepath.Join(b.root, "bench", "peers", "zishang"), "go", "build", "-o", exe, "."); err != nil {
				return err
			}
			b.servers = append(b.servers, server{name: name, version: "zishang520/socket.io v3.0.6",
				command: func(string) []string { return []string{exe, "-addr", "127.0.0.1:0"} }})
		case "ceiling":
			// The bare batched WebSocket broadcast of issue #4: what a
			// hand-written server that only fans out can do (fanout only).
			exe := filepath.Join(bin, "ceiling-server")
			if err := b.cmd(ctx, b.root, "go", "build", "-o", exe, "./bench/ceiling"); err != nil {
				return err
			}
			b.servers = append(b.servers, server{name: name,
				version: "bare batched WebSocket (bench/ceiling), " + runtime.Version(),
				command: func(profile string) []string {
					args := []string{exe, "-addr", "127.0.0.1:0"}
					if profile != "" {
						args = append(args, "-cpuprofile", profile)
					}
					return args
				},
				scenarios: []string{"fanout"}})
		default:
			return fmt.Errorf("unknown server %q (riptide, node, zishang, ceiling)", name)
		}
	}
	return nil
}

// stampName records, in node_modules, the digest of the package-lock.json
// that `npm ci` installed (the same stamp bench/server's tests keep).
const stampName = ".riptide-bench-stamp"

// npmCI runs `npm ci` in dir when its package-lock.json changed since the
// last install (or nothing is installed).
func (b *bench) npmCI(ctx context.Context, dir string) error {
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return err
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])
	stamp := filepath.Join(dir, "node_modules", stampName)
	if got, err := os.ReadFile(stamp); err == nil && string(got) == want {
		return nil
	}
	fmt.Fprintln(os.Stderr, "npm ci in", dir)
	if err := b.cmd(ctx, dir, "npm", "ci", "--no-audit", "--no-fund"); err != nil {
		return err
	}
	return os.WriteFile(stamp, []byte(want), 0o644)
}

// cmd runs a preparation command, its output on stderr.
func (b *bench) cmd(ctx context.Context, dir string, name string, args ...string) error {
	c := exec.CommandContext(ctx, name, args...)
	c.Dir, c.Stdout, c.Stderr = dir, os.Stderr, os.Stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// run runs configuration c once against a fresh process of srv.
func (b *bench) run(ctx context.Context, srv server, c config) *Run {
	if c.scenario == "handshake" && b.drainTimeWait {
		waitTimeWait(ctx, maxTimeWait, 75*time.Second)
	}
	r := &Run{Server: srv.name, ServerVersion: srv.version, Scenario: c.scenario, Label: c.label,
		Started: time.Now().UTC(), Args: c.args, Machine: b.machine, TimeWait: timeWait()}
	ctx, cancel := context.WithTimeout(ctx, b.runTimeout)
	defer cancel()
	logDir := filepath.Join(b.tmp, "logs")
	_ = os.MkdirAll(logDir, 0o755)
	tag := fmt.Sprintf("%s-%s-%s-%s", srv.name, c.scenario, strings.ReplaceAll(c.label, " ", "_"),
		r.Started.Format("150405"))
	var profile string
	if b.profile && srv.name == "riptide" {
		_ = os.MkdirAll(filepath.Join(b.tmp, "prof"), 0o755)
		profile = filepath.Join(b.tmp, "prof", tag+".prof")
	}
	sp, err := startServer(srv.command(profile), filepath.Join(logDir, tag+".server.log"))
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer sp.stop()

	args := append([]string{"-scenario", c.scenario, "-url", "http://" + sp.addr,
		"-server-pid", fmt.Sprint(sp.cmd.Process.Pid)}, c.args...)
	b.generate(ctx, r, args, filepath.Join(logDir, tag+".loadgen.log"))
	if !sp.alive() {
		r.ServerCrashed = true
		if r.Error == "" {
			r.Error = "server exited during the run: " + tailFile(sp.log, 500)
		}
	}
	return r
}

// generate runs the generator with args and records its result (the last
// line of its output, even when the scenario failed late) and its error in
// r; its stderr goes to logPath.
func (b *bench) generate(ctx context.Context, r *Run, args []string, logPath string) {
	lg := exec.CommandContext(ctx, b.loadgen, args...)
	lg.Dir = b.root
	logf, _ := os.Create(logPath)
	if logf != nil {
		defer logf.Close()
		lg.Stderr = logf
	}
	outb, err := lg.Output()
	lines := strings.Split(strings.TrimSpace(string(outb)), "\n")
	if last := lines[len(lines)-1]; strings.HasPrefix(last, "{") {
		var res loadgen.Result
		if jerr := json.Unmarshal([]byte(last), &res); jerr == nil {
			r.Result = &res
		}
	}
	if err != nil {
		msg := err.Error()
		if logf != nil {
			if tail := tailFile(logf.Name(), 500); tail != "" {
				msg += ": " + tail
			}
		}
		r.Error = msg
	}
}

// serverProc is a running server.
type serverProc struct {
	proc
	addr string
	log  string
}

// proc is a started child process and when it ended.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd.Wait returned
}

// watch starts waiting for the process; done runs after it exited.
func (p *proc) watch(done func()) {
	p.exited = make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		done()
		close(p.exited)
	}()
}

// alive reports whether the process is still running.
func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// terminate sends SIGTERM, then SIGKILL after grace, and waits for the end.
func (p *proc) terminate(grace time.Duration) {
	if !p.alive() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// startServer starts argv, waits for its "listening on ADDR" line (30 s at
// most) and keeps copying its output to logPath.
func startServer(argv []string, logPath string) (*serverProc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	sp := &serverProc{proc: proc{cmd: cmd}, log: logPath}
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if a, ok := strings.CutPrefix(line, "listening on "); ok && !found {
				found = true
				addrCh <- strings.TrimSpace(a)
			}
		}
		_, _ = io.Copy(logf, stdout)
	}()
	sp.watch(func() { logf.Close() })
	select {
	case sp.addr = <-addrCh:
		return sp, nil
	case <-sp.exited:
		return nil, fmt.Errorf("%s exited before listening: %s", argv[0], tailFile(logPath, 500))
	case <-time.After(30 * time.Second):
		sp.stop()
		return nil, fmt.Errorf("%s did not print its listening line in 30s", argv[0])
	}
}

// stop sends SIGTERM, then SIGKILL after 10 s.
func (sp *serverProc) stop() { sp.terminate(10 * time.Second) }

// tailFile returns the last n bytes of a file, on one line.
func tailFile(path string, n int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// moduleRoot finds the directory of the go.mod that declares this module,
// from the working directory upwards.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/riptide-io/riptide\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run it from inside the riptide module (no go.mod found)")
		}
		dir = parent
	}
}

// riptideVersion is the module's git revision (+dirty), or "dev".
func riptideVersion(root string) string {
	out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output()
	if err != nil {
		return "dev"
	}
	return "riptide " + strings.TrimSpace(string(out)) + ", " + runtime.Version()
}

// nodeVersion is "node vX, socket.io Y".
func nodeVersion(dir string) string {
	v := "node ?"
	if out, err := exec.Command("node", "--version").Output(); err == nil {
		v = "node " + strings.TrimSpace(string(out))
	}
	var pkg struct{ Version string }
	if b, err := os.ReadFile(filepath.Join(dir, "node_modules", "socket.io", "package.json")); err == nil {
		_ = json.Unmarshal(b, &pkg)
	}
	return v + ", socket.io " + pkg.Version
}

// machine describes this machine: cores, CPU model, kernel.
func machine() string {
	model := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := "?"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d cores, %s, Linux %s", runtime.NumCPU(), model, kernel)
}

// split splits a comma-separated list, dropping empty items.
func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// summaryLine is the progress line of a run.
func summaryLine(r *Run) string {
	if r.Result == nil {
		return "ERROR " + r.Error
	}
	res := r.Result
	s := fmt.Sprintf("%.0f %s", res.Rate, res.RateUnit)
	if res.Latency != nil && res.Latency.Count > 0 {
		s += fmt.Sprintf(", p50 %.2f ms, p99 %.2f ms", res.Latency.P50Ms, res.Latency.P99Ms)
	}
	if res.RSSPerConn != 0 {
		s += fmt.Sprintf(", %.0f B RSS/conn", res.RSSPerConn)
	}
	if res.Exact != nil && !res.Exact.OK() {
		s += fmt.Sprintf(", INEXACT missing %d dup %d ooo %d", res.Exact.Missing, res.Exact.Duplicates, res.Exact.OutOfOrder)
	}
	s += fmt.Sprintf(", client %.2f cores, server %.2f cores", res.ClientCores, res.ServerCores)
	if k := int(res.Extra["nodes"]); k > 0 {
		var per []string
		for i := 1; i <= k; i++ {
			if v, ok := res.Extra[fmt.Sprintf("node%d_recv_per_bcast", i)]; ok {
				per = append(per, fmt.Sprintf("%.2g", v))
			}
		}
		if len(per) == k {
			s += ", from Redis per broadcast " + strings.Join(per, "/")
		}
	}
	if res.ClientSaturated {
		s += " (CLIENT SATURATED)"
	}
	if res.Errors > 0 {
		s += fmt.Sprintf(", %d errors %q", res.Errors, res.ErrorSamples)
	}
	if r.Error != "" {
		s += ", error: " + r.Error
	}
	return s
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "run:", err)
	os.Exit(1)
}
