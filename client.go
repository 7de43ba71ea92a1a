package riptide

import (
	"slices"

	"github.com/riptide-io/riptide/codec"
	"github.com/riptide-io/riptide/engine"
)

// client is the Socket.IO state of one Engine.IO session: its namespace
// sockets and a binary packet being reassembled. Loop-only.
//
// Every connection has one, so it is kept to four words, the 32-byte size
// class (TestSocketSize): the server is not a field (srv finds it through
// the session), what few clients use is behind x, and "closed" is a value
// of connectTo.
type client struct {
	sess *engine.Session
	// The sockets connecting or connected, one per namespace: first, then
	// x.more.
	first *Socket
	// connectTo is the connect timeout's timer until the first namespace
	// connects, then nil; clientClosed once the client is closed (closed).
	connectTo *engine.Timer
	// x is what most connections never use (a second namespace, a binary
	// packet), nil until they do.
	x *clientExtra
}

// clientClosed is the connectTo of a closed client: a mark, never armed.
var clientClosed = new(engine.Timer)

// clientExtra is a client's rarely used state.
type clientExtra struct {
	more []*Socket // the sockets after first
	// bin is the binary packet state, made on the first BINARY_EVENT or
	// BINARY_ACK.
	bin *binaryState
}

// closed reports whether the connection was closed.
func (c *client) closed() bool { return c.connectTo == clientClosed }

// extra returns the client's rarely used state, making it on first use.
func (c *client) extra() *clientExtra {
	if c.x == nil {
		c.x = &clientExtra{}
	}
	return c.x
}

// binState is the client's binary packet state, or nil.
func (c *client) binState() *binaryState {
	if c.x == nil {
		return nil
	}
	return c.x.bin
}

// binaryState is a client's state for binary packets (PROTOCOL.md §12).
type binaryState struct {
	pending *pendingBinary // a BINARY_* waiting for its attachments, or nil
	timer   *engine.Timer  // bounds the wait for pending attachments
}

type pendingBinary struct {
	text []byte // the packet's text, copied
	pkt  codec.Packet
	att  [][]byte
	size int
}

// pendingBin is the binary packet waiting for attachments, or nil.
func (c *client) pendingBin() *pendingBinary {
	if b := c.binState(); b != nil {
		return b.pending
	}
	return nil
}

// srv is the client's server: the handler of its session's endpoint.
func (c *client) srv() *Server { return (*Server)(c.sess.Handler().(*engineHandler)) }

func newClient(srv *Server, sess *engine.Session) *client {
	c := &client{sess: sess}
	c.connectTo = sess.Loop().NewTimerFor(c) // OnTimer: no method value to allocate
	c.connectTo.Reset(srv.cfg.ConnectTimeout)
	return c
}

// OnTimer is the connect timeout (engine.TimerTarget): it closes a
// connection that joined no namespace in time (PROTOCOL.md §11, S20). The
// timer is not re-armed by later disconnects.
func (c *client) OnTimer() {
	if c.first == nil && !c.closed() {
		c.close(ReasonForcedClose)
	}
}

// close ends the whole connection.
func (c *client) close(reason string) {
	if c.closed() {
		return
	}
	c.onClose(reason)
	// Through the session's queue, so packets already sent (DISCONNECT,
	// CONNECT_ERROR) leave before the close.
	c.sess.Close()
}

// onClose: the Engine.IO session ended; every socket disconnects.
func (c *client) onClose(reason string) {
	if c.closed() {
		return
	}
	if c.connectTo != nil {
		c.sess.Loop().FreeTimer(c.connectTo)
	}
	c.connectTo = clientClosed
	if b := c.binState(); b != nil {
		b.timer.Stop()
		b.pending = nil
	}
	var buf [4]*Socket
	for _, s := range c.socketList(buf[:0]) {
		s.onDisconnect(reason, false)
	}
}

// protocolError closes the connection on a packet the protocol forbids.
func (c *client) protocolError() {
	c.srv().cfg.Logger.Debug("riptide: protocol error, closing connection", "sid", c.sess.ID())
	c.close(ReasonParseError)
}

func (c *client) onMessage(data []byte, binary bool) {
	if c.closed() {
		return
	}
	if binary {
		p := c.pendingBin()
		if p == nil {
			c.protocolError() // S13: binary without a pending BINARY_*
			return
		}
		p.size += len(data)
		if p.size > int(c.srv().ep.Config().MaxHTTPBufferSize) {
			c.protocolError()
			return
		}
		p.att = append(p.att, append([]byte(nil), data...))
		if len(p.att) == p.pkt.Attachments {
			c.x.bin.pending = nil
			c.x.bin.timer.Stop()
			c.dispatch(&p.pkt, p.att)
		}
		return
	}
	if c.pendingBin() != nil {
		c.protocolError() // S14: text while attachments are pending
		return
	}
	srv := c.srv()
	var pkt codec.Packet
	if err := srv.decodeOpts.DecodePacket(data, &pkt); err != nil {
		c.protocolError()
		return
	}
	srv.stats.perLoop(c.sess.Loop()).packetsIn.Add(1)
	if pkt.Attachments > 0 {
		// Keep a copy: the attachments arrive in later reads.
		text := append([]byte(nil), data...)
		var p2 codec.Packet
		_ = srv.decodeOpts.DecodePacket(text, &p2)
		x := c.extra()
		if x.bin == nil {
			x.bin = &binaryState{}
			x.bin.timer = c.sess.Loop().NewTimer(func() {
				if x.bin.pending != nil {
					c.protocolError()
				}
			})
		}
		x.bin.pending = &pendingBinary{text: text, pkt: p2}
		x.bin.timer.Reset(srv.cfg.BinaryTimeout)
		return
	}
	c.dispatch(&pkt, nil)
}

func (c *client) dispatch(pkt *codec.Packet, att [][]byte) {
	nsp := "/"
	if len(pkt.Namespace) > 0 {
		nsp = string(pkt.Namespace)
	}
	switch pkt.Type {
	case codec.PacketConnect:
		c.onConnect(nsp, pkt.Data)
		return
	}
	s := c.socket(nsp)
	if s == nil || !s.Connected() {
		c.protocolError() // S07, S16: a packet for a namespace not joined
		return
	}
	switch pkt.Type {
	case codec.PacketDisconnect:
		s.onDisconnect(ReasonClientNamespaceDisconnect, false)
	case codec.PacketEvent, codec.PacketBinaryEvent:
		s.onEvent(pkt, att)
	case codec.PacketAck, codec.PacketBinaryAck:
		s.onAck(pkt, att)
	default:
		c.protocolError()
	}
}

func (c *client) onConnect(name string, auth []byte) {
	if c.socket(name) != nil {
		c.protocolError() // S06: CONNECT twice
		return
	}
	authArgs := Args{}
	if auth != nil {
		authArgs.raw = [][]byte{auth}
	}
	nsp := c.srv().lookupNamespace(name, authArgs)
	if nsp == nil {
		c.sendConnectError(name, "Invalid namespace", nil)
		return
	}
	s := newSocket(nsp, c, auth)
	c.addSocket(s)
	if !nsp.hasMiddlewares() {
		c.middlewaresDone(s, name, nil) // no closure per connection
		return
	}
	nsp.runMiddlewares(s, func(err error) { c.middlewaresDone(s, name, err) })
}

// middlewaresDone completes the CONNECT of s to namespace name once its
// middlewares passed (err nil) or refused it.
func (c *client) middlewaresDone(s *Socket, name string, err error) {
	if c.closed() || c.socket(name) != s {
		return
	}
	if err != nil {
		c.remove(s)
		msg, data := err.Error(), any(nil)
		if ce, ok := err.(*ConnectError); ok {
			data = ce.Data
		}
		c.sendConnectError(name, msg, data)
		return
	}
	if c.connectTo != nil {
		// Connected: the timer goes back to the loop (the timeout is not
		// re-armed).
		c.sess.Loop().FreeTimer(c.connectTo)
		c.connectTo = nil
	}
	s.onConnect()
}

func (c *client) sendConnectError(nsp, msg string, data any) {
	c.srv().stats.connectErrors.Add(1)
	p := engine.NewPrepared()
	b := append(p.B(), byte(codec.EngineMessage))
	out, err := codec.AppendConnectError(b, nsp, msg, data)
	if err != nil {
		out, _ = codec.AppendConnectError(b, nsp, msg, nil)
	}
	p.SetB(out)
	p.Seal(false)
	c.sess.SendPrepared(p)
	p.Release()
}

// socket returns the client's socket in namespace name, or nil.
func (c *client) socket(name string) *Socket {
	if c.first == nil {
		return nil
	}
	if c.first.nsp.name == name {
		return c.first
	}
	if c.x != nil {
		for _, s := range c.x.more {
			if s.nsp.name == name {
				return s
			}
		}
	}
	return nil
}

// socketList appends the client's sockets to buf: a snapshot to iterate
// while sockets leave.
func (c *client) socketList(buf []*Socket) []*Socket {
	if c.first != nil {
		buf = append(buf, c.first)
	}
	if c.x != nil {
		buf = append(buf, c.x.more...)
	}
	return buf
}

// addSocket adds a socket of the client.
func (c *client) addSocket(s *Socket) {
	if c.first == nil {
		c.first = s
		return
	}
	x := c.extra()
	x.more = append(x.more, s)
}

// remove forgets a socket of the client.
func (c *client) remove(s *Socket) {
	if c.first == s {
		c.first = nil
		if c.x != nil && len(c.x.more) > 0 {
			c.first = c.x.more[0]
			c.x.more = slices.Delete(c.x.more, 0, 1)
		}
		return
	}
	if c.x != nil {
		if i := slices.Index(c.x.more, s); i >= 0 {
			c.x.more = slices.Delete(c.x.more, i, i+1)
		}
	}
}
