package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/riptide-io/riptide/internal/listenfd"
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

// TestPortInUse: whichever way a server accepts (one loop accepting for
// itself and a listener per loop bind with SO_REUSEPORT), Start refuses a
// port another server or socket listens on, instead of silently sharing
// it; and a server with one loop does accept on its loop (its listener has
// SO_REUSEPORT).
func TestPortInUse(t *testing.T) {
	first, base := startServer(t, quietConfig(), newEcho(), func(s *Server) { s.NumLoops = 1 })
	addr := strings.TrimPrefix(base, "http://")
	fd, err := first.eng.Dup()
	if err != nil {
		t.Fatal(err)
	}
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT)
	unix.Close(fd)
	if err != nil || v != 1 {
		t.Errorf("one loop's listener: SO_REUSEPORT %d (%v), want 1: its loop accepts", v, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, taken := range []string{addr, ln.Addr().String()} {
		for _, m := range []struct {
			loops int
			reuse bool
		}{{1, false}, {2, true}, {2, false}} {
			other := NewServer()
			other.NumLoops, other.ReusePort = m.loops, m.reuse
			other.Handle(quietConfig(), newEcho())
			err := other.Start(taken)
			if err == nil {
				_ = other.Shutdown(context.Background())
				t.Errorf("%d loops, ReusePort %t: started on %s, which is taken", m.loops, m.reuse, taken)
			} else if !errors.Is(err, unix.EADDRINUSE) {
				t.Errorf("%d loops, ReusePort %t on %s: %v, want address in use", m.loops, m.reuse, taken, err)
			}
		}
	}
	// The first server is unharmed.
	resp, body := rawRequest(t, addr, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if resp.StatusCode != 200 || !strings.HasPrefix(body, `0{"sid":"`) {
		t.Fatalf("first server after the attempts: %d %q", resp.StatusCode, body)
	}
}

// TestMaxConnections: past the cap a connection is answered 503 and
// closed, Refused counts it, and a closed connection frees its place.
func TestMaxConnections(t *testing.T) {
	for _, loops := range []int{1, 2} {
		srv, base := startServer(t, quietConfig(), newEcho(), func(s *Server) { s.NumLoops, s.MaxConnections = loops, 3 })
		addr := strings.TrimPrefix(base, "http://")
		if got := srv.ConnectionLimit(); got != 3 {
			t.Fatalf("ConnectionLimit %d, want 3", got)
		}
		waitFor(t, func() bool { return srv.Connections() == 0 })
		var held []net.Conn
		for range 3 {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			held = append(held, c)
		}
		waitFor(t, func() bool { return srv.Connections() == 3 })
		resp, body := rawRequest(t, addr, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 503 || body != "server at connection capacity" {
			t.Errorf("%d loops: past the cap: %d %q, want 503", loops, resp.StatusCode, body)
		}
		if got := srv.Refused(); got != 1 {
			t.Errorf("%d loops: Refused %d, want 1", loops, got)
		}
		held[0].Close()
		waitFor(t, func() bool { return srv.Connections() == 2 })
		resp, body = rawRequest(t, addr, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if resp.StatusCode != 200 || !strings.HasPrefix(body, `0{"sid":"`) {
			t.Errorf("%d loops: under the cap again: %d %q", loops, resp.StatusCode, body)
		}
	}
}

// TestDefaultConnectionLimit: by default the cap follows the file limit,
// leaving the application its headroom.
func TestDefaultConnectionLimit(t *testing.T) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	srv, _ := startServer(t, quietConfig(), newEcho(), func(s *Server) { s.NumLoops = 1 })
	got := srv.ConnectionLimit()
	if rl.Cur > 1<<40 {
		if got != 0 {
			t.Errorf("no file limit: ConnectionLimit %d, want 0", got)
		}
		return
	}
	if got <= 0 || got > int(rl.Cur)-appFileHeadroom-1 || got < int(rl.Cur)-appFileHeadroom-200 {
		t.Errorf("ConnectionLimit %d with RLIMIT_NOFILE %d: want it less the descriptors open and %d", got, rl.Cur, appFileHeadroom)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStopOnItsOwn: when gnet stops its engine by itself (here: accept(2)
// fails once the listening socket is shut down under it, as EMFILE would
// without MaxConnections), Stopped closes, Err says why, and Serve would
// return it; after Shutdown, Err is nil.
func TestStopOnItsOwn(t *testing.T) {
	for _, loops := range []int{1, 2} {
		srv, base := startServer(t, quietConfig(), newEcho(), func(s *Server) { s.NumLoops = loops })
		if srv.Err() != nil {
			t.Fatalf("%d loops: Err %v while serving", loops, srv.Err())
		}
		// Not srv.eng.Dup: it reads gnet's listener field, which gnet's
		// own stop writes.
		fd, err := listenfd.Find(srv.Addr().(*net.TCPAddr).Port)
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Shutdown(fd, unix.SHUT_RD); err != nil {
			t.Fatal(err)
		}
		// A connection attempt wakes the acceptor if the shutdown did not.
		if c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second); err == nil {
			c.Close()
		}
		select {
		case <-srv.Stopped():
		case <-time.After(5 * time.Second):
			t.Fatalf("%d loops: the engine did not stop after its listener was shut down", loops)
		}
		err = srv.Err()
		if err == nil || !strings.Contains(err.Error(), "gnet stopped on its own") {
			t.Errorf("%d loops: Err %v, want why gnet stopped", loops, err)
		}
		t.Logf("%d loops: %v", loops, err)
	}
	srv, _ := startServer(t, quietConfig(), newEcho())
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-srv.Stopped()
	if err := srv.Err(); err != nil {
		t.Errorf("after Shutdown: Err %v, want nil", err)
	}
}
