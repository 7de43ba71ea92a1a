//go:build !race

package engine

import (
	"testing"
	"time"
)

// loopFixture builds a loop with one established WebSocket session on a
// fake connection, without gnet.
func loopFixture(t testing.TB) (*Server, *Loop, *fakeConn, *Session, *nopHandler) {
	srv := NewServer()
	h := &nopHandler{}
	ep := srv.Handle(Config{PingInterval: time.Hour}, h)
	l := &Loop{srv: srv}
	l.wheel.init()
	fc := &fakeConn{}
	cn := &conn{gc: fc, loop: l, ws: true}
	fc.ctx = cn
	s := &Session{ep: ep, loop: l, hs: "fixture-session-0001"}
	s.hb.kind = timerHeartbeat
	s.slot = l.allocSlot(s)
	s.ws = cn
	cn.s = s
	return srv, l, fc, s, h
}

// TestAllocsReceiveText pins the receive path of an established WebSocket
// session at zero allocations: gnet read -> frame -> Engine.IO -> handler.
func TestAllocsReceiveText(t *testing.T) {
	srv, _, fc, _, h := loopFixture(t)
	frame := maskedText("4hello world, a message of a typical size for an event")
	buf := make([]byte, len(frame))
	allocs := testing.AllocsPerRun(1000, func() {
		copy(buf, frame) // unmasking works in place
		fc.in = buf
		srv.OnTraffic(fc)
	})
	if allocs != 0 {
		t.Fatalf("receiving a text message allocates %.1f times", allocs)
	}
	if h.n == 0 {
		t.Fatal("handler never called")
	}
}

// TestAllocsSendPing pins a heartbeat ping (timer fire, queue, flush) at
// zero allocations.
func TestAllocsSendPing(t *testing.T) {
	_, l, fc, s, _ := loopFixture(t)
	allocs := testing.AllocsPerRun(1000, func() {
		s.flags &^= flagAwaitingPong
		l.enter()
		s.onHeartbeatTimer()
		l.leave()
	})
	if allocs != 0 {
		t.Fatalf("sending a ping allocates %.1f times", allocs)
	}
	if fc.out == 0 {
		t.Fatal("nothing written")
	}
}

// TestAllocsWritePrepared pins queueing a shared message to a session.
func TestAllocsWritePrepared(t *testing.T) {
	_, l, _, s, _ := loopFixture(t)
	p := NewPrepared()
	p.SetB(append(p.B(), "42[\"tick\",1]"...))
	p.Seal(false)
	allocs := testing.AllocsPerRun(1000, func() {
		l.enter()
		s.Write(p)
		l.leave()
	})
	if allocs != 0 {
		t.Fatalf("writing a prepared message allocates %.1f times", allocs)
	}
}

func BenchmarkReceiveText(b *testing.B) {
	srv, _, fc, _, _ := loopFixture(b)
	frame := maskedText("4hello world, a message of a typical size for an event")
	buf := make([]byte, len(frame))
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		copy(buf, frame)
		fc.in = buf
		srv.OnTraffic(fc)
	}
}

func BenchmarkSendPing(b *testing.B) {
	_, l, _, s, _ := loopFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		s.flags &^= flagAwaitingPong
		l.enter()
		s.onHeartbeatTimer()
		l.leave()
	}
}
