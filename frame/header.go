package frame

import (
	"encoding/binary"

	"github.com/gobwas/ws"
)

// Bits of the first two header bytes (RFC 6455 §5.2).
const (
	bitFin    = 0x80
	maskRsv   = 0x70
	maskOp    = 0x0f
	bitMasked = 0x80
	maskLen7  = 0x7f

	len16 = 126 // 7-bit length value announcing a 16-bit length
	len64 = 127 // 7-bit length value announcing a 64-bit length
)

// ParseHeader parses the frame header at the front of b and returns it with
// its size n; the payload is b[n:n+h.Length]. It does not look at the payload.
//
// If b is too short for the whole header, it returns [ErrNeedMore]. Protocol
// violations are returned as a *[CloseError] matching [ErrProtocol], each as
// soon as the bytes that show it are in, even if the header is incomplete:
//   - RSV1-3 set, as no extension is ever negotiated (§5.2), first byte;
//   - a reserved opcode, 0x3-0x7 or 0xB-0xF (§5.2), first byte;
//   - a control frame without FIN (§5.5), first byte;
//   - a 64-bit length with its most significant bit set (§5.2), third byte;
//   - a control frame with a payload over 125 bytes (§5.5), whole header.
//
// Lengths encoded with more bytes than needed (5 in the 16-bit form, say) are
// accepted, for control frames too: §5.2 requires the sender to use the
// minimal encoding but asks nothing of the receiver, gobwas/ws accepts them,
// and every limit is checked against the value, never the encoding.
//
// On error n is 0 and h must not be used. ParseHeader does not allocate and
// does not check masking, which depends on the side (see [Decoder]).
func ParseHeader(b []byte) (h ws.Header, n int, err error) {
	if len(b) == 0 {
		return h, 0, ErrNeedMore
	}
	h.Fin = b[0]&bitFin != 0
	h.Rsv = (b[0] & maskRsv) >> 4
	h.OpCode = ws.OpCode(b[0] & maskOp)
	switch {
	case h.Rsv != 0:
		// §5.2: "MUST be 0 unless an extension is negotiated that defines
		// meanings for non-zero values". We negotiate none.
		return h, 0, errReservedBits
	case h.OpCode.IsReserved():
		// §5.2: "If an unknown opcode is received, the receiving endpoint
		// MUST _Fail the WebSocket Connection_."
		return h, 0, errReservedOpCode
	case h.OpCode.IsControl() && !h.Fin:
		// §5.5: "All control frames ... MUST NOT be fragmented."
		return h, 0, errControlNotFinal
	}
	if len(b) < 2 {
		return h, 0, ErrNeedMore
	}
	h.Masked = b[1]&bitMasked != 0
	l7 := b[1] & maskLen7
	n = 2
	switch l7 {
	case len16:
		n += 2
	case len64:
		// §5.2: "the most significant bit MUST be 0". Checked as soon as
		// the byte is here: a length of 2^63 or more is never acceptable.
		if len(b) > 2 && b[2]&0x80 != 0 {
			return h, 0, errLengthMSB
		}
		n += 8
	}
	if h.Masked {
		n += 4
	}
	if len(b) < n {
		return h, 0, ErrNeedMore
	}
	switch l7 {
	case len16:
		h.Length = int64(binary.BigEndian.Uint16(b[2:4]))
	case len64:
		h.Length = int64(binary.BigEndian.Uint64(b[2:10])) // MSB is 0: fits
	default:
		h.Length = int64(l7)
	}
	if h.OpCode.IsControl() && h.Length > ws.MaxControlFramePayloadSize {
		// §5.5: "All control frames MUST have a payload length of 125
		// bytes or less." The value counts, not its encoding (see above).
		return h, 0, errControlTooLong
	}
	if h.Masked {
		copy(h.Mask[:], b[n-4:n])
	}
	return h, n, nil
}

// Unmask applies the masking key to payload in place (RFC 6455 §5.3). Masking
// and unmasking are the same XOR, so it also masks. payload must start at the
// first byte of a frame's payload (offset 0 in the key). It does not allocate.
func Unmask(payload []byte, mask [4]byte) {
	ws.Cipher(payload, mask, 0)
}
