package riptide

import (
	"slices"

	"github.com/riptide-io/riptide/codec"
	"github.com/riptide-io/riptide/engine"
)

// client is the Socket.IO state of one Engine.IO session, seen through
// the session: its namespace sockets, its connect timeout and a binary
// packet being reassembled. Loop-only.
//
// Every connection has this state, so most hold it in no allocation of
// its own: client is a handle (one word, passed by value), and the state
// lives in the session's Data, in the smallest of these forms:
//
//   - *engine.Timer: the connect timeout runs, no namespace yet (from
//     OnOpen to the first CONNECT);
//   - *Socket: one socket and nothing else (most connections, for life);
//   - *clientState: anything more (a second namespace, a binary packet,
//     a socket whose middlewares run while the timeout does);
//   - nil: no socket and no timeout (every namespace left);
//   - clientClosed: the connection closed.
//
// An idle connection thus pays for its Socket, not for a client beside it
// (32 bytes it used to, TestIdleClientAllocatesNothing).
type client struct{ sess *engine.Session }

// clientState is a client's state beyond the compact forms.
type clientState struct {
	first *Socket   // nil when there is none; then more is empty
	more  []*Socket // the sockets after first
	// connectTo is the connect timeout's timer until the first namespace
	// connects, then nil.
	connectTo *engine.Timer
	// bin is the binary packet state, made on the first BINARY_EVENT or
	// BINARY_ACK.
	bin *binaryState
}

// clientClosed is the Data of a closed client: a mark, never modified.
var clientClosed = &clientState{}

// clientOf is the client of a session this server's handler opened.
func clientOf(sess *engine.Session) client { return client{sess} }

// closed reports whether the connection was closed.
func (c client) closed() bool {
	x, ok := c.sess.Data.(*clientState)
	return ok && x == clientClosed
}

// first is the client's first socket, or nil.
func (c client) first() *Socket {
	switch d := c.sess.Data.(type) {
	case *Socket:
		return d
	case *clientState:
		return d.first
	}
	return nil
}

// timer is the connect timeout's timer while it runs, or nil.
func (c client) timer() *engine.Timer {
	switch d := c.sess.Data.(type) {
	case *engine.Timer:
		return d
	case *clientState:
		return d.connectTo
	}
	return nil
}

// state returns the client's state in its full form, moving it there from
// a compact form (an allocation, kept while the state needs it). Not on a
// closed client.
func (c client) state() *clientState {
	if x, ok := c.sess.Data.(*clientState); ok {
		return x
	}
	x := &clientState{first: c.first(), connectTo: c.timer()}
	c.sess.Data = x
	return x
}

// compact returns the state to a compact form when it fits one (the full
// form is garbage then).
func (c client) compact() {
	x, ok := c.sess.Data.(*clientState)
	if !ok || x == clientClosed || len(x.more) > 0 || x.bin != nil {
		return
	}
	switch {
	case x.first != nil && x.connectTo == nil:
		c.sess.Data = x.first
	case x.first == nil && x.connectTo != nil:
		c.sess.Data = x.connectTo
	case x.first == nil && x.connectTo == nil:
		c.sess.Data = nil
	}
}

// binState is the client's binary packet state, or nil.
func (c client) binState() *binaryState {
	if x, ok := c.sess.Data.(*clientState); ok {
		return x.bin
	}
	return nil
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
func (c client) pendingBin() *pendingBinary {
	if b := c.binState(); b != nil {
		return b.pending
	}
	return nil
}

// srv is the client's server: the handler of its session's endpoint.
func (c client) srv() *Server { return (*Server)(c.sess.Handler().(*engineHandler)) }

// openClient starts the Socket.IO state of a new session: its connect
// timeout.
func openClient(srv *Server, sess *engine.Session) {
	t := sess.Loop().NewTimerFor((*connectTimeout)(sess)) // no method value to allocate
	t.Reset(srv.cfg.ConnectTimeout)
	sess.Data = t
}

// connectTimeout is a session as the target of its connect timeout (a
// pointer conversion: no allocation).
type connectTimeout engine.Session

// OnTimer is the connect timeout (engine.TimerTarget): it closes a
// connection that joined no namespace in time (PROTOCOL.md §11, S20). The
// timer is not re-armed by later disconnects.
func (ct *connectTimeout) OnTimer() {
	c := clientOf((*engine.Session)(ct))
	if c.first() == nil && !c.closed() {
		c.close(ReasonForcedClose)
	}
}

// close ends the whole connection.
func (c client) close(reason string) {
	if c.closed() {
		return
	}
	c.onClose(reason)
	// Through the session's queue, so packets already sent (DISCONNECT,
	// CONNECT_ERROR) leave before the close.
	c.sess.Close()
}

// onClose: the Engine.IO session ended; every socket disconnects.
func (c client) onClose(reason string) {
	if c.closed() {
		return
	}
	var buf [4]*Socket
	socks := c.socketList(buf[:0])
	if t := c.timer(); t != nil {
		c.sess.Loop().FreeTimer(t)
	}
	if b := c.binState(); b != nil {
		b.timer.Stop()
		b.pending = nil
	}
	c.sess.Data = clientClosed
	for _, s := range socks {
		s.onDisconnect(reason, false)
	}
}

// protocolError closes the connection on a packet the protocol forbids.
func (c client) protocolError() {
	c.srv().cfg.Logger.Debug("riptide: protocol error, closing connection", "sid", c.sess.ID())
	c.close(ReasonParseError)
}

func (c client) onMessage(data []byte, binary bool) {
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
			b := c.binState()
			b.pending = nil
			b.timer.Stop()
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
		x := c.state()
		if x.bin == nil {
			b := &binaryState{}
			b.timer = c.sess.Loop().NewTimer(func() {
				if b.pending != nil && !c.closed() {
					c.protocolError()
				}
			})
			x.bin = b
		}
		x.bin.pending = &pendingBinary{text: text, pkt: p2}
		x.bin.timer.Reset(srv.cfg.BinaryTimeout)
		return
	}
	c.dispatch(&pkt, nil)
}

func (c client) dispatch(pkt *codec.Packet, att [][]byte) {
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

func (c client) onConnect(name string, auth []byte) {
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
	s := newSocket(nsp, c.sess, auth)
	if !nsp.hasMiddlewares() {
		// Connected now: the timeout ends before the socket is added, so
		// that the state goes from the timer straight to the socket.
		c.stopConnectTimeout()
		c.addSocket(s)
		s.onConnect()
		return
	}
	c.addSocket(s)
	nsp.runMiddlewares(s, func(err error) { c.middlewaresDone(s, name, err) })
}

// middlewaresDone completes the CONNECT of s to namespace name once its
// middlewares passed (err nil) or refused it.
func (c client) middlewaresDone(s *Socket, name string, err error) {
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
	c.stopConnectTimeout()
	s.onConnect()
}

// stopConnectTimeout ends the connect timeout, once a namespace connects
// (the timeout is not re-armed); the timer goes back to the loop.
func (c client) stopConnectTimeout() {
	switch d := c.sess.Data.(type) {
	case *engine.Timer:
		c.sess.Loop().FreeTimer(d)
		c.sess.Data = nil
	case *clientState:
		if d.connectTo != nil && d != clientClosed {
			c.sess.Loop().FreeTimer(d.connectTo)
			d.connectTo = nil
			c.compact()
		}
	}
}

func (c client) sendConnectError(nsp, msg string, data any) {
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
func (c client) socket(name string) *Socket {
	switch d := c.sess.Data.(type) {
	case *Socket:
		if d.nsp.name == name {
			return d
		}
	case *clientState:
		if d.first != nil && d.first.nsp.name == name {
			return d.first
		}
		for _, s := range d.more {
			if s.nsp.name == name {
				return s
			}
		}
	}
	return nil
}

// socketList appends the client's sockets to buf: a snapshot to iterate
// while sockets leave.
func (c client) socketList(buf []*Socket) []*Socket {
	switch d := c.sess.Data.(type) {
	case *Socket:
		buf = append(buf, d)
	case *clientState:
		if d.first != nil {
			buf = append(buf, d.first)
		}
		buf = append(buf, d.more...)
	}
	return buf
}

// addSocket adds a socket of the client (not closed).
func (c client) addSocket(s *Socket) {
	if c.sess.Data == nil {
		c.sess.Data = s
		return
	}
	x := c.state()
	if x.first == nil {
		x.first = s
		return
	}
	x.more = append(x.more, s)
}

// remove forgets a socket of the client.
func (c client) remove(s *Socket) {
	switch d := c.sess.Data.(type) {
	case *Socket:
		if d == s {
			c.sess.Data = nil
		}
	case *clientState:
		if d == clientClosed {
			return
		}
		if d.first == s {
			d.first = nil
			if len(d.more) > 0 {
				d.first = d.more[0]
				d.more = slices.Delete(d.more, 0, 1)
			}
		} else if i := slices.Index(d.more, s); i >= 0 {
			d.more = slices.Delete(d.more, i, i+1)
		}
		c.compact()
	}
}
