// Package redistest runs a real redis-server for tests, the way net/http/httptest
// runs a real HTTP server: on a free 127.0.0.1 port, with no persistence, in a
// temporary directory, stopped at t.Cleanup.
//
//	srv := redistest.Start(t)
//	url := srv.URL()                          // "redis://127.0.0.1:41234/0"
//	n, _ := srv.Do("PUBSUB", "NUMSUB", "ch") // "ch\n2"
//	srv.Restart()                             // same port: clients can reconnect
//
// redis-server must be on PATH. When it is not, Start tries once per process to
// install it (`apt-get install -y redis-server`, as root) and otherwise fails
// the test with a message saying what to install. It never skips: a Redis test
// that silently does not run is worse than one that fails.
//
// The server's own log is kept in memory and written to the test log only when
// the test failed.
package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	readyTimeout = 10 * time.Second // from exec to the first +PONG
	stopTimeout  = 5 * time.Second  // SIGTERM to exit, then SIGKILL
	bindRetries  = 8                // fresh ports tried by Start; Restart retries the same port
	doTimeout    = 5 * time.Second  // one Do round trip
)

var (
	installOnce sync.Once
	installLog  string // what the install attempt did, for the failure message
)

// Option configures Start.
type Option func(*config)

type config struct {
	args []string
}

// Args appends raw redis-server command-line options, e.g.
// Args("--maxclients", "50") or Args("--requirepass", "secret"). They come after
// the defaults, so they can override them (redis-server keeps the last value).
func Args(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// Server is one redis-server process (and its restarts on the same port). Its
// methods are goroutine-safe.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args []string
	log  *lockedBuffer // stdout+stderr of every incarnation

	mu   sync.Mutex
	proc *process // nil while stopped
}

type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when Wait returned
	err  error         // Wait's result, valid after done
}

// Start starts a redis-server on a free loopback port and waits until it
// answers PING. The server is stopped (SIGTERM) at t.Cleanup, after which its
// log is written to the test log if the test failed. Call it from the test's
// goroutine: it fails the test with t.Fatal when redis-server cannot be found,
// installed or started.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	s := &Server{
		t:    t,
		bin:  findRedis(t),
		dir:  t.TempDir(),
		args: c.args,
		log:  &lockedBuffer{},
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("redistest: log of redis-server on port %d:\n%s", s.port, s.log.String())
		}
	})
	var lastErr error
	for range bindRetries {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: picking a free port: %v", err)
		}
		p, err := s.launch(port)
		if err == nil {
			s.mu.Lock()
			s.port, s.proc = port, p
			s.mu.Unlock()
			return s
		}
		lastErr = err
		if !errors.Is(err, errPortBusy) {
			break
		}
	}
	t.Fatalf("redistest: starting redis-server: %v\n---- redis-server log ----\n%s", lastErr, s.log.String())
	return nil
}

// Addr returns "127.0.0.1:PORT". The port stays the same across Restart.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL returns "redis://127.0.0.1:PORT/0", the form node-redis createClient({url})
// and most Go clients accept.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Stop sends SIGTERM and waits for the process to exit (SIGKILL after 5 s). It
// does nothing when the server is not running.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(syscall.SIGTERM)
}

// Kill sends SIGKILL (a crash: no shutdown, connections reset) and waits for the
// process to exit. It does nothing when the server is not running.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(syscall.SIGKILL)
}

func (s *Server) stopLocked(sig syscall.Signal) {
	p := s.proc
	if p == nil {
		return
	}
	s.proc = nil
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Restart stops the server (if it is running) and starts a new one on the same
// port, waiting until it answers PING. The data set is empty afterwards (no
// persistence). If the port is briefly busy it retries for a few seconds; then
// it fails the test. Call it from the test's goroutine.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(syscall.SIGTERM)
	deadline := time.Now().Add(readyTimeout)
	for {
		p, err := s.launch(s.port)
		if err == nil {
			s.proc = p
			return
		}
		if !errors.Is(err, errPortBusy) || time.Now().After(deadline) {
			s.t.Fatalf("redistest: restarting redis-server on port %d: %v\n---- redis-server log ----\n%s", s.port, err, s.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var errPortBusy = errors.New("port busy")

// launch execs redis-server on port and waits for +PONG.
func (s *Server) launch(port int) (*process, error) {
	args := []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
	}
	args = append(args, s.args...)
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	dieWithParent(cmd)
	mark := s.log.Len()
	fmt.Fprintf(s.log, "---- %s %s\n", s.bin, strings.Join(args, " "))
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-p.done:
			out := s.log.Since(mark)
			if strings.Contains(out, "Address already in use") {
				return nil, fmt.Errorf("%w: %d: %v", errPortBusy, port, p.err)
			}
			return nil, fmt.Errorf("redis-server exited before answering PING: %v", p.err)
		default:
		}
		if reply, err := do(addr, 500*time.Millisecond, "PING"); err == nil && reply == "PONG" {
			return p, nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-p.done
			return nil, fmt.Errorf("redis-server did not answer PING on %s within %v", addr, readyTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Do sends one command over a fresh TCP connection and returns the reply as
// text (RESP2):
//
//   - simple string: its text ("OK", "PONG");
//   - integer: its decimal form ("2");
//   - bulk string: its bytes as a string; a nil bulk string or nil array: "";
//   - array: its elements rendered the same way, one per line ("\n"-joined;
//     nested arrays are flattened), e.g. PUBSUB NUMSUB a b -> "a\n1\nb\n0";
//   - error reply: "" and an error whose text is the server's ("ERR unknown ...").
//
// Network errors (server stopped, 5 s timeout) are returned as errors too. Do
// is goroutine-safe and does not fail the test by itself.
func (s *Server) Do(args ...string) (string, error) {
	return do(s.Addr(), doTimeout, args...)
}

// ServerError is an error reply from Redis ("-ERR ...").
type ServerError string

func (e ServerError) Error() string { return "redis: " + string(e) }

func do(addr string, timeout time.Duration, args ...string) (string, error) {
	if len(args) == 0 {
		return "", errors.New("redistest: Do needs a command")
	}
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write(b.Bytes()); err != nil {
		return "", err
	}
	var lines []string
	if err := readReply(bufio.NewReader(c), &lines); err != nil {
		return "", err
	}
	return strings.Join(lines, "\n"), nil
}

// readReply reads one RESP2 reply, appending its rendered elements to out.
func readReply(r *bufio.Reader, out *[]string) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return errors.New("redistest: empty reply line")
	}
	body := line[1:]
	switch line[0] {
	case '+', ':':
		*out = append(*out, body)
	case '-':
		return ServerError(body)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil {
			return fmt.Errorf("redistest: bad bulk length %q", body)
		}
		if n < 0 {
			*out = append(*out, "")
			return nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		*out = append(*out, string(buf[:n]))
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil {
			return fmt.Errorf("redistest: bad array length %q", body)
		}
		for range max(n, 0) {
			if err := readReply(r, out); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("redistest: unexpected reply %q", line)
	}
	return nil
}

// freePort asks the kernel for a free loopback port. Another process may take
// it before redis-server binds it; launch reports that as errPortBusy and Start
// tries another.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// findRedis returns the path of redis-server, installing it once per process
// with apt-get when it is missing and we are root.
func findRedis(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	installOnce.Do(func() {
		if os.Geteuid() != 0 {
			installLog = "not root: did not try apt-get"
			return
		}
		if _, err := exec.LookPath("apt-get"); err != nil {
			installLog = "no apt-get on this machine"
			return
		}
		t.Logf("redistest: redis-server not found on PATH; running `apt-get install -y redis-server` (once per process)")
		start := time.Now()
		out, err := aptInstall()
		if err != nil {
			// A fresh container often has no package lists yet.
			t.Logf("redistest: apt-get install failed (%v); running `apt-get update` and trying again", err)
			out2, err2 := aptUpdateInstall()
			out, err = append(out, out2...), err2
		}
		installLog = fmt.Sprintf("apt-get (%v): err=%v\n%s", time.Since(start).Round(time.Millisecond), err, tail(out, 4000))
		t.Logf("redistest: apt-get finished in %v (err=%v)", time.Since(start).Round(time.Millisecond), err)
	})
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	t.Fatalf("\n"+
		"==================================================================\n"+
		"redistest: redis-server is NOT INSTALLED and could not be installed.\n"+
		"The Redis adapter tests run against a real redis-server (>= 7.0 for\n"+
		"sharded pub/sub) and are never skipped. Install it, e.g.:\n"+
		"    apt-get install -y redis-server\n"+
		"install attempt: %s\n"+
		"==================================================================", installLog)
	return ""
}

func aptInstall() ([]byte, error) {
	cmd := exec.Command("apt-get", "install", "-y", "--no-install-recommends", "redis-server")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	return cmd.CombinedOutput()
}

func aptUpdateInstall() ([]byte, error) {
	cmd := exec.Command("apt-get", "update")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, err
	}
	out2, err := aptInstall()
	return append(out, out2...), err
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// lockedBuffer collects redis-server output; goroutine-safe.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Since returns what was written after the first n bytes.
func (l *lockedBuffer) Since(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n > l.b.Len() {
		return ""
	}
	return string(l.b.Bytes()[n:])
}
