package engine

import (
	"encoding/base64"
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/gobwas/ws"

	"github.com/riptide-io/riptide/codec"
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
	// joinedPool holds messages whose buffers have maxJoined bytes of
	// capacity, for Join (grow): kept apart so that a single message never
	// takes a buffer of that size.
	joinedPool = sync.Pool{New: func() any { return &Prepared{b: make([]byte, 0, maxJoined)} }}
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
// not be modified after Seal, except by Join, which only appends, and only
// while nobody can read it.
type Prepared struct {
	b       []byte
	start   int32 // first byte of the WebSocket frame in b
	binary  bool
	sealed  bool
	tracked bool // counted in livePrepared
	refs    atomic.Int32
	// msgs is the number of Engine.IO messages the frames hold: 1, more
	// once Join has appended others.
	msgs int32
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
	p.msgs = 1
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
	p.start = int32(frame.PutHeader(p.b, true, op, len(p.b)-Headroom))
	p.sealed = true
	return p
}

// Binary reports whether the message is a binary Engine.IO message.
func (p *Prepared) Binary() bool { return p.binary }

// Frame returns the whole WebSocket frame (of a joined message: its
// frames, one after the other). Valid while a reference is held.
func (p *Prepared) Frame() []byte { return p.b[p.start:] }

// Packet returns the Engine.IO packet (text) or data (binary) without the
// WebSocket header (of a joined message: the first one's). Valid while a
// reference is held.
func (p *Prepared) Packet() []byte {
	if p.msgs == 1 {
		return p.b[Headroom:]
	}
	_, payload, _ := splitFrame(p.b[p.start:])
	return payload
}

// Messages is the number of Engine.IO messages p holds: 1, unless Join
// has appended others.
func (p *Prepared) Messages() int { return int(p.msgs) }

// maxJoined is the most bytes Join lets a message grow to: the largest
// buffer the pool keeps.
const maxJoined = maxPooledPrepared

// Join appends q's frames to p, so that the messages reach every session
// p is queued for in order, with one reference and one queue entry per
// session instead of one per message (emits to the same sockets that wait
// in a loop's queue one after the other: Loop.PostOrJoin). Both must be
// sealed text messages. holders is the number of references p has, as its
// caller knows them: every one must be held by a queue whose loop cannot
// start on p meanwhile (the caller holds the queues' locks), so that no
// reader sees its bytes change; a reference anyone else took shows as one
// more, and Join refuses. q is copied, not kept. Join reports false,
// changing nothing, when these do not hold or p would grow past
// maxJoined bytes.
func (p *Prepared) Join(q *Prepared, holders int) bool {
	if !p.sealed || !q.sealed || p.binary || q.binary || p.refs.Load() != int32(holders) ||
		len(p.b)+q.Len() > maxJoined {
		return false
	}
	f := q.Frame()
	if n := len(p.b) + len(f); n > cap(p.b) {
		p.grow(n)
	}
	p.b = append(p.b, f...)
	p.msgs += q.msgs
	return true
}

// joinPooledFrom is the size from which a joined message takes its buffer
// from joinedPool: a burst joins a few hundred messages per buffer, and
// growing each by doubling up to maxJoined was ~150 B of garbage per
// message (BenchmarkEmitBurstSmallRooms). Below it, a message grows by
// doubling, so that short runs of joins (two emits to a room between
// emits to others, say) hold at most twice their bytes.
const joinPooledFrom = 8 << 10

// grow makes room for n bytes in p's buffer, n <= maxJoined.
func (p *Prepared) grow(n int) {
	if n <= joinPooledFrom {
		b := make([]byte, len(p.b), max(n, 2*cap(p.b)))
		copy(b, p.b)
		p.b = b
		return
	}
	// Swap buffers with a carrier from joinedPool: p takes its maxJoined
	// one, and the carrier takes p's old one to the common pool.
	c := joinedPool.Get().(*Prepared)
	c.b = append(c.b[:0], p.b...)
	p.b, c.b = c.b, p.b
	preparedPool.Put(c)
}

// eachPacket calls fn with the packet of each frame p holds, in order.
func (p *Prepared) eachPacket(fn func(pkt []byte)) {
	for f := p.b[p.start:]; ; {
		rest, pkt, ok := splitFrame(f)
		if !ok {
			return
		}
		fn(pkt)
		f = rest
	}
}

// splitFrame splits f, a run of the unmasked frames Seal writes, into its
// first frame's payload and the frames after it; ok is false when f is
// too short to hold a frame (never for a Prepared's own bytes).
func splitFrame(f []byte) (rest, payload []byte, ok bool) {
	if len(f) < 2 {
		return nil, nil, false
	}
	h, n := 2, uint64(f[1]&0x7f)
	switch n {
	case 126:
		if len(f) < 4 {
			return nil, nil, false
		}
		h, n = 4, uint64(binary.BigEndian.Uint16(f[2:]))
	case 127:
		if len(f) < 10 {
			return nil, nil, false
		}
		h, n = 10, binary.BigEndian.Uint64(f[2:])
	}
	if n > uint64(len(f)-h) {
		return nil, nil, false
	}
	end := h + int(n)
	return f[end:], f[h:end], true
}

// Len is the number of bytes the message occupies on a WebSocket, counted
// against a session's outbound cap.
func (p *Prepared) Len() int { return len(p.b) - int(p.start) }

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
	if p.tracked {
		livePrepared.Add(-1)
	}
	switch c := cap(p.b); {
	case c == maxJoined:
		joinedPool.Put(p)
	case c > maxPooledPrepared:
		p.b = nil
		fallthrough
	default:
		preparedPool.Put(p)
	}
}

// appendPolling appends the polling form of the message to dst: the text
// packet as is (a joined message's packets separated as a payload's are),
// a binary message as "b" + base64 (PROTOCOL.md §2).
func (p *Prepared) appendPolling(dst []byte) []byte {
	if p.msgs > 1 {
		first := true
		p.eachPacket(func(pkt []byte) {
			if !first {
				dst = append(dst, codec.RecordSeparator)
			}
			first = false
			dst = append(dst, pkt...)
		})
		return dst
	}
	if !p.binary {
		return append(dst, p.Packet()...)
	}
	dst = append(dst, 'b')
	return base64.StdEncoding.AppendEncode(dst, p.Packet())
}

// pollingLen is the length of appendPolling's output.
func (p *Prepared) pollingLen() int {
	if p.msgs > 1 {
		n := int(p.msgs) - 1 // a separator between two packets
		p.eachPacket(func(pkt []byte) { n += len(pkt) })
		return n
	}
	if !p.binary {
		return len(p.Packet())
	}
	return 1 + base64.StdEncoding.EncodedLen(len(p.Packet()))
}
