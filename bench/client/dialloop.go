package client

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// HandshakeLoop opens and closes connections as fast as a server takes
// them, from one OS thread: the generator side of the handshake scenario.
// Each of its slots repeats, on raw non-blocking sockets in one epoll set
// (edge-triggered) and without the Go netpoller or a goroutine:
//
//	socket + connect(2) → the HTTP upgrade request → the 101 response
//	(Sec-WebSocket-Accept checked) → the Engine.IO OPEN → "40" → the
//	server's CONNECT "40{"sid":...}" → close(2)
//
// and starts the next handshake at once. The close is a plain TCP close, as
// a client that goes away (what Conn.Close does): TIME_WAIT stays on this
// side. The source address and port are the kernel's (connect(2) without
// bind(2)). A WebSocket ping or an Engine.IO ping arriving meanwhile is
// answered and an Engine.IO noop ignored; anything else the server sends
// before its CONNECT (a CONNECT_ERROR, a close, ...) fails the handshake.
//
// A handshake costs a socket(2), connect(2), a write(2) of the request, one
// or two read(2)s, a write(2) of "40", a read(2) and a close(2), plus an
// epoll_ctl(2) and a share of the epoll_wait(2)s.
type HandshakeLoop struct {
	// OnHandshake is called on the loop's thread for every completed
	// handshake with its latency (from just before socket(2) to the
	// CONNECT's arrival). Nil: not reported.
	OnHandshake func(latency time.Duration)
	// OnError is called on the loop's thread for every failed handshake
	// (refused, a bad response, a timeout, ...). The slot waits
	// ErrorBackoff, then starts again. Nil: not reported.
	OnError func(err error)
	// Timeout bounds one handshake. Default DefaultDialTimeout.
	Timeout time.Duration
	// ErrorBackoff is how long a slot waits after a failure (a refusing
	// server is not hammered in a busy loop). Default 1 ms.
	ErrorBackoff time.Duration

	sa     unix.Sockaddr
	family int
	req    []byte // the upgrade request; the key is at req[keyAt:keyAt+24]
	keyAt  int

	poller // Stop wakes Run through it
	slots  []hsSlot
	events []unix.EpollEvent
	base   time.Time
	active int   // slots with a handshake in flight
	due    int64 // the earliest slot deadline (ns since base)

	stop    atomic.Bool
	running sync.Mutex
	closed  bool
}

// Handshake slot states.
const (
	hsIdle    = iota // between handshakes (stopped, or backing off until due)
	hsWriting        // connecting; the request is not written yet
	hsUpgrade        // waiting for the 101 response
	hsOpen           // waiting for the Engine.IO OPEN
	hsConnect        // "40" sent, waiting for the CONNECT
)

var hsStateNames = [...]string{"idle", "connect", "upgrade", "open", "connect packet"}

// hsSlot is one handshake in flight (or the pause between two).
type hsSlot struct {
	fd     int
	gen    int32 // tells this handshake's epoll events from a closed one's
	state  uint8
	start  int64 // ns since base
	due    int64 // deadline, or the end of the backoff when idle
	req    []byte
	accept [28]byte // the expected Sec-WebSocket-Accept
	mask   [4]byte
	wbuf   []byte
	frameReader
}

// ErrHandshakeTimeout: a handshake of a HandshakeLoop took longer than its
// Timeout.
var ErrHandshakeTimeout = errors.New("client: handshake timeout")

// NewHandshakeLoop prepares a loop of slots concurrent handshakes with the
// server at rawURL (as for Dial; ws:// or http:// only, the address is
// resolved once). Set its fields, then Run.
func NewHandshakeLoop(rawURL string, slots int) (*HandshakeLoop, error) {
	if slots <= 0 {
		return nil, fmt.Errorf("client: NewHandshakeLoop: %d slots", slots)
	}
	wsURL, err := EndpointURL(rawURL)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(wsURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "ws" {
		return nil, fmt.Errorf("client: HandshakeLoop: scheme %q not supported (no TLS)", u.Scheme)
	}
	hostport := u.Host
	if u.Port() == "" {
		hostport = net.JoinHostPort(u.Hostname(), "80")
	}
	ta, err := net.ResolveTCPAddr("tcp", hostport)
	if err != nil {
		return nil, fmt.Errorf("client: HandshakeLoop: %w", err)
	}
	h := &HandshakeLoop{slots: make([]hsSlot, slots), base: time.Now()}
	if ip4 := ta.IP.To4(); ip4 != nil {
		h.sa, h.family = &unix.SockaddrInet4{Port: ta.Port, Addr: [4]byte(ip4)}, unix.AF_INET
	} else {
		sa := &unix.SockaddrInet6{Port: ta.Port, Addr: [16]byte(ta.IP.To16())}
		if ta.Zone != "" {
			if ifi, err := net.InterfaceByName(ta.Zone); err == nil {
				sa.ZoneId = uint32(ifi.Index)
			}
		}
		h.sa, h.family = sa, unix.AF_INET6
	}
	h.req = append(h.req, "GET "+u.RequestURI()+" HTTP/1.1\r\nHost: "+u.Host+
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "...)
	h.keyAt = len(h.req)
	h.req = append(h.req, "AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\n"...)
	for i := range h.slots {
		s := &h.slots[i]
		s.fd = -1
		s.req = bytes.Clone(h.req)
		s.frameReader = frameReader{buf: make([]byte, 1024), max: DefaultMaxReadBufferSize}
	}
	if h.poller, err = newPoller(); err != nil {
		return nil, err
	}
	h.events = make([]unix.EpollEvent, min(slots+1, 1024))
	return h, nil
}

// Run locks the calling goroutine to its thread and runs the handshakes
// until Stop; then it lets those in flight end (complete, fail or time
// out) and returns. Once only.
func (h *HandshakeLoop) Run() error {
	h.running.Lock()
	defer h.running.Unlock()
	if h.closed {
		return errors.New("client: HandshakeLoop: closed")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if h.Timeout <= 0 {
		h.Timeout = DefaultDialTimeout
	}
	if h.ErrorBackoff <= 0 {
		h.ErrorBackoff = time.Millisecond
	}
	h.due = 1<<63 - 1
	for i := range h.slots {
		if h.stop.Load() {
			break
		}
		h.begin(i)
	}
	for h.active > 0 || !h.stop.Load() {
		wait := -1
		if h.due != 1<<63-1 {
			// Round up: epoll_wait counts whole milliseconds.
			wait = int(max(0, (h.due-h.now()+999_999)/1_000_000))
		}
		n, err := unix.EpollWait(h.epfd, h.events, wait)
		if err != nil && err != unix.EINTR {
			h.abort()
			return fmt.Errorf("client: epoll_wait: %w", err)
		}
		for i := range max(n, 0) {
			ev := &h.events[i]
			if ev.Fd < 0 {
				h.drain()
				continue
			}
			s := &h.slots[ev.Fd]
			if s.gen != ev.Pad || s.state == hsIdle {
				continue // an event of an earlier handshake of this slot
			}
			h.ready(int(ev.Fd), ev.Events)
		}
		if now := h.now(); now >= h.due {
			h.expire(now)
		}
	}
	return nil
}

// Stop makes Run start no new handshake and return once those in flight
// ended. Any goroutine, any time before Close.
func (h *HandshakeLoop) Stop() {
	h.stop.Store(true)
	h.wake()
}

// Close releases the loop (and closes the sockets of a Run that failed).
// It waits for Run to return: call Stop first.
func (h *HandshakeLoop) Close() {
	h.running.Lock()
	defer h.running.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	h.abort()
	h.closePoller()
}

// abort closes every socket still open.
func (h *HandshakeLoop) abort() {
	for i := range h.slots {
		if s := &h.slots[i]; s.fd >= 0 {
			_ = unix.Close(s.fd)
			s.fd = -1
			s.state = hsIdle
		}
	}
	h.active = 0
}

func (h *HandshakeLoop) now() int64 { return int64(time.Since(h.base)) }

// setDue makes the loop wake up by t.
func (h *HandshakeLoop) setDue(s *hsSlot, t int64) {
	s.due = t
	h.due = min(h.due, t)
}

// expire fails the handshakes past their deadline, restarts the slots
// whose backoff is over, and finds the next deadline.
func (h *HandshakeLoop) expire(now int64) {
	h.due = 1<<63 - 1
	for i := range h.slots {
		s := &h.slots[i]
		switch {
		case s.state == hsIdle && s.due == 0: // stopped
		case s.due > now:
			h.due = min(h.due, s.due)
		case s.state == hsIdle:
			s.due = 0
			if !h.stop.Load() {
				h.begin(i)
			}
		default:
			h.fail(i, fmt.Errorf("%w after %v (waiting for the %s)", ErrHandshakeTimeout, h.Timeout,
				hsStateNames[s.state]))
		}
	}
}

// begin starts slot i's next handshake: socket, connect and, when the
// kernel already allows it (loopback usually does), the request.
func (h *HandshakeLoop) begin(i int) {
	s := &h.slots[i]
	s.start = h.now()
	s.gen++
	s.r, s.w, s.fragOp, s.frag = 0, 0, 0, s.frag[:0]
	fd, err := unix.Socket(h.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		h.backoff(i, fmt.Errorf("client: handshake: socket: %w", err))
		return
	}
	s.fd = fd
	s.state = hsWriting
	h.active++
	h.setDue(s, s.start+int64(h.Timeout))
	if err := unix.Connect(fd, h.sa); err != nil && err != unix.EINPROGRESS {
		h.fail(i, fmt.Errorf("client: handshake: connect: %w", err))
		return
	}
	h.newKey(s)
	events := uint32(unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET)
	if !h.writeRequest(i) {
		if s.state == hsIdle {
			return // failed
		}
		events |= unix.EPOLLOUT // not connected yet: write on EPOLLOUT
	}
	if err := unix.EpollCtl(h.epfd, unix.EPOLL_CTL_ADD, fd,
		&unix.EpollEvent{Events: events, Fd: int32(i), Pad: s.gen}); err != nil {
		h.fail(i, fmt.Errorf("client: handshake: epoll_ctl: %w", err))
	}
}

// newKey puts a fresh Sec-WebSocket-Key into s's request and the answer it
// expects into s.accept, and draws the frame mask.
func (h *HandshakeLoop) newKey(s *hsSlot) {
	var raw [16]byte
	binary.LittleEndian.PutUint64(raw[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(raw[8:], rand.Uint64())
	key := s.req[h.keyAt : h.keyAt+24]
	base64.StdEncoding.Encode(key, raw[:])
	var in [24 + len(wsGUID)]byte
	copy(in[copy(in[:], key):], wsGUID)
	sum := sha1.Sum(in[:])
	base64.StdEncoding.Encode(s.accept[:], sum[:])
	binary.LittleEndian.PutUint32(s.mask[:], rand.Uint32()|1)
}

// wsGUID is RFC 6455's key suffix.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// writeRequest writes slot i's upgrade request: true when written (the
// state is then hsUpgrade), false when the socket is not connected yet
// (EAGAIN) or failed (the slot is then idle). The request is small and
// goes in one write(2) on a fresh socket: a short write fails it.
func (h *HandshakeLoop) writeRequest(i int) bool {
	s := &h.slots[i]
	n, err := unix.Write(s.fd, s.req)
	switch {
	case n == len(s.req):
		s.state = hsUpgrade
		return true
	case err == unix.EAGAIN:
		return false
	case err != nil:
		h.fail(i, fmt.Errorf("client: handshake: connect: %w", err))
	default:
		h.fail(i, fmt.Errorf("client: handshake: short write of the request (%d of %d bytes)", n, len(s.req)))
	}
	return false
}

// ready handles slot i's epoll event.
func (h *HandshakeLoop) ready(i int, events uint32) {
	s := &h.slots[i]
	if s.state == hsWriting {
		if events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return
		}
		if soerr, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || soerr != 0 {
			if err == nil {
				err = unix.Errno(soerr)
			}
			h.fail(i, fmt.Errorf("client: handshake: connect: %w", err))
			return
		}
		if !h.writeRequest(i) {
			return
		}
	}
	if events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) == 0 {
		return
	}
	// Edge-triggered: read until the socket is drained (a read that does
	// not fill the buffer took all there was) or the handshake is over.
	for s.state != hsIdle {
		free := s.prepare()
		n, err := unix.Read(s.fd, s.buf[s.w:])
		switch {
		case n > 0:
			s.w += n
			h.parse(i)
			if n < free || s.state == hsIdle {
				return
			}
			if s.w == len(s.buf) && len(s.buf) < s.max {
				s.ensure(len(s.buf))
			}
		case n == 0 && err == nil:
			h.fail(i, fmt.Errorf("client: handshake: closed by the server (waiting for the %s)", hsStateNames[s.state]))
			return
		case err == unix.EAGAIN:
			return
		case err == unix.EINTR:
		default:
			h.fail(i, fmt.Errorf("client: handshake: read: %w", err))
			return
		}
	}
}

// parse handles what slot i has read: the 101 response, then frames.
func (h *HandshakeLoop) parse(i int) {
	s := &h.slots[i]
	if s.state == hsUpgrade {
		p := s.buf[s.r:s.w]
		end := bytes.Index(p, []byte("\r\n\r\n"))
		if end < 0 {
			if len(p) > 4096 {
				h.fail(i, fmt.Errorf("client: handshake: response header over 4 kB"))
			}
			return
		}
		if err := checkUpgrade(p[:end], s.accept[:]); err != nil {
			h.fail(i, err)
			return
		}
		s.r += end + 4
		s.state = hsOpen
	}
	for s.state >= hsOpen {
		op, payload, ok, err := s.next()
		if err != nil {
			h.fail(i, fmt.Errorf("client: handshake: %w", err))
			return
		}
		if !ok {
			return
		}
		switch op {
		case opPing:
			h.write(i, opPong, payload)
		case opClose:
			h.fail(i, fmt.Errorf("%w: websocket close %q", ErrClosed, trim(payload)))
		case opText:
			h.onPacket(i, payload)
		default:
			h.fail(i, fmt.Errorf("%w: frame opcode %d during the handshake", ErrProtocol, op))
		}
	}
}

// checkUpgrade checks a 101 response's head (without the final blank line).
func checkUpgrade(head, accept []byte) error {
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 101 ")) && !bytes.Equal(line, []byte("HTTP/1.1 101")) {
		return fmt.Errorf("client: handshake: status %q", trim(line))
	}
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(name, []byte("Sec-WebSocket-Accept")) {
			if !bytes.Equal(bytes.TrimSpace(value), accept) {
				return fmt.Errorf("client: handshake: Sec-WebSocket-Accept %q, want %q", trim(value), accept)
			}
			return nil
		}
	}
	return fmt.Errorf("client: handshake: no Sec-WebSocket-Accept")
}

// onPacket handles one Engine.IO packet of slot i.
func (h *HandshakeLoop) onPacket(i int, p []byte) {
	s := &h.slots[i]
	switch {
	case len(p) == 0:
		h.fail(i, fmt.Errorf("%w: empty engine.io packet", ErrProtocol))
	case p[0] == '2': // ping
		h.write(i, opText, []byte("3"))
	case p[0] == '3' || p[0] == '6': // pong, noop
	case s.state == hsOpen && p[0] == '0':
		if !hasSID(p[1:]) {
			h.fail(i, fmt.Errorf("%w: engine.io open %q", ErrProtocol, trim(p)))
			return
		}
		s.state = hsConnect
		h.write(i, opText, []byte("40"))
	case s.state == hsConnect && len(p) >= 2 && p[0] == '4' && p[1] == '0':
		if !hasSID(p[2:]) {
			h.fail(i, fmt.Errorf("%w: connect %q", ErrProtocol, trim(p)))
			return
		}
		lat := h.now() - s.start
		h.finish(i)
		if h.OnHandshake != nil {
			h.OnHandshake(time.Duration(lat))
		}
		if !h.stop.Load() {
			h.begin(i)
		}
	case len(p) >= 2 && p[0] == '4' && p[1] == '4':
		h.fail(i, fmt.Errorf("%w: connect error %q", ErrProtocol, trim(p)))
	default:
		h.fail(i, fmt.Errorf("%w: unexpected packet %q (waiting for the %s)", ErrProtocol, trim(p),
			hsStateNames[s.state]))
	}
}

// hasSID reports whether p, a JSON object, has a non-empty "sid" string
// (without decoding it: the OPEN and CONNECT come from the server under
// test, which the client tests check in full with Dial).
func hasSID(p []byte) bool {
	if len(p) == 0 || p[0] != '{' {
		return false
	}
	i := bytes.Index(p, []byte(`"sid":"`))
	return i >= 0 && i+7 < len(p) && p[i+7] != '"'
}

// write sends one small masked frame (Engine.IO "40", "3", a pong) on slot
// i; it fails the handshake if the socket does not take it whole.
func (h *HandshakeLoop) write(i int, op byte, p []byte) {
	s := &h.slots[i]
	if s.state == hsIdle {
		return
	}
	b := append(s.wbuf[:0], make([]byte, maxHeader)...)
	s.wbuf = append(b, p...)
	f := frameInPlace(s.wbuf, op, s.mask)
	n, err := unix.Write(s.fd, f)
	for err == unix.EINTR {
		n, err = unix.Write(s.fd, f)
	}
	if n != len(f) {
		if err == nil {
			err = fmt.Errorf("short write (%d of %d bytes)", n, len(f))
		}
		h.fail(i, fmt.Errorf("client: handshake: write: %w", err))
	}
}

// finish closes slot i's socket (a plain close) and makes it idle.
func (h *HandshakeLoop) finish(i int) {
	s := &h.slots[i]
	if s.state == hsIdle {
		return
	}
	_ = unix.Close(s.fd)
	s.fd = -1
	s.state = hsIdle
	s.due = 0
	h.active--
}

// fail ends slot i's handshake with err and starts the backoff.
func (h *HandshakeLoop) fail(i int, err error) {
	h.finish(i)
	h.backoff(i, err)
}

// backoff reports err and schedules slot i's next handshake.
func (h *HandshakeLoop) backoff(i int, err error) {
	if h.OnError != nil {
		h.OnError(err)
	}
	if !h.stop.Load() {
		h.setDue(&h.slots[i], h.now()+int64(h.ErrorBackoff))
	}
}
