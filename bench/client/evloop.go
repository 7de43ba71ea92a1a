package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Loop is an event loop that drives many connections from one OS thread:
// raw epoll (level-triggered) over their non-blocking sockets, no goroutine
// per connection and no Go netpoller in between. It is the generator side
// for request/response load (the echo scenario): a connection costs a
// read(2) per batch of incoming frames and a write(2) per message sent,
// and the process has one busy thread instead of a reader goroutine per
// connection being woken by the runtime.
//
// Connections are dialled with Options.Detached (Dial does the WebSocket
// upgrade, the Engine.IO OPEN and the namespace CONNECT as usual) and handed
// over with Add, which takes their socket away from the Go runtime. Run then
// reads them: it answers Engine.IO pings ("2" → "3") and WebSocket pings,
// and hands every ACK to OnAck and every EVENT to OnEvent, on the loop's
// thread. LoopConn's methods are not safe for concurrent use: call them
// before Run starts or from the callbacks.
type Loop struct {
	// OnAck receives the reply to an EmitAck: id is what EmitAck returned,
	// args the raw JSON of the reply's arguments without brackets (borrowed
	// until OnAck returns). Nil: acks are dropped.
	OnAck func(c *LoopConn, id int64, args []byte)
	// OnEvent receives every EVENT of the default namespace (borrowed until
	// it returns; RecvNano is 0, the loop reads no clock). Nil: ignored.
	OnEvent func(c *LoopConn, ev *Event)
	// OnClose is called once for a connection that ends while the loop runs
	// (the server closed it, a read or write failed, a protocol error): err
	// says why. Connections closed by LoopConn.Close or Loop.Close are not
	// reported.
	OnClose func(c *LoopConn, err error)
	// OnTick, with Tick > 0, is called on the loop's thread about every
	// Tick while Run runs (epoll_wait's timeout: a millisecond's
	// resolution), for work on a clock: sending at a fixed rate.
	OnTick func()
	Tick   time.Duration

	poller // Stop wakes Run through it
	byFD   []*LoopConn
	conns  []*LoopConn
	live   int
	events []unix.EpollEvent

	stop    atomic.Bool
	running sync.Mutex // held by Run
	closed  bool
}

// LoopConn is one connection of a Loop.
type LoopConn struct {
	// Index is the connection's position in the order of Add (0, 1, ...).
	Index int

	l  *Loop
	fd int
	hs Handshake
	frameReader
	ev Event

	nextID  int64
	wbuf    []byte // the frame being built
	out     []byte // bytes the socket did not take yet (EPOLLOUT pending)
	mask    [4]byte
	closed  bool
	failure error // set by fail: the loop reports and removes it
}

// ErrNotDetached: Loop.Add was given a connection dialled without
// Options.Detached (or already handed over, or closed).
var ErrNotDetached = errors.New("client: connection not dialled with Options.Detached")

// NewLoop creates an empty loop; set its callbacks before Run.
func NewLoop() (*Loop, error) {
	p, err := newPoller()
	if err != nil {
		return nil, err
	}
	return &Loop{poller: p, events: make([]unix.EpollEvent, 256)}, nil
}

// Add takes over c, a connection dialled with Options.Detached: its socket
// (a duplicate of the descriptor; the net.Conn is closed and c is done)
// joins the loop, with whatever c had already read. Add must not run
// concurrently with Run.
func (l *Loop) Add(c *Conn) (*LoopConn, error) {
	if !c.opts.Detached || c.closed.Load() {
		return nil, ErrNotDetached
	}
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("client: Loop.Add: %T has no socket (TLS?)", c.nc)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("client: Loop.Add: %w", err)
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) {
		fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, fmt.Errorf("client: Loop.Add: %w", err)
	}
	if derr != nil {
		return nil, fmt.Errorf("client: Loop.Add: dup: %w", derr)
	}
	// The runtime's copy goes: closing it takes the socket out of the
	// netpoller's epoll set (the duplicate keeps the connection open).
	c.closed.Store(true)
	_ = c.nc.Close()
	// Non-blocking is a property of the shared open file; set it anyway.
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		c.finish(nil)
		return nil, fmt.Errorf("client: Loop.Add: %w", err)
	}
	lc := &LoopConn{Index: len(l.conns), l: l, fd: fd, hs: c.hs}
	// Take the read buffer with what it holds (a packet that came right
	// behind the CONNECT), then let c go.
	lc.frameReader = c.frameReader
	c.frameReader = frameReader{}
	binary.LittleEndian.PutUint32(lc.mask[:], rand.Uint32()|1)
	c.finish(nil)
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd,
		&unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("client: Loop.Add: epoll_ctl: %w", err)
	}
	for len(l.byFD) <= fd {
		l.byFD = append(l.byFD, nil)
	}
	l.byFD[fd] = lc
	l.conns = append(l.conns, lc)
	l.live++
	if len(l.events) < l.live+1 && len(l.events) < 4096 {
		l.events = make([]unix.EpollEvent, min(4096, 2*(l.live+1)))
	}
	return lc, nil
}

// Conns are the connections in the order of Add (closed ones included).
func (l *Loop) Conns() []*LoopConn { return l.conns }

// Run locks the calling goroutine to its thread and runs the loop until
// Stop (once: a stopped loop does not run again). Packets buffered before Run (they came with the handshake) are
// handled first.
func (l *Loop) Run() error {
	l.running.Lock()
	defer l.running.Unlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, c := range l.conns {
		if !c.closed {
			c.parse()
			l.reap(c)
		}
	}
	var nextTick time.Time
	if l.Tick > 0 && l.OnTick != nil {
		nextTick = time.Now()
	}
	for !l.stop.Load() {
		timeout := -1
		if !nextTick.IsZero() {
			now := time.Now()
			if !now.Before(nextTick) {
				l.OnTick()
				// A connection whose write failed in OnTick is reported
				// now, not at its next event.
				for _, c := range l.conns {
					if c.failure != nil && !c.closed {
						l.reap(c)
					}
				}
				// A late tick is not made up by a burst of ticks: OnTick
				// reads the clock itself.
				nextTick = nextTick.Add(l.Tick)
				if nextTick.Before(now) {
					nextTick = now.Add(l.Tick)
				}
			}
			// Round up: a timeout that rounds down to 0 would spin. And
			// never below 0: a tick that outlasted its period leaves
			// nextTick in the past, and a negative timeout is epoll_wait's
			// "forever" (the ticks stopped under load until this clamp).
			timeout = max(0, int((time.Until(nextTick)+time.Millisecond-1)/time.Millisecond))
		}
		n, err := unix.EpollWait(l.epfd, l.events, timeout)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return fmt.Errorf("client: epoll_wait: %w", err)
		}
		for i := range n {
			ev := &l.events[i]
			fd := int(ev.Fd)
			if fd < 0 {
				l.drain()
				continue
			}
			if fd >= len(l.byFD) || l.byFD[fd] == nil {
				continue
			}
			c := l.byFD[fd]
			if ev.Events&unix.EPOLLOUT != 0 {
				c.flush()
			}
			if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 && !c.closed {
				c.readReady()
			}
			l.reap(c)
		}
	}
	return nil
}

// Stop makes Run return after the events at hand; it may be called from any
// goroutine, before or while Run runs, but not after Close. A stopped loop's connections stay
// open (Close closes them).
func (l *Loop) Stop() {
	l.stop.Store(true)
	l.wake()
}

// Close closes every connection (a plain TCP close, as a client that goes
// away; OnClose is not called) and the loop. It waits for Run to return:
// call Stop first.
func (l *Loop) Close() {
	l.running.Lock()
	defer l.running.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	for _, c := range l.conns {
		c.Close()
	}
	l.closePoller()
}

// reap reports and removes c if it failed.
func (l *Loop) reap(c *LoopConn) {
	if c.failure == nil || c.closed {
		return
	}
	err := c.failure
	c.Close()
	if l.OnClose != nil {
		l.OnClose(c, err)
	}
}

// Handshake returns what the server said while the connection opened.
func (c *LoopConn) Handshake() Handshake { return c.hs }

// Closed reports whether the connection has ended.
func (c *LoopConn) Closed() bool { return c.closed }

// Close closes the connection now (OnClose is not called). Pending acks
// never arrive.
func (c *LoopConn) Close() {
	if c.closed {
		return
	}
	c.closed = true
	_ = unix.EpollCtl(c.l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	c.l.byFD[c.fd] = nil
	_ = unix.Close(c.fd)
	c.l.live--
	c.frameReader = frameReader{}
	c.out, c.wbuf = nil, nil
}

// fail marks c failed with err (the first error wins); the loop closes it
// and calls OnClose when the current event is handled.
func (c *LoopConn) fail(err error) {
	if c.failure == nil {
		c.failure = err
	}
}

// readReady reads once and handles what came.
func (c *LoopConn) readReady() {
	free := c.prepare()
	n, err := unix.Read(c.fd, c.buf[c.w:])
	switch {
	case n > 0:
		c.grow(n, free)
		c.parse()
	case n == 0 && err == nil:
		c.fail(fmt.Errorf("%w: %w", ErrClosed, io.EOF))
	case err == unix.EAGAIN || err == unix.EINTR:
	default:
		c.fail(fmt.Errorf("%w: read: %w", ErrClosed, err))
	}
}

// parse handles every complete frame in the read buffer.
func (c *LoopConn) parse() {
	for c.failure == nil {
		op, payload, ok, err := c.next()
		if err != nil {
			c.fail(err)
			return
		}
		if !ok {
			return
		}
		switch op {
		case opPing:
			c.writeFrame(opPong, payload)
		case opClose:
			c.writeFrame(opClose, payload)
			c.fail(fmt.Errorf("%w: websocket close %q", ErrClosed, payload))
		case opText:
			c.onEngine(payload)
		}
	}
}

// onEngine handles one Engine.IO packet (the handshake is over: OPEN and
// CONNECT are not expected any more).
func (c *LoopConn) onEngine(p []byte) {
	if len(p) == 0 {
		c.fail(fmt.Errorf("%w: empty engine.io packet", ErrProtocol))
		return
	}
	switch p[0] {
	case '4': // message: a Socket.IO packet
		c.onSocket(p[1:])
	case '2': // ping
		c.writeFrame(opText, []byte("3"))
	case '3', '6': // pong, noop
	case '1':
		c.fail(fmt.Errorf("%w: engine.io close", ErrClosed))
	default:
		c.fail(fmt.Errorf("%w: engine.io packet %q", ErrProtocol, trim(p)))
	}
}

// onSocket handles one Socket.IO packet of the default namespace.
func (c *LoopConn) onSocket(p []byte) {
	if len(p) == 0 {
		c.fail(fmt.Errorf("%w: empty socket.io packet", ErrProtocol))
		return
	}
	switch p[0] {
	case '3': // ACK
		id, args, ok := parseAck(p[1:])
		if !ok {
			c.fail(fmt.Errorf("%w: ack %q", ErrProtocol, trim(p)))
			return
		}
		if c.l.OnAck != nil {
			c.l.OnAck(c, id, args)
		}
	case '2': // EVENT
		if c.l.OnEvent == nil {
			return
		}
		id, name, args, ok := parseEvent(p[1:])
		if !ok {
			c.fail(fmt.Errorf("%w: event %q", ErrProtocol, trim(p)))
			return
		}
		c.ev = Event{Name: name, Args: args, ID: id}
		c.l.OnEvent(c, &c.ev)
	case '1':
		c.fail(fmt.Errorf("%w: namespace disconnect", ErrClosed))
	case '0', '4':
		c.fail(fmt.Errorf("%w: unexpected packet %q", ErrProtocol, trim(p)))
	}
}

// Emit sends event with args (raw JSON each) asking for no ack. An error
// (the connection closed) is also reported through OnClose.
func (c *LoopConn) Emit(event string, args ...[]byte) error {
	return c.emit(-1, event, args)
}

// EmitAck sends event with args (raw JSON each) with an ack id, returned:
// the server's reply goes to Loop.OnAck with that id. An error (the
// connection closed) is also reported through OnClose.
func (c *LoopConn) EmitAck(event string, args ...[]byte) (int64, error) {
	id := c.nextID
	c.nextID++
	return id, c.emit(id, event, args)
}

// emit encodes 42[id]["event",args...] and writes it as one masked frame.
func (c *LoopConn) emit(id int64, event string, args [][]byte) error {
	if c.closed || c.failure != nil {
		return ErrClosed
	}
	c.wbuf = appendEmit(c.wbuf[:0], id, event, args)
	c.write(frameInPlace(c.wbuf, opText, c.mask))
	if c.failure != nil {
		return ErrClosed
	}
	return nil
}

// writeFrame sends one masked frame with payload p.
func (c *LoopConn) writeFrame(op byte, p []byte) {
	if c.closed || c.failure != nil {
		return
	}
	b := append(c.wbuf[:0], make([]byte, maxHeader)...)
	c.wbuf = append(b, p...)
	c.write(frameInPlace(c.wbuf, op, c.mask))
}

// write sends frame, or queues what the socket does not take and waits for
// EPOLLOUT. Frames are never interleaved: once something is queued, later
// frames queue behind it.
func (c *LoopConn) write(frame []byte) {
	if len(c.out) > 0 {
		c.out = append(c.out, frame...)
		return
	}
	for len(frame) > 0 {
		n, err := unix.Write(c.fd, frame)
		if n > 0 {
			frame = frame[n:]
			continue
		}
		switch err {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			c.out = append(c.out, frame...)
			if err := unix.EpollCtl(c.l.epfd, unix.EPOLL_CTL_MOD, c.fd,
				&unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLOUT, Fd: int32(c.fd)}); err != nil {
				c.fail(fmt.Errorf("%w: epoll_ctl: %w", ErrClosed, err))
			}
			return
		default:
			c.fail(fmt.Errorf("%w: write: %w", ErrClosed, err))
			return
		}
	}
}

// flush writes the queued bytes on EPOLLOUT.
func (c *LoopConn) flush() {
	for len(c.out) > 0 {
		n, err := unix.Write(c.fd, c.out)
		if n > 0 {
			c.out = c.out[:copy(c.out, c.out[n:])]
			continue
		}
		if err == unix.EINTR {
			continue
		}
		if err != unix.EAGAIN {
			c.fail(fmt.Errorf("%w: write: %w", ErrClosed, err))
		}
		return
	}
	if err := unix.EpollCtl(c.l.epfd, unix.EPOLL_CTL_MOD, c.fd,
		&unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(c.fd)}); err != nil {
		c.fail(fmt.Errorf("%w: epoll_ctl: %w", ErrClosed, err))
	}
}
