package engine

import (
	"net"

	"github.com/panjf2000/gnet/v2"
)

// NewDetachedLoop returns a Loop that no network drives: Run executes a
// function as one turn of the loop (queued work and writes are flushed when
// it returns). Its sessions, made with NewDetachedSession, count what is
// written to them and drop it. It exists for in-process benchmarks and
// tests of code that runs on loops (broadcast selection, room algebra,
// handlers), at any scale: a million sessions need no sockets.
func NewDetachedLoop() *Loop {
	srv := NewServer()
	l := &Loop{srv: srv, el: nil}
	l.wheel.init()
	return l
}

// Run executes fn as one turn of a detached loop.
func (l *Loop) Run(fn func()) {
	l.enter()
	fn()
	l.leave()
}

// NewDetachedSession adds an open WebSocket session to a detached loop.
// Bytes written to it are counted (see Written) and dropped. Loop-only.
func (l *Loop) NewDetachedSession(h Handler) *Session {
	if l.detachedEP == nil {
		l.detachedEP = newEndpoint(l.srv, Config{}, h)
	}
	dc := &discardConn{}
	cn := &conn{gc: dc, loop: l, ws: true}
	s := &Session{ep: l.detachedEP, loop: l}
	s.hb.kind = timerHeartbeat
	s.hs = l.newDetachedID()
	s.slot = l.allocSlot(s)
	s.ep.register(s) // counted, as finish uncounts it
	s.ws = cn
	cn.s = s
	s.countTransport(1)
	return s
}

// newDetachedID returns "detached-" and the loop's count in base 26,
// padded to sidLen, the length of every session id.
func (l *Loop) newDetachedID() string {
	l.sidCount++
	b := append(make([]byte, 0, sidLen), "detached-"...)
	for n := l.sidCount; len(b) < sidLen; n /= 26 {
		b = append(b, byte('a'+n%26))
	}
	return string(b)
}

// Written is the number of bytes written to a detached session.
func (s *Session) Written() int64 {
	if s.ws == nil {
		return 0
	}
	if dc, ok := s.ws.gc.(*discardConn); ok {
		return dc.n
	}
	return 0
}

// discardConn is the gnet.Conn of a detached session.
type discardConn struct {
	gnet.Conn
	n int64
}

func (d *discardConn) Write(b []byte) (int, error) { d.n += int64(len(b)); return len(b), nil }
func (d *discardConn) Writev(bs [][]byte) (int, error) {
	t := 0
	for _, b := range bs {
		t += len(b)
	}
	d.n += int64(t)
	return t, nil
}
func (d *discardConn) OutboundBuffered() int { return 0 }
func (d *discardConn) InboundBuffered() int  { return 0 }
func (d *discardConn) RemoteAddr() net.Addr  { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (d *discardConn) Close() error          { return nil }
