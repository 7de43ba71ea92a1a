package frame

import (
	"encoding/binary"
	"slices"

	"github.com/gobwas/ws"
)

// MaxHeaderSize is the size of the largest server (unmasked) frame header:
// 2 bytes plus a 64-bit length (RFC 6455 §5.2). Reserve this much headroom
// in front of a payload to frame it in place with [PutHeader].
const MaxHeaderSize = 10

// HeaderSize returns the size of the minimal unmasked header for a payload of
// payloadLen bytes: 2, 4 or 10 (RFC 6455 §5.2).
func HeaderSize(payloadLen int) int {
	switch {
	case payloadLen <= ws.MaxControlFramePayloadSize:
		return 2
	case payloadLen <= 0xffff:
		return 4
	default:
		return MaxHeaderSize
	}
}

// PutHeader writes an unmasked frame header for a payload of payloadLen bytes
// that sits at buf[MaxHeaderSize:MaxHeaderSize+payloadLen]. The header is the
// minimal one (§5.2), written right-aligned so that it ends at MaxHeaderSize;
// PutHeader returns where it starts, and the whole frame is
// buf[start:MaxHeaderSize+payloadLen]. It touches nothing outside
// buf[start:MaxHeaderSize] and does not allocate.
//
// buf must be at least MaxHeaderSize long and payloadLen must not be
// negative; PutHeader panics otherwise (a programming error, never input).
// It does not check op or, for control frames, the 125-byte limit (§5.5).
func PutHeader(buf []byte, fin bool, op ws.OpCode, payloadLen int) (start int) {
	if payloadLen < 0 {
		panic("frame: PutHeader with a negative payload length")
	}
	_ = buf[MaxHeaderSize-1] // one bounds check for the writes below
	b0 := byte(op) & maskOp
	if fin {
		b0 |= bitFin
	}
	switch start = MaxHeaderSize - HeaderSize(payloadLen); start {
	case MaxHeaderSize - 2:
		buf[start+1] = byte(payloadLen)
	case MaxHeaderSize - 4:
		buf[start+1] = len16
		binary.BigEndian.PutUint16(buf[start+2:MaxHeaderSize], uint16(payloadLen))
	default:
		buf[start+1] = len64
		binary.BigEndian.PutUint64(buf[start+2:MaxHeaderSize], uint64(payloadLen))
	}
	buf[start] = b0
	return start
}

// AppendFrame appends to dst one final (FIN set), unmasked frame with opcode
// op and the given payload, and returns the extended slice. It does not
// allocate when dst has room for HeaderSize(len(payload))+len(payload) more
// bytes. It does not check op or, for control frames, the 125-byte limit.
func AppendFrame(dst []byte, op ws.OpCode, payload []byte) []byte {
	n := len(payload)
	hs := HeaderSize(n)
	dst = slices.Grow(dst, hs+n) // at most one allocation
	b0 := bitFin | byte(op)&maskOp
	switch hs {
	case 2:
		dst = append(dst, b0, byte(n))
	case 4:
		dst = binary.BigEndian.AppendUint16(append(dst, b0, len16), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint64(append(dst, b0, len64), uint64(n))
	}
	return append(dst, payload...)
}
