package frame

import (
	"math"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// Decoder defaults and limits.
const (
	// DefaultMaxMessageSize is the message size limit of a zero Decoder,
	// Engine.IO's default maxHttpBufferSize (1e6 bytes).
	DefaultMaxMessageSize = 1_000_000
	// DefaultMaxFragments is the fragment limit of a zero Decoder.
	DefaultMaxFragments = 1024

	// maxRetained is the largest assembly buffer kept between fragmented
	// messages. Browsers and Node's ws do not fragment what they send, so
	// fragmented messages are rare: keeping a small buffer makes the usual
	// ones free without letting one big message pin its memory for the life
	// of the connection.
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
// Next or Reset, and only while the caller keeps its buffer. A text payload is
// valid UTF-8; a close payload has been checked by [ParseClose].
type Message struct {
	Op      ws.OpCode
	Payload []byte
}

// Decoder decodes the frames a client sends to a server (RFC 6455 §5) into
// messages, reassembling fragmented ones (§5.4). The zero value is ready to
// use. A Decoder holds the state of one connection and must be used from that
// connection's event loop only: it is not safe for concurrent use.
type Decoder struct {
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

	// Every connection holds a Decoder: 4-byte counters (bounded by the
	// limits above) and packed fields keep it at 48 bytes.
	frags   uint32    // frames of the fragmented message so far
	buf     []byte    // payload of the fragmented message in progress
	checked uint32    // buf[:checked] is valid UTF-8 ending on a rune boundary (text only)
	op      ws.OpCode // its opcode, 0 when no fragmented message is in progress
	done    bool      // Next returned buf as a message: recycle it on the next call
}

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
// UTF-8; with [ErrTooBig] and [ErrPolicy] as MaxMessageSize and MaxFragments
// say. Everything decided by the header is reported before the payload has
// arrived.
//
// Next does not allocate, except to grow the assembly buffer of a fragmented
// message beyond the one it keeps (4 KiB).
func (d *Decoder) Next(b []byte) (m Message, n int, err error) {
	if d.done {
		// The message returned last time aliased d.buf; its lifetime is over.
		d.done = false
		d.recycle()
	}
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
		// A whole message in one frame: no copy.
		if h.OpCode == ws.OpText && !utf8.Valid(p) {
			return Message{}, 0, errTextUTF8 // §8.1
		}
		return Message{h.OpCode, p}, n, nil

	case h.OpCode != ws.OpContinuation:
		// §5.4: the first fragment carries the opcode, FIN clear.
		d.op, d.frags, d.checked = h.OpCode, 1, 0
		d.buf = d.buf[:0]
	default:
		d.frags++
	}
	d.appendFragment(p)
	if d.op == ws.OpText && !d.validText(h.Fin) {
		return Message{}, 0, errTextUTF8 // §8.1
	}
	if !h.Fin {
		return Message{}, n, nil
	}
	// §5.4: the final fragment has FIN set.
	m = Message{d.op, d.buf[:len(d.buf):len(d.buf)]}
	d.op, d.frags, d.done = 0, 0, true
	return m, n, nil
}

// checkData applies the rules for data frame h that depend on the message in
// progress, from the header alone.
func (d *Decoder) checkData(h ws.Header) error {
	if h.OpCode == ws.OpContinuation {
		// §5.4: a continuation belongs to a message started by a
		// non-final text or binary frame.
		if d.op == 0 {
			return errNoContinuation
		}
		if int64(d.frags) >= d.maxFragments() {
			return errTooManyFragments
		}
	} else if d.op != 0 {
		// §5.4: "fragments of one message MUST NOT be interleaved between
		// the fragments of another message".
		return errInterleaved
	}
	var assembled int64
	if d.op != 0 {
		assembled = int64(len(d.buf))
	}
	// 0 <= assembled <= MaxInt64: the subtraction cannot overflow.
	if h.Length > d.maxMessageSize()-assembled {
		return ErrTooBig
	}
	return nil
}

// appendFragment appends p to the assembly buffer. The buffer grows by
// doubling, but not past MaxMessageSize: checkData has made sure that the
// message fits, so that bounds it.
func (d *Decoder) appendFragment(p []byte) {
	need := len(d.buf) + len(p)
	if need > cap(d.buf) {
		c := max(int64(cap(d.buf))*2, int64(need), minAssembly)
		c = max(min(c, d.maxMessageSize()), int64(need))
		nb := make([]byte, len(d.buf), c)
		copy(nb, d.buf)
		d.buf = nb
	}
	d.buf = append(d.buf, p...)
}

// validText reports whether the text assembled so far can still be valid
// UTF-8 (§8.1), validating only what the last fragment added. A code point
// may be split across fragments, so unless the message is final a trailing
// incomplete but valid prefix of a code point is left for the next fragment.
func (d *Decoder) validText(final bool) bool {
	p := d.buf[d.checked:]
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
	d.checked += uint32(end) // buf is at most maxMessageSize, < 4 GiB
	return true
}

// recycle empties the assembly buffer, dropping it if it grew large.
func (d *Decoder) recycle() {
	if cap(d.buf) > maxRetained {
		d.buf = nil
	} else {
		d.buf = d.buf[:0]
	}
	d.checked = 0
}

// Reset drops the Decoder's state, including any message in progress, and
// releases its assembly buffer; the limits are kept. Use it to recycle a
// Decoder for another connection, or to free its memory early.
func (d *Decoder) Reset() {
	d.buf, d.op, d.frags, d.checked, d.done = nil, 0, 0, 0, false
}

func (d *Decoder) maxMessageSize() int64 {
	if d.MaxMessageSize <= 0 {
		return DefaultMaxMessageSize
	}
	return min(d.MaxMessageSize, math.MaxUint32)
}

func (d *Decoder) maxFragments() int64 {
	if d.MaxFragments <= 0 {
		return DefaultMaxFragments
	}
	return int64(d.MaxFragments)
}
