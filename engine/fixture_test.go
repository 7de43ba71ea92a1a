package engine

import (
	"bytes"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"
)

// fakeConn is a gnet.Conn over two byte slices, to drive the loop code
// without sockets: what a read delivered, and what was written.
type fakeConn struct {
	gnet.Conn // unimplemented methods panic
	in        []byte
	out       int
	ctx       any
	// With record set, calls records each Write and Writev: the bytes
	// (copied) and which (off by default: allocation tests use fakeConn).
	record bool
	calls  []fakeWrite
	addr   net.Addr // RemoteAddr; a zero TCPAddr when nil
}

func (f *fakeConn) Peek(n int) ([]byte, error) {
	if n <= 0 || n > len(f.in) {
		return f.in, nil
	}
	return f.in[:n], nil
}
func (f *fakeConn) Discard(n int) (int, error) { f.in = f.in[n:]; return n, nil }
func (f *fakeConn) InboundBuffered() int       { return len(f.in) }
func (f *fakeConn) OutboundBuffered() int      { return 0 }
func (f *fakeConn) Write(b []byte) (int, error) {
	f.out += len(b)
	if f.record {
		f.calls = append(f.calls, fakeWrite{b: bytes.Clone(b)})
	}
	return len(b), nil
}
func (f *fakeConn) Writev(bs [][]byte) (int, error) {
	n := 0
	for _, b := range bs {
		n += len(b)
	}
	f.out += n
	if f.record {
		f.calls = append(f.calls, fakeWrite{b: bytes.Join(bs, nil), vectored: true})
	}
	return n, nil
}

// fakeWrite is one Write or Writev a fakeConn received.
type fakeWrite struct {
	b        []byte
	vectored bool
}

func (f *fakeConn) Context() any     { return f.ctx }
func (f *fakeConn) SetContext(c any) { f.ctx = c }
func (f *fakeConn) RemoteAddr() net.Addr {
	if f.addr != nil {
		return f.addr
	}
	return &net.TCPAddr{}
}

type nopHandler struct{ n int }

func (h *nopHandler) OnOpen(*Session)                  {}
func (h *nopHandler) OnMessage(*Session, []byte, bool) { h.n++ }
func (h *nopHandler) OnClose(*Session, string)         {}

func newTestRNG() *rand.ChaCha8 { return rand.NewChaCha8([32]byte{}) }

func maskedText(payload string) []byte {
	var b bytes.Buffer
	_ = ws.WriteFrame(&b, ws.MaskFrameWith(ws.NewTextFrame([]byte(payload)), [4]byte{1, 2, 3, 4}))
	return b.Bytes()
}

// newFakeLoop is a server with one endpoint at /socket.io/ (no pings for an
// hour) and a loop of it that runs no gnet: drive it with enter/leave and
// fakeConns.
// fakeOpen accepts fc on the fake loop l: a new connection, in HTTP mode.
func fakeOpen(l *Loop, fc gnet.Conn) *conn {
	l.enter()
	defer l.leave()
	return newConn(fc, l, false)
}

// fakeTraffic hands in to srv as one read of fc on the fake loop l; the
// connection must stay open.
func fakeTraffic(t testing.TB, srv *Server, l *Loop, fc *fakeConn, in []byte) {
	t.Helper()
	fc.in = in
	l.enter()
	a := srv.OnTraffic(fc)
	l.leave()
	if a != gnet.None {
		t.Fatalf("connection closed (%v)", a)
	}
}

func newFakeLoop() (*Server, *Endpoint, *Loop) {
	srv := NewServer()
	srv.headTimeout, srv.idleTimeout = 10*time.Second, time.Minute
	ep := srv.Handle(Config{Path: "/socket.io/", PingInterval: time.Hour}, &nopHandler{})
	l := &Loop{srv: srv, rng: newTestRNG()}
	l.wheel.init()
	// Known to the server like a real loop (lookup finds sessions by it).
	srv.loops.Store(&[]*Loop{l})
	return srv, ep, l
}
