package engine

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"
)

// TestFlushOneWritePerTurn: whatever a loop turn queues for a WebSocket
// leaves in one write, in order: small frames gathered into one buffer
// (one Write), a backlog over maxGather as one writev, uncopied.
func TestFlushOneWritePerTurn(t *testing.T) {
	srv, ep, l := newFakeLoop()
	fc := &fakeConn{record: true}
	l.enter()
	newConn(fc, l, false)
	l.leave()
	fc.in = []byte("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	l.enter()
	if a := srv.OnTraffic(fc); a != gnet.None {
		t.Fatalf("upgrade: connection closed (%v)", a)
	}
	l.leave()
	var s *Session
	ep.Sessions(func(x *Session) bool { s = x; return false })
	if s == nil || s.Transport() != "websocket" {
		t.Fatal("no WebSocket session")
	}

	turn := func(payloads ...string) []fakeWrite {
		t.Helper()
		fc.calls = nil
		l.enter()
		for _, p := range payloads {
			s.Send([]byte(p))
		}
		l.leave()
		return fc.calls
	}
	frames := func(payloads ...string) []byte {
		var b bytes.Buffer
		for _, p := range payloads {
			_ = ws.WriteFrame(&b, ws.NewTextFrame([]byte("4"+p)))
		}
		return b.Bytes()
	}

	small := []string{"a", "bb", "ccc"}
	if got := turn(small...); len(got) != 1 || got[0].vectored || !bytes.Equal(got[0].b, frames(small...)) {
		t.Fatalf("three small messages: got %d writes %+v, want one Write of the three frames in order", len(got), got)
	}
	if got := turn("solo"); len(got) != 1 || got[0].vectored || !bytes.Equal(got[0].b, frames("solo")) {
		t.Fatalf("one message: got %+v", got)
	}
	var big []string
	for i := range 40 {
		big = append(big, strings.Repeat(string(rune('a'+i%26)), 8<<10))
	}
	got := turn(big...)
	if len(got) != 1 || !got[0].vectored || !bytes.Equal(got[0].b, frames(big...)) {
		t.Fatalf("a %d KiB backlog: got %d writes (vectored %v), want one writev of every frame in order",
			len(frames(big...))>>10, len(got), len(got) > 0 && got[0].vectored)
	}
}
