package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riptide-io/riptide"
	"github.com/riptide-io/riptide/internal/interop"
)

// TestSocketIOClientThroughNetHTTP drives the real socket.io-client from
// npm through the net/http server (websocket, polling, upgrade) with the
// contract's "connect" scenario's basics: here, an ack round trip.
func TestSocketIOClientThroughNetHTTP(t *testing.T) {
	dir := interop.Setup(t)
	srv := riptide.New(riptide.Config{})
	t.Cleanup(func() { _ = srv.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: newMux(srv)}
	go hs.Serve(ln)
	t.Cleanup(func() { _ = hs.Close() })
	url := "http://" + ln.Addr().String()
	for _, tr := range []string{"websocket", "polling", "upgrade"} {
		t.Run(tr, func(t *testing.T) {
			runInline(t, dir, `
const { io } = require("socket.io-client");
const [url, transport] = process.argv.slice(1);
const opts = transport === "upgrade" ? {} : { transports: [transport] };
const s = io(url, { ...opts, reconnection: false });
const fail = (m) => { console.error(m); process.exit(1); };
setTimeout(() => fail("timeout"), 10000);
s.on("connect_error", (e) => fail("connect_error " + e.message));
s.on("connect", () => s.timeout(5000).emit("time", (err, t) => {
  if (err || !/^\d{4}-\d\d-\d\dT/.test(t)) fail("bad ack " + err + " " + t);
  console.log(JSON.stringify({ ok: true, t, transport: s.io.engine.transport.name }));
  process.exit(0);
}));
`, url, tr)
		})
	}
	resp, err := http.Get(url + "/api/time")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the service's own route: %v %v", resp, err)
	}
	resp.Body.Close()
}

// runInline runs a Node script with the harness's node_modules (the
// pinned socket.io-client) and fails the test unless it prints ok.
func runInline(t *testing.T, dir, script string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"-e", script}, args...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"ok":true`) {
		t.Fatalf("node: %v\n%s", err, out)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
}
