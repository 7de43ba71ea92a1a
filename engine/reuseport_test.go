package engine

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestReusePort: with ReusePort, port 0 still gives one port (every loop's
// listener on it), the kernel spreads connections over the loops, and a
// server started on that port without ReusePort is refused it.
func TestReusePort(t *testing.T) {
	srv, base := startServer(t, quietConfig(), newEcho(), func(s *Server) { s.ReusePort = true })
	if got := len(srv.Loops()); got != 2 {
		t.Fatalf("%d loops known after Start, want 2", got)
	}
	addr := strings.TrimPrefix(base, "http://")
	if strings.HasSuffix(addr, ":0") {
		t.Fatalf("Addr %s: port 0", addr)
	}
	const n = 40 // all on one loop by chance: 2^-39
	for i := range n {
		resp, body := rawRequest(t, addr, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if resp.StatusCode != 200 || !strings.HasPrefix(body, `0{"sid":"`) {
			t.Fatalf("handshake %d: %d %q", i, resp.StatusCode, body)
		}
	}
	perLoop := map[int]int{}
	srv.endpoints[0].Sessions(func(s *Session) bool { perLoop[s.Loop().Index()]++; return true })
	t.Logf("sessions per loop: %v", perLoop)
	if perLoop[0]+perLoop[1] != n || perLoop[0] == 0 || perLoop[1] == 0 {
		t.Errorf("sessions per loop %v: want %d spread over both loops", perLoop, n)
	}

	other := NewServer()
	other.NumLoops = 1
	other.Handle(quietConfig(), newEcho())
	if err := other.Start(addr); err == nil {
		_ = other.Shutdown(context.Background())
		t.Errorf("a second server without ReusePort started on %s", addr)
	}
}

// TestReservePort: a reserved port is bound (another bind without
// SO_REUSEPORT fails) but not listening (a connection is refused), and
// free again after release.
func TestReservePort(t *testing.T) {
	a, release, err := reservePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if a.Port == 0 {
		t.Fatal("reserved port 0")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", a.Port)
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("connected to a reserved port that should not listen")
	}
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		t.Errorf("listened on a reserved port without SO_REUSEPORT")
	}
	release()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	ln.Close()
}
