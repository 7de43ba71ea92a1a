package engine

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

func TestSlowlorisAndIdleTimeouts(t *testing.T) {
	cfg := testConfig()
	cfg.HeadTimeout = 150 * time.Millisecond
	cfg.IdleTimeout = 300 * time.Millisecond
	_, base := startServer(t, cfg, newEcho())
	addr := strings.TrimPrefix(base, "http://")

	closedAfter := func(c net.Conn) time.Duration {
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := io.ReadAll(c)
		// A reset counts as closed: the slowloris writer below may still be
		// sending when the server closes, and the peer's kernel answers those
		// bytes with RST, which the read can see before the FIN.
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("read: %v", err)
		}
		return time.Since(start)
	}
	// A silent connection.
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	if d := closedAfter(c); d > 2*time.Second {
		t.Fatalf("silent connection kept %v", d)
	}
	// A head trickling in (slowloris) is cut at HeadTimeout from its start.
	c2, _ := net.Dial("tcp", addr)
	defer c2.Close()
	go func() {
		for _, b := range []byte("GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nX-Slow: ") {
			if _, err := c2.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	if d := closedAfter(c2); d > 2*time.Second {
		t.Fatalf("slow head kept %v", d)
	}
	// An idle keep-alive connection goes after IdleTimeout.
	c3, _ := net.Dial("tcp", addr)
	defer c3.Close()
	io.WriteString(c3, "GET /engine.io/?transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
	start := time.Now()
	_ = c3.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c3)
	if !strings.HasPrefix(string(b), "HTTP/1.1 400") || time.Since(start) < 250*time.Millisecond {
		t.Fatalf("idle: %q after %v", b, time.Since(start))
	}
}

func TestMaxSessions(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSessions = 2
	cfg.PingInterval = 5 * time.Second
	_, base := startServer(t, cfg, newEcho())
	handshake(t, base)
	handshake(t, base)
	code, body, _ := get(t, base+"/engine.io/?EIO=4&transport=polling")
	if code != 503 || body != `{"code":4,"message":"Too many sessions"}` {
		t.Fatalf("%d %s", code, body)
	}
}

func TestAllowedOriginsOnEveryRequest(t *testing.T) {
	cfg := testConfig()
	cfg.PingInterval = 5 * time.Second
	cfg.AllowedOrigins = []string{"https://app.example"}
	_, base := startServer(t, cfg, newEcho())
	addr := strings.TrimPrefix(base, "http://")
	resp, body := rawRequest(t, addr, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n\r\n")
	if resp.StatusCode != 403 || body != `{"code":4,"message":"Forbidden"}` {
		t.Fatalf("foreign handshake: %d %s", resp.StatusCode, body)
	}
	sid := handshake(t, base) // no Origin: allowed
	resp, _ = rawRequest(t, addr, "GET /engine.io/?EIO=4&transport=polling&sid="+sid+" HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n\r\n")
	if resp.StatusCode != 403 {
		t.Fatalf("foreign poll: %d", resp.StatusCode)
	}
	resp, _ = rawRequest(t, addr, "POST /engine.io/?EIO=4&transport=polling&sid="+sid+" HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\nContent-Length: 3\r\n\r\n4hi")
	if resp.StatusCode != 200 {
		t.Fatalf("allowed origin: %d", resp.StatusCode)
	}
}

// flooder sends a big message to every session that says "flood".
type flooder struct{ *echoHandler }

func (f flooder) OnMessage(s *Session, data []byte, binary bool) {
	switch string(data) {
	case "flood":
		big := strings.Repeat("x", 64<<10)
		for i := 0; i < 200; i++ { // 12.8 MB for a client that never reads
			s.Send([]byte(big))
		}
	case "panic":
		panic("handler bug")
	default:
		f.echoHandler.OnMessage(s, data, binary)
	}
}

func TestSlowConsumerIsClosedOthersCarryOn(t *testing.T) {
	cfg := testConfig()
	cfg.PingInterval = 10 * time.Second
	cfg.PingTimeout = 10 * time.Second
	h := newEcho()
	_, base := startServer(t, cfg, flooder{h})
	slow := dialWS(t, base, "EIO=4&transport=websocket")
	readText(t, slow)
	other := dialWS(t, base, "EIO=4&transport=websocket")
	readText(t, other)
	wsutil.WriteClientText(slow, []byte("4flood")) // and never read again
	if r := h.waitClose(t); r != "slow consumer" {
		t.Fatalf("reason %q", r)
	}
	wsutil.WriteClientText(other, []byte("4still here"))
	if got := readText(t, other); got != "4still here" {
		t.Fatalf("got %q", got)
	}
}

func TestHandlerPanicClosesOnlyItsSession(t *testing.T) {
	h := newEcho()
	_, base := startServer(t, testConfig(), flooder{h})
	victim := dialWS(t, base, "EIO=4&transport=websocket")
	readText(t, victim)
	other := dialWS(t, base, "EIO=4&transport=websocket")
	readText(t, other)
	wsutil.WriteClientText(victim, []byte("4panic"))
	if code := readClose(t, victim); code != ws.StatusNoStatusRcvd {
		t.Fatalf("close %d", code)
	}
	wsutil.WriteClientText(other, []byte("4ok"))
	if got := readText(t, other); got != "4ok" {
		t.Fatalf("got %q", got)
	}
}

func TestShutdownSendsGoingAway(t *testing.T) {
	srv := NewServer()
	srv.NumLoops = 2
	srv.Handle(quietConfig(), newEcho()) // no ping timeout before Shutdown on a loaded machine
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	c := dialWS(t, "http://"+srv.Addr().String(), "EIO=4&transport=websocket")
	readText(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go srv.Shutdown(ctx)
	if code := readClose(t, c); code != ws.StatusGoingAway {
		t.Fatalf("close code %d, want 1001", code)
	}
}

// burster queues many messages for one session in one loop turn.
type burster struct{ *echoHandler }

func (b burster) OnMessage(s *Session, data []byte, binary bool) {
	if string(data) == "burst" {
		for i := 0; i < 5000; i++ {
			s.Send([]byte("m"))
		}
		s.Send([]byte("end"))
		return
	}
	b.echoHandler.OnMessage(s, data, binary)
}

// TestMoreThanIovMaxMessagesInOneTurn: writev takes at most 1024 buffers;
// a turn that queues more must still deliver everything, in order.
func TestMoreThanIovMaxMessagesInOneTurn(t *testing.T) {
	_, base := startServer(t, testConfig(), burster{newEcho()})
	c := dialWS(t, base, "EIO=4&transport=websocket")
	readText(t, c)
	wsutil.WriteClientText(c, []byte("4burst"))
	n := 0
	for {
		got := readText(t, c)
		if got == "2" {
			wsutil.WriteClientText(c, []byte("3"))
			continue
		}
		if got == "4end" {
			break
		}
		if got != "4m" {
			t.Fatalf("got %q", got)
		}
		n++
	}
	if n != 5000 {
		t.Fatalf("got %d messages", n)
	}
}
