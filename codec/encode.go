package codec

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/bytedance/sonic/encoder"
)

// RawJSON is an argument that is already JSON-encoded. The encoders copy it verbatim, after checking that it is one
// valid JSON value in valid UTF-8 (else [ErrInvalidRawJSON]): pre-encoded JSON is the one path where a raw 0x1E
// could otherwise reach the polling framing (PROTOCOL.md §15.12). Placeholders inside are not interpreted. A nil
// RawJSON encodes as null. json.RawMessage is treated the same way.
type RawJSON []byte

// MarshalJSON returns r (or null), so that a RawJSON nested in a struct encodes verbatim through sonic too.
func (r RawJSON) MarshalJSON() ([]byte, error) {
	if r == nil {
		return []byte("null"), nil
	}
	return r, nil
}

// maxEncodeDepth bounds the nesting the encoder follows, so that a cyclic value is an error and not a stack
// overflow (encoding/json uses the same order of magnitude).
const maxEncodeDepth = 1000

// sonicOpts: sonic's default output matches JSON.stringify except for \b and \f (written \u0008, \u000c, fixed up
// in fixSonic) and invalid UTF-8 (copied raw unless ValidateString; we repair it in fixSonic instead, because
// ValidateString re-validates the whole destination buffer, our header included, on every call). EscapeHTML stays
// off: JSON.stringify does not escape <, >, &. Map keys are sorted for deterministic output (Go maps have no
// insertion order to preserve). NaN and ±Inf become null, as in JSON.stringify. NoEncoderNewline matters only for
// sonic's encoding/json fallback, whose EncodeInto would otherwise append '\n'.
const sonicOpts = encoder.SortMapKeys | encoder.EncodeNullForInfOrNan | encoder.NoEncoderNewline

// AppendEvent appends the Socket.IO packet for emitting event with args: `2[<nsp>,][<id>]["event",arg0,…]`, or,
// when args contain binary, `5<n>-[<nsp>,][<id>][…placeholders…]` (PROTOCOL.md §10, §12). id is the ack id or
// NoAckID. The output is byte-identical to socket.io-parser's for the same values (testdata/vectors.json); strings
// are escaped as JSON.stringify does, control characters included (§15.12).
//
// Binary: every []byte value (named []byte types included) reachable through []any, map[string]any, other slices,
// arrays, maps, pointers, interfaces and struct fields is replaced, depth first in encounter order, by
// {"_placeholder":true,"num":i}, and attachments[i] is that very slice (not copied: keep it unmodified until it has
// been written). A nil []byte is an empty attachment. Types implementing json.Marshaler or encoding.TextMarshaler
// encode themselves (no placeholders inside); RawJSON and json.RawMessage are copied verbatim after validation.
// attachments is nil, and nothing is allocated for it, when there is no binary.
//
// Encoding: nil, bool, strings, all integer and float kinds, []any and map[string]any are written directly (maps
// with sorted keys; floats as JS numbers: -0 as 0, NaN/±Inf as null). Values of other types that cannot hold binary
// are encoded by sonic (encoding/json rules: struct tags, omitempty, Marshaler); types that can hold binary (a
// []byte or interface somewhere inside) are walked by reflection with the same rules. Errors: ErrUnsupportedValue,
// ErrInvalidRawJSON, or a Marshaler's error; on error out is dst truncated to its original length.
//
// The event name is not checked against the reserved names: see [IsReservedEvent].
func AppendEvent(dst []byte, nsp string, id int64, event string, args []any) (out []byte, attachments [][]byte, err error) {
	start := len(dst)
	e := encState{buf: appendHeader(dst, PacketEvent, nsp, id)}
	e.buf = append(e.buf, '[')
	e.buf = appendString(e.buf, event)
	for _, a := range args {
		e.buf = append(e.buf, ',')
		if err := e.appendAny(a, 1); err != nil {
			return e.buf[:start], nil, err
		}
	}
	e.buf = append(e.buf, ']')
	if len(e.atts) > 0 {
		e.buf = insertAttachments(e.buf, start, PacketBinaryEvent, len(e.atts))
	}
	return e.buf, e.atts, nil
}

// AppendAck appends the acknowledgement of ack id id with args: `3[<nsp>,]<id>[arg0,…]`, or BINARY_ACK
// `6<n>-[<nsp>,]<id>[…]` when args contain binary (PROTOCOL.md §10). Encoding, attachments and errors are as for
// [AppendEvent].
func AppendAck(dst []byte, nsp string, id int64, args []any) (out []byte, attachments [][]byte, err error) {
	start := len(dst)
	e := encState{buf: appendHeader(dst, PacketAck, nsp, id)}
	e.buf = append(e.buf, '[')
	for i, a := range args {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.appendAny(a, 1); err != nil {
			return e.buf[:start], nil, err
		}
	}
	e.buf = append(e.buf, ']')
	if len(e.atts) > 0 {
		e.buf = insertAttachments(e.buf, start, PacketBinaryAck, len(e.atts))
	}
	return e.buf, e.atts, nil
}

// insertAttachments turns the packet at buf[start:] into its binary type and inserts `<n>-` after the type digit.
// The count is known only after encoding, so the payload is shifted once, on the binary path only.
func insertAttachments(buf []byte, start int, t PacketType, n int) []byte {
	var tmp [24]byte
	count := append(strconv.AppendInt(tmp[:0], int64(n), 10), '-')
	buf = append(buf, count...) // grow by len(count)
	copy(buf[start+1+len(count):], buf[start+1:len(buf)-len(count)])
	copy(buf[start+1:], count)
	buf[start] = '0' + byte(t)
	return buf
}

// encState is the state of one encoding: the output and the attachments found so far.
type encState struct {
	buf      []byte
	atts     [][]byte
	noBinary bool // binary is an error (CONNECT_ERROR data)
}

func (e *encState) binary(b []byte) error {
	if e.noBinary {
		return ErrBinaryNotAllowed
	}
	if b == nil {
		b = []byte{}
	}
	e.buf = append(e.buf, `{"_placeholder":true,"num":`...)
	e.buf = strconv.AppendInt(e.buf, int64(len(e.atts)), 10)
	e.buf = append(e.buf, '}')
	e.atts = append(e.atts, b)
	return nil
}

func (e *encState) raw(r []byte) error {
	if r == nil {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	if validJSON(r, maxDepthCap) != nil || !utf8.Valid(r) {
		return ErrInvalidRawJSON
	}
	e.buf = append(e.buf, r...)
	return nil
}

// appendAny encodes one value at nesting level depth.
func (e *encState) appendAny(v any, depth int) error {
	if depth > maxEncodeDepth {
		return ErrUnsupportedValue
	}
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.buf = appendString(e.buf, x)
	case bool:
		e.buf = strconv.AppendBool(e.buf, x)
	case float64:
		e.buf = appendFloat(e.buf, x, 64)
	case float32:
		e.buf = appendFloat(e.buf, float64(x), 32)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, x, 10)
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int16:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int8:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case uint:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, x, 10)
	case uint32:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case uint16:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case uint8:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case []byte:
		return e.binary(x)
	case RawJSON:
		return e.raw(x)
	case json.RawMessage:
		return e.raw(x)
	case json.Number:
		if x == "" {
			e.buf = append(e.buf, '0') // as encoding/json
			return nil
		}
		if end := scanNumber([]byte(x), 0); end != len(x) {
			return ErrInvalidRawJSON
		}
		e.buf = append(e.buf, x...)
	case []any:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		e.buf = append(e.buf, '[')
		for i, el := range x {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.appendAny(el, depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
	case map[string]any:
		return e.appendMap(x, depth)
	default:
		rv := reflect.ValueOf(v)
		if !mayHoldBinary(rv.Type()) {
			return e.sonic(v)
		}
		return e.appendReflect(rv, depth, false)
	}
	return nil
}

func (e *encState) appendMap(m map[string]any, depth int) error {
	if m == nil {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	var small [16]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	e.buf = append(e.buf, '{')
	for i, k := range keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendString(e.buf, k)
		e.buf = append(e.buf, ':')
		if err := e.appendAny(m[k], depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// sortStrings is an insertion sort for the common small map, falling back to a simple shell sort; it avoids the
// closure and interface allocations of sort.Strings on the hot path.
func sortStrings(a []string) {
	for gap := len(a) / 2; gap > 0; gap /= 2 {
		if gap < 4 {
			gap = 1
		}
		for i := gap; i < len(a); i++ {
			for j := i; j >= gap && a[j] < a[j-gap]; j -= gap {
				a[j], a[j-gap] = a[j-gap], a[j]
			}
		}
		if gap == 1 {
			break
		}
	}
}

// sonic appends v encoded by sonic and normalizes the output to JSON.stringify's bytes.
func (e *encState) sonic(v any) error {
	start := len(e.buf)
	buf := e.buf // a separate variable: only this path pays for the pointer that escapes into sonic
	if err := encoder.EncodeInto(&buf, v, sonicOpts); err != nil {
		return err
	}
	buf, err := fixSonic(buf, start)
	if err != nil {
		return err
	}
	e.buf = buf
	return nil
}

// badControl reports whether JSON text holds a raw control character inside a string, or one other than JSON
// whitespace outside strings. It needs no nesting state, so it works at any depth.
func badControl(out []byte) bool {
	inStr := false
	for i := 0; i < len(out); i++ {
		c := out[i]
		switch {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case c < 0x20 && (inStr || !isWS(c)):
			return true
		}
	}
	return false
}

// fixSonic rewrites buf[start:], fresh sonic output, where it differs from JSON.stringify: \u0008 and \u000c become
// \b and \f, and invalid UTF-8 (only possible inside strings) becomes \ufffd per bad byte, as encoding/json does.
// sonic's own strings never contain raw control characters, but its check of json.Marshaler output lets a raw one
// through inside a string (PROTOCOL.md §15.12): that, or any control byte other than whitespace between tokens, is
// ErrInvalidRawJSON.
func fixSonic(buf []byte, start int) ([]byte, error) {
	out := buf[start:]
	for _, c := range out {
		if c < 0x20 {
			if badControl(out) {
				return buf, ErrInvalidRawJSON
			}
			break
		}
	}
	needEsc := bytes.Contains(out, []byte(`\u000`))
	validUTF8 := utf8.Valid(out)
	if !needEsc && validUTF8 {
		return buf, nil
	}
	if needEsc {
		w := 0
		for r := 0; r < len(out); {
			c := out[r]
			if c == '\\' && r+1 < len(out) {
				if out[r+1] == 'u' && r+6 <= len(out) && string(out[r+2:r+5]) == "000" && (out[r+5] == '8' || out[r+5] == 'c') {
					out[w], out[w+1] = '\\', 'b'
					if out[r+5] == 'c' {
						out[w+1] = 'f'
					}
					w, r = w+2, r+6
					continue
				}
				out[w], out[w+1] = c, out[r+1] // any other escape: copy both bytes, so `\\u0008` stays intact
				w, r = w+2, r+2
				continue
			}
			out[w] = c
			w, r = w+1, r+1
		}
		buf = buf[:start+w]
		out = buf[start:]
	}
	if !validUTF8 {
		var fixed []byte
		for i := 0; i < len(out); {
			r, size := utf8.DecodeRune(out[i:])
			if r == utf8.RuneError && size == 1 {
				fixed = append(fixed, `\ufffd`...)
			} else {
				fixed = append(fixed, out[i:i+size]...)
			}
			i += size
		}
		buf = append(buf[:start], fixed...)
	}
	return buf, nil
}
