// Package client is a lean Engine.IO v4 / Socket.IO v5 client over
// WebSocket only, built for load generation: one process holds tens of
// thousands of connections, and a connection costs one small goroutine,
// one read buffer and a few hundred bytes of state.
//
// A Conn does the Engine.IO handshake (the OPEN packet), joins the default
// namespace "/" (CONNECT, waiting for the server's CONNECT with the sid),
// answers Engine.IO pings ("2" → "3") and WebSocket pings, and hands every
// incoming EVENT to Options.OnEvent and every ACK to the callback that
// asked for it. Packets are parsed minimally: an event is its name and the
// raw JSON of its arguments; ParseSeqTS reads the "seq" and "ts" fields of
// a benchmark "msg" without a JSON decoder.
//
// Loop (evloop.go) is the other way to drive connections: dialled with
// Options.Detached, they are handed to one event loop on one OS thread (raw
// epoll, no goroutine per connection), for request/response load where the
// generator's CPU must stay small next to the server's. HandshakeLoop
// (dialloop.go) does whole handshakes (connect to CONNECT, then close) in
// a loop on one OS thread the same way, for the handshake rate.
//
// Other namespaces, binary attachments and the polling transport are out of
// scope: the benchmark contract needs none of them.
package client

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
)

// Errors returned by Conn methods and handed to pending ack callbacks.
var (
	// ErrClosed: the connection is closed (by Close, the server or an error).
	ErrClosed = errors.New("client: connection closed")
	// ErrProtocol: the server sent something this client does not accept.
	ErrProtocol = errors.New("client: protocol error")
)

// Default sizes and timeouts.
const (
	// DefaultDialTimeout bounds Dial when Options.DialTimeout is zero.
	DefaultDialTimeout = 10 * time.Second
	// DefaultReadBufferSize is the initial read buffer of a connection.
	DefaultReadBufferSize = 2048
	// DefaultMaxReadBufferSize caps how far the read buffer grows when reads
	// keep filling it (a connection receiving a burst). Larger frames still
	// fit: the buffer grows to hold any whole frame.
	DefaultMaxReadBufferSize = 16 << 10
)

// Event is an EVENT packet received on the default namespace. Name and Args
// are borrowed from the connection's read buffer: valid only until the
// OnEvent callback returns.
type Event struct {
	// Name is the event name (the first element of the JSON array).
	Name []byte
	// Args is the raw JSON of the remaining elements, comma separated,
	// without the enclosing brackets: `{"seq":1}` or `1,"a"`, empty when
	// there are none.
	Args []byte
	// ID is the ack id the server asked for, or -1.
	ID int64
	// RecvNano is when the read that delivered the packet returned, in
	// nanoseconds since the Unix epoch (one clock read per read(2), shared
	// by every packet of that read).
	RecvNano int64
}

// AckFunc receives the reply to EmitAck: args is the raw JSON of the ack's
// arguments without brackets (borrowed until the callback returns), or err
// is ErrClosed when the connection closed first. It runs on the
// connection's reader goroutine: it must not block.
type AckFunc func(args []byte, err error)

// Options configures Dial. The zero value dials without a source address and
// ignores incoming events.
type Options struct {
	// LocalAddr is the source address to bind: an IP ("127.0.0.2"), to
	// spread connections over several source addresses (each has its own
	// ephemeral ports), or an IP and port ("127.0.0.2:20001"). Empty lets
	// the kernel choose both.
	//
	// With an explicit port the socket is bound with SO_REUSEADDR (a port
	// whose earlier connection is in TIME_WAIT can be reused towards another
	// destination). Choosing ports is the caller's business, and worth it
	// for tens of thousands of connections: Linux's own search for a free
	// port (connect(2) or bind(2) with port 0) scans the ports in use and
	// costs ~0.5 ms per connection once ~19k are open.
	LocalAddr string
	// DialTimeout bounds the TCP connect, the WebSocket upgrade and both
	// handshakes. Default DefaultDialTimeout.
	DialTimeout time.Duration
	// ReadBufferSize is the initial read buffer. Default
	// DefaultReadBufferSize.
	ReadBufferSize int
	// MaxReadBufferSize caps the growth of the read buffer when reads fill
	// it. Default DefaultMaxReadBufferSize.
	MaxReadBufferSize int
	// OnEvent receives every EVENT of the default namespace, on the
	// connection's reader goroutine: it must not block. The Event is
	// borrowed until it returns.
	OnEvent func(c *Conn, ev *Event)
	// OnClose is called once, from the reader goroutine, when the
	// connection ends after a successful Dial: err is nil after Close, or why
	// it ended.
	OnClose func(c *Conn, err error)
	// Detached makes Dial return after the handshake without starting the
	// reader goroutine: the connection is meant to be handed to a Loop
	// (Loop.Add), which then reads and writes its socket itself. Until
	// then nothing but Loop.Add and Close may be called on it; OnEvent is
	// not used.
	Detached bool
}

// Handshake is what the server said while the connection opened.
type Handshake struct {
	// EngineSID is the Engine.IO session id (OPEN packet).
	EngineSID string `json:"sid"`
	// PingInterval and PingTimeout are the server's heartbeat settings, in
	// milliseconds.
	PingInterval int `json:"pingInterval"`
	PingTimeout  int `json:"pingTimeout"`
	// MaxPayload is the server's maxHttpBufferSize.
	MaxPayload int `json:"maxPayload"`
	// SID is the Socket.IO socket id of the default namespace (CONNECT).
	SID string `json:"-"`
}

// Conn is one Socket.IO connection to the default namespace. Its methods are
// safe for concurrent use; incoming packets are handled on one reader
// goroutine per connection.
type Conn struct {
	nc   net.Conn
	opts Options
	hs   Handshake

	// Read side, owned by the reader goroutine (Dial before it starts).
	frameReader
	state uint8 // stateOpening → stateConnecting → stateConnected
	ev    Event

	// Write side: one whole frame per write, under wmu.
	wmu  sync.Mutex
	wbuf []byte
	mask [4]byte

	// Pending acks by id, under amu.
	amu     sync.Mutex
	nextID  int64
	pending map[int64]AckFunc

	closed    atomic.Bool
	closeOnce sync.Once
	done      chan struct{}
	err       error // why the reader stopped; read after done
}

// Connection states during Dial.
const (
	stateOpening    = iota // waiting for the Engine.IO OPEN
	stateConnecting        // "40" sent, waiting for the namespace CONNECT
	stateConnected
)

// Dial connects to a Socket.IO server: rawURL is its base
// ("http://127.0.0.1:3000", "ws://host:port" or with an explicit path like
// "http://host:port/socket.io/"; the default path is /socket.io/). It
// upgrades to WebSocket directly (transport=websocket), waits for the
// Engine.IO OPEN, joins the namespace "/" and returns once the server's
// CONNECT arrived. The reader goroutine runs from then on.
func Dial(ctx context.Context, rawURL string, opts Options) (*Conn, error) {
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = DefaultDialTimeout
	}
	if opts.ReadBufferSize <= 0 {
		opts.ReadBufferSize = DefaultReadBufferSize
	}
	if opts.MaxReadBufferSize < opts.ReadBufferSize {
		opts.MaxReadBufferSize = max(DefaultMaxReadBufferSize, opts.ReadBufferSize)
	}
	wsURL, err := EndpointURL(rawURL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()

	nd := &net.Dialer{}
	if opts.LocalAddr != "" {
		la, err := localAddr(opts.LocalAddr)
		if err != nil {
			return nil, err
		}
		nd.LocalAddr = la
		if la.Port != 0 {
			nd.Control = reuseAddr
		}
	}
	d := ws.Dialer{
		// Small handshake buffers: the upgrade response is ~150 bytes, and
		// every connection of a 19k run allocates (pooled) ones.
		ReadBufferSize:  512,
		WriteBufferSize: 512,
		NetDial:         nd.DialContext,
	}
	nc, br, _, err := d.Dial(ctx, wsURL)
	if err != nil {
		return nil, fmt.Errorf("client: dial: %w", err)
	}
	c := &Conn{
		nc:          nc,
		opts:        opts,
		frameReader: frameReader{buf: make([]byte, opts.ReadBufferSize), max: opts.MaxReadBufferSize},
		done:        make(chan struct{}),
	}
	// A client must mask its frames; the key need not be secret here. One
	// random key per connection keeps the server's unmasking honest.
	binary.LittleEndian.PutUint32(c.mask[:], rand.Uint32()|1)
	if br != nil {
		// The server sent its OPEN right behind the 101 response: take what
		// the handshake reader already buffered.
		n := br.Buffered()
		p, _ := br.Peek(n)
		c.ensure(n)
		c.w = copy(c.buf, p)
		ws.PutReader(br)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	if err := c.handshake(); err != nil {
		_ = nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	if !opts.Detached {
		go c.readLoop()
	}
	return c, nil
}

// localAddr parses Options.LocalAddr: "ip" or "ip:port".
func localAddr(s string) (*net.TCPAddr, error) {
	if ip := net.ParseIP(s); ip != nil {
		return &net.TCPAddr{IP: ip}, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err == nil {
		ip := net.ParseIP(host)
		p, perr := strconv.Atoi(port)
		if ip != nil && perr == nil && p > 0 && p < 65536 {
			return &net.TCPAddr{IP: ip, Port: p}, nil
		}
	}
	return nil, fmt.Errorf("client: bad LocalAddr %q", s)
}

// reuseAddr sets SO_REUSEADDR on a socket before it is bound.
func reuseAddr(network, address string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// IsAddrError reports whether a Dial failed because its explicit source
// address could not be used (EADDRINUSE, EADDRNOTAVAIL): another port may
// work.
func IsAddrError(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, syscall.EADDRNOTAVAIL)
}

// EndpointURL turns a server base URL into the WebSocket URL of its
// Socket.IO endpoint: scheme ws(s), path /socket.io/ unless one is given,
// and the query EIO=4&transport=websocket.
func EndpointURL(rawURL string) (string, error) {
	if !strings.Contains(rawURL, "://") {
		rawURL = "ws://" + rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("client: bad url %q: %w", rawURL, err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("client: bad url scheme %q", u.Scheme)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/socket.io/"
	}
	q := u.Query()
	q.Set("EIO", "4")
	q.Set("transport", "websocket")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// handshake reads until the namespace CONNECT arrived (sending "40" after the
// OPEN), on the caller's goroutine.
func (c *Conn) handshake() error {
	// The OPEN may already be buffered (it came with the 101 response):
	// parse before reading.
	for {
		if err := c.parse(0); err != nil {
			return fmt.Errorf("client: handshake: %w", err)
		}
		if c.state == stateConnected {
			return nil
		}
		if err := c.fill(); err != nil {
			return fmt.Errorf("client: handshake: %w", err)
		}
	}
}

// Handshake returns what the server said while the connection opened.
func (c *Conn) Handshake() Handshake { return c.hs }

// SID is the Socket.IO socket id of the default namespace.
func (c *Conn) SID() string { return c.hs.SID }

// LocalAddr is the connection's local address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// Done is closed when the connection has ended and its reader stopped.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (nil after Close); valid once Done is
// closed.
func (c *Conn) Err() error {
	<-c.done
	return c.err
}

// Close closes the connection (a plain TCP close, as a client that goes away)
// and waits for the reader goroutine to stop. Pending acks get ErrClosed.
// A Detached connection has no reader: Close ends it at once (after
// Loop.Add it does nothing, the Loop owns the socket).
func (c *Conn) Close() error {
	c.closed.Store(true)
	err := c.nc.Close()
	if c.opts.Detached {
		c.finish(nil)
	}
	<-c.done
	return err
}

// readLoop reads and dispatches until the connection ends.
func (c *Conn) readLoop() {
	var err error
	for {
		if err = c.fill(); err != nil {
			break
		}
		if err = c.parse(time.Now().UnixNano()); err != nil {
			break
		}
	}
	if c.closed.Load() {
		err = nil // our own Close
	}
	c.finish(err)
}

// finish marks the connection ended, fails the pending acks and calls
// OnClose.
func (c *Conn) finish(err error) {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		_ = c.nc.Close()
		c.err = err
		c.amu.Lock()
		pending := c.pending
		c.pending = nil
		c.amu.Unlock()
		for _, cb := range pending {
			cb(nil, ErrClosed)
		}
		if c.opts.OnClose != nil {
			c.opts.OnClose(c, err)
		}
		// Idle connections of a 19k run should not keep their buffers.
		c.buf, c.frag = nil, nil
		close(c.done)
	})
}

// fill reads once into the free end of the buffer (see frameReader.grow).
func (c *Conn) fill() error {
	free := c.prepare()
	n, err := c.nc.Read(c.buf[c.w:])
	c.grow(n, free)
	if n > 0 {
		return nil
	}
	return err
}

// parse handles every complete frame in the read buffer. now stamps the
// events.
func (c *Conn) parse(now int64) error {
	for {
		op, payload, ok, err := c.next()
		if err != nil || !ok {
			return err
		}
		if err := c.onFrame(op, payload, now); err != nil {
			return err
		}
	}
}

// WebSocket opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

// onFrame handles one control frame or whole message.
func (c *Conn) onFrame(op byte, payload []byte, now int64) error {
	switch op {
	case opPing:
		return c.writeFrame(opPong, payload)
	case opPong, opBinary: // binary attachments: not used by the benchmark contract
		return nil
	case opClose:
		_ = c.writeFrame(opClose, payload)
		return fmt.Errorf("%w: websocket close %q", ErrClosed, payload)
	}
	return c.onEngine(payload, now)
}

// onEngine handles one Engine.IO packet.
func (c *Conn) onEngine(p []byte, now int64) error {
	if len(p) == 0 {
		return fmt.Errorf("%w: empty engine.io packet", ErrProtocol)
	}
	switch p[0] {
	case '4': // message: a Socket.IO packet
		return c.onSocket(p[1:], now)
	case '2': // ping
		return c.writeText([]byte("3"))
	case '3', '6': // pong, noop
		return nil
	case '0': // open
		if c.state != stateOpening {
			return fmt.Errorf("%w: second engine.io open", ErrProtocol)
		}
		if err := json.Unmarshal(p[1:], &c.hs); err != nil || c.hs.EngineSID == "" {
			return fmt.Errorf("%w: engine.io open %q", ErrProtocol, p)
		}
		c.state = stateConnecting
		return c.writeText([]byte("40"))
	case '1': // close
		return fmt.Errorf("%w: engine.io close", ErrClosed)
	}
	return fmt.Errorf("%w: engine.io packet %q", ErrProtocol, p)
}

// onSocket handles one Socket.IO packet of the default namespace.
func (c *Conn) onSocket(p []byte, now int64) error {
	if len(p) == 0 {
		return fmt.Errorf("%w: empty socket.io packet", ErrProtocol)
	}
	switch p[0] {
	case '2': // EVENT
		if c.opts.OnEvent == nil {
			return nil
		}
		id, name, args, ok := parseEvent(p[1:])
		if !ok {
			return fmt.Errorf("%w: event %q", ErrProtocol, trim(p))
		}
		c.ev = Event{Name: name, Args: args, ID: id, RecvNano: now}
		c.opts.OnEvent(c, &c.ev)
		return nil
	case '3': // ACK
		id, args, ok := parseAck(p[1:])
		if !ok {
			return fmt.Errorf("%w: ack %q", ErrProtocol, trim(p))
		}
		c.amu.Lock()
		cb := c.pending[id]
		delete(c.pending, id)
		c.amu.Unlock()
		if cb != nil {
			cb(args, nil)
		}
		return nil
	case '0': // CONNECT
		if c.state != stateConnecting {
			return fmt.Errorf("%w: unexpected connect %q", ErrProtocol, trim(p))
		}
		var con struct {
			SID string `json:"sid"`
		}
		if err := json.Unmarshal(p[1:], &con); err != nil || con.SID == "" {
			return fmt.Errorf("%w: connect %q", ErrProtocol, trim(p))
		}
		c.hs.SID = con.SID
		c.state = stateConnected
		return nil
	case '1': // DISCONNECT from the server
		return fmt.Errorf("%w: namespace disconnect", ErrClosed)
	case '4': // CONNECT_ERROR
		return fmt.Errorf("%w: connect error %q", ErrProtocol, trim(p))
	}
	return nil // binary events and acks: not used by the contract
}

// trim shortens p for an error message.
func trim(p []byte) []byte {
	if len(p) > 200 {
		return p[:200]
	}
	return p
}

// Emit sends event with args, each the raw JSON of one argument (for
// example []byte(`"room-1"`) or []byte(`{"a":1}`)), asking for no ack.
func (c *Conn) Emit(event string, args ...[]byte) error {
	return c.emit(-1, event, args)
}

// EmitAck sends event with args (raw JSON each) and an ack id; cb receives
// the server's reply, or ErrClosed. cb runs on the reader goroutine.
func (c *Conn) EmitAck(event string, cb AckFunc, args ...[]byte) error {
	c.amu.Lock()
	if c.pending == nil {
		if c.closed.Load() {
			c.amu.Unlock()
			return ErrClosed
		}
		c.pending = make(map[int64]AckFunc, 1)
	}
	id := c.nextID
	c.nextID++
	c.pending[id] = cb
	c.amu.Unlock()
	if err := c.emit(id, event, args); err != nil {
		c.amu.Lock()
		delete(c.pending, id)
		c.amu.Unlock()
		return err
	}
	return nil
}

// Call sends event with args (raw JSON each) and waits for the ack: it
// returns a copy of the reply's raw arguments (without brackets).
func (c *Conn) Call(ctx context.Context, event string, args ...[]byte) ([]byte, error) {
	type reply struct {
		args []byte
		err  error
	}
	ch := make(chan reply, 1)
	err := c.EmitAck(event, func(a []byte, err error) {
		ch <- reply{append([]byte(nil), a...), err}
	}, args...)
	if err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.args, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.done:
		return nil, ErrClosed
	}
}

// maxHeader is the largest header of a masked client frame: 2 bytes, an
// 8-byte extended length and the 4-byte mask key.
const maxHeader = 14

// emit encodes 42[id]["event",args...] and writes it as one masked frame.
func (c *Conn) emit(id int64, event string, args [][]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		return ErrClosed
	}
	b := appendEmit(c.wbuf[:0], id, event, args)
	c.wbuf = b
	_, err := c.nc.Write(frameInPlace(b, opText, c.mask))
	return err
}

// writeText writes one text frame (an Engine.IO packet such as "3").
func (c *Conn) writeText(p []byte) error { return c.writeFrame(opText, p) }

// writeFrame writes one masked frame with payload p.
func (c *Conn) writeFrame(op byte, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := append(c.wbuf[:0], make([]byte, maxHeader)...)
	b = append(b, p...)
	c.wbuf = b
	_, err := c.nc.Write(frameInPlace(b, op, c.mask))
	return err
}

// frameInPlace turns b, maxHeader spare bytes followed by a payload, into a
// masked frame: it masks the payload, writes the header right before it and
// returns the frame (a suffix of b).
func frameInPlace(b []byte, op byte, mask [4]byte) []byte {
	payload := b[maxHeader:]
	n := len(payload)
	ws.Cipher(payload, mask, 0)
	var h int // header size
	switch {
	case n < 126:
		h = 6
	case n <= 0xffff:
		h = 8
	default:
		h = 14
	}
	f := b[maxHeader-h:]
	f[0] = 0x80 | op
	switch h {
	case 6:
		f[1] = 0x80 | byte(n)
	case 8:
		f[1] = 0x80 | 126
		binary.BigEndian.PutUint16(f[2:], uint16(n))
	default:
		f[1] = 0x80 | 127
		binary.BigEndian.PutUint64(f[2:], uint64(n))
	}
	copy(f[h-4:h], mask[:])
	return f
}

// appendInt appends the decimal form of a non-negative v.
func appendInt(b []byte, v int64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// appendJSONString appends s as a JSON string; plain ASCII names (the
// common case) are copied as they are.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if ch := s[i]; ch < 0x20 || ch == '"' || ch == '\\' || ch >= 0x80 {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
