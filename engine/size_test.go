package engine

import (
	"bytes"
	"testing"
	"unsafe"

	"github.com/gobwas/ws"

	"github.com/riptide-io/riptide/frame"
)

// TestSizes pins the per-connection structs. An idle WebSocket holds one
// Session and one conn (plus gnet's own conn): every byte here is paid a
// million times on a million-connection box, and a field that pushes a
// struct over its allocator size class (Session 112, conn 48) costs the
// whole step. Move rarely used state behind pollState or connAux instead.
// Session went from 128 to 112 (32-bit counters, flag bits, the transport
// read from poll, the close code an argument) and conn from 64 to 48 (no
// Decoder field: readFrames): 16 B per connection each.
func TestSizes(t *testing.T) {
	for _, c := range []struct {
		name       string
		size, want uintptr
	}{
		{"Session", unsafe.Sizeof(Session{}), 112},
		{"conn", unsafe.Sizeof(conn{}), 48},
		{"Timer", unsafe.Sizeof(Timer{}), 24},
		{"op", unsafe.Sizeof(op{}), 72}, // a loop's queue item: thousands per burst
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
	traffic := func(fc *fakeConn, in []byte) { t.Helper(); fakeTraffic(t, srv, l, fc, in) }
	open := func(fc *fakeConn) *conn { return fakeOpen(l, fc) }

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

// TestFragmentStateReleased: a WebSocket holds the state of a fragmented
// message only while the message is in progress across reads, in its
// loop's midMessage map. Once it has been handed to the handler, the
// connection holds no decoder state, without waiting for another frame.
func TestFragmentStateReleased(t *testing.T) {
	srv, ep, l := newFakeLoop()
	h := ep.h.(*nopHandler)
	fc := &fakeConn{}
	traffic := func(in []byte) { t.Helper(); fakeTraffic(t, srv, l, fc, in) }
	cn := fakeOpen(l, fc)
	traffic([]byte(wsHandshake))
	idle := func() bool { return !cn.midMessage && len(l.midMessage) == 0 }
	if !cn.ws || !idle() {
		t.Fatalf("after the 101: ws %v, midMessage %v %v", cn.ws, cn.midMessage, l.midMessage)
	}
	fragment := func(op ws.OpCode, fin bool, p string) []byte {
		var b bytes.Buffer
		_ = ws.WriteFrame(&b, ws.MaskFrameWith(ws.NewFrame(op, fin, []byte(p)), [4]byte{1, 2, 3, 4}))
		return b.Bytes()
	}

	// One read holding the whole message.
	n := h.n
	traffic(append(fragment(ws.OpText, false, "4hel"), fragment(ws.OpContinuation, true, "lo")...))
	if h.n != n+1 || !idle() {
		t.Fatalf("whole fragmented message: %d message(s), midMessage %v", h.n-n, cn.midMessage)
	}
	// The message spread over reads: the state is held in between.
	traffic(fragment(ws.OpText, false, "4hel"))
	if d := l.midMessage[cn]; !cn.midMessage || d == (frame.Decoder{Limits: &ep.limits}) {
		t.Fatal("no state held for the message in progress")
	}
	traffic(fragment(ws.OpContinuation, true, "lo"))
	if h.n != n+2 || !idle() {
		t.Fatalf("message over two reads: %d message(s), midMessage %v", h.n-n, cn.midMessage)
	}
	// Unfragmented traffic never takes a state.
	traffic(maskedText("4hello"))
	if h.n != n+3 || !idle() {
		t.Fatalf("unfragmented message: %d message(s), midMessage %v", h.n-n, cn.midMessage)
	}
	// A connection that closes in the middle of a message leaves nothing.
	traffic(fragment(ws.OpText, false, "4hel"))
	if !cn.midMessage {
		t.Fatal("no state held for the message in progress")
	}
	cn.onClose()
	if !idle() {
		t.Fatalf("closed mid-message: midMessage %v %v", cn.midMessage, l.midMessage)
	}
}

// TestSIDLength: Session.ID slices the sid out of hs by the constant
// sidLen (the Session has no byte to spare for a length), so every id a
// session can have is exactly that long.
func TestSIDLength(t *testing.T) {
	l := &Loop{rng: newTestRNG()}
	for _, slot := range []uint32{0, 1, 1<<24 - 1} {
		if sid := l.appendSID(nil, slot); len(sid) != sidLen {
			t.Fatalf("sid %q is %d bytes, want %d", sid, len(sid), sidLen)
		}
	}
	dl := NewDetachedLoop()
	for range 3 {
		var id string
		dl.Run(func() { id = dl.NewDetachedSession(&nopHandler{}).ID() })
		if len(id) != sidLen {
			t.Fatalf("detached id %q is %d bytes, want %d", id, len(id), sidLen)
		}
	}
}
