package hostile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/riptide-io/riptide"
)

// parallel runs n jobs on workers goroutines and returns the first errors
// (at most 10) with how many jobs failed.
func parallel(n, workers int, job func(i int) error) (failed int, errs []error) {
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := job(i); err != nil {
					mu.Lock()
					failed++
					if len(errs) < 10 {
						errs = append(errs, fmt.Errorf("job %d: %w", i, err))
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return failed, errs
}

func reportJobs(t *testing.T, what string, n, failed int, errs []error) {
	t.Helper()
	if failed > 0 {
		t.Fatalf("%s: %d of %d failed; first errors: %v", what, failed, n, errs)
	}
}

// rst closes c with SO_LINGER 0: the kernel sends a RST, not a FIN.
func rst(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// TestHalfOpenFlood opens 2,000 connections at once that never send a
// byte. The server keeps serving while they are open, closes every one of
// them after HeadTimeout without a byte, and no descriptor leaks.
func TestHalfOpenFlood(t *testing.T) {
	n := 2000
	if lim := fdLimit(); lim > 0 && 2*n+256 > lim {
		// Each connection costs two descriptors here (client and server).
		n = (lim - 256) / 2
		t.Logf("descriptor limit %d: flooding with %d connections instead of 2,000", lim, n)
	}
	cfg := baseConfig()
	cfg.HeadTimeout = 2 * time.Second
	h := startServer(t, cfg)
	fd0 := countFDs()

	conns := make([]net.Conn, n)
	failed, errs := parallel(n, 32, func(i int) error {
		c, err := net.DialTimeout("tcp", h.addr, 20*time.Second)
		conns[i] = c
		return err
	})
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	reportJobs(t, "dialing", n, failed, errs)
	h.check(t) // service continues while 2,000 connections sit silent

	failed, errs = parallel(n, 64, func(i int) error {
		out, err := readUntilClosed(conns[i], 30*time.Second)
		if err != nil {
			return fmt.Errorf("still open: %w", err)
		}
		if len(out) != 0 {
			return fmt.Errorf("server sent %q to a silent connection", trunc(string(out)))
		}
		return nil
	})
	reportJobs(t, "waiting for HeadTimeout closes", n, failed, errs)
	for _, c := range conns {
		c.Close()
	}
	if fd0 >= 0 {
		waitFor(t, settleTimeout, func() string {
			if got := countFDs(); got > fd0+fdSlack {
				return fmt.Sprintf("%d descriptors open, %d before the flood", got, fd0)
			}
			return ""
		})
	}
	h.check(t)
	h.finish(t)
}

// TestSessionFlood opens sessions up to MaxSessions on both transports;
// the next handshake is refused with 503 and service resumes as soon as
// sessions close.
func TestSessionFlood(t *testing.T) {
	const max = 40
	cfg := baseConfig()
	cfg.MaxSessions = max
	h := startServer(t, cfg)
	var ws []*wsClient
	for i := 0; i < max/2; i++ {
		w, _ := h.sioConnect(t, "/")
		ws = append(ws, w)
	}
	var sids []string
	for i := 0; i < max/2; i++ {
		sids = append(sids, h.pollOpen(t))
	}
	resp, body := h.rawDo(t, "GET", "EIO=4&transport=polling", "", "")
	expectAnswer(t, resp, body, 503, "application/json", `{"code":4,"message":"Too many sessions"}`)
	resp, body = h.rawDo(t, "GET", "EIO=4&transport=websocket",
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", "")
	expectAnswer(t, resp, body, 503, "text/html", "Too many sessions")
	// Existing sessions are not affected.
	ws[0].sendText(`421["echo","full"]`)
	ws[0].expectText(`431["full"]`)
	for _, w := range ws {
		w.Close()
	}
	for _, sid := range sids {
		h.post(t, sid, "1", 200, "ok")
	}
	waitFor(t, settleTimeout, func() string {
		if n := h.srv.Metrics().Sessions; n != 0 {
			return fmt.Sprintf("%d sessions open", n)
		}
		return ""
	})
	h.finish(t)
}

// TestRSTStorm resets connections (SO_LINGER 0) at every stage of their
// life, many times over: the server drops each session, leaks no socket,
// connection or descriptor, and keeps serving.
func TestRSTStorm(t *testing.T) {
	cfg := baseConfig()
	h := startServer(t, cfg)
	big := `421["echo","` + strings.Repeat("z", 100_000) + `"]`
	stages := []struct {
		name string
		run  func(c net.Conn) error
	}{
		{"mid request line", func(c net.Conn) error {
			_, err := io.WriteString(c, "GET /socket.io/?EIO=4&tr")
			return err
		}},
		{"right after the 101", func(c net.Conn) error {
			_, err := upgrade(c, h.addr, "EIO=4&transport=websocket")
			return err
		}},
		{"after CONNECT", func(c net.Conn) error {
			br, err := upgrade(c, h.addr, "EIO=4&transport=websocket")
			if err != nil {
				return err
			}
			if _, err := c.Write(textFrame("40")); err != nil {
				return err
			}
			// Wait for the CONNECT reply so the socket exists.
			_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
			for i := 0; i < 2; i++ {
				hd, err := ws.ReadHeader(br)
				if err != nil {
					return err
				}
				if _, err := br.Discard(int(hd.Length)); err != nil {
					return err
				}
			}
			return nil
		}},
		{"mid frame", func(c net.Conn) error {
			if _, err := upgrade(c, h.addr, "EIO=4&transport=websocket"); err != nil {
				return err
			}
			f := textFrame(`42["echo","half a frame"]`)
			_, err := c.Write(f[:len(f)/2])
			return err
		}},
		{"with a large ack in flight", func(c net.Conn) error {
			if _, err := upgrade(c, h.addr, "EIO=4&transport=websocket"); err != nil {
				return err
			}
			_, err := c.Write(append(textFrame("40"), textFrame(big)...))
			return err
		}},
		{"with a polling GET pending", func(c net.Conn) error {
			// Handshake and CONNECT on other connections, then park a GET here.
			sid, err := rawPollOpen(h.addr)
			if err != nil {
				return err
			}
			if err := rawPost(h.addr, sid, "40"); err != nil {
				return err
			}
			_, err = io.WriteString(c, "GET /socket.io/?"+sidQuery(sid)+" HTTP/1.1\r\nHost: x\r\n\r\n")
			if err != nil {
				return err
			}
			// The CONNECT reply answers this GET; the next one parks.
			br := bufio.NewReader(c)
			_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
			if err := skipResponse(br); err != nil {
				return err
			}
			_, err = io.WriteString(c, "GET /socket.io/?"+sidQuery(sid)+" HTTP/1.1\r\nHost: x\r\n\r\n")
			time.Sleep(10 * time.Millisecond)
			return err
		}},
		{"mid POST body", func(c net.Conn) error {
			sid, err := rawPollOpen(h.addr)
			if err != nil {
				return err
			}
			_, err = io.WriteString(c, "POST /socket.io/?"+sidQuery(sid)+" HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n40")
			return err
		}},
	}
	const rounds = 60
	for _, st := range stages {
		t.Run(st.name, func(t *testing.T) {
			failed, errs := parallel(rounds, 12, func(int) error {
				c, err := net.DialTimeout("tcp", h.addr, ioTimeout)
				if err != nil {
					return err
				}
				defer rst(c)
				return st.run(c)
			})
			reportJobs(t, st.name, rounds, failed, errs)
			h.check(t)
		})
	}
	// Every socket the storm connected is gone.
	h.settle(t)
	h.finish(t)
}

// rawPollOpen is pollOpen for flood workers: no testing.T.
func rawPollOpen(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	io.WriteString(c, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	b, err := io.ReadAll(c)
	if err != nil {
		return "", err
	}
	_, body, ok := strings.Cut(string(b), "\r\n\r\n0{\"sid\":\"")
	if !ok || len(body) < 20 {
		return "", fmt.Errorf("handshake answered %q", b)
	}
	return body[:20], nil
}

func rawPost(addr, sid, body string) error {
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	fmt.Fprintf(c, "POST /socket.io/?%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", sidQuery(sid), len(body), body)
	b, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(string(b), "HTTP/1.1 200 ") || !strings.HasSuffix(string(b), "\r\n\r\nok") {
		return fmt.Errorf("POST %q answered %q", body, b)
	}
	return nil
}

// skipResponse reads one HTTP response with a Content-Length.
func skipResponse(br *bufio.Reader) error {
	n := -1
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if line == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(strings.ToLower(line), "content-length: "); ok {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if n < 0 {
		return errors.New("response without Content-Length")
	}
	_, err := br.Discard(n)
	return err
}

// TestPingPongFloods: WebSocket pings and Engine.IO pongs by the ten
// thousand. Every WebSocket ping is answered in order; Engine.IO pongs
// are ignored; a pinger that never reads its pongs cannot grow the
// server's memory without bound.
func TestPingPongFloods(t *testing.T) {
	h := startServer(t, baseConfig())

	t.Run("WebSocket ping flood, pongs read", func(t *testing.T) {
		const n = 20_000
		w, _ := h.sioConnect(t, "/")
		errc := make(chan error, 1)
		go func() {
			var batch []byte
			for i := 0; i < n; i++ {
				batch = append(batch, frame(finBit|opPing, true, binary.BigEndian.AppendUint32(nil, uint32(i)))...)
				if len(batch) > 32<<10 || i == n-1 {
					_ = w.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
					if _, err := w.c.Write(batch); err != nil {
						errc <- err
						return
					}
					batch = batch[:0]
				}
			}
			errc <- nil
		}()
		for i := 0; i < n; i++ {
			op, p, err := w.readFrame()
			if err != nil {
				t.Fatalf("pong %d: %v", i, err)
			}
			if op == ws.OpText && string(p) == "2" {
				i--
				continue
			}
			if op != ws.OpPong || len(p) != 4 || binary.BigEndian.Uint32(p) != uint32(i) {
				t.Fatalf("frame %d: op %v %x, want the pong of ping %d", i, op, p, i)
			}
		}
		if err := <-errc; err != nil {
			t.Fatalf("writing pings: %v", err)
		}
		w.sendText(`421["echo","after pings"]`)
		w.expectText(`431["after pings"]`)
		w.Close()
		h.check(t)
	})

	t.Run("Engine.IO pong flood over WebSocket", func(t *testing.T) {
		w, _ := h.sioConnect(t, "/")
		pong := textFrame("3")
		var batch []byte
		for i := 0; i < 1000; i++ {
			batch = append(batch, pong...)
		}
		for i := 0; i < 30; i++ { // 30,000 pongs
			w.write(batch)
		}
		// Nothing answers a pong: the next frame is the ack.
		w.sendText(`421["echo","after pongs"]`)
		w.expectText(`431["after pongs"]`)
		w.Close()
		h.check(t)
	})

	t.Run("Engine.IO pong flood over polling", func(t *testing.T) {
		sid, id := h.pollSocket(t)
		for i := 0; i < 3; i++ {
			h.post(t, sid, strings.Repeat("3\x1e", 20_000)+fmt.Sprintf(`42%d["echo",%d]`, i, i), 200, "ok")
		}
		var got []string
		for len(got) < 3 {
			got = append(got, strings.Split(h.poll(t, sid), "\x1e")...)
		}
		if strings.Join(got, " ") != `430[0] 431[1] 432[2]` {
			t.Fatalf("polls after the pong floods: %q", got)
		}
		h.post(t, sid, "1", 200, "ok")
		if r := h.reason(t, id); r != "transport close" {
			t.Errorf("reason %q", r)
		}
		h.check(t)
	})

	t.Run("WebSocket ping flood, pongs never read", func(t *testing.T) {
		// 16 MiB of 125-byte pings from a client that never reads: the
		// server must stop reading, drop pongs or close the connection, not
		// queue 15 MiB of pongs. Measured while the connection is open.
		w, _ := h.sioConnect(t, "/")
		before := heapInuse()
		one := frame(finBit|opPing, true, make([]byte, 125))
		chunk := make([]byte, 0, 256<<10)
		for len(chunk)+len(one) <= cap(chunk) {
			chunk = append(chunk, one...)
		}
		sent := 0
		_ = w.c.SetWriteDeadline(time.Now().Add(20 * time.Second))
		var werr error
		for sent < 16<<20 {
			n, err := w.c.Write(chunk)
			sent += n
			if err != nil {
				werr = err
				break
			}
		}
		time.Sleep(200 * time.Millisecond) // let the server read what the kernel holds
		grown := int64(heapInuse()) - int64(before)
		t.Logf("sent %d MiB of pings (write error: %v); heap grew by %d MiB", sent>>20, werr, grown>>20)
		if grown > 8<<20 {
			t.Errorf("a client that never reads its pongs grew the heap by %d MiB after sending %d MiB of pings (bound 8 MiB): "+
				"pongs are queued without limit (the slow-consumer cap does not cover them)", grown>>20, sent>>20)
		}
		w.Close()
		h.check(t)
	})
	h.finish(t)
}

// TestNamespaceConnectFloods: one connection sends CONNECT after CONNECT
// to unknown namespaces (each answered with CONNECT_ERROR, nothing kept),
// or joins and leaves namespaces in a loop (empty dynamic children removed).
func TestNamespaceConnectFloods(t *testing.T) {
	cfg := baseConfig()
	// Empty dynamic children are removed by default (KeepEmptyChildNamespaces false).
	h := startServer(t, cfg, func(srv *riptide.Server, h *server) {
		srv.OfRegexp(regexp.MustCompile(`^/dyn-[a-z0-9]+$`)).OnConnection(h.onConnLight)
	})
	pad := strings.Repeat("x", 200)

	// flood sends n CONNECTs from one writer goroutine while the test reads
	// the answers in order.
	flood := func(t *testing.T, w *wsClient, n int, packets func(i int) []string, check func(i int, got string)) {
		errc := make(chan error, 1)
		go func() {
			var batch []byte
			for i := 0; i < n; i++ {
				for _, p := range packets(i) {
					batch = append(batch, textFrame(p)...)
				}
				if len(batch) > 64<<10 || i == n-1 {
					_ = w.c.SetWriteDeadline(time.Now().Add(60 * time.Second))
					if _, err := w.c.Write(batch); err != nil {
						errc <- err
						return
					}
					batch = batch[:0]
				}
			}
			errc <- nil
		}()
		for i := 0; i < n; i++ {
			check(i, w.nextText())
		}
		if err := <-errc; err != nil {
			t.Fatalf("writing: %v", err)
		}
	}

	t.Run("10,000 CONNECTs to unknown namespaces", func(t *testing.T) {
		w, _ := h.sioConnect(t, "/")
		before := memStats()
		flood(t, w, 10_000, func(i int) []string {
			return []string{fmt.Sprintf("40/nope-%d-%s,", i, pad)}
		}, func(i int, got string) {
			if want := fmt.Sprintf(`44/nope-%d-%s,{"message":"Invalid namespace"}`, i, pad); got != want {
				t.Fatalf("answer %d: %q, want %q", i, trunc(got), trunc(want))
			}
		})
		checkRetained(t, before, 10_000, "unknown namespaces")
		if m := h.srv.Metrics(); m.Namespaces != 2 {
			t.Errorf("%d namespaces after CONNECTs to unknown ones, want 2 (/ and /admin)", m.Namespaces)
		}
		w.sendText(`421["echo","still here"]`)
		w.expectText(`431["still here"]`)
		w.Close()
		h.check(t)
	})

	t.Run("2,000 join/leave rounds of a declared namespace", func(t *testing.T) {
		w, _ := h.sioConnect(t, "/")
		flood(t, w, 2000, func(i int) []string {
			return []string{"40/admin,", fmt.Sprintf(`42/admin,%d["echo",%d]`, i, i), "41/admin,"}
		}, func(i int, got string) {
			if !strings.HasPrefix(got, `40/admin,{"sid":"`) {
				t.Fatalf("CONNECT %d answered %q", i, got)
			}
			w.expectText(fmt.Sprintf(`43/admin,%d[%d]`, i, i))
		})
		w.sendText(`421["echo","done"]`)
		w.expectText(`431["done"]`)
		waitFor(t, settleTimeout, func() string {
			if n := h.live.Load(); n != 1 {
				return fmt.Sprintf("%d sockets connected, want 1", n)
			}
			return ""
		})
		w.Close()
		h.check(t)
	})

	t.Run("5,000 dynamic namespaces joined and left", func(t *testing.T) {
		w, _ := h.sioConnect(t, "/")
		before := memStats()
		const n = 5_000
		flood(t, w, n, func(i int) []string {
			nsp := fmt.Sprintf("/dyn-%d%s", i, pad)
			return []string{"40" + nsp + ",", "41" + nsp + ","}
		}, func(i int, got string) {
			prefix := fmt.Sprintf(`40/dyn-%d%s,{"sid":"`, i, pad)
			if !strings.HasPrefix(got, prefix) {
				t.Fatalf("CONNECT %d answered %q", i, trunc(got))
			}
		})
		w.sendText(`421["echo","done"]`)
		w.expectText(`431["done"]`)
		waitFor(t, settleTimeout, func() string {
			if n := h.live.Load(); n != 1 {
				return fmt.Sprintf("%d sockets connected, want 1", n)
			}
			return ""
		})
		checkRetained(t, before, n, "dynamic namespaces joined and left (children are removed when empty by default)")
		if m := h.srv.Metrics(); m.Namespaces != 2 {
			t.Errorf("%d namespaces after 5,000 dynamic children were joined and left, want 2 (/ and /admin)", m.Namespaces)
		}
		w.Close()
		h.check(t)
	})
	h.finish(t)
}

// checkRetained fails when n operations left about one heap object or
// 200 bytes each behind (the namespace names are 200+ bytes long).
func checkRetained(t *testing.T, before runtime.MemStats, n int, what string) {
	t.Helper()
	after := memStats()
	objs := int64(after.HeapObjects) - int64(before.HeapObjects)
	bytes := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d %s: %+d heap objects, %+d KiB", n, what, objs, bytes>>10)
	if objs > int64(n)/2 || bytes > int64(n)*200/2 {
		t.Errorf("%d %s left %d heap objects and %d KiB behind: state kept per namespace", n, what, objs, bytes>>10)
	}
}

// TestNeverReadingClients: clients that make the server send a lot and
// never read are disconnected by the slow-consumer cap ("slow consumer",
// WebSocket close 1008) while another client keeps getting its acks fast.
func TestNeverReadingClients(t *testing.T) {
	cfg := baseConfig()
	cfg.MaxBufferedBytes = 256 << 10
	cfg.SlowConsumerGrace = time.Second
	h := startServer(t, cfg)
	payload := strings.Repeat("p", 100_000)

	// The well-behaved client: an echo with ack every 20 ms.
	fast, _ := h.sioConnect(t, "/")
	stop := make(chan struct{})
	var maxLatency atomic.Int64
	var acks atomic.Int64
	fastErr := make(chan error, 1)
	go func() {
		fastErr <- func() error {
			for i := 1; ; i++ {
				select {
				case <-stop:
					return nil
				case <-time.After(20 * time.Millisecond):
				}
				start := time.Now()
				if _, err := fast.c.Write(textFrame(fmt.Sprintf(`42%d["echo",%d]`, i, i))); err != nil {
					return err
				}
				for {
					_ = fast.c.SetReadDeadline(time.Now().Add(ioTimeout))
					hd, err := ws.ReadHeader(fast.br)
					if err != nil {
						return fmt.Errorf("ack %d: %w", i, err)
					}
					p := make([]byte, hd.Length)
					if _, err := io.ReadFull(fast.br, p); err != nil {
						return err
					}
					if string(p) == "2" {
						continue
					}
					if want := fmt.Sprintf(`43%d[%d]`, i, i); string(p) != want {
						return fmt.Errorf("got %q, want %q", p, want)
					}
					break
				}
				if d := int64(time.Since(start)); d > maxLatency.Load() {
					maxLatency.Store(d)
				}
				acks.Add(1)
			}
		}()
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
	}()

	t.Run("WebSocket client that never reads", func(t *testing.T) {
		w, id := h.sioConnect(t, "/")
		// 60 requests for a 100 KB answer each: 6 MB queued for a client
		// that reads nothing, far over 4 x MaxBufferedBytes.
		var werr error
		for i := 0; i < 60 && werr == nil; i++ {
			_ = w.c.SetWriteDeadline(time.Now().Add(ioTimeout))
			_, werr = w.c.Write(textFrame(fmt.Sprintf(`42%d["echo","%s"]`, i, payload)))
		}
		if r := h.reason(t, id); r != "slow consumer" {
			t.Fatalf("server-side disconnect reason %q, want %q", r, "slow consumer")
		}
		// The client finally reads: what was sent, then the close frame
		// with the reason (1008), then the end of the connection.
		var closeSeen []byte
		n := 0
		for {
			op, p, err := w.readFrame()
			if err != nil {
				if closeSeen == nil {
					t.Errorf("after %d acks the connection ended (%v) without a close frame: the client never sees why (want 1008, policy violation)", n, err)
				}
				break
			}
			if op == ws.OpClose {
				closeSeen = p
				if closeCode(p) != ws.StatusPolicyViolation {
					t.Errorf("close frame %s, want 1008", closeDesc(p))
				}
				w.expectEOF()
				break
			}
			n++
		}
		t.Logf("slow client: writes ended with %v; read %d acks before the end", werr, n)
		w.Close()
		h.check(t)
	})

	t.Run("polling client that never polls", func(t *testing.T) {
		sid, id := h.pollSocket(t)
		closed := false
		for i := 0; i < 60 && !closed; i++ {
			code, body := h.do(t, "POST", sidQuery(sid), "text/plain", fmt.Sprintf(`42%d["echo","%s"]`, i, payload))
			switch {
			case code == 200 && body == "ok":
			case code == 400 && body == unknownSID:
				closed = true
			default:
				t.Fatalf("POST %d: %d %q", i, code, body)
			}
		}
		if r := h.reason(t, id); r != "slow consumer" {
			t.Fatalf("server-side disconnect reason %q, want %q", r, "slow consumer")
		}
		h.expectGone(t, sid)
		h.check(t)
	})

	// The slow consumers may be dealt with in a fraction of a second: let
	// the well-behaved client reach its 10 acks (or fail trying) before it
	// stops, so that the count says whether it was served, not how fast
	// the subtests ran.
	for deadline := time.Now().Add(5 * time.Second); acks.Load() < 10 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	if err := <-fastErr; err != nil {
		t.Fatalf("the well-behaved client: %v", err)
	}
	lat := time.Duration(maxLatency.Load())
	t.Logf("well-behaved client: %d acks, slowest %v", acks.Load(), lat)
	if acks.Load() < 10 {
		t.Errorf("the well-behaved client got only %d acks", acks.Load())
	}
	if lat > 3*time.Second {
		t.Errorf("the well-behaved client waited %v for an ack while slow consumers were being handled (bound 3s)", lat)
	}
	fast.Close()
	h.finish(t)
}
