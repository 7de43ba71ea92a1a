package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

func dialWS(t *testing.T, base, query string) net.Conn {
	t.Helper()
	u := strings.Replace(base, "http://", "ws://", 1) + "/engine.io/?" + query
	c, br, _, err := ws.Dial(context.Background(), u)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	t.Cleanup(func() { c.Close() })
	if br != nil {
		// Frames that arrived with the 101 sit in the dialer's reader.
		return &bufConn{Conn: c, r: io.MultiReader(br, c)}
	}
	return c
}

type bufConn struct {
	net.Conn
	r io.Reader
}

func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

func readText(t *testing.T, c net.Conn) string {
	t.Helper()
	b, op, err := wsutil.ReadServerData(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if op != ws.OpText {
		t.Fatalf("op %v", op)
	}
	return string(b)
}

// readClose reads until a close frame and returns its status code (1005
// when it carries none).
func readClose(t *testing.T, c net.Conn) ws.StatusCode {
	t.Helper()
	for {
		h, err := ws.ReadHeader(c)
		if err != nil {
			t.Fatalf("waiting for close: %v", err)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(c, p); err != nil {
			t.Fatal(err)
		}
		if h.OpCode == ws.OpClose {
			if len(p) < 2 {
				return ws.StatusNoStatusRcvd
			}
			return ws.StatusCode(binary.BigEndian.Uint16(p))
		}
	}
}

// nextFrame reads the next frame, answering the Engine.IO pings ("2")
// that come first: with testConfig's 300 ms heartbeat, a loaded machine can
// put one before the frame a test waits for.
func nextFrame(t *testing.T, c net.Conn) (ws.OpCode, []byte) {
	t.Helper()
	for {
		h, err := ws.ReadHeader(c)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(c, p); err != nil {
			t.Fatalf("read: %v", err)
		}
		if h.OpCode == ws.OpText && string(p) == "2" {
			wsutil.WriteClientText(c, []byte("3"))
			continue
		}
		return h.OpCode, p
	}
}

func TestWebSocketSession(t *testing.T) {
	h := newEcho()
	_, base := startServer(t, testConfig(), h)
	c := dialWS(t, base, "EIO=4&transport=websocket")
	open := readText(t, c)
	if !strings.HasPrefix(open, `0{"sid":"`) || !strings.HasSuffix(open, `","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`) {
		t.Fatalf("open %s", open)
	}
	// Text and binary echo.
	if err := wsutil.WriteClientText(c, []byte("4héllo")); err != nil {
		t.Fatal(err)
	}
	if op, got := nextFrame(t, c); op != ws.OpText || string(got) != "4héllo" {
		t.Fatalf("got %v %q", op, got)
	}
	if err := wsutil.WriteClientBinary(c, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if op, b := nextFrame(t, c); op != ws.OpBinary || !bytes.Equal(b, []byte{1, 2, 3}) {
		t.Fatalf("binary: %v %v", b, op)
	}
	// A fragmented message with a ping between its fragments (RFC 6455 §5.4).
	frag := func(fin bool, op ws.OpCode, p string) {
		f := ws.NewFrame(op, fin, []byte(p))
		f = ws.MaskFrameInPlace(f)
		if err := ws.WriteFrame(c, f); err != nil {
			t.Fatal(err)
		}
	}
	frag(false, ws.OpText, "4frag")
	frag(true, ws.OpPing, "hi")
	frag(true, ws.OpContinuation, "mented")
	if op, pong := nextFrame(t, c); op != ws.OpPong || string(pong) != "hi" {
		t.Fatalf("want pong first: %v %q", op, pong)
	}
	if op, got := nextFrame(t, c); op != ws.OpText || string(got) != "4fragmented" {
		t.Fatalf("got %v %q", op, got)
	}
	// Heartbeat: the server pings; we answer twice, then stop.
	for i := 0; i < 2; i++ {
		if got := readText(t, c); got != "2" {
			t.Fatalf("want ping, got %q", got)
		}
		wsutil.WriteClientText(c, []byte("3"))
	}
	if got := readText(t, c); got != "2" {
		t.Fatalf("want ping, got %q", got)
	}
	if code := readClose(t, c); code != ws.StatusNoStatusRcvd {
		t.Fatalf("close code %d", code)
	}
	if r := h.waitClose(t); r != "ping timeout" {
		t.Fatalf("reason %q", r)
	}
}

func TestWebSocketCloseCodes(t *testing.T) {
	cfg := testConfig()
	cfg.MaxHTTPBufferSize = 1000
	_, base := startServer(t, cfg, newEcho())
	cases := []struct {
		name  string
		frame []byte
		code  ws.StatusCode
	}{
		{"too big", ws.MustCompileFrame(ws.MaskFrame(ws.NewTextFrame(bytes.Repeat([]byte("a"), 1001)))), ws.StatusMessageTooBig},
		{"unmasked", ws.MustCompileFrame(ws.NewTextFrame([]byte("4x"))), ws.StatusProtocolError},
		{"invalid utf8", ws.MustCompileFrame(ws.MaskFrame(ws.NewTextFrame([]byte{'4', 0xff, 0xfe}))), ws.StatusInvalidFramePayloadData},
		{"reserved opcode", ws.MustCompileFrame(ws.MaskFrame(ws.NewFrame(ws.OpCode(3), true, []byte("x")))), ws.StatusProtocolError},
		{"64-bit length with MSB set", append([]byte{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1}, 1, 2, 3, 4), ws.StatusProtocolError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialWS(t, base, "EIO=4&transport=websocket")
			readText(t, c)
			if _, err := c.Write(tc.frame); err != nil {
				t.Fatal(err)
			}
			if code := readClose(t, c); code != tc.code {
				t.Fatalf("close code %d, want %d", code, tc.code)
			}
		})
	}
	// The server still serves after all of that.
	c := dialWS(t, base, "EIO=4&transport=websocket")
	readText(t, c)
}

func TestWebSocketBadPackets(t *testing.T) {
	h := newEcho()
	_, base := startServer(t, testConfig(), h)
	for _, p := range []string{"", "9", "2", "x"} {
		c := dialWS(t, base, "EIO=4&transport=websocket")
		readText(t, c)
		wsutil.WriteClientText(c, []byte(p))
		if code := readClose(t, c); code != ws.StatusNoStatusRcvd {
			t.Fatalf("%q: close code %d", p, code)
		}
		if r := h.waitClose(t); r != "parse error" {
			t.Fatalf("%q: reason %q", p, r)
		}
	}
	// "1" over WebSocket closes the session (stricter than the reference, E45).
	c := dialWS(t, base, "EIO=4&transport=websocket")
	readText(t, c)
	wsutil.WriteClientText(c, []byte("1"))
	if r := h.waitClose(t); r != "transport close" {
		t.Fatalf("reason %q", r)
	}
}

func TestUpgrade(t *testing.T) {
	h := newEcho()
	_, base := startServer(t, quietConfig(), h)
	sid := handshake(t, base)
	// Queue a message on polling, then start a pending GET.
	post(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid, "text/plain", "4queued")
	code, body, _ := get(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid)
	if code != 200 || body != "4queued" {
		t.Fatalf("%d %q", code, body)
	}
	pending := make(chan string, 1)
	go func() { _, b, _ := get(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid); pending <- b }()
	time.Sleep(30 * time.Millisecond)

	c := dialWS(t, base, "EIO=4&transport=websocket&sid="+sid)
	wsutil.WriteClientText(c, []byte("2probe"))
	if got := readText(t, c); got != "3probe" {
		t.Fatalf("got %q", got)
	}
	select {
	case b := <-pending:
		if b != "6" {
			t.Fatalf("pending GET got %q", b)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("pending GET not released by a noop")
	}
	wsutil.WriteClientText(c, []byte("5"))
	wsutil.WriteClientText(c, []byte("4after"))
	for {
		got := readText(t, c)
		if got == "2" {
			wsutil.WriteClientText(c, []byte("3"))
			continue
		}
		if got != "4after" {
			t.Fatalf("got %q", got)
		}
		break
	}
	// Polling after the upgrade: 400 code 3.
	code, body, _ = get(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid)
	if code != 400 || body != `{"code":3,"message":"Bad request"}` {
		t.Fatalf("%d %s", code, body)
	}
	// A second WebSocket with the sid is closed.
	c2 := dialWS(t, base, "EIO=4&transport=websocket&sid="+sid)
	if code := readClose(t, c2); code != ws.StatusNoStatusRcvd {
		t.Fatalf("close %d", code)
	}
}

func TestUpgradeTimeoutKeepsPolling(t *testing.T) {
	cfg := testConfig()
	cfg.UpgradeTimeout = 100 * time.Millisecond
	cfg.PingInterval = 5 * time.Second
	_, base := startServer(t, cfg, newEcho())
	code, body, _ := get(t, base+"/engine.io/?EIO=4&transport=polling")
	if code != 200 {
		t.Fatal(body)
	}
	sid := body[9:29]
	c := dialWS(t, base, "EIO=4&transport=websocket&sid="+sid)
	wsutil.WriteClientText(c, []byte("2probe"))
	readText(t, c)
	if code := readClose(t, c); code != ws.StatusNoStatusRcvd {
		t.Fatalf("close %d", code)
	}
	post(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid, "text/plain", "4still")
	if code, body, _ := get(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid); code != 200 || body != "4still" {
		t.Fatalf("%d %q", code, body)
	}
}
