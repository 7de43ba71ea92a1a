package codec

import "errors"

// Error categories. Every error returned by a decoder in this package wraps exactly one of them, so a caller picks
// the protocol answer with errors.Is (STYLE.md §7) and may log the specific sentinel's text.
var (
	// ErrEngineParse is an Engine.IO parse error: the reference closes the session with reason "parse error"
	// (PROTOCOL.md §2, E25, E50).
	ErrEngineParse = errors.New("riptide: codec: engine.io parse error")

	// ErrInvalidPacket is a Socket.IO parse error. It is fatal for the whole connection (PROTOCOL.md §11,
	// "Protocol errors that close the whole connection").
	ErrInvalidPacket = errors.New("riptide: codec: invalid socket.io packet")
)

// codecError is a pre-allocated sentinel carrying its category, so that every error path returns a package-level
// value and allocates nothing.
type codecError struct {
	msg  string
	base error
}

func (e *codecError) Error() string { return e.msg }
func (e *codecError) Unwrap() error { return e.base }

func engineErr(msg string) error { return &codecError{"riptide: codec: " + msg, ErrEngineParse} }
func packetErr(msg string) error { return &codecError{"riptide: codec: " + msg, ErrInvalidPacket} }

// Engine.IO decoding errors; each wraps [ErrEngineParse].
var (
	// ErrEmptyPacket: an empty Engine.IO packet (E25, E50).
	ErrEmptyPacket = engineErr("empty engine.io packet")
	// ErrEngineType: a first character outside '0'..'6' (and outside 'b' where binary is allowed).
	ErrEngineType = engineErr("unknown engine.io packet type")
	// ErrBase64: a 'b' packet whose body is not standard padded base64.
	ErrBase64 = engineErr("invalid base64 in binary packet")
)

// Socket.IO decoding errors; each wraps [ErrInvalidPacket].
var (
	// ErrPacketType: empty packet, or a type character outside '0'..'6' (PROTOCOL.md §10; `4abc` has type 'a').
	ErrPacketType = packetErr("unknown packet type")
	// ErrUnexpectedType: a CONNECT_ERROR received by a server decoder (PROTOCOL.md §11: it is S→C only).
	ErrUnexpectedType = packetErr("packet type not allowed in this direction")
	// ErrAttachments: the `<n>-` attachment count of a BINARY_* packet is missing, not plain digits, or < 1.
	ErrAttachments = packetErr("illegal attachments")
	// ErrTooManyAttachments: more attachments than DecodeOptions.MaxAttachments (S12).
	ErrTooManyAttachments = packetErr("too many attachments")
	// ErrAckID: an ack id above 2^53-1 (PROTOCOL.md §15.13).
	ErrAckID = packetErr("invalid ack id")
	// ErrMissingAckID: an ACK or BINARY_ACK without an ack id.
	ErrMissingAckID = packetErr("ack without id")
	// ErrInvalidJSON: the payload is not exactly one JSON value (optionally followed by whitespace), or it starts
	// with whitespace (PROTOCOL.md §15.13: the reference would read the space as ack id 0).
	ErrInvalidJSON = packetErr("invalid JSON payload")
	// ErrTooDeep: the payload nests arrays/objects deeper than DecodeOptions.MaxDepth.
	ErrTooDeep = packetErr("JSON nested too deeply")
	// ErrTooManyArgs: an EVENT/ACK array with more than DecodeOptions.MaxArgs elements.
	ErrTooManyArgs = packetErr("too many arguments")
	// ErrInvalidPayload: valid JSON of the wrong shape for the packet type (PROTOCOL.md §10 table: S05, S10, S15,
	// `42{}`).
	ErrInvalidPayload = packetErr("invalid payload")
	// ErrReservedEvent: an EVENT whose name is reserved (PROTOCOL.md §10, S08).
	ErrReservedEvent = packetErr("reserved event name")
	// ErrPlaceholder: a binary placeholder whose num is not an integer in 0..attachments-1 (PROTOCOL.md §12).
	ErrPlaceholder = packetErr("illegal attachments: bad placeholder")
)

// Encoding errors. They do not wrap a category: they are bugs or unsupported values on our side, not input.
var (
	// ErrUnsupportedValue: a value the encoder cannot represent in JSON (channel, function, complex number,
	// map with unsupported key type) or nested deeper than 1000 levels (usually a cycle).
	ErrUnsupportedValue = errors.New("riptide: codec: unsupported value")
	// ErrInvalidRawJSON: a RawJSON / json.RawMessage / json.Number argument that is not valid JSON or not valid
	// UTF-8. Pre-encoded JSON is validated so that it can never break polling framing (PROTOCOL.md §15.12).
	ErrInvalidRawJSON = errors.New("riptide: codec: invalid raw JSON")
	// ErrBinaryNotAllowed: a []byte value where binary attachments cannot be carried (CONNECT_ERROR data).
	ErrBinaryNotAllowed = errors.New("riptide: codec: binary value not allowed here")
)
