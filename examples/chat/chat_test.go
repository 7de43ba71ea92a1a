package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/riptide-io/riptide/internal/webdeps"
	"io"
	"log/slog"
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

	"github.com/riptide-io/riptide"
)

const (
	e2eTimeout = 90 * time.Second // e2e.js stops itself after 50 s
)

// TestBrowser runs web/e2e.js — two headless Chromium pages chatting through
// the real socket.io-client — against an in-process chat server, over
// WebSocket only and over long-polling only (`node web/e2e.js URL upgrade`
// also checks the client's default, polling then the upgrade to WebSocket;
// it is left out here to keep the test short). The WebSocket run saves the page's
// screenshot to docs/chat.png at the repository root. It installs what it
// needs (npm ci; Debian's chromium with apt-get) and fails, never skips, when
// it cannot.
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
	for _, tr := range []string{"websocket", "polling"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			url := startServer(t, dir)
			args := []string{"e2e.js", url, tr}
			if tr == "websocket" {
				docs := filepath.Join(root, "docs")
				if err := os.MkdirAll(docs, 0o755); err != nil {
					t.Fatal(err)
				}
				args = append(args, filepath.Join(docs, "chat.png"))
			}
			ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, "node", args...)
			cmd.Dir = dir
			cmd.WaitDelay = 5 * time.Second
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			err := cmd.Run()
			if err != nil {
				t.Fatalf("node %s: %v after %v\n---- e2e.js stderr ----\n%s\n---- stdout ----\n%s",
					strings.Join(args, " "), err, time.Since(start).Round(time.Millisecond), stderr.String(), stdout.String())
			}
			var res struct {
				OK       bool `json:"ok"`
				Messages int  `json:"messages"`
			}
			line := lastLine(stdout.String())
			if err := json.Unmarshal([]byte(line), &res); err != nil || !res.OK {
				t.Fatalf("e2e.js result %q (%v)\n---- stderr ----\n%s", line, err, stderr.String())
			}
			t.Logf("e2e.js progress:\n%s", stderr.String())
			t.Logf("e2e.js %s: %s", tr, line)
		})
	}
}

// TestPage checks what the Fallback handler serves next to Socket.IO.
func TestPage(t *testing.T) {
	dir := webDeps(t)
	url := startServer(t, dir)
	wantJS, err := os.ReadFile(filepath.Join(dir, clientJS))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, ctype, contains string
		status                int
	}{
		{"/", "text/html", `<script src="/socket.io.min.js"`, 200},
		{"/app.js", "text/javascript", "io(options)", 200},
		{"/style.css", "text/css", "#chat-view", 200},
		{"/favicon.svg", "image/svg+xml", "<svg", 200},
		{"/socket.io.min.js", "text/javascript", string(wantJS), 200},
		{"/index.html", "", "", 404},
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
		if resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no Content-Security-Policy", c.path)
		}
	}
	// Socket.IO still answers on the same port.
	resp, err := http.Get(url + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), `0{"sid":`) {
		t.Fatalf("Engine.IO handshake: %d %q", resp.StatusCode, body)
	}
}

// TestProtocol drives the chat protocol with a minimal Socket.IO client:
// unique nicknames, a tab taking its nickname back with its token (the old
// connection is closed), history and acks.
func TestProtocol(t *testing.T) {
	dir := webDeps(t)
	url := startServer(t, dir)
	addr := strings.TrimPrefix(url, "http://")

	carol := dialChat(t, addr)
	var j joined
	carol.call(t, `"join",{"nick":"carol","room":"#Lobby","token":"t1"}`, &j)
	if !j.OK || j.Nick != "carol" || j.Room != "lobby" || len(j.Users.Users) != 1 {
		t.Fatalf("join: %+v", j)
	}
	var ok struct {
		OK bool   `json:"ok"`
		ID uint64 `json:"id"`
	}
	carol.call(t, `"message",{"text":"  hello  "}`, &ok)
	if !ok.OK || ok.ID == 0 {
		t.Fatalf("message ack: %+v", ok)
	}

	// Another tab cannot take the nickname, whatever its case.
	other := dialChat(t, addr)
	var f failure
	other.call(t, `"join",{"nick":"CAROL","room":"lobby","token":"t2"}`, &f)
	if f.OK || !strings.Contains(f.Error, "taken") {
		t.Fatalf("duplicate nickname: %+v", f)
	}
	other.call(t, `"message",{"text":"sneaky"}`, &f)
	if f.OK || f.Error != errNotJoined.Error() {
		t.Fatalf("message before join: %+v", f)
	}

	// The same tab (same token) on a new connection takes it back: the old
	// connection is disconnected and the history is there.
	again := dialChat(t, addr)
	again.call(t, `"join",{"nick":"carol","room":"lobby","token":"t1"}`, &j)
	if !j.OK || len(j.History) != 1 || j.History[0].Text != "hello" || j.History[0].Nick != "carol" {
		t.Fatalf("rejoin: %+v", j)
	}
	if !slicesEqual(j.Users.Users, []string{"carol"}) {
		t.Fatalf("rejoin users: %v", j.Users.Users)
	}
	if p := carol.until(t, func(p string) bool { return strings.HasPrefix(p, "41") || strings.HasPrefix(p, "error") }); !strings.HasPrefix(p, "41") {
		t.Fatalf("the replaced connection got %q, want a DISCONNECT", p)
	}
}

func TestHistoryRing(t *testing.T) {
	var h history
	if got := h.snapshot(); len(got) != 0 {
		t.Fatalf("empty: %v", got)
	}
	for i := 1; i <= 3*historySize+7; i++ {
		h.add(chatMessage{ID: uint64(i)})
		got := h.snapshot()
		if want := min(i, historySize); len(got) != want {
			t.Fatalf("after %d: %d messages, want %d", i, len(got), want)
		}
		for k, m := range got {
			if want := uint64(i - len(got) + 1 + k); m.ID != want {
				t.Fatalf("after %d: message %d has id %d, want %d", i, k, m.ID, want)
			}
		}
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{"  ada   lovelace ": "ada lovelace", "Zoë": "Zoë", "a-b_c.d": "a-b_c.d", "": "", "<script>": "", "x\ty": "x y", strings.Repeat("n", 21): ""} {
		got, err := cleanNick(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("cleanNick(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"#Lobby": "lobby", " go ": "go", "a b": "", "": "", "x/y": "", strings.Repeat("r", 25): ""} {
		got, err := cleanRoom(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("cleanRoom(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestRoomsBounded: past maxRooms, the least recently active empty room is
// forgotten; the lobby and rooms with people never are.
func TestRoomsBounded(t *testing.T) {
	h := newHub(riptide.New(riptide.Config{}), slog.New(slog.DiscardHandler))
	clock := time.Unix(0, 0)
	h.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range 2 * maxRooms {
		if _, err := h.roomLocked(fmt.Sprintf("r%d", i)); err != nil {
			t.Fatal(err)
		}
		if len(h.rooms) > maxRooms {
			t.Fatalf("%d rooms", len(h.rooms))
		}
	}
	if h.rooms[defaultRoom] == nil || h.rooms[fmt.Sprintf("r%d", 2*maxRooms-1)] == nil || h.rooms["r0"] != nil {
		t.Fatalf("evicted the wrong rooms")
	}
	for _, r := range h.rooms {
		r.members = []*member{{}}
	}
	if _, err := h.roomLocked("one-too-many"); err != errTooManyRoom {
		t.Fatalf("every room busy: %v, want %v", err, errTooManyRoom)
	}
}

// ---- helpers ----

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

// startServer runs a chat server on a free port until the test ends, and
// prints its log if the test failed.
func startServer(t *testing.T, dir string) string {
	t.Helper()
	logs := &lockedBuffer{}
	srv := newServer(dir, slog.New(slog.NewTextHandler(logs, nil)))
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

func slicesEqual(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// chatClient is the smallest Socket.IO client the protocol test needs:
// WebSocket only, text packets, namespace "/".
type chatClient struct {
	c     net.Conn
	r     io.Reader
	ackID int
}

func dialChat(t *testing.T, addr string) *chatClient {
	t.Helper()
	c, br, _, err := ws.Dial(context.Background(), "ws://"+addr+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &chatClient{c: c, r: c}
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

func (cl *chatClient) send(t *testing.T, pkt string) {
	t.Helper()
	if err := wsutil.WriteClientText(cl.c, []byte(pkt)); err != nil {
		t.Fatal(err)
	}
}

// read returns the next packet, answering pings on the way.
func (cl *chatClient) read(t *testing.T) string {
	t.Helper()
	_ = cl.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		b, err := wsutil.ReadServerText(struct {
			io.Reader
			io.Writer
		}{cl.r, cl.c})
		if err != nil {
			return "error: " + err.Error()
		}
		if string(b) == "2" {
			cl.send(t, "3")
			continue
		}
		return string(b)
	}
}

// until reads packets until keep says stop, and returns that packet.
func (cl *chatClient) until(t *testing.T, stop func(string) bool) string {
	t.Helper()
	for {
		if p := cl.read(t); stop(p) {
			return p
		}
	}
}

// call emits an event with an acknowledgement (args: the JSON array's
// content) and decodes the ack's first argument into v.
func (cl *chatClient) call(t *testing.T, args string, v any) {
	t.Helper()
	cl.ackID++
	id := fmt.Sprint(cl.ackID)
	cl.send(t, "42"+id+"["+args+"]")
	p := cl.until(t, func(p string) bool { return strings.HasPrefix(p, "43"+id+"[") || strings.HasPrefix(p, "error") })
	var reply []json.RawMessage
	if err := json.Unmarshal([]byte(strings.TrimPrefix(p, "43"+id)), &reply); err != nil || len(reply) == 0 {
		t.Fatalf("ack for %s: %q (%v)", args, p, err)
	}
	if err := json.Unmarshal(reply[0], v); err != nil {
		t.Fatalf("ack for %s: %q: %v", args, reply[0], err)
	}
}
