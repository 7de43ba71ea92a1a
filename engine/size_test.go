package engine

import (
	"testing"
	"unsafe"

	"github.com/panjf2000/gnet/v2"
)

// TestSizes pins the per-connection structs. An idle WebSocket holds one
// Session and one conn (plus gnet's own conn): every byte here is paid a
// million times on a million-connection box, and a field that pushes a
// struct over its allocator size class (Session 128, conn 96) costs the
// whole step. Move rarely used state behind pollState or connAux instead.
func TestSizes(t *testing.T) {
	for _, c := range []struct {
		name       string
		size, want uintptr
	}{
		{"Session", unsafe.Sizeof(Session{}), 128},
		{"conn", unsafe.Sizeof(conn{}), 96},
		{"Timer", unsafe.Sizeof(Timer{}), 24},
	} {
		if c.size > c.want {
			t.Errorf("%s is %d bytes, want at most %d (see the test's comment)", c.name, c.size, c.want)
		} else if c.size <= c.want-16 {
			t.Logf("%s is %d bytes, below its pin of %d: lower the pin", c.name, c.size, c.want)
		}
	}
}

// TestUpgradeDropsPollingState: a session that upgrades from polling to
// WebSocket ends up as small as one that started on WebSocket: no polling
// state, and its WebSocket connection without HTTP state.
func TestUpgradeDropsPollingState(t *testing.T) {
	srv, ep, l := newFakeLoop()
	traffic := func(fc *fakeConn, in []byte) {
		t.Helper()
		fc.in = in
		l.enter()
		a := srv.OnTraffic(fc)
		l.leave()
		if a != gnet.None {
			t.Fatalf("connection closed (%v)", a)
		}
	}
	open := func(fc *fakeConn) *conn {
		l.enter()
		cn := newConn(fc, l, false)
		l.leave()
		return cn
	}

	poll := &fakeConn{}
	open(poll)
	traffic(poll, []byte("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"))
	var s *Session
	ep.Sessions(func(x *Session) bool { s = x; return false })
	if s == nil || s.poll == nil || s.Transport() != "polling" {
		t.Fatalf("no polling session: %+v", s)
	}

	wsc := &fakeConn{}
	cn := open(wsc)
	traffic(wsc, []byte("GET /socket.io/?EIO=4&transport=websocket&sid="+s.ID()+" HTTP/1.1\r\nHost: x\r\n"+
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"))
	if !cn.ws || cn.aux != nil {
		t.Fatalf("after the 101: ws %v, aux %v (want frame mode without HTTP state)", cn.ws, cn.aux)
	}
	if s.poll.probe != cn {
		t.Fatal("the WebSocket is not the session's probe")
	}
	traffic(wsc, maskedText("2probe"))
	traffic(wsc, maskedText("5"))
	if s.Transport() != "websocket" || s.ws != cn || s.poll != nil {
		t.Fatalf("after the upgrade: transport %s, ws %v, poll %v", s.Transport(), s.ws == cn, s.poll)
	}
	if r := s.Request(); r.Transport != "polling" || r.URL.RawQuery != "EIO=4&transport=polling" || r.Header.Get("Host") != "x" {
		t.Fatalf("handshake request: %+v", r)
	}
}
