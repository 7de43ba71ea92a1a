package engine

import (
	"encoding/base64"
	"sync"
	"sync/atomic"

	"github.com/gobwas/ws"

	"github.com/riptide-io/riptide/frame"
)

// Headroom is the number of bytes reserved at the front of every Prepared
// buffer so that the WebSocket header can be written in place, backwards,
// once the payload is known (STYLE.md §4 "Headroom framing").
const Headroom = frame.MaxHeaderSize

// maxPooledPrepared caps the buffers that go back to the pool: one huge
// message must not pin megabytes in the pool forever.
const maxPooledPrepared = 64 << 10

var (
	// preparedPool holds released messages with their buffers: one pool
	// operation per message, and the buffer comes back with the struct
	// that last used it (a separate buffer pool cost a second Get and Put,
	// and its size calibration shared counters between every core:
	// BenchmarkPreparedParallel ~170 ns → ~80).
	preparedPool = sync.Pool{New: func() any { return new(Prepared) }}
	// livePrepared counts Prepared messages not yet released to their pool
	// while trackPrepared is on: after traffic stops it must fall back to
	// the handful of static packets, or something leaks buffers (the soak
	// test checks it). Off by default: one counter written by every core
	// for every message doubled the cost of taking and releasing one when
	// two cores broadcast at once (BenchmarkPreparedParallel: ~35 ns, ~80 with
	// the counter).
	livePrepared  atomic.Int64
	trackPrepared atomic.Bool
)

// TrackPrepared turns the count of LivePrepared on or off; it counts the
// messages taken while it is on. Turn it on before any traffic.
func TrackPrepared(on bool) { trackPrepared.Store(on) }

// LivePrepared is the number of prepared messages currently referenced
// (a leak check: it returns to a small constant when traffic stops), or -1
// when TrackPrepared is off.
func LivePrepared() int64 {
	if !trackPrepared.Load() {
		return -1
	}
	return livePrepared.Load()
}

// Prepared is one Engine.IO message encoded once and framed once, shared by
// every session that sends it. Its buffer holds Headroom bytes, then the
// Engine.IO packet: for text, the type byte and the data ("4hello"); for a
// binary message, the raw bytes. Seal writes the WebSocket header into the
// headroom; the WebSocket view and the polling view are slices of the same
// bytes.
//
// A Prepared is reference counted. NewPrepared returns it with one
// reference, owned by the caller; every queue that keeps it takes its own
// (Retain) and drops it when written (Release). The last Release returns the
// buffer to its pool. Retain and Release are goroutine-safe; the buffer must
// not be modified after Seal.
type Prepared struct {
	b       []byte
	start   int // first byte of the WebSocket frame in b
	binary  bool
	sealed  bool
	tracked bool // counted in livePrepared
	refs    atomic.Int32
}

// NewPrepared returns an empty message with one reference. Append the
// Engine.IO packet to B (text: the type byte, usually '4', then the data;
// binary: the raw bytes), then call Seal.
func NewPrepared() *Prepared {
	p := preparedPool.Get().(*Prepared)
	p.tracked = trackPrepared.Load()
	if p.tracked {
		livePrepared.Add(1)
	}
	p.b = append(p.b[:0], make([]byte, Headroom)...)
	p.start = 0
	p.binary = false
	p.sealed = false
	p.refs.Store(1)
	return p
}

// B returns the buffer to append the packet to; it starts with the headroom.
// Use it as p.SetB(append(p.B(), ...)).
func (p *Prepared) B() []byte { return p.b }

// SetB stores the buffer after appending to it.
func (p *Prepared) SetB(b []byte) { p.b = b }

// Seal frames the message: binary says whether it is a binary Engine.IO
// message (a WebSocket binary frame, "b"+base64 on polling) or a text packet.
func (p *Prepared) Seal(binary bool) *Prepared {
	p.binary = binary
	op := ws.OpText
	if binary {
		op = ws.OpBinary
	}
	p.start = frame.PutHeader(p.b, true, op, len(p.b)-Headroom)
	p.sealed = true
	return p
}

// Binary reports whether the message is a binary Engine.IO message.
func (p *Prepared) Binary() bool { return p.binary }

// Frame returns the whole WebSocket frame. Valid while a reference is held.
func (p *Prepared) Frame() []byte { return p.b[p.start:] }

// Packet returns the Engine.IO packet (text) or data (binary) without the
// WebSocket header. Valid while a reference is held.
func (p *Prepared) Packet() []byte { return p.b[Headroom:] }

// Len is the number of bytes the message occupies on a WebSocket, counted
// against a session's outbound cap.
func (p *Prepared) Len() int { return len(p.b) - p.start }

// Retain takes one more reference.
func (p *Prepared) Retain() { p.refs.Add(1) }

// Release drops one reference; the last one returns the buffer to its pool.
func (p *Prepared) Release() {
	n := p.refs.Add(-1)
	if n > 0 {
		return
	}
	if n < 0 {
		panic("engine: Prepared released too many times")
	}
	if cap(p.b) > maxPooledPrepared {
		p.b = nil
	}
	if p.tracked {
		livePrepared.Add(-1)
	}
	preparedPool.Put(p)
}

// appendPolling appends the polling form of the message to dst: the text
// packet as is, a binary message as "b" + base64 (PROTOCOL.md §2).
func (p *Prepared) appendPolling(dst []byte) []byte {
	if !p.binary {
		return append(dst, p.Packet()...)
	}
	dst = append(dst, 'b')
	return base64.StdEncoding.AppendEncode(dst, p.Packet())
}

// pollingLen is the length of appendPolling's output.
func (p *Prepared) pollingLen() int {
	if !p.binary {
		return len(p.Packet())
	}
	return 1 + base64.StdEncoding.EncodedLen(len(p.Packet()))
}
