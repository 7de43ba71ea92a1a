package hostile

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/riptide-io/riptide"
	"github.com/riptide-io/riptide/internal/interop"
)

// Generous bounds: the suite must hold on a loaded 2-core machine under -race.
const (
	ioTimeout     = 10 * time.Second // one read or write of a well-behaved exchange
	settleTimeout = 20 * time.Second // server-side cleanup after connections close
	maxHeapGrowth = 64 << 20         // per group, after GC
	fdSlack       = 16               // descriptors the runtime or a lingering node child may hold
)

// baseConfig is the configuration every group starts from: heartbeats slow
// enough never to fire in a case, short HTTP timers so that slow and silent
// clients are reaped quickly.
func baseConfig() riptide.Config {
	return riptide.Config{
		PingInterval:   20 * time.Second,
		PingTimeout:    20 * time.Second,
		HeadTimeout:    time.Second,
		IdleTimeout:    3 * time.Second,
		ConnectTimeout: 30 * time.Second,
	}
}

// server is one Riptide server under attack, with the bookkeeping the
// service checks need.
type server struct {
	srv  *riptide.Server
	cfg  riptide.Config
	addr string

	live        atomic.Int64 // namespace sockets connected now
	liveIDs     sync.Map     // namespace socket id -> transport at connect, while connected
	doubleDisc  atomic.Int64 // OnDisconnect called twice for one socket
	mu          sync.Mutex
	reasons     map[string]chan string // namespace socket id -> disconnect reason
	heap0       uint64
	fd0         int
	goroutines0 int // with the server running, before any client
	client      *http.Client
}

// startServer starts a real Riptide server on 127.0.0.1 with the echo
// handler on "/" and "/admin" (every other namespace is unknown). It is
// closed at the end of the test. setup, when given, declares more
// namespaces (with h.onConn or h.onConnLight as their connection handler).
func startServer(t *testing.T, cfg riptide.Config, setup ...func(srv *riptide.Server, h *server)) *server {
	t.Helper()
	h := &server{cfg: cfg, reasons: map[string]chan string{}}
	h.heap0 = heapInuse()
	h.fd0 = countFDs()
	srv := riptide.New(cfg)
	srv.Engine().NumLoops = 2
	srv.OnConnection(h.onConn)
	srv.Of("/admin").OnConnection(h.onConn)
	for _, f := range setup {
		f(srv, h)
	}
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	h.addr = srv.Addr().String()
	h.goroutines0 = runtime.NumGoroutine()
	h.client = &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true},
		Timeout:   ioTimeout,
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("server Close: %v", err)
		}
		h.client.CloseIdleConnections()
	})
	return h
}

// onConn is the connection handler: echo, plus the bookkeeping of live
// sockets and disconnect reasons.
func (h *server) onConn(s *riptide.Socket) {
	h.live.Add(1)
	h.liveIDs.Store(s.ID(), s.Namespace().Name()+" "+s.Transport())
	ch := h.reasonCh(s.ID())
	var once atomic.Bool
	s.OnDisconnect(func(reason string) {
		if !once.CompareAndSwap(false, true) {
			h.doubleDisc.Add(1)
			return
		}
		h.live.Add(-1)
		h.liveIDs.Delete(s.ID())
		ch <- reason
	})
	s.On("echo", echo)
}

// onConnLight is onConn without the per-socket reason channel, for
// namespaces joined by the ten thousand (the channels would dwarf what
// the server keeps).
func (h *server) onConnLight(s *riptide.Socket) {
	h.live.Add(1)
	var once atomic.Bool
	s.OnDisconnect(func(string) {
		if once.CompareAndSwap(false, true) {
			h.live.Add(-1)
		} else {
			h.doubleDisc.Add(1)
		}
	})
	s.On("echo", echo)
}

func echo(args riptide.Args, ack riptide.Ack) {
	v, _ := args.Values()
	if ack != nil {
		ack(v...)
	}
}

func (h *server) reasonCh(id string) chan string {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := h.reasons[id]
	if ch == nil {
		ch = make(chan string, 1)
		h.reasons[id] = ch
	}
	return ch
}

// reason waits for the disconnect reason of the namespace socket id.
func (h *server) reason(t testing.TB, id string) string {
	t.Helper()
	select {
	case r := <-h.reasonCh(id):
		return r
	case <-time.After(settleTimeout):
		t.Fatalf("socket %s: no disconnect on the server after %v", id, settleTimeout)
		return ""
	}
}

// check is the fast per-case service check: a raw WebSocket Socket.IO
// client and a raw polling one each connect to "/" and get an ack.
func (h *server) check(t testing.TB) {
	t.Helper()
	c, _ := h.sioConnect(t, "/")
	c.sendText(`421["echo",1]`)
	c.expectText(`431[1]`)
	c.Close()

	sid := h.pollOpen(t)
	h.post(t, sid, "40", 200, "ok")
	if got := h.poll(t, sid); !strings.HasPrefix(got, `40{"sid":"`) {
		t.Fatalf("service check (polling): CONNECT answered %q", got)
	}
	h.post(t, sid, `421["echo","x"]`, 200, "ok")
	if got := h.poll(t, sid); got != `431["x"]` {
		t.Fatalf("service check (polling): ack %q, want %q", got, `431["x"]`)
	}
	h.post(t, sid, "1", 200, "ok") // close the session
}

// finish ends a group: the real socket.io-client gets acks on every
// transport, every connection and socket the group opened is gone, file
// descriptors are back and the heap grew by less than maxHeapGrowth.
func (h *server) finish(t *testing.T) {
	t.Helper()
	h.check(t)
	h.nodeCheck(t)
	h.settle(t)
	if n := h.doubleDisc.Load(); n != 0 {
		t.Errorf("OnDisconnect ran twice for %d sockets", n)
	}
	h.checkHeap(t, "end of group")
}

// settle waits until no socket, TCP connection, extra descriptor or extra
// goroutine is left.
func (h *server) settle(t testing.TB) {
	t.Helper()
	h.client.CloseIdleConnections()
	waitFor(t, settleTimeout, func() string {
		if n := h.live.Load(); n != 0 {
			var ids []string
			h.liveIDs.Range(func(k, v any) bool { ids = append(ids, fmt.Sprint(k, " (", v, ")")); return true })
			return fmt.Sprintf("%d namespace sockets still connected: %s", n, strings.Join(ids, ", "))
		}
		if n := h.srv.Engine().Connections(); n != 0 {
			return fmt.Sprintf("%d TCP connections still open on the server", n)
		}
		if h.fd0 >= 0 {
			if n := countFDs(); n > h.fd0+fdSlack {
				return fmt.Sprintf("%d file descriptors open, %d at the start of the group", n, h.fd0)
			}
		}
		if n := runtime.NumGoroutine(); n > h.goroutines0+2 {
			return fmt.Sprintf("%d goroutines, %d when the server started", n, h.goroutines0)
		}
		return ""
	})
}

func (h *server) checkHeap(t testing.TB, when string) {
	t.Helper()
	got := heapInuse()
	if got > h.heap0 && got-h.heap0 > maxHeapGrowth {
		t.Errorf("%s: heap in use grew by %d MiB (from %d to %d MiB), bound %d MiB",
			when, (got-h.heap0)>>20, h.heap0>>20, got>>20, maxHeapGrowth>>20)
	}
}

// nodeCheck runs testdata/ack_check.js: the npm socket.io-client connects
// over websocket, polling and polling+upgrade and gets an ack (with a
// binary attachment) on each.
func (h *server) nodeCheck(t testing.TB) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "ack_check.js"))
	if err != nil {
		t.Fatal(err)
	}
	interop.Setup(t)
	interop.RunNode(t, script, "http://"+h.addr)
}

func waitFor(t testing.TB, d time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func heapInuse() uint64 { return memStats().HeapInuse }

// memStats is the heap after two collections.
func memStats() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// countFDs is the number of open descriptors of the process, -1 where
// /proc/self/fd does not exist.
func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// ---- raw TCP ----

func (h *server) dial(t testing.TB) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", h.addr, ioTimeout)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// exchange writes req on a fresh connection (from a goroutine: the server
// may answer and close before it has read everything) and reads until the
// server closes the connection. It returns what was read and how the read
// ended: nil for a clean close or a reset after the answer, an error when
// the server kept the connection open past the timeout.
func (h *server) exchange(t testing.TB, req []byte, timeout time.Duration) ([]byte, error) {
	t.Helper()
	c := h.dial(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.SetWriteDeadline(time.Now().Add(timeout))
		_, _ = c.Write(req)
	}()
	out, err := readUntilClosed(c, timeout)
	c.Close()
	<-done
	return out, err
}

// readUntilClosed reads until EOF or a reset (both mean the server closed
// the connection) or until the timeout (an error).
func readUntilClosed(c net.Conn, timeout time.Duration) ([]byte, error) {
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	var out bytes.Buffer
	_, err := io.Copy(&out, c)
	if err == nil || isReset(err) {
		return out.Bytes(), nil
	}
	return out.Bytes(), err
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// expectHTTPError checks that raw is exactly one error response with the
// given status, an empty body and "Connection: close".
func expectHTTPError(t testing.TB, raw []byte, readErr error, status int) {
	t.Helper()
	if readErr != nil {
		t.Fatalf("want %d then close; the server kept the connection open (%v) after sending %q", status, readErr, raw)
	}
	br := bufio.NewReader(bytes.NewReader(raw))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("want %d; got no HTTP response (%v): %q", status, err, raw)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("got status %d, want %d (response %q)", resp.StatusCode, status, raw)
	}
	if len(body) != 0 {
		t.Fatalf("status %d: body %q, want empty", status, body)
	}
	if !resp.Close {
		t.Fatalf("status %d without Connection: close: %q", status, raw)
	}
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Fatalf("bytes after the %d response: %q", status, rest)
	}
}

// ---- WebSocket ----

const (
	finBit   = 0x80
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

var maskKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// frame builds a client frame: b0 is FIN|RSV|opcode, payload is masked
// when mask is set. The length is encoded in the shortest form.
func frame(b0 byte, mask bool, payload []byte) []byte {
	out := make([]byte, 0, len(payload)+14)
	out = append(out, b0)
	var m byte
	if mask {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		out = append(out, m|byte(n))
	case n < 1<<16:
		out = append(out, m|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, m|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if !mask {
		return append(out, payload...)
	}
	out = append(out, maskKey[:]...)
	for i, b := range payload {
		out = append(out, b^maskKey[i&3])
	}
	return out
}

func textFrame(s string) []byte   { return frame(finBit|opText, true, []byte(s)) }
func binaryFrame(b []byte) []byte { return frame(finBit|opBinary, true, b) }

// wsClient is a raw WebSocket client: it sends whatever bytes it is told.
type wsClient struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

// dialWS upgrades a fresh connection on /socket.io/?query and checks the 101.
func (h *server) dialWS(t testing.TB, query string) *wsClient {
	t.Helper()
	c := h.dial(t)
	br, err := upgrade(c, h.addr, query)
	if err != nil {
		t.Fatal(err)
	}
	return &wsClient{t: t, c: c, br: br}
}

// upgrade sends a WebSocket upgrade request on c and reads the 101. It
// does not fail the test: the flood workers use it off the test goroutine.
func upgrade(c net.Conn, addr, query string) (*bufio.Reader, error) {
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := "GET /socket.io/?" + query + " HTTP/1.1\r\nHost: " + addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\n\r\n"
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, req); err != nil {
		return nil, fmt.Errorf("upgrade request: %w", err)
	}
	br := bufio.NewReaderSize(c, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, fmt.Errorf("upgrade response: %w", err)
	}
	if resp.StatusCode != 101 {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("upgrade: status %d %s", resp.StatusCode, b)
	}
	return br, nil
}

// sioConnect opens a WebSocket session and connects namespace nsp; it
// returns the client and the namespace socket id.
func (h *server) sioConnect(t testing.TB, nsp string) (*wsClient, string) {
	t.Helper()
	w := h.dialWS(t, "EIO=4&transport=websocket")
	w.expectOpen()
	return w, w.connectNsp(nsp)
}

func (w *wsClient) expectOpen() {
	w.t.Helper()
	if open := w.nextText(); !strings.HasPrefix(open, `0{"sid":"`) || !strings.Contains(open, `"upgrades":[]`) {
		w.t.Fatalf("open packet %q", open)
	}
}

// connectNsp sends CONNECT for nsp and returns the socket id of the reply.
func (w *wsClient) connectNsp(nsp string) string {
	w.t.Helper()
	prefix := "40"
	if nsp != "/" {
		prefix = "40" + nsp + ","
	}
	w.sendText(prefix)
	got := w.nextText()
	var reply struct {
		SID string `json:"sid"`
	}
	if !strings.HasPrefix(got, prefix+"{") || json.Unmarshal([]byte(got[len(prefix):]), &reply) != nil || len(reply.SID) != 20 {
		w.t.Fatalf("CONNECT %s answered %q", nsp, got)
	}
	return reply.SID
}

func (w *wsClient) Close() { w.c.Close() }

func (w *wsClient) write(b []byte) {
	w.t.Helper()
	_ = w.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := w.c.Write(b); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

// writeMaybe writes b, tolerating a connection the server already closed
// (it may close on the first bad byte, before reading the rest).
func (w *wsClient) writeMaybe(b []byte) {
	_ = w.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	_, _ = w.c.Write(b)
}

func (w *wsClient) sendText(s string) { w.t.Helper(); w.write(textFrame(s)) }
func (w *wsClient) readTimeout(d time.Duration) {
	_ = w.c.SetReadDeadline(time.Now().Add(d))
}

// readFrame reads one server frame.
func (w *wsClient) readFrame() (op ws.OpCode, payload []byte, err error) {
	w.readTimeout(ioTimeout)
	hd, err := ws.ReadHeader(w.br)
	if err != nil {
		return 0, nil, err
	}
	if hd.Masked {
		return 0, nil, fmt.Errorf("server frame is masked: %+v", hd)
	}
	if hd.Rsv != 0 || !hd.Fin {
		return 0, nil, fmt.Errorf("server frame with RSV bits or fragmented: %+v", hd)
	}
	if hd.Length > 64<<20 {
		return 0, nil, fmt.Errorf("server frame of %d bytes", hd.Length)
	}
	payload = make([]byte, hd.Length)
	if _, err := io.ReadFull(w.br, payload); err != nil {
		return 0, nil, err
	}
	return hd.OpCode, payload, nil
}

// nextText returns the next text message, answering Engine.IO pings.
func (w *wsClient) nextText() string {
	w.t.Helper()
	for {
		op, p, err := w.readFrame()
		if err != nil {
			w.t.Fatalf("waiting for a text message: %v", err)
		}
		switch {
		case op == ws.OpText && string(p) == "2":
			w.sendText("3")
		case op == ws.OpText:
			return string(p)
		case op == ws.OpClose:
			w.t.Fatalf("waiting for a text message: close frame %s", closeDesc(p))
		default:
			w.t.Fatalf("waiting for a text message: got op %v %q", op, p)
		}
	}
}

func (w *wsClient) expectText(want string) {
	w.t.Helper()
	if got := w.nextText(); got != want {
		w.t.Fatalf("got %q, want %q", trunc(got), trunc(want))
	}
}

// expectClose reads the server's close frame (Engine.IO pings may come
// first; any other frame fails) and checks its status code (1005: no
// status), then that the server closes the TCP connection.
func (w *wsClient) expectClose(want ws.StatusCode) {
	w.t.Helper()
	for {
		op, p, err := w.readFrame()
		if err != nil {
			w.t.Fatalf("want close frame %d; connection ended without one: %v", want, err)
		}
		if op == ws.OpText && string(p) == "2" {
			continue
		}
		if op != ws.OpClose {
			w.t.Fatalf("want close frame %d; got op %v %q", want, op, trunc(string(p)))
		}
		if got := closeCode(p); got != want {
			w.t.Fatalf("close frame %s, want code %d", closeDesc(p), want)
		}
		break
	}
	w.expectEOF()
}

// expectEOF checks that the server closes the connection and sends
// nothing more.
func (w *wsClient) expectEOF() {
	w.t.Helper()
	w.readTimeout(ioTimeout)
	rest, err := io.ReadAll(w.br)
	if err != nil && !isReset(err) {
		w.t.Fatalf("server did not close the connection: %v", err)
	}
	if len(rest) != 0 {
		w.t.Fatalf("bytes after the close frame: %q", trunc(string(rest)))
	}
}

func closeCode(p []byte) ws.StatusCode {
	if len(p) < 2 {
		return ws.StatusNoStatusRcvd
	}
	return ws.StatusCode(binary.BigEndian.Uint16(p))
}

func closeDesc(p []byte) string {
	if len(p) < 2 {
		return "without status (1005)"
	}
	return fmt.Sprintf("%d %q", closeCode(p), p[2:])
}

func trunc(s string) string {
	if len(s) > 200 {
		return fmt.Sprintf("%s…(%d bytes)", s[:200], len(s))
	}
	return s
}

// ---- polling ----

func (h *server) url(query string) string { return "http://" + h.addr + "/socket.io/?" + query }

// do sends one HTTP request on a fresh connection.
func (h *server) do(t testing.TB, method, query, ctype, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, h.url(query), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, query, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, query, err)
	}
	return resp.StatusCode, string(b)
}

// pollOpen does a polling handshake and returns the Engine.IO sid.
func (h *server) pollOpen(t testing.TB) string {
	t.Helper()
	code, body := h.do(t, "GET", "EIO=4&transport=polling", "", "")
	var open struct {
		SID string `json:"sid"`
	}
	if code != 200 || !strings.HasPrefix(body, "0{") || json.Unmarshal([]byte(body[1:]), &open) != nil || len(open.SID) != 20 {
		t.Fatalf("polling handshake: %d %q", code, body)
	}
	return open.SID
}

func sidQuery(sid string) string { return "EIO=4&transport=polling&sid=" + sid }

func (h *server) post(t testing.TB, sid, body string, wantCode int, wantBody string) {
	t.Helper()
	code, got := h.do(t, "POST", sidQuery(sid), "text/plain;charset=UTF-8", body)
	if code != wantCode || got != wantBody {
		t.Fatalf("POST %q: got %d %q, want %d %q", trunc(body), code, trunc(got), wantCode, wantBody)
	}
}

// poll does one GET and returns its payload, skipping Engine.IO pings.
func (h *server) poll(t testing.TB, sid string) string {
	t.Helper()
	for {
		code, body := h.do(t, "GET", sidQuery(sid), "", "")
		if code != 200 {
			t.Fatalf("GET: %d %q", code, body)
		}
		if body == "2" {
			h.post(t, sid, "3", 200, "ok")
			continue
		}
		return body
	}
}

const unknownSID = `{"code":1,"message":"Session ID unknown"}`

// expectGone checks that the session sid no longer exists.
func (h *server) expectGone(t testing.TB, sid string) {
	t.Helper()
	waitFor(t, settleTimeout, func() string {
		code, body := h.do(t, "GET", sidQuery(sid), "", "")
		if code == 400 && body == unknownSID {
			return ""
		}
		if code == 200 && body == "1" {
			return "close packet delivered, checking again"
		}
		return fmt.Sprintf("GET with the sid: %d %q, want 400 %s", code, trunc(body), unknownSID)
	})
}
