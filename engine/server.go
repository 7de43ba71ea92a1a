package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// Handler receives the events of an Endpoint's sessions. Every method runs
// on the session's home loop: it must not block (hand slow work to a
// goroutine and reply with Session.Send, which is goroutine-safe).
type Handler interface {
	// OnOpen is called once the handshake has been answered.
	OnOpen(s *Session)
	// OnMessage delivers one Engine.IO message. data is borrowed: it is
	// valid until OnMessage returns; copy what you keep.
	OnMessage(s *Session, data []byte, binary bool)
	// OnClose is called once, when the session ends, with the reference
	// reason ("transport close", "ping timeout", "parse error",
	// "forced close", "transport error").
	OnClose(s *Session, reason string)
}

// Server is one listening socket served by gnet event loops (one per core),
// hosting any number of Engine.IO endpoints by path, plus a Fallback
// net/http handler for every other request. Create it with NewServer,
// mount endpoints with Handle, then Start or Serve.
type Server struct {
	gnet.BuiltinEventEngine

	// Fallback serves requests no endpoint claims (a page, an API...). It
	// runs on its own goroutine per request, outside the loops. Requests
	// with bodies are read whole first (bounded by FallbackMaxBody).
	// Default: 404.
	Fallback http.Handler
	// FallbackMaxBody bounds the body of a request for Fallback. Default 1 MiB.
	FallbackMaxBody int64
	// NumLoops is the number of event loops. Default: one per core.
	NumLoops int
	// ReusePort gives every loop a listening socket of its own on the
	// port (SO_REUSEPORT): the kernel spreads new connections over the
	// loops, where by default one acceptor thread takes them all and hands
	// each to the loop with the fewest connections (a wake-up and a task
	// per connection). On the 2-core benchmark box, where the generator
	// shares the cores, handshakes went from 8.1k to 8.9k per second
	// (medians of 3 alternating runs, loadgen -scenario handshake: within
	// the noise) on 2026-11-28 at 06:00, and from 6.5–7.4k to 8.4–9.3k
	// (4 of 4 alternating pairs, one loop, server CPU per handshake 146–159
	// against 104–116 µs) three hours later, when the box was slower: a
	// thread hop per accept costs more when the cores are contended. It
	// also leaves ~80 B less garbage per accept. Where connection setup
	// dominates, measure. Off by default because the kernel balances
	// connections over the loops by a hash of their addresses, not by
	// load. A server with one loop accepts on it whatever this says: there
	// is nothing to balance, so the acceptor thread would be pure cost.
	//
	// Start refuses a port something already listens on, with or without
	// ReusePort (SO_REUSEPORT alone would let a second server started on
	// the same port silently take a share of the connections); another
	// program that sets SO_REUSEPORT itself can still join, as with any
	// SO_REUSEPORT server.
	ReusePort bool
	// MaxConnections caps the connections held at once (Node's
	// net.Server maxConnections): past it, a new connection is answered
	// 503 Service Unavailable and closed (Refused counts them), and the
	// server and its other clients carry on.
	// Default (0): what the process's file limit (RLIMIT_NOFILE, soft)
	// leaves once Start has booted, less headroom for the application's
	// own files (256) and, with one acceptor thread, for the listen
	// backlog it may accept in one burst before any loop can refuse one.
	// The cap is what keeps accept(2) from meeting EMFILE, on which gnet
	// stops accepting for good. Negative: no cap (then the file limit
	// must stay above what clients can open).
	MaxConnections int

	endpoints []*Endpoint
	eng       gnet.Engine
	booted    chan struct{}
	// stopped is closed once gnet's engine has stopped, stopErr (written
	// before) saying why when Shutdown did not ask for it.
	stopped chan struct{}
	stopErr error
	// bootErr is why OnBoot stopped the engine; relisten asks it to set
	// the listen backlog (one acceptor thread and a connection cap).
	bootErr  error
	relisten bool
	// gnetErrs are the last errors gnet logged: its engine stops itself
	// on some (accept(2) failing with other than EAGAIN and the like) with
	// only log lines to say why, the cause first.
	gnetErrMu sync.Mutex
	gnetErrs  []string
	addr      net.Addr

	loopsMu sync.Mutex
	loops   atomic.Pointer[[]*Loop]
	paced   atomic.Uint64 // posts that waited for a loop (Loop.pace)

	connCount atomic.Int64
	maxConns  atomic.Int64 // MaxConnections resolved at Start; 0: no cap
	refused   atomic.Uint64
	stopping  atomic.Bool
	nextLoop  atomic.Uint64 // round robin of ServeHTTP hand-offs

	// Connection timers, the most lenient of the endpoints' settings
	// (a connection is timed before its request says which endpoint).
	headTimeout, idleTimeout time.Duration
}

// NewServer returns a server with no endpoints.
func NewServer() *Server {
	return &Server{booted: make(chan struct{}), stopped: make(chan struct{})}
}

// Handle mounts an Engine.IO endpoint at cfg.Path. Call before Start.
func (srv *Server) Handle(cfg Config, h Handler) *Endpoint {
	ep := newEndpoint(srv, cfg, h)
	srv.endpoints = append(srv.endpoints, ep)
	return ep
}

// Start listens on addr ("127.0.0.1:3000"; port 0 picks one) and returns
// once the loops run. Use Addr for the address actually bound.
func (srv *Server) Start(addr string) error {
	srv.headTimeout, srv.idleTimeout = 10*time.Second, 60*time.Second
	for i, ep := range srv.endpoints {
		if i == 0 || ep.cfg.HeadTimeout > srv.headTimeout {
			srv.headTimeout = ep.cfg.HeadTimeout
		}
		if i == 0 || ep.cfg.IdleTimeout > srv.idleTimeout {
			srv.idleTimeout = ep.cfg.IdleTimeout
		}
	}
	n := srv.NumLoops
	if n <= 0 {
		n = runtime.NumCPU()
	}
	// One loop accepts for itself (gnet's SO_REUSEPORT mode: every loop
	// has a listener), or one acceptor thread deals connections to the
	// loops.
	loopsAccept := srv.ReusePort || n == 1
	if loopsAccept {
		// gnet binds every loop's listener from the address string: port 0
		// would give each loop a different port. Reserve one first; and
		// refuse a port something listens on (SO_REUSEPORT would share it).
		a, release, err := reservePort(addr)
		if err != nil {
			return err
		}
		defer release()
		srv.addr, addr = a, a.String()
	} // else OnBoot reads the address gnet bound
	srv.relisten = !loopsAccept && srv.MaxConnections >= 0
	go func() {
		err := gnet.Run(srv, "tcp://"+addr,
			gnet.WithNumEventLoop(n),
			gnet.WithReusePort(loopsAccept),
			gnet.WithMulticore(true),
			// A loop's goroutine keeps its thread, so that its thread id
			// identifies it (Loop.pace: loops never wait for a loop).
			gnet.WithLockOSThread(true),
			gnet.WithReuseAddr(true),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay),
			gnet.WithLoadBalancing(gnet.LeastConnections),
			gnet.WithLogger(gnetLogger{srv}),
		)
		if err == nil && srv.bootErr != nil {
			err = srv.bootErr
		} else if err == nil && !srv.stopping.Load() {
			srv.gnetErrMu.Lock()
			reason := strings.Join(srv.gnetErrs, "; ")
			srv.gnetErrMu.Unlock()
			if reason == "" {
				reason = "no reason logged"
			}
			err = fmt.Errorf("engine: gnet stopped on its own: %s", reason)
		}
		srv.stopErr = err
		close(srv.stopped)
		select {
		case <-srv.booted:
		default:
			close(srv.booted)
		}
	}()
	<-srv.booted
	select {
	case <-srv.stopped:
		if srv.stopErr != nil {
			return srv.stopErr
		}
		return errors.New("engine: server stopped during start")
	default:
	}
	srv.meetLoops(n)
	srv.maxConns.Store(srv.connectionCap(loopsAccept, n))
	return nil
}

// listenBacklog is the listen backlog with one acceptor thread: Node's
// default (net.Server.listen), where gnet asks for somaxconn (4096 on
// many machines).
const listenBacklog = 511

// appFileHeadroom is the files MaxConnections leaves by default for the
// application's own use (logs, databases, outgoing requests).
const appFileHeadroom = 256

// connectionCap resolves MaxConnections once the loops run: what the file
// limit leaves after the descriptors open now, the application's
// headroom, and the connections that can be accepted before a loop sees
// them (one per loop when loops accept, a backlog with one acceptor).
func (srv *Server) connectionCap(loopsAccept bool, loops int) int64 {
	if srv.MaxConnections != 0 {
		return max(int64(srv.MaxConnections), 0)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil || lim.Cur == unix.RLIM_INFINITY || lim.Cur > 1<<40 {
		return 0
	}
	open, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0 // not Linux: no cheap count of what is open
	}
	inFlight := int64(loops)
	if !loopsAccept {
		inFlight = listenBacklog + 1
	}
	return max(int64(lim.Cur)-int64(len(open))-appFileHeadroom-inFlight, 1)
}

// ConnectionLimit is the cap on connections held at once that Start
// resolved from MaxConnections (0: none).
func (srv *Server) ConnectionLimit() int { return int(srv.maxConns.Load()) }

// Refused is how many connections were answered 503 and closed because
// the server held MaxConnections. Goroutine-safe.
func (srv *Server) Refused() uint64 { return srv.refused.Load() }

// reservePort resolves addr for listeners with SO_REUSEPORT. With port
// 0, it binds a socket with SO_REUSEPORT to a free port and holds it,
// without listening (only listening sockets receive connections, so none
// can land on it), until release, which the caller calls once the loops'
// listeners are bound. With a port, it checks that nothing listens there
// (probePort), since the loops' listeners would bind beside it.
func reservePort(addr string) (bound *net.TCPAddr, release func(), err error) {
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	if a.Port != 0 {
		if err := probePort(a); err != nil {
			return nil, nil, err
		}
		return a, func() {}, nil
	}
	// SO_REUSEPORT only: the loops' listeners (SO_REUSEPORT too) may bind
	// beside it, while other sockets may not (SO_REUSEADDR would let any
	// socket with it bind a port nobody listens on).
	fd, err := bindWith(a, unix.SO_REUSEPORT)
	if err != nil {
		return nil, nil, fmt.Errorf("engine: reserving a port: %w", err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("engine: reserving a port: %w", err)
	}
	a.Port = tcpAddrOf(got).Port
	return a, func() { unix.Close(fd) }, nil
}

// probePort fails if a socket listens on a (or is bound there without
// SO_REUSEADDR): it binds a socket with SO_REUSEADDR (so that connections
// of an earlier run in TIME_WAIT do not count) and without SO_REUSEPORT,
// which Linux refuses beside a listener.
func probePort(a *net.TCPAddr) error {
	fd, err := bindWith(a, unix.SO_REUSEADDR)
	if err != nil {
		return fmt.Errorf("engine: listen %s: %w", a, err)
	}
	unix.Close(fd)
	return nil
}

// bindWith returns a TCP socket bound to a with the socket option opt
// (SO_REUSEPORT or SO_REUSEADDR) set, not listening.
func bindWith(a *net.TCPAddr, opt int) (int, error) {
	domain, sa := sockaddrOf(a)
	fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, 1); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// tcpAddrOf is the TCP address of an IPv4 or IPv6 socket address (an empty
// one for any other).
func tcpAddrOf(sa unix.Sockaddr) *net.TCPAddr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	}
	return &net.TCPAddr{}
}

// sockaddrOf is a's socket domain and address, as gnet binds it: IPv6's
// wildcard (both families) when a names no address.
func sockaddrOf(a *net.TCPAddr) (int, unix.Sockaddr) {
	if ip4 := a.IP.To4(); ip4 != nil {
		return unix.AF_INET, &unix.SockaddrInet4{Addr: [4]byte(ip4), Port: a.Port}
	}
	var ip6 [16]byte
	if a.IP != nil {
		ip6 = [16]byte(a.IP.To16())
	}
	return unix.AF_INET6, &unix.SockaddrInet6{Addr: ip6, Port: a.Port}
}

// meetLoops connects to the server once per loop so that every loop is
// known (Loops) from the start: broadcasts and ServeHTTP's hand-offs need
// them all, and gnet offers no other way to reach a loop than through a
// connection it has accepted.
func (srv *Server) meetLoops(n int) {
	a := *srv.addr.(*net.TCPAddr)
	if a.IP.IsUnspecified() {
		a.IP = net.IPv4(127, 0, 0, 1)
	}
	deadline := time.Now().Add(2 * time.Second)
	var conns []net.Conn
	for len(srv.Loops()) < n && time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", a.String(), time.Second)
		if err != nil {
			break
		}
		conns = append(conns, c)
		for i := 0; i < 50 && len(srv.Loops()) < min(n, len(conns)); i++ {
			time.Sleep(time.Millisecond)
		}
	}
	for _, c := range conns {
		_ = c.Close()
	}
}

// Serve is Start, then waits until the server stops: nil after
// Shutdown, else why it stopped (Err).
func (srv *Server) Serve(addr string) error {
	if err := srv.Start(addr); err != nil {
		return err
	}
	<-srv.stopped
	return srv.stopErr
}

// Stopped is closed once the server has stopped serving: after Shutdown,
// or on its own (Err then says why). Goroutine-safe.
func (srv *Server) Stopped() <-chan struct{} { return srv.stopped }

// Err is why the server stopped when Shutdown did not stop it (gnet stops
// its engine when accept(2) fails with anything but a transient error,
// EMFILE among them: MaxConnections is there to keep it from happening);
// nil while it runs and after Shutdown. Goroutine-safe.
func (srv *Server) Err() error {
	select {
	case <-srv.stopped:
		return srv.stopErr
	default:
		return nil
	}
}

// Addr is the bound address, after Start.
func (srv *Server) Addr() net.Addr { return srv.addr }

// Loops returns the loops that have served a connection so far.
// Goroutine-safe; the slice must not be modified.
func (srv *Server) Loops() []*Loop {
	if p := srv.loops.Load(); p != nil {
		return *p
	}
	return nil
}

// Shutdown closes every session ("forced close" reaches OnClose), then
// stops the loops. It returns when done or when ctx expires.
func (srv *Server) Shutdown(ctx context.Context) error {
	if !srv.stopping.CompareAndSwap(false, true) {
		return nil
	}
	srv.OnEveryLoop(ctx, func(l *Loop) {
		l.ForEachSession(func(s *Session) {
			s.closeWithCode(ws.StatusGoingAway, "forced close")
		})
	})
	// Give the loops a moment to flush close frames.
	t := time.NewTimer(20 * time.Millisecond)
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-srv.stopped:
	}
	for _, l := range srv.Loops() {
		close(l.stopTick)
	}
	select {
	case <-srv.stopped:
		return nil // stopped on its own already (Err says why)
	default:
	}
	return srv.eng.Stop(ctx)
}

// OnEveryLoop runs fn on every loop, and returns once all have run it, or
// ctx expires, or the server stops (a stopped loop runs nothing). It
// starts no goroutine, so none is left waiting for a loop that will not
// run. Goroutine-safe; not from a loop.
func (srv *Server) OnEveryLoop(ctx context.Context, fn func(*Loop)) {
	loops := srv.Loops()
	ran := make(chan struct{}, len(loops))
	for _, l := range loops {
		l.Post(func() {
			fn(l)
			ran <- struct{}{}
		})
	}
	for range loops {
		select {
		case <-ran:
		case <-ctx.Done():
			return
		case <-srv.stopped:
			return
		}
	}
}

// PacedPosts is how many times a goroutine posting work to a loop (a
// broadcast, say) was made to wait because the loop had more than 16,384
// items queued: non-zero means something emits faster than the loops
// deliver. Goroutine-safe.
func (srv *Server) PacedPosts() uint64 { return srv.paced.Load() }

// onLoopThread reports whether the caller runs on one of the loops (each
// locked to its thread).
func (srv *Server) onLoopThread() bool {
	tid := int32(unix.Gettid())
	for _, l := range srv.Loops() {
		if l.tid.Load() == tid {
			return true
		}
	}
	return false
}

func (srv *Server) loopOf(el gnet.EventLoop) *Loop {
	for _, l := range srv.Loops() {
		if l.el == el {
			return l
		}
	}
	srv.loopsMu.Lock()
	defer srv.loopsMu.Unlock()
	cur := srv.Loops()
	for _, l := range cur {
		if l.el == el {
			return l
		}
	}
	l := newLoop(srv, el, len(cur))
	next := append(append([]*Loop(nil), cur...), l)
	srv.loops.Store(&next)
	return l
}

// OnBoot implements gnet.EventHandler.
func (srv *Server) OnBoot(eng gnet.Engine) gnet.Action {
	srv.eng = eng
	defer close(srv.booted)
	if srv.addr != nil {
		return gnet.None
	}
	// Here, on the goroutine that will also close the listener when the
	// engine stops: gnet's listener fd is a plain field, and reading it
	// from Start raced with a stop gnet decided on its own.
	if err := srv.readListener(); err != nil {
		srv.bootErr = err
		return gnet.Shutdown
	}
	return gnet.None
}

// readListener sets addr from the listening socket gnet bound and, with
// one acceptor thread, sets its backlog: that thread accepts a whole burst
// before any loop can refuse one at MaxConnections, so the burst is kept
// at Node's size and the cap's headroom small.
func (srv *Server) readListener() error {
	fd, err := srv.eng.Dup()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return err
	}
	if srv.relisten {
		if err := unix.Listen(fd, listenBacklog); err != nil {
			return err
		}
	}
	srv.addr = tcpAddrOf(sa)
	return nil
}

// OnOpen implements gnet.EventHandler.
func (srv *Server) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	l := srv.loopOf(c.EventLoop())
	if l.tid.Load() == 0 {
		l.tid.Store(int32(unix.Gettid()))
	}
	if m := srv.maxConns.Load(); m > 0 && srv.connCount.Load() >= m {
		// No conn: OnClose sees no *conn and counts nothing.
		srv.refused.Add(1)
		return overCapacity, gnet.Close
	}
	en, enrolled := c.Context().(*enrollment)
	cn := newConn(c, l, enrolled)
	srv.connCount.Add(1)
	l.enter()
	cn.armHead() // silent connections are closed after HeadTimeout
	a := gnet.None
	if enrolled {
		a = cn.serveReplay(en.replay)
	}
	l.leave()
	return nil, a
}

// overCapacity answers a connection past MaxConnections, before its
// request (a client reads it as the answer to what it sends).
var overCapacity = []byte("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 29\r\n\r\nserver at connection capacity")

// OnClose implements gnet.EventHandler.
func (srv *Server) OnClose(c gnet.Conn, _ error) gnet.Action {
	cn, ok := c.Context().(*conn)
	if !ok {
		return gnet.None
	}
	srv.connCount.Add(-1)
	l := cn.loop
	l.enter()
	cn.onClose()
	l.leave()
	return gnet.None
}

// OnTraffic implements gnet.EventHandler.
func (srv *Server) OnTraffic(c gnet.Conn) gnet.Action {
	cn := c.Context().(*conn)
	l := cn.loop
	l.enter()
	a := cn.onTraffic()
	l.leave()
	return a
}

func (srv *Server) route(path []byte) *Endpoint {
	for _, ep := range srv.endpoints {
		p := ep.cfg.Path
		if len(path) >= len(p) && string(path[:len(p)]) == p {
			return ep
		}
	}
	return nil
}

// gnetLogger keeps gnet's own chatter out of the embedding program's
// output (Riptide reports through Config.Logger), but keeps its last error
// for Err: gnet stops its engine on some errors and says so only in its
// log.
type gnetLogger struct{ srv *Server }

func (gnetLogger) Debugf(string, ...any) {}
func (gnetLogger) Infof(string, ...any)  {}
func (gnetLogger) Warnf(string, ...any)  {}
func (l gnetLogger) Errorf(format string, args ...any) {
	m := fmt.Sprintf(format, args...)
	srv := l.srv
	srv.gnetErrMu.Lock()
	if len(srv.gnetErrs) == maxGnetErrs {
		srv.gnetErrs = append(srv.gnetErrs[:0], srv.gnetErrs[1:]...)
	}
	srv.gnetErrs = append(srv.gnetErrs, m)
	srv.gnetErrMu.Unlock()
}

// maxGnetErrs is how many of gnet's last error lines Err reports.
const maxGnetErrs = 4

func (gnetLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
