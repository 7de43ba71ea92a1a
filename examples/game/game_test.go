package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/riptide-io/riptide/internal/webdeps"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

const (
	e2eTimeout = 60 * time.Second // e2e.js stops itself after 40 s
)

// TestTwoPlayers: two WebSocket clients join the same game; each moves and
// the other sees it in the broadcast state. A player of another game sees
// neither.
func TestTwoPlayers(t *testing.T) {
	addr := startServer(t, "")
	alice, bob, carol := dialGame(t, addr), dialGame(t, addr), dialGame(t, addr)

	var wa, wb, wc welcome
	alice.call(t, `"join",{"room":"Duel-1","name":"alice"}`, &wa)
	bob.call(t, `"join",{"room":"duel-1","name":"  bob  "}`, &wb)
	carol.call(t, `"join",{"room":"other","name":"carol"}`, &wc)
	if !wa.OK || wa.Room != "duel-1" || wa.Name != "alice" || wa.TickRate != 30 || wa.Arena.W != arenaW || wa.ID == "" {
		t.Fatalf("alice's welcome: %+v", wa)
	}
	if !wb.OK || wb.Room != "duel-1" || wb.Name != "bob" || wb.Color == wa.Color {
		t.Fatalf("bob's welcome: %+v (alice's color %s)", wb, wa.Color)
	}

	// Both see both.
	st := bob.waitState(t, "both players", func(st state) bool { return len(st.Players) == 2 })
	a0, _ := find(st, wa.ID)
	alice.waitState(t, "both players", func(st state) bool { return len(st.Players) == 2 })

	// Alice holds right (left if she is near the right wall), and up: bob
	// sees her x change.
	dx, xdir := 1.0, "right"
	if a0.X > arenaW/2 {
		dx, xdir = -1, "left"
	}
	alice.send(t, `42["input",{"`+xdir+`":true,"up":true}]`)
	bob.waitState(t, "alice moving "+xdir, func(st state) bool {
		a, ok := find(st, wa.ID)
		return ok && (a.X-a0.X)*dx > 40
	})
	alice.send(t, `42["input",{}]`)

	// Bob holds down: alice sees his y grow (unless he started near the
	// bottom wall: then up).
	b0, _ := find(alice.waitState(t, "any", func(state) bool { return true }), wb.ID)
	dir, grow := "down", 1.0
	if b0.Y > arenaH/2 {
		dir, grow = "up", -1
	}
	bob.send(t, `42["input",{"`+dir+`":true}]`)
	alice.waitState(t, "bob moving "+dir, func(st state) bool {
		b, ok := find(st, wb.ID)
		return ok && (b.Y-b0.Y)*grow > 40
	})

	// The loop runs at ~30 Hz (measured on the server's clock), positions
	// stay in the arena.
	first := alice.waitState(t, "any", func(state) bool { return true })
	last := alice.waitState(t, "a second later", func(st state) bool { return st.TS-first.TS >= 1000 })
	if hz := float64(last.Tick-first.Tick) * 1000 / float64(last.TS-first.TS); hz < 20 || hz > 40 {
		t.Errorf("%d ticks in %d ms: %.1f Hz, want ~30", last.Tick-first.Tick, last.TS-first.TS, hz)
	}
	for _, p := range last.Players {
		if p.X < playerRadius || p.X > arenaW-playerRadius || p.Y < playerRadius || p.Y > arenaH-playerRadius {
			t.Errorf("%s out of the arena: %+v", p.Name, p)
		}
	}

	// Carol's game is her own.
	cs := carol.waitState(t, "carol alone", func(st state) bool { return len(st.Players) == 1 })
	if cs.Players[0].ID != wc.ID {
		t.Fatalf("carol's game: %+v", cs)
	}

	// Bob leaves (closes): alice is alone again.
	bob.c.Close()
	alice.waitState(t, "bob gone", func(st state) bool { return len(st.Players) == 1 })

	// Bad requests are answered.
	var f failure
	carol.call(t, `"join",{"room":"no spaces","name":"x"}`, &f)
	if f.OK || f.Error == "" {
		t.Fatalf("bad room: %+v", f)
	}
	fresh := dialGame(t, addr)
	fresh.call(t, `"input",{"up":true}`, &f)
	if f.OK || f.Error == "" {
		t.Fatalf("input before join: %+v", f)
	}
}

func find(st state, id string) (playerState, bool) {
	for _, p := range st.Players {
		if p.ID == id {
			return p, true
		}
	}
	return playerState{}, false
}

// TestStep checks the simulation: speed, diagonals, walls, the coin.
func TestStep(t *testing.T) {
	g := &game{rng: rand.New(rand.NewPCG(1, 2))}
	p := &player{x: 100, y: 100}
	g.players = []*player{p}
	g.coin = point{X: 900, Y: 500}
	p.input.Store(keyRight)
	for range tickRate {
		g.step(1.0 / tickRate)
	}
	if math.Abs(p.x-(100+speed)) > 0.01 || p.y != 100 {
		t.Fatalf("after a second right: %v,%v want %v,100", p.x, p.y, 100+speed)
	}
	p.input.Store(keyDown | keyLeft)
	g.step(0.5)
	if d := math.Hypot(p.x-(100+speed), p.y-100); math.Abs(d-speed/2) > 0.01 {
		t.Fatalf("diagonal moved %v in 0.5 s, want %v", d, speed/2)
	}
	p.input.Store(keyUp | keyLeft)
	for range 10 * tickRate {
		g.step(1.0 / tickRate)
	}
	if p.x != playerRadius || p.y != playerRadius {
		t.Fatalf("into the corner: %v,%v", p.x, p.y)
	}
	p.input.Store(0)
	g.coin = point{X: p.x + playerRadius, Y: p.y}
	g.step(1.0 / tickRate)
	if p.score != 1 || math.Hypot(g.coin.X-p.x, g.coin.Y-p.y) < 3*playerRadius {
		t.Fatalf("pickup: score %d, coin %+v", p.score, g.coin)
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{"": "arena", " Duel-1 ": "duel-1", "a_b": "a_b", "a b": "", "x/y": "", strings.Repeat("r", 25): ""} {
		got, err := cleanRoom(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("cleanRoom(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"  ada   lovelace ": "ada lovelace", "x\x00y": "x y", strings.Repeat("n", 20): strings.Repeat("n", 16)} {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPage checks what the Fallback handler serves next to Socket.IO.
func TestPage(t *testing.T) {
	dir := webDeps(t)
	url := "http://" + startServer(t, dir)
	wantJS, err := os.ReadFile(filepath.Join(dir, clientJS))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, ctype, contains string
		status                int
	}{
		{"/", "text/html", `<canvas id="arena"`, 200},
		{"/app.js", "text/javascript", `socket.on("state"`, 200},
		{"/style.css", "text/css", "#arena", 200},
		{"/favicon.svg", "image/svg+xml", "<svg", 200},
		{"/socket.io.min.js", "text/javascript", string(wantJS), 200},
		{"/package.json", "", "", 404},
	} {
		resp, err := http.Get(url + c.path)
		if err != nil {
			t.Fatalf("GET %s: %v", c.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("GET %s: status %d, want %d", c.path, resp.StatusCode, c.status)
			continue
		}
		if c.status == 200 && (!strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(body), c.contains)) {
			t.Errorf("GET %s: %s, body without %.40q", c.path, resp.Header.Get("Content-Type"), c.contains)
		}
	}
}

// TestBrowser runs web/e2e.js: two headless Chromium pages (Debian's,
// installed with apt-get when missing) join the same game through the real
// socket.io-client; each moves with the arrow keys and the other draws it
// there; no page error. It saves the screenshot to docs/game.png at the
// repository root. It fails, never skips, when it cannot run.
func TestBrowser(t *testing.T) {
	dir := webDeps(t)
	ensureChromium(t)
	if !webdeps.FileExists(filepath.Join(dir, "node_modules", "playwright-core", "package.json")) {
		t.Fatalf("playwright-core is missing from %s/node_modules: the npm install left out devDependencies (NODE_ENV=production or npm's omit=dev?)", dir)
	}
	root, err := filepath.Abs(filepath.Join(dir, "..", "..", ".."))
	if err != nil || !webdeps.FileExists(filepath.Join(root, "go.mod")) {
		t.Fatalf("cannot find the repository root above %s", dir)
	}
	docs := filepath.Join(root, "docs")
	if err := os.MkdirAll(docs, 0o755); err != nil {
		t.Fatal(err)
	}
	url := "http://" + startServer(t, dir)
	args := []string{"e2e.js", url, filepath.Join(docs, "game.png")}
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v after %v\n---- e2e.js stderr ----\n%s\n---- stdout ----\n%s",
			strings.Join(args, " "), err, time.Since(start).Round(time.Millisecond), stderr.String(), stdout.String())
	}
	line := lastLine(stdout.String())
	var res struct {
		OK bool `json:"ok"`
	}
	if err := json.Unmarshal([]byte(line), &res); err != nil || !res.OK {
		t.Fatalf("e2e.js result %q (%v)\n---- stderr ----\n%s", line, err, stderr.String())
	}
	t.Logf("e2e.js progress:\n%s", stderr.String())
	t.Logf("e2e.js: %s", line)
}

// ---- helpers ----

// startServer runs a game server on a free port until the test ends and
// returns its address.
func startServer(t *testing.T, webDir string) string {
	t.Helper()
	logs := &lockedBuffer{}
	srv := newServer(webDir, slog.New(slog.NewTextHandler(logs, nil)))
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Close()
		if t.Failed() {
			t.Logf("---- server log ----\n%s", logs.String())
		}
	})
	return srv.Addr().String()
}

// gameClient is the smallest Socket.IO client the test needs: WebSocket
// only, text packets, namespace "/".
type gameClient struct {
	c     net.Conn
	r     io.Reader
	ackID int
}

func dialGame(t *testing.T, addr string) *gameClient {
	t.Helper()
	c, br, _, err := ws.Dial(context.Background(), "ws://"+addr+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &gameClient{c: c, r: c}
	if br != nil {
		cl.r = io.MultiReader(br, c)
	}
	if p := cl.read(t); !strings.HasPrefix(p, "0{") {
		t.Fatalf("open packet: %q", p)
	}
	cl.send(t, "40")
	if p := cl.read(t); !strings.HasPrefix(p, "40{") {
		t.Fatalf("connect packet: %q", p)
	}
	return cl
}

func (cl *gameClient) send(t *testing.T, pkt string) {
	t.Helper()
	if err := wsutil.WriteClientText(cl.c, []byte(pkt)); err != nil {
		t.Fatal(err)
	}
}

// read returns the next packet, answering pings on the way.
func (cl *gameClient) read(t *testing.T) string {
	t.Helper()
	_ = cl.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		b, err := wsutil.ReadServerText(struct {
			io.Reader
			io.Writer
		}{cl.r, cl.c})
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if string(b) == "2" {
			cl.send(t, "3")
			continue
		}
		return string(b)
	}
}

// call emits an event with an acknowledgement (args: the JSON array's
// content) and decodes the ack's first argument into v.
func (cl *gameClient) call(t *testing.T, args string, v any) {
	t.Helper()
	cl.ackID++
	id := fmt.Sprint(cl.ackID)
	cl.send(t, "42"+id+"["+args+"]")
	for {
		p := cl.read(t)
		if !strings.HasPrefix(p, "43"+id+"[") {
			continue
		}
		var reply []json.RawMessage
		if err := json.Unmarshal([]byte(strings.TrimPrefix(p, "43"+id)), &reply); err != nil || len(reply) == 0 {
			t.Fatalf("ack for %s: %q (%v)", args, p, err)
		}
		if err := json.Unmarshal(reply[0], v); err != nil {
			t.Fatalf("ack for %s: %q: %v", args, reply[0], err)
		}
		return
	}
}

// waitState reads states until ok accepts one (within 5 s) and returns it.
func (cl *gameClient) waitState(t *testing.T, what string, ok func(state) bool) state {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var last state
	for time.Now().Before(deadline) {
		p := cl.read(t)
		data, found := strings.CutPrefix(p, `42["state",`)
		if !found {
			continue
		}
		var st state
		if err := json.Unmarshal([]byte(strings.TrimSuffix(data, "]")), &st); err != nil {
			t.Fatalf("state %q: %v", p, err)
		}
		if ok(st) {
			return st
		}
		last = st
	}
	t.Fatalf("waiting for %s: last state %+v", what, last)
	return state{}
}

var (
	depsMu  sync.Mutex
	depsDir string
)

// webDeps installs the page's npm dependencies once per test binary.
func webDeps(t *testing.T) string {
	t.Helper()
	depsMu.Lock()
	defer depsMu.Unlock()
	if depsDir != "" {
		return depsDir
	}
	dir, err := findWebDir("")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := ensureWebDeps(dir, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if out.Len() > 0 {
		t.Logf("%s", out.String())
	}
	depsDir = dir
	return dir
}

// ensureChromium installs Debian's chromium when missing, or fails the
// test saying why (internal/webdeps).
func ensureChromium(t *testing.T) {
	t.Helper()
	if err := webdeps.EnsureChromium(t.Logf); err != nil {
		t.Fatal(err)
	}
}

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

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
