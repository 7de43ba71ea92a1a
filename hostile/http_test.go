package hostile

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestMalformedHTTP sends request heads a parser must refuse. Each gets
// exactly one error response (status, empty body, Connection: close) and
// the connection is closed.
func TestMalformedHTTP(t *testing.T) {
	cfg := baseConfig()
	cfg.MaxHeaderBytes = 8 << 10
	h := startServer(t, cfg)
	const hs = "/socket.io/?EIO=4&transport=polling"
	long := strings.Repeat("a", 9<<10)
	manyFields := strings.Builder{}
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&manyFields, "X-F%d: v\r\n", i)
	}
	cases := []struct {
		name   string
		req    string
		status int
	}{
		{"garbage request line", "GARBAGE\r\n\r\n", 400},
		{"garbage words", "HELLO THERE FRIEND\r\nHost: x\r\n\r\n", 400},
		{"binary garbage", "\x00\x01\x02\x03\xff\xfe\r\n\r\n", 400},
		{"TLS ClientHello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + strings.Repeat("\x00", 64), 400},
		{"no version", "GET " + hs + "\r\nHost: x\r\n\r\n", 400},
		{"lowercase version", "GET " + hs + " http/1.1\r\nHost: x\r\n\r\n", 400},
		{"HTTP/2.0", "GET " + hs + " HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"HTTP/1.2", "GET " + hs + " HTTP/1.2\r\nHost: x\r\n\r\n", 505},
		{"HTTP/3.0", "GET " + hs + " HTTP/3.0\r\nHost: x\r\n\r\n", 505},
		{"HTTP/0.9", "GET " + hs + " HTTP/0.9\r\nHost: x\r\n\r\n", 505},
		{"NUL in header value", "GET " + hs + " HTTP/1.1\r\nHost: x\r\nX-Evil: a\x00b\r\n\r\n", 400},
		{"NUL in header name", "GET " + hs + " HTTP/1.1\r\nHost: x\r\nX-E\x00vil: a\r\n\r\n", 400},
		{"NUL in target", "GET /socket.io/?EIO=4\x00&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"CR in header value", "GET " + hs + " HTTP/1.1\r\nHost: x\r\nX-Evil: a\rb\r\n\r\n", 400},
		{"bare LF line ends", "GET " + hs + " HTTP/1.1\nHost: x\n\n", 400},
		{"obs-fold", "GET " + hs + " HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n", 400},
		{"obs-fold with tab", "GET " + hs + " HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n\tb\r\n\r\n", 400},
		{"space before colon", "GET " + hs + " HTTP/1.1\r\nHost: x\r\nX-Evil : a\r\n\r\n", 400},
		{"header without colon", "GET " + hs + " HTTP/1.1\r\nHost: x\r\nX-Evil\r\n\r\n", 400},
		{"missing Host", "GET " + hs + " HTTP/1.1\r\n\r\n", 400},
		{"two Hosts", "GET " + hs + " HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400},
		{"CL and TE", "POST " + hs + "&sid=x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n4ab\r\n0\r\n\r\n", 400},
		{"TE and CL", "POST " + hs + "&sid=x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\n4ab\r\n0\r\n\r\n", 400},
		{"duplicate differing Content-Length", "POST " + hs + "&sid=x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n4abc", 400},
		{"Content-Length list", "POST " + hs + "&sid=x HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\n4abc", 400},
		{"negative Content-Length", "POST " + hs + "&sid=x HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
		{"signed Content-Length", "POST " + hs + "&sid=x HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n4ab", 400},
		{"hex Content-Length", "POST " + hs + "&sid=x HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\n4ab", 400},
		{"overflowing Content-Length", "POST " + hs + "&sid=x HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400},
		{"TE on HTTP/1.0", "POST " + hs + "&sid=x HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"unknown Transfer-Encoding", "POST " + hs + "&sid=x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"bad percent-encoding", "GET /socket.io/%zz?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"head over MaxHeaderBytes", "GET " + hs + " HTTP/1.1\r\nHost: x\r\nX-Big: " + long + "\r\n\r\n", 431},
		{"head over MaxHeaderBytes, never ending", "GET " + hs + " HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat(long, 8), 431},
		{"long request target", "GET " + hs + "&pad=" + long + " HTTP/1.1\r\nHost: x\r\n\r\n", 431},
		{"too many header fields", "GET " + hs + " HTTP/1.1\r\nHost: x\r\n" + manyFields.String() + "\r\n", 431},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := h.exchange(t, []byte(tc.req), ioTimeout)
			expectHTTPError(t, raw, err, tc.status)
			h.check(t)
		})
	}
	// A valid request pipelined behind a bad one is never answered: the
	// stream cannot be framed after an error.
	t.Run("request smuggled behind a bad one", func(t *testing.T) {
		req := "GET " + hs + " HTTP/1.1\r\nHost: x\r\nX-Evil: a\x00b\r\n\r\nGET " + hs + " HTTP/1.1\r\nHost: x\r\n\r\n"
		raw, err := h.exchange(t, []byte(req), ioTimeout)
		expectHTTPError(t, raw, err, 400)
		h.check(t)
	})
	h.finish(t)
}

// TestChunkedBodies sends polling POSTs with broken or oversized chunked
// bodies. Bad framing is a 400 (RFC 9112 §7.1); chunk sizes adding up to
// more than MaxHTTPBufferSize are a 413, answered from the size line
// before the data is sent; the session survives a 413 (E23).
func TestChunkedBodies(t *testing.T) {
	cfg := baseConfig()
	cfg.MaxHTTPBufferSize = 100_000
	h := startServer(t, cfg)
	post := func(sid, body string) string {
		return "POST /socket.io/?EIO=4&transport=polling&sid=" + sid + " HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n" + body
	}
	cases := []struct {
		name   string
		body   string
		status int
	}{
		{"non-hex size", "zz\r\n4abc\r\n0\r\n\r\n", 400},
		{"negative size", "-1\r\n4abc\r\n0\r\n\r\n", 400},
		{"empty size line", "\r\n4abc\r\n0\r\n\r\n", 400},
		{"17 hex digits", "00000000000000004\r\n4abc\r\n0\r\n\r\n", 400},
		{"data longer than its size", "2\r\n4abc\r\n0\r\n\r\n", 400},
		{"bare LF after size", "4\n4abc\r\n0\r\n\r\n", 400},
		{"size 2^64 overflow", "10000000000000000\r\n", 413},
		{"size over the limit, no data sent", "186a1\r\n", 413}, // 100001
		{"sizes adding up over the limit", "c350\r\n" + strings.Repeat("a", 50000) + "\r\nc351\r\n", 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sid := h.pollOpen(t)
			raw, err := h.exchange(t, []byte(post(sid, tc.body)), ioTimeout)
			expectHTTPError(t, raw, err, tc.status)
			if tc.status == 413 {
				// E23: the reference keeps the session after a 413.
				h.post(t, sid, "40", 200, "ok")
				if got := h.poll(t, sid); !strings.HasPrefix(got, `40{"sid":"`) {
					t.Fatalf("session after the 413: CONNECT answered %q", got)
				}
				h.post(t, sid, "1", 200, "ok")
			}
			h.check(t)
		})
	}
	t.Run("valid chunked POST", func(t *testing.T) {
		sid := h.pollOpen(t)
		c := h.dial(t)
		_ = c.SetDeadline(time.Now().Add(ioTimeout))
		io.WriteString(c, post(sid, "1\r\n4\r\n1\r\n0\r\n0\r\n\r\n"))
		buf := make([]byte, 512)
		n, _ := io.ReadAtLeast(c, buf, 1)
		if !bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 200 ")) || !bytes.HasSuffix(buf[:n], []byte("\r\n\r\nok")) {
			t.Fatalf("chunked POST of 40: %q", buf[:n])
		}
		if got := h.poll(t, sid); !strings.HasPrefix(got, `40{"sid":"`) {
			t.Fatalf("CONNECT over a chunked POST answered %q", got)
		}
		h.post(t, sid, "1", 200, "ok")
	})
	h.finish(t)
}

// TestSlowAndSilentClients: slowloris heads and bodies, connections that
// never send anything and idle keep-alive connections are all closed by the
// server (HeadTimeout, IdleTimeout), silently.
func TestSlowAndSilentClients(t *testing.T) {
	cfg := baseConfig()
	cfg.HeadTimeout = 500 * time.Millisecond
	cfg.IdleTimeout = time.Second
	h := startServer(t, cfg)
	const give = 15 * time.Second // far above the timeouts: only a server that never closes fails

	// trickle writes s one byte every 50 ms, then keeps sending filler
	// bytes, until the connection fails or stop is closed.
	trickle := func(c net.Conn, s, filler string, stop chan struct{}) chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				b := filler
				if i < len(s) {
					b = s[i : i+1]
				}
				if _, err := io.WriteString(c, b); err != nil {
					return
				}
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
		return done
	}
	silentClose := func(t *testing.T, c net.Conn, what string) time.Duration {
		t.Helper()
		start := time.Now()
		out, err := readUntilClosed(c, give)
		if err != nil {
			t.Fatalf("%s: still open after %v (%v)", what, give, err)
		}
		if len(out) != 0 {
			t.Fatalf("%s: server sent %q before closing, want a silent close", what, trunc(string(out)))
		}
		d := time.Since(start)
		if d < cfg.HeadTimeout/2 {
			t.Fatalf("%s: closed after %v, before HeadTimeout (%v)", what, d, cfg.HeadTimeout)
		}
		return d
	}

	t.Run("silent connection", func(t *testing.T) {
		c := h.dial(t)
		silentClose(t, c, "connection that never sends")
		h.check(t)
	})
	t.Run("partial request line, then silence", func(t *testing.T) {
		c := h.dial(t)
		io.WriteString(c, "GET /socket.io/?EIO=4&trans")
		silentClose(t, c, "partial request line")
		h.check(t)
	})
	t.Run("slowloris head", func(t *testing.T) {
		c := h.dial(t)
		stop := make(chan struct{})
		done := trickle(c, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-Slow: ", "a", stop)
		silentClose(t, c, "head trickling one byte every 50 ms")
		close(stop)
		<-done
		h.check(t)
	})
	t.Run("slowloris header lines", func(t *testing.T) {
		// A new complete header line every 50 ms: each line is progress,
		// but the head never ends.
		c := h.dial(t)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			if _, err := io.WriteString(c, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n"); err != nil {
				return
			}
			for i := 0; ; i++ {
				if _, err := fmt.Fprintf(c, "X-%d: y\r\n", i%50); err != nil {
					return
				}
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
		silentClose(t, c, "head growing by one header line every 50 ms")
		close(stop)
		<-done
		h.check(t)
	})
	t.Run("slowloris POST body", func(t *testing.T) {
		sid := h.pollOpen(t)
		c := h.dial(t)
		stop := make(chan struct{})
		head := "POST /socket.io/?EIO=4&transport=polling&sid=" + sid + " HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 50000\r\n\r\n4"
		io.WriteString(c, head)
		done := trickle(c, "", "a", stop)
		silentClose(t, c, "POST body trickling one byte every 50 ms")
		close(stop)
		<-done
		h.check(t)
	})
	t.Run("slowloris chunked body", func(t *testing.T) {
		sid := h.pollOpen(t)
		c := h.dial(t)
		stop := make(chan struct{})
		head := "POST /socket.io/?EIO=4&transport=polling&sid=" + sid + " HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
		io.WriteString(c, head)
		done := trickle(c, "", "1\r\na\r\n", stop) // one 1-byte chunk every 50 ms
		silentClose(t, c, "chunked body trickling one chunk every 50 ms")
		close(stop)
		<-done
		h.check(t)
	})
	t.Run("idle keep-alive connection", func(t *testing.T) {
		c := h.dial(t)
		io.WriteString(c, "GET /socket.io/?EIO=4 HTTP/1.1\r\nHost: x\r\n\r\n")
		out, err := readUntilClosed(c, give)
		if err != nil {
			t.Fatalf("idle keep-alive connection still open after %v: %v", give, err)
		}
		want := `{"code":0,"message":"Transport unknown"}`
		if !bytes.HasPrefix(out, []byte("HTTP/1.1 400 ")) || !bytes.HasSuffix(out, []byte("\r\n\r\n"+want)) {
			t.Fatalf("got %q, want one 400 %s and then the idle close", out, want)
		}
		h.check(t)
	})
	t.Run("half-open WebSocket before the first frame", func(t *testing.T) {
		// An upgrade request cut before its blank line: the head never
		// completes.
		c := h.dial(t)
		io.WriteString(c, "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
		silentClose(t, c, "upgrade head without its blank line")
		h.check(t)
	})
	h.finish(t)
}
