// Package interop drives the Node.js interop harness in testdata/: scenario
// scripts built on the official engine.io-client and socket.io-client, and the
// Node reference twin servers the scripts are validated against.
//
// It is a test helper package: nothing happens at import time. A typical test
// against a Go server:
//
//	url := startRiptideEchoServer(t) // e.g. "http://127.0.0.1:41234"
//	for _, sc := range interop.EngineScenarios {
//		for _, tr := range sc.Transports {
//			t.Run(sc.Name+"/"+tr, func(t *testing.T) {
//				t.Parallel()
//				res := interop.Run(t, "eio_client.js", url, sc.Name, tr)
//				t.Log(res.Line)
//			})
//		}
//	}
//
// Long-running scripts driven request by request over stdin/stdout, such as the
// Redis cluster node cluster_peer.js (testdata/cluster_peer.md), are started
// with StartNode, which returns a Proc.
//
// The servers the scripts talk to must follow testdata/CONTRACT.md. Node and
// npm must be installed; Setup runs `npm ci` in testdata/ when needed and fails
// the test (never skips) when that is impossible.
package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Transport names accepted by the scenario scripts.
const (
	// WebSocket only (transports: ["websocket"]).
	TransportWebSocket = "websocket"
	// HTTP long-polling only (transports: ["polling"], no upgrade).
	TransportPolling = "polling"
	// Polling first, then the upgrade to WebSocket (the client default).
	TransportUpgrade = "upgrade"
)

// Ping settings for an Engine.IO echo server used with eio_client.js.
//
// CONTRACT.md's echo server pings every 300 ms. The pong deadline is the only
// timing-fragile setting: with the official suites' 200 ms (the Node twin's
// default) a loaded machine misses a pong now and then (measured: ~15% of
// "heartbeat" runs at load 12 on 2 cores) and the server then rightly closes
// the session. The scripts read both values from the handshake and check
// everything relative to them, so the reference tests use EchoPingTimeout, and
// Go echo servers driven by the harness should too.
const (
	EchoPingInterval = 300 * time.Millisecond
	EchoPingTimeout  = 1000 * time.Millisecond
	EchoMaxPayload   = 1_000_000 // required: the limit scenarios depend on it
)

// Transports lists every transport mode, in the order tests usually run them.
var Transports = []string{TransportWebSocket, TransportPolling, TransportUpgrade}

// Scenario is one scenario of a client script and the transports it runs on.
type Scenario struct {
	Name       string
	Transports []string
}

// EngineScenarios are the scenarios of eio_client.js (engine.io-client against
// the bare Engine.IO echo server of CONTRACT.md at /engine.io/).
//
// TestScenarioListsMatchScripts keeps this list equal to `node eio_client.js --list`.
var EngineScenarios = []Scenario{
	{"text", Transports},                    // UTF-8 text round trip (empty, multi-byte, emoji, NUL)
	{"binary", Transports},                  // binary round trip, byte equality, text/binary interleaved
	{"many", Transports},                    // 500 mixed messages back to back, order preserved
	{"large", Transports},                   // 900 KB text + large binary + a message of exactly maxPayload bytes
	{"over-limit", Transports},              // maxPayload+1 bytes: server refuses, client sees close
	{"upgrade", []string{TransportUpgrade}}, // polling -> websocket, ordering across the switch
	{"client-close", Transports},            // client closes; server must drop the session
	{"server-close", Transports},            // "close-me": server closes; client sees "transport close"
	{"heartbeat", Transports},               // 3 pings answered, session stays open
	{"ping-timeout", Transports},            // client drops pongs; server closes ~pingTimeout after the ping
}

// SocketScenarios are the scenarios of sio_client.js (socket.io-client against
// a server implementing the event contract of CONTRACT.md at /socket.io/).
//
// TestScenarioListsMatchScripts keeps this list equal to `node sio_client.js --list`.
var SocketScenarios = []Scenario{
	{"connect", Transports},           // "/" with auth + query + header; auth echoed; handshake ack
	{"connect-custom", Transports},    // "/" and "/custom" multiplexed on one engine
	{"connect-dynamic", Transports},   // /dyn-123 via regex; /dyn-abc is invalid
	{"invalid-namespace", Transports}, // connect_error "Invalid namespace", connection survives
	{"refused", Transports},           // connect_error "Not authorized" + data {code:42}
	{"args", Transports},              // many argument types via ack and emit-back
	{"binary", Transports},            // binary attachments both ways, nested, many
	{"acks", Transports},              // acks both ways + timeouts
	{"rooms", Transports},             // to / except / broadcast / union without duplicates
	{"volatile", Transports},          // volatile emits: at most once, in order
	{"server-ops", Transports},        // fetchSockets / socketsJoin / socketsLeave / disconnectSockets
	{"disconnect", Transports},        // "io server disconnect" / "io client disconnect"
	{"reconnect", Transports},         // engine closed by server -> automatic reconnection
	{"many-clients", Transports},      // 50 clients in one process
}

const (
	npmTimeout    = 5 * time.Minute
	nodeTimeout   = 120 * time.Second // scripts enforce their own (shorter) hard timeouts
	listenTimeout = 20 * time.Second
	stampFile     = ".riptide-interop-stamp"
)

var (
	setupMu   sync.Mutex
	setupDone string // testdata dir once installed in this process
)

// Dir returns the absolute path of the harness folder (testdata/ next to this
// file), or of $RIPTIDE_INTEROP_DIR when set. It does not install anything.
func Dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("RIPTIDE_INTEROP_DIR"); d != "" {
		abs, err := filepath.Abs(d)
		if err != nil {
			t.Fatalf("interop: RIPTIDE_INTEROP_DIR=%q: %v", d, err)
		}
		return abs
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		d := filepath.Join(filepath.Dir(file), "testdata")
		if fileExists(filepath.Join(d, "package.json")) {
			return d
		}
	}
	// Built with -trimpath or moved: look for the module root above the cwd.
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		if fileExists(filepath.Join(d, "go.mod")) {
			cand := filepath.Join(d, "internal", "interop", "testdata")
			if fileExists(filepath.Join(cand, "package.json")) {
				return cand
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	t.Fatalf("interop: cannot find internal/interop/testdata (set RIPTIDE_INTEROP_DIR)")
	return ""
}

// Setup makes sure node and npm exist and that testdata/node_modules matches
// package-lock.json, running `npm ci` at most once per process (and, through a
// file lock, once across the test binaries of a `go test ./...` run). It returns
// the testdata directory. Any problem fails the test loudly; it never skips.
func Setup(t testing.TB) (dir string) {
	t.Helper()
	setupMu.Lock()
	defer setupMu.Unlock()
	if setupDone != "" {
		return setupDone
	}
	dir = Dir(t)
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("interop: %q not found in PATH (%v).\n"+
				"The interop tests need Node.js >= 18 and npm: install them (e.g. apt-get install nodejs npm); "+
				"these tests are never skipped.", tool, err)
		}
	}
	out, err := exec.Command("node", "-e", "process.stdout.write(process.versions.node)").CombinedOutput()
	if err != nil {
		t.Fatalf("interop: node does not run: %v\n%s", err, out)
	}
	var major int
	fmt.Sscanf(string(out), "%d", &major)
	if major < 18 {
		t.Fatalf("interop: node %s is too old, need >= 18", out)
	}

	want, err := lockDigest(dir)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	stamp := filepath.Join(dir, "node_modules", stampFile)
	if b, err := os.ReadFile(stamp); err == nil && string(b) == want {
		setupDone = dir
		return dir
	}

	unlock, err := lockFile(filepath.Join(dir, ".npm-ci.lock"))
	if err != nil {
		t.Fatalf("interop: locking %s: %v", dir, err)
	}
	defer unlock()
	// Another process may have installed while we waited for the lock.
	if b, err := os.ReadFile(stamp); err == nil && string(b) == want {
		setupDone = dir
		return dir
	}
	ctx, cancel := context.WithTimeout(context.Background(), npmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	start := time.Now()
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("interop: `npm ci` in %s failed after %v: %v\n"+
			"---- npm output ----\n%s\n--------------------\n"+
			"The interop tests need the npm registry (or a warm npm cache) to install testdata/package-lock.json.",
			dir, time.Since(start).Round(time.Millisecond), err, out)
	}
	if err := os.WriteFile(stamp, []byte(want), 0o644); err != nil {
		t.Fatalf("interop: writing %s: %v", stamp, err)
	}
	t.Logf("interop: npm ci in %s took %v", dir, time.Since(start).Round(time.Millisecond))
	setupDone = dir
	return dir
}

// lockDigest identifies the wanted install: package.json + package-lock.json + node version.
func lockDigest(dir string) (string, error) {
	h := sha256.New()
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", f, err)
		}
		h.Write(b)
		h.Write([]byte{0})
	}
	v, _ := exec.Command("node", "--version").Output()
	h.Write(bytes.TrimSpace(v))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Result is the decoded JSON line a scenario script printed.
type Result struct {
	Line   string         // the raw JSON line
	Fields map[string]any // the decoded object
}

// Str returns a top-level string field ("" when absent or not a string).
func (r Result) Str(key string) string {
	s, _ := r.Fields[key].(string)
	return s
}

// Decode unmarshals the JSON line into v.
func (r Result) Decode(v any) error { return json.Unmarshal([]byte(r.Line), v) }

// TryRunNode runs `node script args...` in the harness folder with a timeout and
// returns its stdout, stderr and the error (non-nil for a non-zero exit). It
// does not fail the test by itself, except when Setup fails.
func TryRunNode(t testing.TB, script string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	dir := Setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	var so, se bytes.Buffer
	cmd.Stdout = &so
	cmd.Stderr = &se
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("killed after %v: %w", nodeTimeout, err)
	}
	return so.Bytes(), se.Bytes(), err
}

// RunNode runs a scenario script (`node script args...`, e.g.
// RunNode(t, "eio_client.js", url, "text", "polling")) and returns its result
// line (the last non-empty stdout line, a JSON object with "ok":true). A
// non-zero exit, a timeout or an "ok":false result fails the test with the
// script's stderr and stdout. Call it from the test's goroutine.
func RunNode(t testing.TB, script string, args ...string) (stdout []byte) {
	t.Helper()
	so, se, err := TryRunNode(t, script, args...)
	cmdline := "node " + script + " " + strings.Join(args, " ")
	if err != nil {
		t.Fatalf("interop: %s: %v\n---- stderr ----\n%s\n---- stdout ----\n%s", cmdline, err, se, so)
	}
	line := lastLine(so)
	var res struct {
		OK *bool `json:"ok"`
	}
	if jerr := json.Unmarshal(line, &res); jerr != nil || res.OK == nil {
		t.Fatalf("interop: %s: last stdout line is not a result object (%v)\n---- stdout ----\n%s\n---- stderr ----\n%s", cmdline, jerr, so, se)
	}
	if !*res.OK {
		t.Fatalf("interop: %s: exit 0 but result not ok: %s\n---- stderr ----\n%s", cmdline, line, se)
	}
	return line
}

// Run is RunNode with the result decoded.
func Run(t testing.TB, script string, args ...string) Result {
	t.Helper()
	line := RunNode(t, script, args...)
	r := Result{Line: string(line)}
	if err := json.Unmarshal(line, &r.Fields); err != nil {
		t.Fatalf("interop: decoding %s: %v", line, err)
	}
	return r
}

func lastLine(b []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		if l := bytes.TrimSpace(lines[i]); len(l) > 0 {
			return l
		}
	}
	return nil
}

// lockedBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// StartNodeServer starts a Node reference twin (`node script 0 args...`) on a
// free 127.0.0.1 port, waits until it prints "LISTENING <url>" and returns that
// base URL (e.g. "http://127.0.0.1:41234"). The server is stopped at
// t.Cleanup; if it died before that, the test is marked failed with its output.
func StartNodeServer(t testing.TB, script string, args ...string) (url string) {
	t.Helper()
	dir := Setup(t)
	cmd := exec.Command("node", append([]string{script, "0"}, args...)...)
	cmd.Dir = dir
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("interop: starting node %s: %v", script, err)
	}
	stdout := &lockedBuffer{}
	urlCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			stdout.Write([]byte(line + "\n"))
			if !sent && strings.HasPrefix(line, "LISTENING ") {
				urlCh <- strings.TrimSpace(strings.TrimPrefix(line, "LISTENING "))
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	select {
	case url = <-urlCh:
	case err := <-exited:
		t.Fatalf("interop: node %s exited before listening: %v\n---- stderr ----\n%s\n---- stdout ----\n%s", script, err, stderr, stdout)
	case <-time.After(listenTimeout):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("interop: node %s did not print LISTENING within %v\n---- stderr ----\n%s\n---- stdout ----\n%s", script, listenTimeout, stderr, stdout)
	}

	t.Cleanup(func() {
		select {
		case err := <-exited:
			t.Errorf("interop: reference server node %s died during the test: %v\n---- stderr ----\n%s", script, err, stderr)
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if s := stderr.String(); strings.TrimSpace(s) != "" {
			t.Logf("interop: stderr of node %s:\n%s", script, s)
		}
	})
	return url
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Proc is a long-running Node script driven line by line: JSON requests on its
// stdin, JSON replies and unsolicited event lines on its stdout (the protocol of
// cluster_peer.js, see testdata/cluster_peer.md). Stdout lines carrying an "id"
// are replies to Call; every other JSON line is an event, kept in arrival order
// in a log that Events and WaitEvent read. Methods are goroutine-safe except
// Do, which fails the test and so belongs on the test's goroutine.
type Proc struct {
	t      testing.TB
	script string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	wmu    sync.Mutex // one request line per write, even from several goroutines
	stderr *lockedBuffer
	stdout *lockedBuffer
	exited chan struct{} // closed when the process is gone and stdout is drained
	err    error         // Wait's result, valid after exited

	// Hello is the first JSON line the script printed (cluster_peer.js:
	// {"event":"listening","url":...}); StartNode returns once it arrived.
	Hello Result

	mu       sync.Mutex
	nextID   int
	pending  map[int]chan Result
	events   []Result
	changed  chan struct{} // closed and replaced whenever events grows or the process exits
	stopping bool          // Quit or Kill was called: exiting is expected
}

// DefaultCallTimeout bounds Call and Do when the request has no "timeout" of
// its own; with one, the wait is that many ms plus this.
const DefaultCallTimeout = 15 * time.Second

// StartNode starts `node script args...` in the harness folder and waits (up to
// 20 s) for its first JSON line on stdout, which it keeps as p.Hello. The script
// must print such a line once it is ready for requests. At t.Cleanup the process
// gets SIGTERM (SIGKILL 3 s later); if it died on its own before that, the test
// fails with its stderr. Call it from the test's goroutine.
func StartNode(t testing.TB, script string, args ...string) *Proc {
	t.Helper()
	dir := Setup(t)
	p := &Proc{
		t:       t,
		script:  script,
		stderr:  &lockedBuffer{},
		stdout:  &lockedBuffer{},
		exited:  make(chan struct{}),
		pending: map[int]chan Result{},
		changed: make(chan struct{}),
	}
	p.cmd = exec.Command("node", append([]string{script}, args...)...)
	p.cmd.Dir = dir
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatalf("interop: %v", err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("interop: starting node %s: %v", script, err)
	}
	hello := make(chan Result, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		first := true
		for sc.Scan() {
			line := append([]byte(nil), sc.Bytes()...)
			p.stdout.Write(append(line, '\n'))
			r := Result{Line: string(line)}
			if json.Unmarshal(line, &r.Fields) != nil || r.Fields == nil {
				continue // not a JSON object: only in the stdout log
			}
			if first {
				first = false
				hello <- r
				continue
			}
			p.dispatch(r)
		}
		_, _ = io.Copy(io.Discard, out)
		p.err = p.cmd.Wait()
		p.mu.Lock()
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
		close(p.exited)
	}()

	select {
	case p.Hello = <-hello:
	case <-p.exited:
		t.Fatalf("interop: node %s %s exited before its first line: %v\n---- stderr ----\n%s\n---- stdout ----\n%s",
			script, strings.Join(args, " "), p.err, p.stderr, p.stdout)
	case <-time.After(listenTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Fatalf("interop: node %s printed nothing within %v\n---- stderr ----\n%s\n---- stdout ----\n%s", script, listenTimeout, p.stderr, p.stdout)
	}

	t.Cleanup(func() {
		p.mu.Lock()
		expected := p.stopping
		p.stopping = true
		p.mu.Unlock()
		select {
		case <-p.exited:
			if !expected {
				t.Errorf("interop: node %s died during the test: %v\n---- stderr ----\n%s", script, p.err, p.stderr)
				return
			}
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(3 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.exited
			}
		}
		if t.Failed() {
			t.Logf("interop: node %s (pid %d)\n---- stderr ----\n%s\n---- stdout ----\n%s", script, p.cmd.Process.Pid, p.stderr, p.stdout)
		}
	})
	return p
}

// dispatch routes one stdout object: a reply to its waiting Call, anything else
// to the event log.
func (p *Proc) dispatch(r Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if idv, ok := r.Fields["id"].(float64); ok {
		if ch, ok := p.pending[int(idv)]; ok {
			delete(p.pending, int(idv))
			ch <- r
			return
		}
	}
	p.events = append(p.events, r)
	close(p.changed)
	p.changed = make(chan struct{})
}

// Call sends req (a fresh "id" is added) and waits for the reply with that id.
// It returns the reply and a non-nil error when the reply says "ok":false (the
// error is its "error" text, the reply still carries its other fields, e.g.
// "replies"), when the process exited or when no reply came within
// DefaultCallTimeout (plus req["timeout"] ms when set).
func (p *Proc) Call(req map[string]any) (Result, error) {
	msg := make(map[string]any, len(req)+1)
	for k, v := range req {
		msg[k] = v
	}
	ch := make(chan Result, 1)
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	msg["id"] = id
	p.pending[id] = ch
	p.mu.Unlock()
	line, err := json.Marshal(msg)
	if err != nil {
		p.forget(id)
		return Result{}, fmt.Errorf("interop: encoding request: %w", err)
	}
	wait := DefaultCallTimeout
	switch ms := req["timeout"].(type) {
	case int:
		wait += time.Duration(ms) * time.Millisecond
	case int64:
		wait += time.Duration(ms) * time.Millisecond
	case float64:
		wait += time.Duration(ms * float64(time.Millisecond))
	}
	// The write goes through the pipe buffer; a stuck process shows as a timeout.
	p.wmu.Lock()
	_, err = p.stdin.Write(append(line, '\n'))
	p.wmu.Unlock()
	if err != nil {
		p.forget(id)
		return Result{}, fmt.Errorf("interop: node %s: writing request: %w", p.script, err)
	}
	select {
	case r := <-ch:
		if ok, _ := r.Fields["ok"].(bool); !ok {
			return r, fmt.Errorf("%s failed: %s", opName(req), r.Str("error"))
		}
		return r, nil
	case <-p.exited:
		p.forget(id)
		return Result{}, fmt.Errorf("interop: node %s exited (%v) before replying to %s", p.script, p.err, line)
	case <-time.After(wait):
		p.forget(id)
		return Result{}, fmt.Errorf("interop: node %s: no reply within %v to %s", p.script, wait, line)
	}
}

func opName(req map[string]any) string {
	if op, ok := req["op"].(string); ok {
		return op
	}
	return "request"
}

func (p *Proc) forget(id int) {
	p.mu.Lock()
	delete(p.pending, id)
	p.mu.Unlock()
}

// Do is Call that fails the test (t.Fatalf, with the script's stderr) on any
// error. Call it from the test's goroutine.
func (p *Proc) Do(req map[string]any) Result {
	p.t.Helper()
	r, err := p.Call(req)
	if err != nil {
		p.t.Fatalf("interop: node %s: %v\nreply: %s\n---- stderr ----\n%s", p.script, err, r.Line, p.stderr)
	}
	return r
}

// Events returns a copy of the event log (every non-reply JSON line so far, in
// arrival order), filtered by match when it is not nil.
func (p *Proc) Events(match func(Result) bool) []Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Result
	for _, e := range p.events {
		if match == nil || match(e) {
			out = append(out, e)
		}
	}
	return out
}

// WaitEvent waits up to d until the event log holds at least n events matching
// match, and returns the first n of them. The log is never consumed: a later
// WaitEvent sees the same events again, so tests give their events distinct
// names or arguments. It fails when the process exits first.
func (p *Proc) WaitEvent(d time.Duration, n int, match func(Result) bool) ([]Result, error) {
	deadline := time.After(d)
	for {
		p.mu.Lock()
		var got []Result
		for _, e := range p.events {
			if match(e) {
				got = append(got, e)
				if len(got) == n {
					break
				}
			}
		}
		changed := p.changed
		p.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-changed:
		case <-p.exited:
			return got, fmt.Errorf("interop: node %s exited (%v) while %d/%d events matched", p.script, p.err, len(got), n)
		case <-deadline:
			return got, fmt.Errorf("interop: node %s: %d/%d matching events within %v", p.script, len(got), n, d)
		}
	}
}

// Stderr returns what the process wrote to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// Stdout returns every stdout line so far (replies, events, anything else).
func (p *Proc) Stdout() string { return p.stdout.String() }

// Exited is closed once the process has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Quit asks the script to stop ({"op":"quit"}) and waits up to 5 s for it to
// exit, then kills it. Exiting this way does not fail the test.
func (p *Proc) Quit() {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	_, _ = p.Call(map[string]any{"op": "quit"})
	_ = p.stdin.Close()
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// Kill sends SIGKILL (a crashed node: no adapter close, sockets reset) and
// waits for the exit. Exiting this way does not fail the test.
func (p *Proc) Kill() {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	_ = p.cmd.Process.Kill()
	<-p.exited
}
