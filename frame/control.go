package frame

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// CloseFrameNoStatus is an unmasked close frame with no payload, hence no
// status code (RFC 6455 §5.5.1): what Engine.IO servers send when they close a
// session, so that the client sees 1005 (PROTOCOL.md §7). It is shared: do not
// modify it.
var CloseFrameNoStatus = []byte{bitFin | byte(ws.OpClose), 0x00}

// maxCloseReason is the most reason bytes a close frame can carry: a control
// payload is at most 125 bytes (§5.5), 2 of them the status code (§5.5.1).
const maxCloseReason = ws.MaxControlFramePayloadSize - 2

// AppendClose appends to dst an unmasked close frame carrying code and reason
// (RFC 6455 §5.5.1) and returns the extended slice. A reason longer than 123
// bytes is cut at the last whole UTF-8 sequence that fits, so the frame stays
// within §5.5's 125 bytes and its reason stays valid UTF-8 (§5.5.1).
//
// If code is 0 or 1005 ("no status code", which §7.4.1 forbids on the wire)
// the frame has no payload, as [CloseFrameNoStatus], and reason is ignored:
// so echoing the code [ParseClose] returns is always safe. Other codes are
// not checked (§7.4). AppendClose does not allocate when dst has room.
func AppendClose(dst []byte, code ws.StatusCode, reason string) []byte {
	if code == 0 || code == ws.StatusNoStatusRcvd {
		return append(dst, CloseFrameNoStatus...)
	}
	if len(reason) > maxCloseReason {
		cut := maxCloseReason
		// Back up over continuation bytes to a rune start (at most 3).
		for i := 0; i < utf8.UTFMax-1 && cut > 0 && !utf8.RuneStart(reason[cut]); i++ {
			cut--
		}
		reason = reason[:cut]
	}
	dst = append(dst, bitFin|byte(ws.OpClose), byte(2+len(reason)))
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}

// AppendPong appends to dst an unmasked pong frame echoing payload, the
// application data of the ping it answers (RFC 6455 §5.5.3), and returns the
// extended slice. A ping's payload is at most 125 bytes ([ParseHeader]
// rejects longer ones); a longer payload is truncated to 125 bytes to keep
// the frame valid. It does not allocate when dst has room.
func AppendPong(dst []byte, payload []byte) []byte {
	if len(payload) > ws.MaxControlFramePayloadSize {
		payload = payload[:ws.MaxControlFramePayloadSize]
	}
	return AppendFrame(dst, ws.OpPong, payload)
}

// ParseClose parses the (unmasked) payload of a close frame (RFC 6455
// §5.5.1). An empty payload gives code 1005, "no status code" (§7.1.5), and
// no error. Otherwise it returns the code and the reason, which aliases
// payload, or a *[CloseError]:
//   - [ErrProtocol] for a 1-byte payload, or a code that may not be sent
//     (see below);
//   - [ErrInvalidUTF8] for a reason that is not UTF-8 (§5.5.1, §8.1).
//
// Valid codes follow gobwas/ws CheckCloseFrameData and §7.4: 1000-1003 and
// 1007-1011, and 3000-4999 for applications and private use (§7.4.2). Codes
// under 1000, 1004 (reserved), 1005, 1006 and 1015 (never sent on the wire,
// §7.4.1) and the unassigned 1012-2999 are rejected. Unlike gobwas/ws, codes
// 5000 and up are rejected too: §7.4.2 defines no range for them, and Node's
// ws rejects them as well.
//
// ParseClose does not allocate. [Decoder.Next] has already applied it to the
// close frames it returns.
func ParseClose(payload []byte) (code ws.StatusCode, reason []byte, err error) {
	switch len(payload) {
	case 0:
		return ws.StatusNoStatusRcvd, nil, nil
	case 1:
		// §5.5.1: if there is a body, its first two bytes are the code.
		return 0, nil, errCloseLength
	}
	code = ws.StatusCode(binary.BigEndian.Uint16(payload))
	if !validCloseCode(code) {
		return 0, nil, errCloseCode
	}
	reason = payload[2:]
	if !utf8.Valid(reason) {
		return 0, nil, errCloseReasonUTF8
	}
	return code, reason, nil
}

// validCloseCode reports whether a peer may send code in a close frame
// (RFC 6455 §7.4).
func validCloseCode(code ws.StatusCode) bool {
	switch {
	case code.IsProtocolSpec(): // 1000-2999
		return code.IsProtocolDefined() && !code.IsProtocolReserved()
	case code.IsApplicationSpec(), code.IsPrivateSpec(): // 3000-4999
		return true
	default: // 0-999 (§7.4.2: not used), 5000 and up (undefined)
		return false
	}
}
