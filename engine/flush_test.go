package engine

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"
)

// TestFlushOneWritePerTurn: whatever a loop turn queues for a WebSocket
// leaves in one write, in order: small frames gathered into one buffer
// (one Write); a backlog over maxGather in writes of at most maxGather,
// never writev; a frame of maxGather or more as it is, uncopied.
func TestFlushOneWritePerTurn(t *testing.T) {
	l, fc, s := newFakeWebSocket(t)

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

	small := []string{"a", "bb", "ccc"}
	if got := turn(small...); len(got) != 1 || got[0].vectored || !bytes.Equal(got[0].b, textFrames(small...)) {
		t.Fatalf("three small messages: got %d writes %+v, want one Write of the three frames in order", len(got), got)
	}
	if got := turn("solo"); len(got) != 1 || got[0].vectored || !bytes.Equal(got[0].b, textFrames("solo")) {
		t.Fatalf("one message: got %+v", got)
	}
	var big []string
	for i := range 40 {
		big = append(big, strings.Repeat(string(rune('a'+i%26)), 8<<10))
	}
	got := turn(big...)
	var all []byte
	for _, w := range got {
		if w.vectored || len(w.b) > maxGather {
			t.Fatalf("a backlog write of %d bytes (vectored %v), want plain writes of at most %d", len(w.b), w.vectored, maxGather)
		}
		all = append(all, w.b...)
	}
	want := textFrames(big...)
	if len(got) != (len(want)+maxGather-1)/maxGather || !bytes.Equal(all, want) {
		t.Fatalf("a %d KiB backlog: got %d writes, want %d of every frame in order", len(want)>>10, len(got),
			(len(want)+maxGather-1)/maxGather)
	}
	// A frame as large as the buffer is written as it is, between the
	// gathered frames before and after it.
	huge := strings.Repeat("h", maxGather)
	got = turn("x", huge, "y")
	if len(got) != 3 || !bytes.Equal(got[0].b, textFrames("x")) || !bytes.Equal(got[1].b, textFrames(huge)) ||
		!bytes.Equal(got[2].b, textFrames("y")) {
		t.Fatalf("small, huge, small: got %d writes, want 3 in order", len(got))
	}
}

// newFakeWebSocket opens a WebSocket session on a fake loop over a
// fakeConn that records its writes.
func newFakeWebSocket(t *testing.T) (*Loop, *fakeConn, *Session) {
	t.Helper()
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
	fc.calls = nil
	return l, fc, s
}

// TestFlushNotStarvedByBusyQueue: a message queued while the loop's queue
// never empties (a chain of work that keeps posting more, for ~20 ms) is
// written within a few milliseconds, not when the queue finally drains.
func TestFlushNotStarvedByBusyQueue(t *testing.T) {
	l, fc, s := newFakeWebSocket(t)
	const steps = 200
	step, wroteAt := 0, -1
	var next func()
	next = func() {
		step++
		if wroteAt < 0 && len(fc.calls) > 0 {
			wroteAt = step
		}
		time.Sleep(100 * time.Microsecond)
		if step < steps {
			l.Post(next)
		}
	}
	l.enter()
	s.Send([]byte("hello"))
	l.Post(next)
	l.leave()
	if len(fc.calls) == 0 {
		t.Fatal("never written")
	}
	// The bound is flushDelayMax (1 ms) after the last flush: ~10 steps of
	// 100 µs; allow a slow machine 10 times that.
	if wroteAt < 0 || wroteAt > steps/2 {
		t.Fatalf("written at step %d of %d: held back until the queue emptied", wroteAt, steps)
	}
}

// TestWriteLogBounded: a batch of queued work that writes more messages
// than the write log's limit is written as it goes, the log never holding
// much more than logLimit (a batch used to gather everything it wrote:
// 80 MB for 1,000 broadcasts to 10,000 receivers), every message still
// leaving once (every byte counted); an idle loop keeps at most wlogKeep entries.
func TestWriteLogBounded(t *testing.T) {
	l, fc, s := newFakeWebSocket(t)
	fc.record = false               // count bytes only: ~330k frames
	const tasks, perTask = 80, 4096 // 327,680 messages: over flushLogMax
	if tasks*perTask <= flushLogMax {
		t.Fatal("the test must write more than flushLogMax")
	}
	msg := []byte("m")
	frame := len(textFrames(string(msg)))
	longest, out0 := 0, fc.out // longest is loop-only
	l.enter()
	for range tasks {
		l.Post(func() {
			for range perTask {
				s.Send(msg)
			}
			// Send from a goroutine the loop does not know queues the
			// message: look at the log after the sends have run.
			l.Post(func() { longest = max(longest, len(l.wlog)) })
		})
	}
	l.leave()
	if limit := flushLogMax + perTask; longest > limit {
		t.Errorf("the write log reached %d entries in a batch, want at most %d", longest, limit)
	}
	if want := tasks * perTask * frame; fc.out-out0 != want {
		t.Errorf("wrote %d bytes, want %d (every frame once)", fc.out-out0, want)
	}
	if cap(l.wlog) > wlogKeep {
		t.Errorf("idle loop kept a write log of %d entries, want at most %d", cap(l.wlog), wlogKeep)
	}
}

// textFrames is the WebSocket text frames of Engine.IO messages ("4"+p) for
// payloads, in order.
func textFrames(payloads ...string) []byte {
	var b bytes.Buffer
	for _, p := range payloads {
		_ = ws.WriteFrame(&b, ws.NewTextFrame([]byte("4"+p)))
	}
	return b.Bytes()
}
