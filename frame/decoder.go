package frame

import (
	"math"
	"sync"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// Decoder defaults and limits.
const (
	// DefaultMaxMessageSize is the message size limit of a Decoder without
	// Limits, Engine.IO's default maxHttpBufferSize (1e6 bytes).
	DefaultMaxMessageSize = 1_000_000
	// DefaultMaxFragments is the fragment limit of a Decoder without Limits.
	DefaultMaxFragments = 1024

	// maxRetained is the largest assembly buffer kept for the next
	// fragmented message (in a pool shared by all Decoders). Browsers and
	// Node's ws do not fragment what they send, so fragmented messages are
	// rare: keeping a small buffer makes the usual ones free without
	// letting one big message pin its memory.
	maxRetained = 4 << 10
	// minAssembly is the smallest assembly buffer allocated.
	minAssembly = 512
)

// Message is a complete WebSocket message, or a control frame, received from
// a client. Op is [ws.OpText], [ws.OpBinary], [ws.OpPing], [ws.OpPong] or
// [ws.OpClose]; it is 0 when [Decoder.Next] consumed a non-final fragment and
// has no message to return yet.
//
// Payload is unmasked. It aliases the buffer given to Next, or the Decoder's
// assembly buffer for a fragmented message: it is valid until the next call to
// Next, Release or Reset, and only while the caller keeps its buffer. A text
// payload is valid UTF-8; a close payload has been checked by [ParseClose].
type Message struct {
	Op      ws.OpCode
	Payload []byte
}

// Limits are the limits a [Decoder] enforces. They are the same for every
// connection of a server, so Decoders point to one shared Limits rather than
// each holding a copy; it must not change while Decoders use it.
type Limits struct {
	// MaxMessageSize is the largest message accepted, in payload bytes,
	// counted over all fragments. A frame whose header declares more (with
	// what was assembled before it) fails with [ErrTooBig] (1009) at once,
	// before its payload arrives. Zero or less means DefaultMaxMessageSize;
	// more than 4 GiB - 1 means 4 GiB - 1.
	MaxMessageSize int64
	// MaxFragments is the largest number of frames a fragmented message may
	// have. More fail with [ErrPolicy] (1008), from the header of the frame
	// over the limit: it bounds the work an attacker can cause with endless
	// empty fragments, which MaxMessageSize does not (1009 would misdescribe
	// a message that may be small). Zero or less means DefaultMaxFragments.
	MaxFragments int32
}

// maxMessageSize is l's message size limit; l may be nil.
func (l *Limits) maxMessageSize() int64 {
	if l == nil || l.MaxMessageSize <= 0 {
		return DefaultMaxMessageSize
	}
	return min(l.MaxMessageSize, math.MaxUint32)
}

// maxFragments is l's fragment limit; l may be nil.
func (l *Limits) maxFragments() int64 {
	if l == nil || l.MaxFragments <= 0 {
		return DefaultMaxFragments
	}
	return int64(l.MaxFragments)
}

// Decoder decodes the frames a client sends to a server (RFC 6455 §5) into
// messages, reassembling fragmented ones (§5.4). The zero value is ready to
// use, with the default limits. A Decoder holds the state of one connection
// and must be used from that connection's event loop only: it is not safe for
// concurrent use, and must not be copied while it holds a fragmented message.
//
// Every connection holds a Decoder, so it is two pointers (16 bytes): the
// shared Limits, and the state of a fragmented message, which exists only
// while one is in progress (see [Decoder.Release]).
type Decoder struct {
	// Limits are the limits enforced; nil means the defaults.
	Limits *Limits

	// asm is the fragmented message in progress, or the one Next returned
	// last (asm.done); nil when there is neither, as on an idle connection.
	asm *assembly
}

// assembly is the state of a fragmented message. It is taken from a pool at
// the first fragment and given back, with its buffer if small, once the
// message has been returned and its lifetime is over.
type assembly struct {
	buf     []byte    // payload so far
	frags   uint32    // frames so far (bounded by MaxFragments)
	checked uint32    // buf[:checked] is valid UTF-8 ending on a rune boundary (text only)
	op      ws.OpCode // the message's opcode, from its first frame
	done    bool      // Next returned buf as a message: release it on the next call
}

// assemblies recycles assembly states and their small buffers between
// fragmented messages, across connections: an idle connection holds none.
var assemblies = sync.Pool{New: func() any { return new(assembly) }}

// Next decodes the frame at the front of b, the bytes the connection has
// buffered. b is modified: the payload is unmasked in place. Next returns:
//   - n == 0 and [ErrNeedMore] if b does not hold a whole frame yet: keep b
//     and call again with more bytes. b is not modified.
//   - n > 0, m.Op == 0 and no error if it consumed a non-final fragment of a
//     data message (its payload was copied into the Decoder): call again on
//     b[n:].
//   - n > 0 and m.Op != 0 when a message (text or binary, possibly
//     reassembled) or a control frame is complete. An unfragmented message
//     aliases b, a reassembled one the Decoder's buffer (see [Message]).
//     Control frames may come between the fragments of a message (§5.4); they
//     are returned as they come and do not disturb the assembly.
//   - n == 0 and a *[CloseError] if the client broke the protocol or a limit.
//     Send e.Frame() and close the connection; the Decoder is then unusable
//     until Reset.
//
// Beyond [ParseHeader]'s checks, Next fails with [ErrProtocol] for an
// unmasked frame (§5.1), a continuation with no message in progress or a new
// data message while one is in progress (§5.4), and a bad close frame
// (§5.5.1, [ParseClose]); with [ErrInvalidUTF8] for a text message that is not
// UTF-8 (§5.6, §8.1), detected at the first fragment that cannot lead to valid
// UTF-8; with [ErrTooBig] and [ErrPolicy] as the [Limits] say. Everything
// decided by the header is reported before the payload has arrived.
//
// Next does not allocate, except for a fragmented message: its state comes
// from a pool (allocated when the pool is empty), and its buffer grows beyond
// the one the pool keeps (4 KiB) by allocating.
func (d *Decoder) Next(b []byte) (m Message, n int, err error) {
	// The message returned last time may alias the assembly buffer; its
	// lifetime is over.
	d.Release()
	h, hn, err := ParseHeader(b)
	if err != nil {
		return m, 0, err
	}
	// §5.1: "The server MUST close the connection upon receiving a frame
	// that is not masked."
	if !h.Masked {
		return m, 0, errUnmasked
	}
	if h.OpCode.IsData() {
		if err := d.checkData(h); err != nil {
			return m, 0, err
		}
	}
	// Lengths of 2^63-1 are fine here: h.Length is compared, not added.
	if h.Length > int64(len(b)-hn) {
		return m, 0, ErrNeedMore
	}
	n = hn + int(h.Length)
	p := b[hn:n:n] // capped: appending to a payload must not clobber the next frame
	Unmask(p, h.Mask)

	switch {
	case h.OpCode.IsControl():
		if h.OpCode == ws.OpClose {
			if _, _, err := ParseClose(p); err != nil {
				return Message{}, 0, err
			}
		}
		return Message{h.OpCode, p}, n, nil

	case h.OpCode != ws.OpContinuation && h.Fin:
		// A whole message in one frame: no copy, no assembly state.
		if h.OpCode == ws.OpText && !utf8.Valid(p) {
			return Message{}, 0, errTextUTF8 // §8.1
		}
		return Message{h.OpCode, p}, n, nil

	case h.OpCode != ws.OpContinuation:
		// §5.4: the first fragment carries the opcode, FIN clear.
		// checkData made sure that no message is in progress.
		d.asm = assemblies.Get().(*assembly)
		d.asm.op = h.OpCode
	}
	a := d.asm
	a.frags++
	a.appendFragment(p, d.Limits.maxMessageSize())
	if a.op == ws.OpText && !a.validText(h.Fin) {
		return Message{}, 0, errTextUTF8 // §8.1
	}
	if !h.Fin {
		return Message{}, n, nil
	}
	// §5.4: the final fragment has FIN set.
	a.done = true
	return Message{a.op, a.buf[:len(a.buf):len(a.buf)]}, n, nil
}

// checkData applies the rules for data frame h that depend on the message in
// progress, from the header alone. Next has released a finished assembly
// before calling it: d.asm != nil means a fragmented message is in progress.
func (d *Decoder) checkData(h ws.Header) error {
	var assembled int64
	if h.OpCode == ws.OpContinuation {
		// §5.4: a continuation belongs to a message started by a
		// non-final text or binary frame.
		if d.asm == nil {
			return errNoContinuation
		}
		if int64(d.asm.frags) >= d.Limits.maxFragments() {
			return errTooManyFragments
		}
		assembled = int64(len(d.asm.buf))
	} else if d.asm != nil {
		// §5.4: "fragments of one message MUST NOT be interleaved between
		// the fragments of another message".
		return errInterleaved
	}
	// 0 <= assembled <= MaxInt64: the subtraction cannot overflow.
	if h.Length > d.Limits.maxMessageSize()-assembled {
		return ErrTooBig
	}
	return nil
}

// appendFragment appends p to the assembly buffer. The buffer grows by
// doubling, but not past limit, the message size limit: checkData has made
// sure that the message fits, so that bounds it.
func (a *assembly) appendFragment(p []byte, limit int64) {
	need := len(a.buf) + len(p)
	if need > cap(a.buf) {
		c := max(int64(cap(a.buf))*2, int64(need), minAssembly)
		c = max(min(c, limit), int64(need))
		nb := make([]byte, len(a.buf), c)
		copy(nb, a.buf)
		a.buf = nb
	}
	a.buf = append(a.buf, p...)
}

// validText reports whether the text assembled so far can still be valid
// UTF-8 (§8.1), validating only what the last fragment added. A code point
// may be split across fragments, so unless the message is final a trailing
// incomplete but valid prefix of a code point is left for the next fragment.
func (a *assembly) validText(final bool) bool {
	p := a.buf[a.checked:]
	end := len(p)
	if !final {
		// Find the start of the last code point: at most UTFMax-1
		// continuation bytes back.
		i := len(p) - 1
		for k := 0; k < utf8.UTFMax-1 && i > 0 && !utf8.RuneStart(p[i]); k++ {
			i--
		}
		// utf8.FullRune is false only for a valid but incomplete prefix;
		// invalid bytes count as whole (one-byte) runes and fail below.
		if i >= 0 && !utf8.FullRune(p[i:]) {
			end = i
		}
	}
	if !utf8.Valid(p[:end]) {
		return false
	}
	a.checked += uint32(end) // buf is at most maxMessageSize, < 4 GiB
	return true
}

// release gives the assembly state back to the pool, with its buffer
// emptied, or dropped if it grew large.
func (d *Decoder) release() {
	a := d.asm
	d.asm = nil
	buf := a.buf[:0]
	if cap(buf) > maxRetained {
		buf = nil
	}
	*a = assembly{buf: buf}
	assemblies.Put(a)
}

// Release ends the lifetime of the message Next returned last, as the next
// call to Next would, so that the Decoder gives its assembly state back
// unless a fragmented message is in progress: an idle connection then holds
// only the Decoder's 16 bytes. Call it once done with the messages decoded
// from the bytes at hand; it costs nothing when there is nothing to release.
func (d *Decoder) Release() {
	if d.asm != nil && d.asm.done {
		d.release()
	}
}

// Reset drops the Decoder's state, including any message in progress, and
// gives its assembly buffer back; the Limits are kept. Use it to recycle a
// Decoder for another connection, or after a *[CloseError].
func (d *Decoder) Reset() {
	if d.asm != nil {
		d.release()
	}
}
