package codec

import (
	"encoding/base64"
	"strconv"
)

// EngineType is an Engine.IO v4 packet type. Its value is the ASCII digit written on the wire, so a packet's first
// byte compares directly: EngineType(b[0]) == EngineMessage (PROTOCOL.md §2).
type EngineType byte

// Engine.IO v4 packet types (PROTOCOL.md §2).
const (
	EngineOpen    EngineType = '0' // S→C handshake JSON (§4)
	EngineClose   EngineType = '1' // both directions, no payload (§9)
	EnginePing    EngineType = '2' // S→C in v4; C→S only as "2probe" during the upgrade (§8, §15.2)
	EnginePong    EngineType = '3' // C→S in v4; S→C only as "3probe"
	EngineMessage EngineType = '4' // both directions: UTF-8 text, or binary
	EngineUpgrade EngineType = '5' // C→S, completes the upgrade (§8)
	EngineNoop    EngineType = '6' // S→C, releases a pending poll
)

// BinaryPrefix starts a base64-encoded binary message in a polling payload (`bAQIDBA==`, PROTOCOL.md §2). Such a
// packet is always a message; decode it with [DecodeBase64Packet].
const BinaryPrefix = 'b'

// RecordSeparator joins the packets of a polling payload (PROTOCOL.md §5).
const RecordSeparator = 0x1E

// Valid reports whether t is one of the seven Engine.IO packet types.
func (t EngineType) Valid() bool { return t >= EngineOpen && t <= EngineNoop }

// String returns the reference's name for t ("open", "message", …).
func (t EngineType) String() string {
	switch t {
	case EngineOpen:
		return "open"
	case EngineClose:
		return "close"
	case EnginePing:
		return "ping"
	case EnginePong:
		return "pong"
	case EngineMessage:
		return "message"
	case EngineUpgrade:
		return "upgrade"
	case EngineNoop:
		return "noop"
	}
	return "EngineType(" + strconv.Itoa(int(t)) + ")"
}

// ParseEnginePacket splits a text Engine.IO packet into its type and data. data aliases b and is empty (not nil)
// when the packet has no data. An empty packet or a first character outside '0'..'6' is [ErrEngineParse]
// (PROTOCOL.md §2, E25, E50); so is a 'b' packet: check b[0] == [BinaryPrefix] first and use
// [DecodeBase64Packet]. It does not validate data against the type (`1x` is a close with data "x", like the
// reference). Zero allocations.
func ParseEnginePacket(b []byte) (t EngineType, data []byte, err error) {
	if len(b) == 0 {
		return 0, nil, ErrEmptyPacket
	}
	t = EngineType(b[0])
	if !t.Valid() {
		return 0, nil, ErrEngineType
	}
	return t, b[1:], nil
}

// NextPayloadPacket returns the first packet of a polling payload and the rest after its separator (PROTOCOL.md
// §5). It allocates nothing; pkt and rest alias b. Iterate with
//
//	for pkt, rest, ok := codec.NextPayloadPacket(body); ok; pkt, rest, ok = codec.NextPayloadPacket(rest) { … }
//
// ok is false only for a nil b. rest is nil after the last packet and non-nil (possibly empty) while packets
// remain, so that a payload of n separators yields exactly n+1 packets, empty ones included: a trailing separator
// or a non-nil empty body yields an empty packet, which [ParseEnginePacket] rejects as the reference does (E25).
// Callers that read a body into a nil slice when it is empty must treat that case as a parse error themselves.
func NextPayloadPacket(b []byte) (pkt, rest []byte, ok bool) {
	if b == nil {
		return nil, nil, false
	}
	for i, c := range b {
		if c == RecordSeparator {
			return b[:i:i], b[i+1:], true
		}
	}
	return b, nil, true
}

// DecodeBase64Packet decodes a polling binary packet, 'b' followed by standard padded base64, appending the bytes
// to dst (PROTOCOL.md §2). `b` alone is an empty message. It is stricter than the reference (Node's lenient
// Buffer.from): unpadded or URL-safe base64 is [ErrBase64]; clients never send those. CR and LF inside are ignored,
// as encoding/base64 does. With enough capacity in dst it allocates nothing; on error it returns dst unchanged.
func DecodeBase64Packet(dst, pkt []byte) ([]byte, error) {
	if len(pkt) == 0 || pkt[0] != BinaryPrefix {
		return dst, ErrEngineType
	}
	out, err := base64.StdEncoding.AppendDecode(dst, pkt[1:])
	if err != nil {
		return dst, ErrBase64
	}
	return out, nil
}

// AppendBase64Packet appends the polling form of a binary message: 'b' and standard padded base64 of bin.
func AppendBase64Packet(dst, bin []byte) []byte {
	dst = append(dst, BinaryPrefix)
	return base64.StdEncoding.AppendEncode(dst, bin)
}

// AppendOpen appends the Engine.IO open packet with the handshake keys in the reference's order, which clients
// and the suites check exactly (PROTOCOL.md §4):
//
//	0{"sid":"…","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
//
// sid and upgrades are JSON-escaped. upgrades may be nil (written as []). maxPayload must equal the enforced limit
// (§15.16).
func AppendOpen(dst []byte, sid string, upgrades []string, pingIntervalMs, pingTimeoutMs, maxPayload int64) []byte {
	dst = append(dst, `0{"sid":`...)
	dst = appendString(dst, sid)
	dst = append(dst, `,"upgrades":[`...)
	for i, u := range upgrades {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, u)
	}
	dst = append(dst, `],"pingInterval":`...)
	dst = strconv.AppendInt(dst, pingIntervalMs, 10)
	dst = append(dst, `,"pingTimeout":`...)
	dst = strconv.AppendInt(dst, pingTimeoutMs, 10)
	dst = append(dst, `,"maxPayload":`...)
	dst = strconv.AppendInt(dst, maxPayload, 10)
	return append(dst, '}')
}
