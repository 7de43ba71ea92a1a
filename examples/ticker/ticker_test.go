package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/riptide-io/riptide/internal/webdeps"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	e2eTimeout = 60 * time.Second // e2e.js stops itself after 40 s
)

// TestClientMode runs the client mode against an in-process server for two
// seconds: every connection gets ticks for each of its symbols and for no
// other, and every order is acknowledged with an id and a fill price.
func TestClientMode(t *testing.T) {
	srv := startServer(t, serverConfig{Symbols: 20, Rate: 2000, Seed: 7})
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := runClient(ctx, clientConfig{URL: srv, Conns: 4, Subs: 5, Duration: 2 * time.Second, Orders: 2, Seed: 1}, &out)
	t.Logf("client output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Symbols != 20 || rep.Rate != 2000 {
		t.Errorf("market: %d symbols at %v ticks/s, want 20 at 2000", rep.Symbols, rep.Rate)
	}
	if rep.Wrong != 0 {
		t.Errorf("%d ticks for symbols not subscribed", rep.Wrong)
	}
	// Each subscription expects ~2000/20 × 2 s = 200 ticks.
	for i, c := range rep.PerConn {
		if len(c.Subs) != 5 {
			t.Errorf("connection %d: %d subscriptions, want 5", i, len(c.Subs))
		}
		for _, s := range c.Subs {
			if c.Ticks[s] < 20 {
				t.Errorf("connection %d: %d ticks for %s in 2 s, want ~200", i, c.Ticks[s], s)
			}
		}
		for s := range c.Ticks {
			if !slices.Contains(c.Subs, s) {
				t.Errorf("connection %d: ticks for %s, not subscribed", i, s)
			}
		}
	}
	if rep.Covered != 20 {
		t.Errorf("%d of 20 subscriptions ticked", rep.Covered)
	}
	if rep.Orders != 8 || rep.Filled != 8 {
		t.Errorf("orders: %d placed, %d filled, want 8 and 8; rejected: %v", rep.Orders, rep.Filled, rep.Rejected)
	}
	if rep.Lost != 0 {
		t.Errorf("%d connections lost", rep.Lost)
	}
	if rep.Latency.n != rep.Ticks || rep.Latency.n == 0 {
		t.Errorf("%d latency samples for %d ticks", rep.Latency.n, rep.Ticks)
	}
	for _, want := range []string{"delivered", "latency    p50", "orders     8 placed, 8 filled"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}

// TestSubscriptions drives subscribe, unsubscribe and order by hand: acks
// say what is subscribed, ticks follow the subscriptions, bad requests are
// answered with an error.
func TestSubscriptions(t *testing.T) {
	url := startServer(t, serverConfig{Symbols: 10, Rate: 1000, Seed: 3})
	var (
		mu    sync.Mutex
		ticks []tick
		info  = make(chan marketInfo, 1)
	)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := dialSocketIO(ctx, url, func(name string, args []json.RawMessage) {
		switch name {
		case "market":
			var m marketInfo
			_ = json.Unmarshal(args[0], &m)
			info <- m
		case "tick":
			var tk tick
			if err := json.Unmarshal(args[0], &tk); err != nil {
				t.Errorf("tick %s: %v", args[0], err)
			}
			mu.Lock()
			ticks = append(ticks, tk)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	m := <-info
	if len(m.Symbols) != 10 || m.Symbols[0].Sym != "AAPL" || m.Symbols[0].Px <= 0 || m.Rate != 1000 {
		t.Fatalf("market: %+v", m)
	}
	// Collect ticks for d and return the symbols seen.
	collect := func(d time.Duration) map[string]int {
		mu.Lock()
		ticks = nil
		mu.Unlock()
		time.Sleep(d)
		mu.Lock()
		defer mu.Unlock()
		seen := map[string]int{}
		for _, tk := range ticks {
			seen[tk.Sym]++
			if tk.Px <= 0 || tk.TS <= 0 {
				t.Errorf("bad tick %+v", tk)
			}
		}
		return seen
	}
	if seen := collect(300 * time.Millisecond); len(seen) != 0 {
		t.Fatalf("ticks before subscribing: %v", seen)
	}

	var sub subscribed
	if err := c.call(ctx, "subscribe", &sub, []string{"AAPL", "msft", "NOPE"}); err != nil {
		t.Fatal(err)
	}
	if !sub.OK || !slices.Equal(sub.Subscribed, []string{"AAPL", "MSFT"}) || !slices.Equal(sub.Unknown, []string{"NOPE"}) || len(sub.Quotes) != 2 {
		t.Fatalf("subscribe: %+v", sub)
	}
	if seen := collect(time.Second); len(seen) != 2 || seen["AAPL"] == 0 || seen["MSFT"] == 0 {
		t.Fatalf("ticks after subscribing to AAPL and MSFT: %v", seen)
	}

	if err := c.call(ctx, "unsubscribe", &sub, "AAPL"); err != nil {
		t.Fatal(err)
	}
	if !sub.OK || !slices.Equal(sub.Subscribed, []string{"MSFT"}) {
		t.Fatalf("unsubscribe: %+v", sub)
	}
	// Once the unsubscribe is acknowledged, no AAPL tick may follow.
	if seen := collect(time.Second); len(seen) != 1 || seen["MSFT"] == 0 {
		t.Fatalf("ticks after unsubscribing from AAPL: %v", seen)
	}

	var f failure
	if err := c.call(ctx, "subscribe", &f, 42); err != nil || f.OK || f.Error == "" {
		t.Fatalf("subscribe 42: %+v %v", f, err)
	}

	var fl fill
	if err := c.call(ctx, "order", &fl, order{Sym: "msft", Side: "buy", Qty: 10}); err != nil {
		t.Fatal(err)
	}
	if !fl.OK || !strings.HasPrefix(fl.ID, "ORD-") || fl.Sym != "MSFT" || fl.Side != "buy" || fl.Qty != 10 || fl.Px <= 0 {
		t.Fatalf("order ack: %+v", fl)
	}
	for _, bad := range []any{
		order{Sym: "NOPE", Side: "buy", Qty: 1},
		order{Sym: "MSFT", Side: "hold", Qty: 1},
		order{Sym: "MSFT", Side: "sell", Qty: 0},
		order{Sym: "MSFT", Side: "sell", Qty: maxQty + 1},
		"MSFT",
	} {
		f = failure{}
		if err := c.call(ctx, "order", &f, bad); err != nil || f.OK || f.Error == "" {
			t.Errorf("order %+v: %+v %v, want a rejection", bad, f, err)
		}
	}
}

// TestFeedRate checks the feed keeps its average rate and walks prices.
func TestFeedRate(t *testing.T) {
	m := newMarket(5, 500, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n := 0
	m.run(ctx, func(tk tick) {
		n++
		if m.bySym[tk.Sym] == nil || tk.Px < 0.01 {
			t.Fatalf("bad tick %+v", tk)
		}
	})
	if n < 250 || n > 510 { // a starved timer catches up, but not after the deadline
		t.Fatalf("%d ticks in 1 s at 500/s", n)
	}
}

func TestHist(t *testing.T) {
	var h hist
	for v := int64(1); v <= 100000; v++ {
		h.add(v)
	}
	for _, c := range []struct {
		q    float64
		want int64
	}{{0.5, 50000}, {0.9, 90000}, {0.99, 99000}} {
		if got := h.quantile(c.q); got < c.want*97/100 || got > c.want*103/100 {
			t.Errorf("q%v = %d, want ~%d", c.q, got, c.want)
		}
	}
	if h.quantile(1) != 100000 || h.max != 100000 {
		t.Errorf("max %d, q1 %d", h.max, h.quantile(1))
	}
	for v := int64(0); v < 1<<40; v = v*3 + 1 {
		if b := histBucket(v); histValue(b) < v*98/100 || histValue(b) > v*102/100+1 {
			t.Errorf("value %d: bucket %d stands for %d", v, b, histValue(b))
		}
	}
}

// TestPage checks what the Fallback handler serves next to Socket.IO.
func TestPage(t *testing.T) {
	dir := webDeps(t)
	url := startServer(t, serverConfig{Symbols: 5, Rate: 10, WebDir: dir})
	wantJS, err := os.ReadFile(filepath.Join(dir, clientJS))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, ctype, contains string
		status                int
	}{
		{"/", "text/html", `<script src="/socket.io.min.js"`, 200},
		{"/app.js", "text/javascript", `socket.on("tick"`, 200},
		{"/style.css", "text/css", "td.px.up", 200},
		{"/favicon.svg", "image/svg+xml", "<svg", 200},
		{"/socket.io.min.js", "text/javascript", string(wantJS), 200},
		{"/package.json", "", "", 404},
		{"/node_modules/socket.io-client/package.json", "", "", 404},
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
		if c.status != 200 {
			continue
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, c.ctype) {
			t.Errorf("GET %s: Content-Type %q, want %s", c.path, ct, c.ctype)
		}
		if !strings.Contains(string(body), c.contains) {
			t.Errorf("GET %s: body does not contain %.40q", c.path, c.contains)
		}
	}
}

// TestBrowser runs web/e2e.js: headless Chromium (Debian's, installed with
// apt-get when missing) loads the page through the real socket.io-client,
// waits for live ticks, changes its subscriptions, places an order and sees
// its acknowledgement, with no page error. It saves the screenshot to
// docs/ticker.png at the repository root. It fails, never skips, when it
// cannot run.
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
	url := startServer(t, serverConfig{Symbols: 50, Rate: 200, Seed: 42, WebDir: dir})
	args := []string{"e2e.js", url, filepath.Join(docs, "ticker.png")}
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

// startServer runs a ticker server on a free port until the test ends and
// returns its URL.
func startServer(t *testing.T, cfg serverConfig) string {
	t.Helper()
	logs := &lockedBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := newServer(cfg)
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Close()
		if t.Failed() {
			t.Logf("---- server log ----\n%s", logs.String())
		}
	})
	return "http://" + srv.Addr().String()
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

func TestParsing(t *testing.T) {
	for in, want := range map[string][]string{
		`["tick",{"sym":"A","px":1.5,"ts":2}]`: {`"tick"`, `{"sym":"A","px":1.5,"ts":2}`},
		`[]`:                                   nil,
		`[ "a" , [1,{"b":"]"}] , "c\"," ]`:     {`"a"`, `[1,{"b":"]"}]`, `"c\","`},
	} {
		got, err := splitArray(in)
		if err != nil || len(got) != len(want) {
			t.Errorf("splitArray(%s) = %q, %v; want %q", in, got, err, want)
			continue
		}
		for i := range got {
			if string(got[i]) != want[i] {
				t.Errorf("splitArray(%s)[%d] = %s, want %s", in, i, got[i], want[i])
			}
		}
	}
	for _, bad := range []string{``, `{}`, `[1,]`, `["a]`, `[[1]`} {
		if got, err := splitArray(bad); err == nil {
			t.Errorf("splitArray(%s) = %q, want an error", bad, got)
		}
	}
	for in, want := range map[string]tick{
		`{"sym":"AAPL","px":187.23,"ts":1700000000123.456}`: {"AAPL", 187.23, 1700000000123.456},
		`{"ts":5,"px":1,"sym":"X"}`:                         {"X", 1, 5},
		`{"sym":"A\"B","px":1,"ts":2}`:                      {`A"B`, 1, 2},
	} {
		if got, ok := parseTick([]byte(in)); !ok || got != want {
			t.Errorf("parseTick(%s) = %+v, %v; want %+v", in, got, ok, want)
		}
	}
	if _, ok := parseTick([]byte(`{"px":1}`)); ok {
		t.Error("a tick without a symbol parsed")
	}
	// What the server really sends parses on the fast path.
	b, _ := json.Marshal(tick{Sym: "MSFT", Px: 412.07, TS: nowMillis()})
	if _, ok := parseTickFast(b); !ok {
		t.Errorf("fast path refused %s", b)
	}
}
