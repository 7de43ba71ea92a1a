//go:build linux

package hostile

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/riptide-io/riptide"
)

// TestFileLimitFlood opens more connections than the server's process may
// hold files, in each way the engine accepts (one loop accepting for
// itself; one acceptor thread for two loops; a listener per loop). The
// server runs in a child process with a low RLIMIT_NOFILE. Without a cap,
// accept(2) meets EMFILE and gnet stops accepting for good (the process
// lives on, refusing every connection); with the default MaxConnections,
// the connections past the cap are answered 503 (or reset) and closed, the
// ones under it are served, and once the flood leaves the server accepts
// again.
func TestFileLimitFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a child server")
	}
	for _, m := range []struct {
		name   string
		loops  int
		reuse  bool
		nofile int
	}{
		{"one loop", 1, false, 600},
		{"acceptor thread", 2, false, 1200},
		{"listener per loop", 2, true, 600},
	} {
		t.Run(m.name, func(t *testing.T) {
			floodChild(t, m.loops, m.reuse, m.nofile)
		})
	}
}

func floodChild(t *testing.T, loops int, reuse bool, nofile int) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestFileLimitServer$", "-test.v")
	cmd.Env = append(os.Environ(), fmt.Sprintf("RIPTIDE_FILE_LIMIT_SERVER=%d,%t,%d", loops, reuse, nofile))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	out := bufio.NewScanner(stdout)
	var addr string
	var limit int
	for addr == "" && out.Scan() {
		if _, err := fmt.Sscanf(out.Text(), "listening on %s cap %d", &addr, &limit); err != nil {
			addr = ""
		}
	}
	if addr == "" || limit <= 0 {
		t.Fatalf("child server did not start (addr %q, cap %d)", addr, limit)
	}
	t.Logf("child: %d loops, ReusePort %t, RLIMIT_NOFILE %d: MaxConnections %d", loops, reuse, nofile, limit)

	// More than the cap, and than the file limit itself.
	n := nofile + 200
	conns := make([]net.Conn, n)
	var served, refused503, reset atomic.Int64
	failed, errs := parallel(n, 32, func(i int) error {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		conns[i] = c
		got, werr, rerr := pollHandshake(c, 10*time.Second)
		k := len(got)
		switch {
		case strings.HasPrefix(got, "HTTP/1.1 200 ") && werr == nil:
			served.Add(1)
		case strings.HasPrefix(got, "HTTP/1.1 503 "):
			refused503.Add(1)
		case k == 0 && (isReset(rerr) || isReset(werr) || rerr == io.EOF):
			// Closed past the cap before the 503 was read: a reset
			// discards it.
			reset.Add(1)
		default:
			return fmt.Errorf("got %q, read %v, write %v", trunc(got), rerr, werr)
		}
		return nil
	})
	reportJobs(t, "flooding", n, failed, errs)
	t.Logf("%d connections: %d served, %d answered 503, %d closed before the 503 was read", n, served.Load(), refused503.Load(), reset.Load())
	// The cap counts every connection the server holds (the probes of
	// Start's meetLoops may still be closing): a few under it.
	if s := served.Load(); s > int64(limit) || s < int64(limit)-int64(loops)-2 {
		t.Errorf("%d connections served, want the cap, %d", s, limit)
	}
	if refused503.Load() == 0 {
		t.Errorf("no connection past the cap was answered 503")
	}
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}

	// The server still accepts, and serves, once the flood is gone.
	var last error
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			got, _, _ := pollHandshake(c, 2*time.Second)
			c.Close()
			if strings.HasPrefix(got, "HTTP/1.1 200 ") {
				break
			}
			err = fmt.Errorf("answered %q", trunc(got))
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("the server no longer serves after the flood: %v", last)
		}
		time.Sleep(50 * time.Millisecond)
	}

	stdin.Close() // the child shuts down and reports Refused
	var refusedByServer int64 = -1
	for out.Scan() {
		if v, ok := strings.CutPrefix(out.Text(), "refused "); ok {
			refusedByServer, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("child: %v", err)
	}
	if want := refused503.Load() + reset.Load(); refusedByServer != want {
		t.Errorf("server counted %d refused, the client saw %d", refusedByServer, want)
	}
}

// pollHandshake sends a polling handshake on c and returns the start of
// the answer (a status line at least), with the write's and the read's
// errors.
func pollHandshake(c net.Conn, timeout time.Duration) (got string, werr, rerr error) {
	_ = c.SetDeadline(time.Now().Add(timeout))
	_, werr = io.WriteString(c, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
	buf := make([]byte, 512)
	k, rerr := io.ReadAtLeast(c, buf, 12)
	return string(buf[:k]), werr, rerr
}

// TestFileLimitServer is TestFileLimitFlood's child: a server whose
// process may hold only the files RIPTIDE_FILE_LIMIT_SERVER says
// ("loops,reusePort,nofile"). It prints its address and cap, serves until
// its stdin closes, then prints how many connections it refused.
func TestFileLimitServer(t *testing.T) {
	spec := os.Getenv("RIPTIDE_FILE_LIMIT_SERVER")
	if spec == "" {
		t.Skip("TestFileLimitFlood's child")
	}
	var loops, nofile int
	var reuse bool
	if _, err := fmt.Sscanf(strings.ReplaceAll(spec, ",", " "), "%d %t %d", &loops, &reuse, &nofile); err != nil {
		t.Fatal(err)
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	rl.Cur = uint64(nofile)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	srv := riptide.New(baseConfig())
	srv.Engine().NumLoops = loops
	srv.Engine().ReusePort = reuse
	if s := os.Getenv("RIPTIDE_FILE_LIMIT_MAX"); s != "" {
		// For checking that the test fails without a cap.
		srv.Engine().MaxConnections, _ = strconv.Atoi(s)
	}
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("listening on %s cap %d\n", srv.Addr(), max(srv.Engine().ConnectionLimit(), 1))
	_, _ = io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	fmt.Printf("refused %d\n", srv.Metrics().RefusedConnections) // engine.Server.Refused, through Metrics
}
