package codec

import (
	"strconv"
)

// PacketType is a Socket.IO v5 packet type; its value is the number written as the packet's first character
// (PROTOCOL.md §10).
type PacketType byte

// Socket.IO v5 packet types (PROTOCOL.md §10).
const (
	PacketConnect      PacketType = 0 // C→S: optional auth object; S→C: {"sid":…}
	PacketDisconnect   PacketType = 1 // no payload
	PacketEvent        PacketType = 2 // ["name", args…]
	PacketAck          PacketType = 3 // [args…], with an ack id
	PacketConnectError PacketType = 4 // S→C only: {"message":…[,"data":…]}
	PacketBinaryEvent  PacketType = 5 // EVENT with placeholders, followed by attachments (§12)
	PacketBinaryAck    PacketType = 6 // ACK with placeholders, followed by attachments
)

// Valid reports whether t is one of the seven packet types.
func (t PacketType) Valid() bool { return t <= PacketBinaryAck }

// String returns the reference's name for t ("CONNECT", "BINARY_EVENT", …).
func (t PacketType) String() string {
	switch t {
	case PacketConnect:
		return "CONNECT"
	case PacketDisconnect:
		return "DISCONNECT"
	case PacketEvent:
		return "EVENT"
	case PacketAck:
		return "ACK"
	case PacketConnectError:
		return "CONNECT_ERROR"
	case PacketBinaryEvent:
		return "BINARY_EVENT"
	case PacketBinaryAck:
		return "BINARY_ACK"
	}
	return "PacketType(" + strconv.Itoa(int(t)) + ")"
}

// MaxSafeInteger is 2^53-1, the largest ack id accepted: ids are JS numbers on the other side (PROTOCOL.md §15.13).
const MaxSafeInteger = 1<<53 - 1

// NoAckID is the Packet.ID of a packet without an ack id.
const NoAckID = -1

// Packet is one decoded Socket.IO packet (PROTOCOL.md §10). Its byte slices alias the decoded input: they are valid
// only as long as that buffer is (for a gnet read buffer: until the callback returns; STYLE.md §4). Copy before
// keeping them.
type Packet struct {
	Type PacketType
	// Namespace is nil for the default namespace "/"; otherwise it starts with '/' and contains no ','.
	Namespace []byte
	// ID is the ack id, or NoAckID (-1). Note that the zero value 0 is a valid ack id.
	ID int64
	// Attachments is the number of binary attachments that follow a BINARY_EVENT/BINARY_ACK (≥ 1), else 0.
	Attachments int
	// Data is the raw JSON payload (validated, see DecodeOptions.DecodePacket), or nil when absent.
	Data []byte
}

// Decoding defaults.
const (
	DefaultMaxAttachments = 10   // socket.io-parser's maxAttachments
	DefaultMaxDepth       = 64   // nesting levels of the JSON payload, the outer array or object included
	DefaultMaxArgs        = 1024 // elements of an EVENT/ACK array, the event name included
)

// DecodeOptions bounds what DecodePacket accepts. The zero value is valid and means the defaults; zero fields take
// their default. Every limit exists so that a hostile packet costs one error, never unbounded work or a stack
// overflow (STYLE.md §6): a 70,000-argument event or a 6,000-deep `[[[…` is simply invalid.
type DecodeOptions struct {
	// MaxAttachments caps the `<n>-` count of binary packets (default 10, as socket.io-parser; S12).
	MaxAttachments int
	// MaxDepth caps JSON nesting (default 64; values above 256 are clamped to 256).
	MaxDepth int
	// MaxArgs caps the elements of an EVENT/ACK payload array (default 1024).
	MaxArgs int
	// AllowConnectError accepts CONNECT_ERROR (payload: a JSON string or object), for decoding what a server sends
	// (test clients). A server must leave it false: a client's CONNECT_ERROR is a protocol error (PROTOCOL.md §11).
	AllowConnectError bool
}

func (o DecodeOptions) limits() (maxAtt, maxDepth, maxArgs int) {
	maxAtt, maxDepth, maxArgs = o.MaxAttachments, o.MaxDepth, o.MaxArgs
	if maxAtt <= 0 {
		maxAtt = DefaultMaxAttachments
	}
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	if maxDepth > maxDepthCap {
		maxDepth = maxDepthCap
	}
	if maxArgs <= 0 {
		maxArgs = DefaultMaxArgs
	}
	return
}

// DecodePacket decodes a Socket.IO packet received by a server, with the default [DecodeOptions]. See
// [DecodeOptions.DecodePacket].
func DecodePacket(b []byte, p *Packet) error {
	return DecodeOptions{}.DecodePacket(b, p)
}

// DecodePacket parses b, the data of one Engine.IO message, into *p in place: p's slices alias b and nothing is
// allocated, on success or on error. It accepts exactly what socket.io-parser 4.2's decoder accepts (PROTOCOL.md
// §10) except where PROTOCOL.md §15.13 asks us to be stricter, and never panics on any input. On error *p is
// unspecified and the error wraps [ErrInvalidPacket].
//
// Grammar: <type>[<attachments>-][<namespace>,][<ackId>][<JSON payload>].
//   - type: one digit 0..6; CONNECT_ERROR only with AllowConnectError.
//   - attachments: BINARY_EVENT/BINARY_ACK only, plain digits ≥ 1 and ≤ MaxAttachments, then '-'.
//   - namespace: a '/' right after the type (or the '-') starts it; it runs to the first ',' (consumed) or to the
//     end, so `40/custom` is accepted (§10, §15.7). "/" is reported as nil.
//   - ackId: plain digits, leading zeros allowed (`007` is 7, S18), at most 2^53-1.
//   - payload: one JSON value (whitespace may follow it but not precede it), nesting ≤ MaxDepth, and per type:
//     CONNECT absent or an object (S05); DISCONNECT absent (S15); EVENT/BINARY_EVENT a non-empty array of at most
//     MaxArgs elements whose first element is a number or a non-reserved string (S08–S10); ACK/BINARY_ACK an array
//     of at most MaxArgs elements, and an ack id is required; CONNECT_ERROR a string or an object.
//   - BINARY_*: every placeholder object (`"_placeholder":true`) must carry an integer num in 0..attachments-1
//     (§12, S19), checked here rather than when the attachments arrive.
//
// Deliberately stricter than the reference (each pinned by testdata/vectors.json): a leading space or other
// whitespace before the payload (the reference reads it as ack id 0, `42 ["x"]`); ack ids above 2^53-1; an empty
// packet (the reference reads "" as CONNECT); attachment counts such as "1e1" or " 2" that JS coerces to numbers;
// an EVENT without payload or an ACK without payload or id; nesting deeper than MaxDepth; more than MaxArgs
// arguments; placeholders with a non-integer num.
func (o DecodeOptions) DecodePacket(b []byte, p *Packet) error {
	maxAtt, maxDepth, maxArgs := o.limits()
	*p = Packet{ID: NoAckID}
	if len(b) == 0 || b[0] < '0' || b[0] > '6' {
		return ErrPacketType
	}
	p.Type = PacketType(b[0] - '0')
	if p.Type == PacketConnectError && !o.AllowConnectError {
		return ErrUnexpectedType
	}
	i := 1
	binary := p.Type == PacketBinaryEvent || p.Type == PacketBinaryAck
	if binary {
		n := 0
		j := i
		for ; j < len(b) && '0' <= b[j] && b[j] <= '9'; j++ {
			if n <= maxAtt { // stop accumulating once over the limit: no overflow on long digit runs
				n = n*10 + int(b[j]-'0')
			}
		}
		if j == i || j >= len(b) || b[j] != '-' || n < 1 {
			return ErrAttachments
		}
		if n > maxAtt {
			return ErrTooManyAttachments
		}
		p.Attachments = n
		i = j + 1
	}
	// Namespace: from '/' to the first ',' or the end (PROTOCOL.md §10, §15.7).
	if i < len(b) && b[i] == '/' {
		j := i
		for j < len(b) && b[j] != ',' {
			j++
		}
		if j-i > 1 {
			p.Namespace = b[i:j:j]
		}
		i = j
		if i < len(b) { // skip the ','
			i++
		}
	}
	// Ack id: plain digits only (§15.13).
	if i < len(b) && '0' <= b[i] && b[i] <= '9' {
		var id int64
		for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
			id = id*10 + int64(b[i]-'0')
			if id > MaxSafeInteger {
				return ErrAckID
			}
		}
		p.ID = id
	}
	if i < len(b) {
		p.Data = b[i:]
	}
	return validatePayload(p, maxDepth, maxArgs)
}

// validatePayload applies the per-type payload rules of PROTOCOL.md §10 to p.Data.
func validatePayload(p *Packet, maxDepth, maxArgs int) error {
	data := p.Data
	if data == nil {
		switch p.Type {
		case PacketConnect, PacketDisconnect:
			return nil
		case PacketAck, PacketBinaryAck, PacketEvent, PacketBinaryEvent, PacketConnectError:
			return ErrInvalidPayload
		}
	}
	if isWS(data[0]) {
		return ErrInvalidJSON // §15.13: the reference would read the whitespace as ack id 0
	}
	switch p.Type {
	case PacketDisconnect:
		return ErrInvalidPayload // S15
	case PacketConnect:
		if err := validJSON(data, maxDepth); err != nil {
			return err
		}
		if data[0] != '{' {
			return ErrInvalidPayload // S05
		}
		return nil
	case PacketConnectError:
		if err := validJSON(data, maxDepth); err != nil {
			return err
		}
		if data[0] != '{' && data[0] != '"' {
			return ErrInvalidPayload
		}
		return nil
	}
	// EVENT, ACK and their binary forms: an array.
	if data[0] != '[' {
		if err := validJSON(data, maxDepth); err != nil {
			return err
		}
		return ErrInvalidPayload // `42{}`
	}
	isAck := p.Type == PacketAck || p.Type == PacketBinaryAck
	var it arrayIter
	if err := it.init(data, maxDepth); err != nil {
		return err
	}
	for {
		start, end, err := it.next()
		if err != nil {
			return err
		}
		if start < 0 {
			break
		}
		if it.n > maxArgs {
			return ErrTooManyArgs
		}
		if it.n == 1 && !isAck {
			if err := checkEventName(data[start:end]); err != nil {
				return err
			}
		}
	}
	if err := it.finish(); err != nil {
		return err
	}
	if it.n == 0 && !isAck {
		return ErrInvalidPayload // S10: `42[]`
	}
	if isAck && p.ID == NoAckID {
		return ErrMissingAckID
	}
	if p.Attachments > 0 {
		return checkPlaceholders(data, p.Attachments)
	}
	return nil
}

// checkEventName applies the rule for element 0 of an EVENT: a number, or a string that is not reserved
// (PROTOCOL.md §10, S08, S09).
func checkEventName(raw []byte) error {
	switch c := raw[0]; {
	case c == '-' || '0' <= c && c <= '9':
		return nil
	case c == '"':
		_, esc := scanString(raw, 0)
		if isReservedRaw(raw, esc) {
			return ErrReservedEvent
		}
		return nil
	}
	return ErrInvalidPayload
}

var reservedEvents = [...]string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}

func isReservedRaw(raw []byte, escaped bool) bool {
	for _, r := range reservedEvents {
		if equalUnquoted(raw, escaped, r) {
			return true
		}
	}
	return false
}

// IsReservedEvent reports whether name is one of the event names a peer may not send and the server API refuses to
// emit: connect, connect_error, disconnect, disconnecting, newListener, removeListener (PROTOCOL.md §10).
func IsReservedEvent(name string) bool {
	for _, r := range reservedEvents {
		if name == r {
			return true
		}
	}
	return false
}

// AppendPacketHeader appends `<type>[<n>-][<nsp>,][<id>]` for p; the caller appends p.Data (JSON) after it. The
// namespace is omitted when nil or "/" and otherwise always followed by ',' (PROTOCOL.md §10, §15.7); the
// attachment count is written for BINARY_* types only (the caller keeps it ≥ 1); the id when p.ID ≥ 0. Namespace
// bytes are written verbatim: a namespace must not contain ','. Zero allocations given capacity.
func AppendPacketHeader(dst []byte, p *Packet) []byte {
	dst = append(dst, '0'+byte(p.Type))
	if p.Type == PacketBinaryEvent || p.Type == PacketBinaryAck {
		dst = strconv.AppendInt(dst, int64(p.Attachments), 10)
		dst = append(dst, '-')
	}
	if len(p.Namespace) > 0 && !(len(p.Namespace) == 1 && p.Namespace[0] == '/') {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.ID >= 0 {
		dst = strconv.AppendInt(dst, p.ID, 10)
	}
	return dst
}

// appendHeader is AppendPacketHeader for a string namespace, without attachments.
func appendHeader(dst []byte, t PacketType, nsp string, id int64) []byte {
	dst = append(dst, '0'+byte(t))
	if nsp != "" && nsp != "/" {
		dst = append(dst, nsp...)
		dst = append(dst, ',')
	}
	if id >= 0 {
		dst = strconv.AppendInt(dst, id, 10)
	}
	return dst
}

// AppendConnect appends the server's CONNECT reply `0[<nsp>,]{"sid":"…"}` (PROTOCOL.md §11); with a non-empty pid
// (connection-state recovery) `{"sid":"…","pid":"…"}`. sid is the namespace socket id, never the Engine.IO sid
// (§15.10).
func AppendConnect(dst []byte, nsp, sid, pid string) []byte {
	dst = appendHeader(dst, PacketConnect, nsp, NoAckID)
	dst = append(dst, `{"sid":`...)
	dst = appendString(dst, sid)
	if pid != "" {
		dst = append(dst, `,"pid":`...)
		dst = appendString(dst, pid)
	}
	return append(dst, '}')
}

// AppendDisconnect appends a DISCONNECT for nsp: `1` or `1/nsp,` (PROTOCOL.md §11).
func AppendDisconnect(dst []byte, nsp string) []byte {
	return appendHeader(dst, PacketDisconnect, nsp, NoAckID)
}

// AppendConnectError appends `4[<nsp>,]{"message":"…"[,"data":…]}` (PROTOCOL.md §11, S03, S04). data is omitted
// when nil (as JSON.stringify drops an undefined err.data) and encoded like an event argument otherwise, except
// that binary cannot be carried: a []byte inside data is [ErrBinaryNotAllowed]. On error dst is returned
// truncated to its original length.
func AppendConnectError(dst []byte, nsp, message string, data any) ([]byte, error) {
	start := len(dst)
	dst = appendHeader(dst, PacketConnectError, nsp, NoAckID)
	dst = append(dst, `{"message":`...)
	dst = appendString(dst, message)
	if data != nil {
		dst = append(dst, `,"data":`...)
		e := encState{buf: dst, noBinary: true}
		if err := e.appendAny(data, 0); err != nil {
			return e.buf[:start], err
		}
		dst = e.buf
	}
	return append(dst, '}'), nil
}

// AppendEventData appends an EVENT packet whose data array is already encoded: `2[<nsp>,][<id>]<data>`, or
// BINARY_EVENT `5<n>-[<nsp>,][<id>]<data>` when attachments > 0 (data then holds that many placeholders). data is
// copied verbatim: the caller has validated it (a JSON array whose first element is the event name), as cluster
// adapters do for packets other nodes publish.
func AppendEventData(dst []byte, nsp string, id int64, data []byte, attachments int) []byte {
	if attachments <= 0 {
		dst = appendHeader(dst, PacketEvent, nsp, id)
		return append(dst, data...)
	}
	dst = append(dst, '0'+byte(PacketBinaryEvent))
	dst = strconv.AppendInt(dst, int64(attachments), 10)
	dst = append(dst, '-')
	if nsp != "" && nsp != "/" {
		dst = append(dst, nsp...)
		dst = append(dst, ',')
	}
	if id >= 0 {
		dst = strconv.AppendInt(dst, id, 10)
	}
	return append(dst, data...)
}
