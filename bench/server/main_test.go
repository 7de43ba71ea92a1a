package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childEnv, when set in the environment, makes the test binary run main()
// instead of the tests: TestMainProcess runs the real command that way.
const childEnv = "RIPTIDE_BENCH_SERVER_CHILD"

// TestMain runs main() in a child process started by TestMainProcess, and
// the tests otherwise.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Args = append([]string{"server"}, strings.Fields(os.Getenv(childEnv+"_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startInProcess starts the benchmark server on 127.0.0.1:0 in this process
// (two event loops, so that broadcasts cross loops) and returns its address.
// It is closed at the test's end.
func startInProcess(t *testing.T) string {
	t.Helper()
	a := newApp(2, nil)
	if err := a.srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() {
		if err := a.close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return a.srv.Addr().String()
}

// TestContractGo checks every item of the contract against the Go server,
// in process.
func TestContractGo(t *testing.T) {
	runContract(t, startInProcess(t))
}

// TestContractNode checks the same contract against the Node twin
// (bench/node/server.js), so that both servers are proven to implement it.
// It is skipped when node is not installed; with node, a failing `npm ci`
// fails the test.
func TestContractNode(t *testing.T) {
	addr := startNode(t)
	runContract(t, addr)
}

// TestMainProcess runs the real command (this test binary re-executed as
// main) with -addr 127.0.0.1:0 -loops 2 -cpuprofile: it must print
// "listening on ADDR", serve the contract there, and exit 0 on SIGTERM,
// leaving a CPU profile behind.
func TestMainProcess(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", childEnv+"_ARGS=-addr 127.0.0.1:0 -loops 2 -cpuprofile "+prof)
	addr, wait := startProcess(t, cmd)

	c := dial(t, addr)
	if got := c.call("echo", "main", 1.0); !reflect.DeepEqual(got, []any{"main", 1.0}) {
		t.Errorf("echo through the command: got %v", got)
	}
	c.close()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if err := wait(); err != nil {
		t.Fatalf("the command did not exit cleanly on SIGTERM: %v", err)
	}
	if st, err := os.Stat(prof); err != nil || st.Size() == 0 {
		t.Errorf("cpu profile %s: %v (size %v)", prof, err, st)
	}
}

// TestRunBadFlags checks that run refuses bad command lines.
func TestRunBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-loops", "-1"}, {"extra"}, {"-nope"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

// TestParseBurst checks bcast_burst's argument validation.
func TestParseBurst(t *testing.T) {
	good := []struct {
		in   string
		want burstArgs
	}{
		{`{"room":"r","count":3,"payload_size":2}`, burstArgs{"r", 3, 2}},
		{` {"room":"","count":0,"payload_size":0} `, burstArgs{"", 0, 0}},
		{`{"room":"r","count":1e3,"payload_size":10.0}`, burstArgs{"r", 1000, 10}},
		{`{"room":"r","count":-0,"payload_size":1000000,"extra":[1]}`, burstArgs{"r", 0, 1000000}},
		{`{"room":"r\u00e9","count":10000000,"payload_size":0}`, burstArgs{"ré", 10000000, 0}},
	}
	for _, g := range good {
		got, err := parseBurst([]byte(g.in))
		if err != nil || got != g.want {
			t.Errorf("parseBurst(%s) = %+v, %v; want %+v", g.in, got, err, g.want)
		}
	}
	bad := []struct {
		in   string
		want error
	}{
		{``, errBurstArg},
		{`null`, errBurstArg},
		{`"x"`, errBurstArg},
		{`[1]`, errBurstArg},
		{`5`, errBurstArg},
		{`{"count":1,"payload_size":1}`, errRoom},
		{`{"room":5,"count":1,"payload_size":1}`, errRoom},
		{`{"room":null,"count":1,"payload_size":1}`, errRoom},
		{`{"room":"r","payload_size":1}`, errBurstCount},
		{`{"room":"r","count":-1,"payload_size":1}`, errBurstCount},
		{`{"room":"r","count":1.5,"payload_size":1}`, errBurstCount},
		{`{"room":"r","count":"1","payload_size":1}`, errBurstCount},
		{`{"room":"r","count":null,"payload_size":1}`, errBurstCount},
		{`{"room":"r","count":10000001,"payload_size":1}`, errBurstCount},
		{`{"room":"r","count":1e400,"payload_size":1}`, errBurstCount},
		{`{"room":"r","count":1}`, errBurstSize},
		{`{"room":"r","count":1,"payload_size":-1}`, errBurstSize},
		{`{"room":"r","count":1,"payload_size":0.5}`, errBurstSize},
		{`{"room":"r","count":1,"payload_size":1000001}`, errBurstSize},
		{`{"room":"r","count":1,"payload_size":true}`, errBurstSize},
	}
	for _, b := range bad {
		if _, err := parseBurst([]byte(b.in)); err != b.want {
			t.Errorf("parseBurst(%s): got error %v, want %v", b.in, err, b.want)
		}
	}
}

// runContract checks every item of the event contract against the server
// at addr. The subtests run in order; stats runs first, so that the
// server's connection count is exactly this test's clients.
func runContract(t *testing.T, addr string) {
	t.Run("stats", func(t *testing.T) { testStats(t, addr) })
	t.Run("echo", func(t *testing.T) { testEcho(t, addr) })
	t.Run("join_bcast", func(t *testing.T) { testJoinBcast(t, addr) })
	t.Run("bcast_burst", func(t *testing.T) { testBurst(t, addr) })
	t.Run("bcast_burst_bad_args", func(t *testing.T) { testBurstBadArgs(t, addr) })
	t.Run("broadcast", func(t *testing.T) { testBroadcast(t, addr) })
}

// testStats: stats acks {rss, heapUsed, connections}, all positive, and
// connections counts the connected sockets of "/".
func testStats(t *testing.T, addr string) {
	a := dial(t, addr)
	check := func(wantConns float64) {
		t.Helper()
		reply := a.call("stats")
		if len(reply) != 1 {
			t.Fatalf("stats ack: got %v, want one object", reply)
		}
		m, ok := reply[0].(map[string]any)
		if !ok {
			t.Fatalf("stats ack: got %v, want an object", reply[0])
		}
		for _, k := range []string{"rss", "heapUsed", "connections"} {
			v, ok := m[k].(float64)
			if !ok || v <= 0 || v != math.Trunc(v) {
				t.Errorf("stats.%s = %v, want a positive integer", k, m[k])
			}
		}
		if m["connections"] != wantConns {
			t.Errorf("stats.connections = %v, want %v", m["connections"], wantConns)
		}
		if len(m) != 3 {
			t.Errorf("stats: got fields %v, want rss, heapUsed, connections", m)
		}
	}
	check(1)
	dial(t, addr)
	dial(t, addr)
	check(3)
	a.emit("stats") // no ack: nothing to answer
	a.barrier()
}

// testEcho: echo with an ack answers ack(...args); without, emit("echo",
// ...args); binary arguments come back as binary.
func testEcho(t *testing.T, addr string) {
	c := dial(t, addr)
	if got := c.call("echo", "a", 1.0); !reflect.DeepEqual(got, []any{"a", 1.0}) {
		t.Errorf(`echo("a", 1) ack: got %#v`, got)
	}
	if got := c.call("echo"); len(got) != 0 {
		t.Errorf("echo() ack: got %#v, want no arguments", got)
	}
	complexArgs := []any{
		map[string]any{"k": []any{1.0, "two", nil, true}, "n": map[string]any{"deep": -1.5}},
		"héllo \u2028 \"quoted\" \n", nil, false, []any{}, 1e21,
	}
	if got := c.call("echo", complexArgs...); !reflect.DeepEqual(got, complexArgs) {
		t.Errorf("echo(complex) ack:\n got %#v\nwant %#v", got, complexArgs)
	}

	c.emit("echo", "b", 2.0, map[string]any{"x": "y"})
	e := c.expect("echo")
	if want := []any{"b", 2.0, map[string]any{"x": "y"}}; !reflect.DeepEqual(e.args, want) {
		t.Errorf("echo without ack: got %#v, want %#v", e.args, want)
	}
	c.emit("echo")
	if e := c.expect("echo"); len(e.args) != 0 {
		t.Errorf("echo() without ack: got %#v", e.args)
	}

	bin := []any{"bin", []byte{0, 1, 2, 255}, map[string]any{"b": []byte("xyz")}}
	if got := c.call("echo", bin...); !reflect.DeepEqual(got, bin) {
		t.Errorf("echo(binary) ack: got %#v, want %#v", got, bin)
	}
	c.emit("echo", bin...)
	if e := c.expect("echo"); !reflect.DeepEqual(e.args, bin) {
		t.Errorf("echo(binary) without ack: got %#v, want %#v", e.args, bin)
	}
}

// testJoinBcast: bcast reaches every member of the room, the sender
// included when it is a member, and no one outside it.
func testJoinBcast(t *testing.T, addr string) {
	a, b, c := dial(t, addr), dial(t, addr), dial(t, addr)
	if got := a.call("join", "room1"); len(got) != 0 {
		t.Fatalf("join ack: got %v, want ack()", got)
	}
	if got := b.call("join", "room1"); len(got) != 0 {
		t.Fatalf("join ack: got %v, want ack()", got)
	}
	c.call("join", "other")

	payload := map[string]any{"hello": "room", "n": 42.0}
	if got := a.call("bcast", "room1", payload); len(got) != 0 {
		t.Fatalf("bcast ack: got %v, want ack()", got)
	}
	for _, cl := range []*sioClient{a, b} {
		if e := cl.expect("msg"); !reflect.DeepEqual(e.args, []any{payload}) {
			t.Errorf("msg: got %#v, want [%#v]", e.args, payload)
		}
	}
	c.barrier() // c is not in room1: nothing before its echo

	// Without an ack, and without a payload (sent as null).
	b.emit("bcast", "room1")
	for _, cl := range []*sioClient{a, b} {
		if e := cl.expect("msg"); !reflect.DeepEqual(e.args, []any{nil}) {
			t.Errorf("msg without payload: got %#v, want [nil]", e.args)
		}
	}
	// c, outside the room, sends to it.
	c.call("bcast", "room1", "from-outside")
	for _, cl := range []*sioClient{a, b} {
		if e := cl.expect("msg"); !reflect.DeepEqual(e.args, []any{"from-outside"}) {
			t.Errorf("msg: got %#v", e.args)
		}
	}
	c.barrier()
	// A room nobody is in.
	a.call("bcast", "empty-room", 1.0)
	a.barrier()
	b.barrier()
	c.barrier()

	// A room that is not a string is refused, on both servers.
	for _, ev := range []string{"join", "bcast"} {
		for _, room := range []any{5.0, nil} {
			got := a.call(ev, room, "x")
			if m, ok := oneObject(got); !ok || m["error"] != errRoom.Error() {
				t.Errorf("%s(%v): got %v, want {error: %q}", ev, room, got, errRoom)
			}
		}
		if m, ok := oneObject(a.call(ev)); !ok || m["error"] != errRoom.Error() {
			t.Errorf("%s(): got %v, want {error: %q}", ev, m, errRoom)
		}
	}
	a.barrier()
}

// testBurst: bcast_burst delivers count messages {seq, ts, data} to the
// room, in order, exactly once, with sane timestamps, then acks {sent, us}
// (after every message, on the requester's own connection).
func testBurst(t *testing.T, addr string) {
	a, b, c := dial(t, addr), dial(t, addr), dial(t, addr)
	a.call("join", "burst")
	b.call("join", "burst")

	const count, size = 1000, 37
	before := time.Now().UnixMicro()
	reply := a.call("bcast_burst", map[string]any{"room": "burst", "count": count, "payload_size": size})
	after := time.Now().UnixMicro()
	m, ok := oneObject(reply)
	if !ok {
		t.Fatalf("bcast_burst ack: got %v, want {sent, us}", reply)
	}
	if m["sent"] != float64(count) {
		t.Errorf("bcast_burst ack: sent = %v, want %d", m["sent"], count)
	}
	if us, ok := m["us"].(float64); !ok || us < 0 || us != math.Trunc(us) || us > float64(after-before) {
		t.Errorf("bcast_burst ack: us = %v, want an integer in [0, %d]", m["us"], after-before)
	}
	if len(a.events) != count {
		t.Errorf("the requester (in the room) had %d messages when the ack arrived, want %d", len(a.events), count)
	}
	for _, cl := range []*sioClient{a, b} {
		checkBurst(t, cl, count, size, before, after)
	}
	c.barrier() // not in the room

	// count 0, no data, no ack.
	got := b.call("bcast_burst", map[string]any{"room": "burst", "count": 0, "payload_size": 0})
	if m, ok := oneObject(got); !ok || m["sent"] != 0.0 || len(m) != 2 {
		t.Errorf("empty burst ack: got %v, want {sent: 0, us}", got)
	} else if us, ok := m["us"].(float64); !ok || us < 0 {
		t.Errorf("empty burst ack: us = %v", m["us"])
	}
	b.emit("bcast_burst", map[string]any{"room": "burst", "count": 5, "payload_size": 0})
	for _, cl := range []*sioClient{a, b} {
		checkBurst(t, cl, 5, 0, before, time.Now().UnixMicro()+5e6)
	}
}

// checkBurst reads count burst messages from c and checks them: seq
// 0..count-1 in order, ts non-decreasing within [before-1s, after+1s], data
// size × "x".
func checkBurst(t *testing.T, c *sioClient, count, size int, before, after int64) {
	t.Helper()
	data := strings.Repeat("x", size)
	var last float64
	for i := range count {
		e := c.expect("msg")
		if len(e.args) != 1 {
			t.Fatalf("burst msg %d: got %v, want one object", i, e.args)
		}
		m, ok := e.args[0].(map[string]any)
		if !ok || len(m) != 3 {
			t.Fatalf("burst msg %d: got %#v, want {seq, ts, data}", i, e.args[0])
		}
		if m["seq"] != float64(i) {
			t.Fatalf("burst msg %d: seq = %v (out of order, duplicated or lost)", i, m["seq"])
		}
		ts, ok := m["ts"].(float64)
		if !ok || ts != math.Trunc(ts) || ts < float64(before-1e6) || ts > float64(after+1e6) || ts < last {
			t.Fatalf("burst msg %d: ts = %v, want integer µs in [%d, %d], >= %v", i, m["ts"], before, after, last)
		}
		last = ts
		if m["data"] != data {
			t.Fatalf("burst msg %d: data = %.40q (len %d), want %d × x", i, m["data"], len(fmt.Sprint(m["data"])), size)
		}
	}
	c.barrier() // exactly count: nothing more follows
}

// testBurstBadArgs: a bad bcast_burst argument acks {error} and sends
// nothing.
func testBurstBadArgs(t *testing.T, addr string) {
	a := dial(t, addr)
	a.call("join", "bad")
	bad := []any{
		nil,
		"x",
		[]any{1.0},
		map[string]any{"count": 1, "payload_size": 1},
		map[string]any{"room": 5, "count": 1, "payload_size": 1},
		map[string]any{"room": "bad", "payload_size": 1},
		map[string]any{"room": "bad", "count": -1, "payload_size": 1},
		map[string]any{"room": "bad", "count": 1.5, "payload_size": 1},
		map[string]any{"room": "bad", "count": "3", "payload_size": 1},
		map[string]any{"room": "bad", "count": 10_000_001, "payload_size": 1},
		map[string]any{"room": "bad", "count": 1},
		map[string]any{"room": "bad", "count": 1, "payload_size": -1},
		map[string]any{"room": "bad", "count": 1, "payload_size": 2.5},
		map[string]any{"room": "bad", "count": 1, "payload_size": 1_000_001},
	}
	for _, arg := range bad {
		got := a.call("bcast_burst", arg)
		m, ok := oneObject(got)
		msg, _ := m["error"].(string)
		if !ok || msg == "" || len(m) != 1 {
			t.Errorf("bcast_burst(%v): got %v, want {error: \"...\"}", arg, got)
		}
	}
	// No argument at all.
	if m, ok := oneObject(a.call("bcast_burst")); !ok || m["error"] != errBurstArg.Error() {
		t.Errorf("bcast_burst(): got %v, want {error: %q}", m, errBurstArg)
	}
	a.barrier() // nothing was sent to the room
}

// testBroadcast: broadcast reaches every other socket with the same
// arguments, not the sender.
func testBroadcast(t *testing.T, addr string) {
	a, b, c := dial(t, addr), dial(t, addr), dial(t, addr)
	args := []any{"hi", 3.0, map[string]any{"z": []any{true}}}
	if got := a.call("broadcast", args...); len(got) != 0 {
		t.Fatalf("broadcast ack: got %v, want ack()", got)
	}
	for _, cl := range []*sioClient{b, c} {
		if e := cl.expect("broadcast"); !reflect.DeepEqual(e.args, args) {
			t.Errorf("broadcast: got %#v, want %#v", e.args, args)
		}
	}
	a.barrier() // not to self

	b.emit("broadcast") // no ack, no args
	for _, cl := range []*sioClient{a, c} {
		if e := cl.expect("broadcast"); len(e.args) != 0 {
			t.Errorf("broadcast(): got %#v", e.args)
		}
	}
	b.barrier()

	bin := []any{[]byte{9, 8, 7}}
	c.call("broadcast", bin...)
	for _, cl := range []*sioClient{a, b} {
		if e := cl.expect("broadcast"); !reflect.DeepEqual(e.args, bin) {
			t.Errorf("broadcast(binary): got %#v, want %#v", e.args, bin)
		}
	}
	c.barrier()
}

// oneObject returns the single object argument of an ack.
func oneObject(reply []any) (map[string]any, bool) {
	if len(reply) != 1 {
		return nil, false
	}
	m, ok := reply[0].(map[string]any)
	return m, ok
}

// startProcess starts cmd, waits for its "listening on ADDR" line and
// returns ADDR and a function waiting for the process to exit. The process
// is killed at the test's end if it still runs.
func startProcess(t *testing.T, cmd *exec.Cmd) (addr string, wait func() error) {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		for sc.Scan() { // drain
		}
		exited <- cmd.Wait()
	}()
	var waitErr error
	waited := false
	wait = func() error {
		if !waited {
			select {
			case waitErr = <-exited:
			case <-time.After(20 * time.Second):
				waitErr = fmt.Errorf("still running 20 s later")
				_ = cmd.Process.Kill()
				<-exited
			}
			waited = true
		}
		if waitErr != nil {
			return fmt.Errorf("%w; stderr:\n%s", waitErr, stderr.String())
		}
		return nil
	}
	t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = wait()
		}
	})
	select {
	case line, ok := <-lines:
		addr, found := strings.CutPrefix(line, "listening on ")
		if !ok || !found || addr == "" {
			_ = cmd.Process.Kill()
			t.Fatalf("%v: got first line %q, want \"listening on ADDR\"; %v", cmd.Args, line, wait())
		}
		return addr, wait
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("%v: no \"listening on\" line within 60 s; %v", cmd.Args, wait())
	}
	return "", nil
}

// nodeDir is the Node twin's folder, relative to this package.
const nodeDir = "../node"

// stampName records, in node_modules, the digest of the package-lock.json
// that `npm ci` installed, so that it runs again only when the lock changes.
const stampName = ".riptide-bench-stamp"

// startNode installs the Node twin's dependencies (`npm ci`, when the lock
// changed since the last install), starts `node server.js 0` and returns
// its address. It skips the test when node is missing and fails it when
// npm is missing or fails.
func startNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found in PATH: the Node twin is not checked")
	}
	dir, err := filepath.Abs(nodeDir)
	if err != nil {
		t.Fatal(err)
	}
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatalf("read the Node twin's lock: %v", err)
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])
	stamp := filepath.Join(dir, "node_modules", stampName)
	if b, err := os.ReadFile(stamp); err != nil || string(b) != want {
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Fatalf("node is installed but npm is not: cannot install the Node twin's dependencies: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s failed: %v\n%s", dir, err, out)
		}
		if err := os.WriteFile(stamp, []byte(want), 0o644); err != nil {
			t.Fatalf("write %s: %v", stamp, err)
		}
	}
	cmd := exec.Command(node, "server.js", "0")
	cmd.Dir = dir
	addr, wait := startProcess(t, cmd)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := wait(); err != nil {
			t.Errorf("the Node twin did not exit cleanly on SIGTERM: %v", err)
		}
	})
	return addr
}

// TestBigBurst sends a burst of 100,000 messages to one receiver on both
// servers and checks that every message arrives, in order: far more than
// one loop turn writes at once (writev takes at most IOV_MAX buffers, and
// the burst's goroutine is paced by the loop's queue).
func TestBigBurst(t *testing.T) {
	const count, size = 100_000, 100
	run := func(t *testing.T, addr string) {
		a, b := dial(t, addr), dial(t, addr)
		b.call("join", "big")
		before := time.Now().UnixMicro()
		reply := a.call("bcast_burst", map[string]any{"room": "big", "count": count, "payload_size": size})
		if m, ok := oneObject(reply); !ok || m["sent"] != float64(count) {
			t.Fatalf("bcast_burst ack: got %v, want {sent: %d, us}", reply, count)
		}
		checkBurst(t, b, count, size, before, time.Now().UnixMicro()+60e6)
	}
	t.Run("go", func(t *testing.T) { run(t, startInProcess(t)) })
	t.Run("node", func(t *testing.T) { run(t, startNode(t)) })
}
