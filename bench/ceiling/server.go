package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
)

// Sizes and timeouts.
const (
	// maxPayload is the largest frame a client may send (the OPEN packet's
	// maxPayload, Node's maxHttpBufferSize).
	maxPayload = 1_000_000
	// handshakeTimeout bounds the upgrade, the OPEN and the CONNECT.
	handshakeTimeout = 10 * time.Second
	// readBufferSize is a connection's initial read buffer: the client
	// sends small frames (CONNECT, join, acks); it grows for larger ones.
	readBufferSize = 512
)

// server is the ceiling server: an accept loop, one reader goroutine per
// connection, the broadcast workers, and the rooms.
type server struct {
	ln      net.Listener
	workers []*worker
	batch   int
	fill    bool // hand batches over only when full (or at the burst's end)

	ctx    context.Context // cancelled by Close: bursts stop early
	cancel context.CancelFunc

	mu        sync.Mutex // the fields below, and bursts.Add against Close
	conns     map[*conn]struct{}
	rooms     map[string]map[*conn]struct{}
	connected int // sockets connected to "/"

	readers sync.WaitGroup // accept loop, readers and drainers
	bursts  sync.WaitGroup
	workWG  sync.WaitGroup

	// drains counts the times a connection's write fell behind and a
	// drain goroutine took over (tests check the slow path ran).
	drains atomic.Int64
	// sendBuffer, when > 0, is the SO_SNDBUF of connections accepted from
	// then on (tests shrink it to reach the slow path sooner).
	sendBuffer atomic.Int64
}

// listen starts a server on addr with the given number of broadcast
// workers, batch size and batching rule (see the -fill flag).
func listen(addr string, workers, batch int, fill bool) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &server{ln: ln, batch: batch, fill: fill, conns: map[*conn]struct{}{}, rooms: map[string]map[*conn]struct{}{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for range workers {
		w := &worker{ch: make(chan job, 2)}
		s.workers = append(s.workers, w)
		s.workWG.Add(1)
		go s.work(w)
	}
	s.readers.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the listening address.
func (s *server) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting, stops the running bursts and waits for them,
// closes every connection and waits until every goroutine is gone.
func (s *server) Close() {
	s.mu.Lock()
	s.cancel()
	s.mu.Unlock()
	_ = s.ln.Close()
	s.bursts.Wait()
	s.mu.Lock()
	for c := range s.conns {
		c.close()
	}
	s.mu.Unlock()
	s.readers.Wait()
	for _, w := range s.workers {
		close(w.ch)
	}
	s.workWG.Wait()
}

// accept serves every incoming connection on its own goroutine.
func (s *server) accept() {
	defer s.readers.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.mu.Lock()
		if s.ctx.Err() != nil {
			s.mu.Unlock()
			_ = nc.Close()
			return
		}
		c := newConn(s, nc.(*net.TCPConn))
		if n := s.sendBuffer.Load(); n > 0 {
			_ = c.nc.SetWriteBuffer(int(n))
		}
		s.conns[c] = struct{}{}
		s.readers.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

// conn is one client connection. The read side belongs to its serve
// goroutine; the write side is shared (readers answer, workers broadcast)
// and guarded by mu.
type conn struct {
	srv *server
	nc  *net.TCPConn
	rc  syscall.RawConn
	sid string // Socket.IO id of the socket on "/"

	// Read side (serve goroutine only).
	buf       []byte // unparsed bytes are buf[r:w]
	r, w      int
	connected bool     // CONNECT to "/" done
	rooms     []string // joined rooms (also guarded by srv.mu while changed)

	// Write side.
	mu       sync.Mutex
	pending  net.Buffers // bytes the kernel did not take yet, in order
	draining bool        // a drain goroutine owns the socket's writes
	dead     bool
}

func newConn(s *server, nc *net.TCPConn) *conn {
	rc, _ := nc.SyscallConn()
	return &conn{srv: s, nc: nc, rc: rc, buf: make([]byte, readBufferSize)}
}

// send writes b, whole, after whatever is queued. b must not change
// afterwards: when the kernel takes only part of it, the rest stays queued
// by reference. Safe for concurrent use; it never blocks on the network.
func (c *conn) send(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return
	}
	if c.draining {
		c.pending = append(c.pending, b)
		return
	}
	// One write(2) on the non-blocking socket, without the netpoller:
	// returning true from the callback means "done", never "wait".
	var n int
	var werr error
	err := c.rc.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), b)
			if werr != syscall.EINTR {
				return true
			}
		}
	})
	if err == nil && werr != nil && werr != syscall.EAGAIN {
		err = werr
	}
	if err != nil {
		c.dead = true
		_ = c.nc.Close()
		return
	}
	n = max(n, 0)
	if n < len(b) {
		c.pending = append(c.pending, b[n:])
		c.draining = true
		c.srv.drains.Add(1)
		c.srv.readers.Add(1)
		go c.drain()
	}
}

// drain writes the queued bytes through the netpoller (blocking this
// goroutine only) until the queue is empty, then gives the socket back to
// send's direct writes.
func (c *conn) drain() {
	defer c.srv.readers.Done()
	for {
		c.mu.Lock()
		bufs := c.pending
		c.pending = nil
		if len(bufs) == 0 || c.dead {
			c.draining = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if _, err := bufs.WriteTo(c.nc); err != nil {
			c.mu.Lock()
			c.dead, c.draining, c.pending = true, false, nil
			c.mu.Unlock()
			_ = c.nc.Close()
			return
		}
	}
}

// close closes the socket; the serve goroutine then cleans up.
func (c *conn) close() {
	c.mu.Lock()
	c.dead = true
	c.pending = nil
	c.mu.Unlock()
	_ = c.nc.Close()
}

// serve upgrades the connection, opens the Engine.IO session and reads
// frames until the connection ends.
func (c *conn) serve() {
	defer c.srv.readers.Done()
	defer c.cleanup()
	_ = c.nc.SetDeadline(time.Now().Add(handshakeTimeout))
	up := ws.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 512, OnRequest: checkURI}
	if _, err := up.Upgrade(c.nc); err != nil {
		return
	}
	_ = c.nc.SetWriteDeadline(time.Time{})
	c.sid = newID()
	c.sendText([]byte(`0{"sid":"` + newID() + `","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`))
	for {
		n, err := c.nc.Read(c.buf[c.w:])
		c.w += n
		if err != nil {
			return
		}
		if err := c.parse(); err != nil {
			return
		}
	}
}

// cleanup removes the connection from the server and its rooms.
func (c *conn) cleanup() {
	c.close()
	s := c.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	for _, r := range c.rooms {
		if m := s.rooms[r]; m != nil {
			delete(m, c)
			if len(m) == 0 {
				delete(s.rooms, r)
			}
		}
	}
	if c.connected {
		s.connected--
	}
}

// errBadRequest refuses an upgrade to another path or without EIO=4 and
// transport=websocket.
var errBadRequest = ws.RejectConnectionError(ws.RejectionStatus(400), ws.RejectionReason("bad request"))

// checkURI accepts /socket.io/?EIO=4&transport=websocket (other query
// parameters are ignored).
func checkURI(uri []byte) error {
	u, err := url.ParseRequestURI(string(uri))
	if err != nil || u.Path != "/socket.io/" {
		return errBadRequest
	}
	q := u.Query()
	if q.Get("EIO") != "4" || q.Get("transport") != "websocket" {
		return errBadRequest
	}
	return nil
}

// newID returns a random 16-character id.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// errClose ends a connection (a close frame, a protocol error).
var errClose = errors.New("ceiling: close")

// parse handles every complete frame in buf[r:w] (RFC 6455 section 5.2;
// client frames are masked) and keeps the rest, growing the buffer for a
// frame that does not fit.
func (c *conn) parse() error {
	for {
		p := c.buf[c.r:c.w]
		hdr, size, ok := frameHeader(p)
		if !ok {
			break // the header is not all here yet
		}
		if p[1]&0x80 == 0 || p[0]&0x80 == 0 || size > maxPayload {
			return errClose // unmasked, fragmented or too large
		}
		total := hdr + int(size)
		if len(p) < total {
			c.ensure(total)
			break
		}
		payload := p[hdr:total]
		ws.Cipher(payload, [4]byte(p[hdr-4:hdr]), 0)
		c.r += total
		if err := c.onFrame(p[0]&0x0f, payload); err != nil {
			return err
		}
	}
	if c.r == c.w {
		c.r, c.w = 0, 0
	} else if c.w == len(c.buf) {
		c.ensure(len(c.buf)) // a partial header at the end of a full buffer
	}
	return nil
}

// frameHeader reads the header of the masked client frame at the start of
// p: its length including the mask key, and the payload size; ok is false
// while the header is incomplete.
func frameHeader(p []byte) (hdr int, size uint64, ok bool) {
	if len(p) < 2 {
		return 0, 0, false
	}
	hdr, size = 2, uint64(p[1]&0x7f)
	switch size {
	case 126:
		hdr = 4
	case 127:
		hdr = 10
	}
	if len(p) < hdr+4 {
		return 0, 0, false
	}
	switch hdr {
	case 4:
		size = uint64(binary.BigEndian.Uint16(p[2:]))
	case 10:
		size = binary.BigEndian.Uint64(p[2:])
	}
	return hdr + 4, size, true
}

// ensure makes room for a frame of n bytes starting at buf[r].
func (c *conn) ensure(n int) {
	if c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	if len(c.buf) < n || c.w == len(c.buf) {
		nb := make([]byte, max(n, 2*len(c.buf)))
		copy(nb, c.buf[:c.w])
		c.buf = nb
	}
}

// WebSocket opcodes (RFC 6455 section 5.2).
const (
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
)

// onFrame handles one whole frame. The payload is borrowed from the read
// buffer.
func (c *conn) onFrame(op byte, p []byte) error {
	switch op {
	case opText:
		return c.onEngine(p)
	case opPing:
		c.send(appendFrame(nil, 0x8a, p)) // pong
		return nil
	case opClose:
		return errClose
	case 0xa: // pong
		return nil
	}
	return errClose // binary, continuation: not spoken here
}

// onEngine handles one Engine.IO packet.
func (c *conn) onEngine(p []byte) error {
	if len(p) == 0 {
		return errClose
	}
	switch p[0] {
	case '4': // message
		return c.onSocket(p[1:])
	case '2': // ping (clients do not send them in v4; answer anyway)
		c.sendText([]byte("3"))
	case '3', '6': // pong, noop
	default: // close, anything else
		return errClose
	}
	return nil
}

// onSocket handles one Socket.IO packet of namespace "/".
func (c *conn) onSocket(p []byte) error {
	if len(p) == 0 {
		return errClose
	}
	switch p[0] {
	case '0': // CONNECT, with or without auth
		if len(p) > 1 && p[1] == '/' {
			c.sendText(append([]byte(`44`), append(p[1:nspEnd(p)], `,{"message":"Invalid namespace"}`...)...))
			return nil
		}
		if !c.connected {
			c.connected = true
			c.srv.mu.Lock()
			c.srv.connected++
			c.srv.mu.Unlock()
			_ = c.nc.SetReadDeadline(time.Time{})
		}
		c.sendText([]byte(`40{"sid":"` + c.sid + `"}`))
	case '1': // DISCONNECT
		return errClose
	case '2': // EVENT
		if !c.connected {
			return errClose
		}
		return c.onEvent(p[1:])
	}
	return nil // acks from the client, binary: not used
}

// nspEnd returns the end of a "/nsp," prefix in a packet (after its type).
func nspEnd(p []byte) int {
	for i := 1; i < len(p); i++ {
		if p[i] == ',' {
			return i
		}
	}
	return len(p)
}

// sendText sends p as one text frame.
func (c *conn) sendText(p []byte) { c.send(appendFrame(nil, 0x81, p)) }

// appendFrame appends an unmasked server frame (first byte b0: FIN and
// opcode) with payload p to dst (RFC 6455 section 5.2: the shortest length
// encoding).
func appendFrame(dst []byte, b0 byte, p []byte) []byte {
	dst = appendHeader(dst, b0, len(p))
	return append(dst, p...)
}

// appendHeader appends a server frame header for an n-byte payload.
func appendHeader(dst []byte, b0 byte, n int) []byte {
	switch {
	case n < 126:
		return append(dst, b0, byte(n))
	case n <= 0xffff:
		return append(dst, b0, 126, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, b0, 127), uint64(n))
}

// sendAck answers the ack id with args, the raw JSON of the ack's
// arguments without brackets.
func (c *conn) sendAck(id int64, args string) {
	c.sendText(fmt.Appendf(nil, "43%d[%s]", id, args))
}

// join adds the connection to room.
func (c *conn) join(room string) {
	s := c.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.rooms[room]
	if m == nil {
		m = map[*conn]struct{}{}
		s.rooms[room] = m
	}
	if _, ok := m[c]; !ok {
		m[c] = struct{}{}
		c.rooms = append(c.rooms, room)
	}
}
