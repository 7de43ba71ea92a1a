package notepack

import (
	"encoding/binary"
	"math"
)

// MaxDepth is how deeply arrays and maps may nest in what [Decode], [ToJSON], [Reader.Skip] and [Append] accept,
// and JSON arrays and objects in what [AppendJSON] accepts; deeper input is [ErrTooDeep]. notepack.io has no limit.
// 512 leaves room above the 256 levels the codec package can be configured to accept in a packet's data, plus the
// few levels of a cluster message around it, so anything a Riptide node accepts from a client can cross the
// cluster.
const MaxDepth = 512

// Kind is the kind of the next value, as [Reader.PeekKind] reports it.
type Kind uint8

// The kinds of msgpack values.
const (
	KindInvalid Kind = iota // no value: the input is empty, truncated or starts with 0xc1
	KindNil                 // nil (0xc0)
	KindBool                // false, true
	KindInt                 // every integer format: fixint, uint 8..64, int 8..64
	KindFloat               // float 32, float 64
	KindString              // fixstr, str 8..32
	KindBinary              // bin 8..32 (a Node Buffer)
	KindArray               // fixarray, array 16, array 32
	KindMap                 // fixmap, map 16, map 32
	KindExt                 // fixext, ext 8..32: undefined, Date, ArrayBuffer or an application type
)

var kindNames = [...]string{"invalid", "nil", "bool", "int", "float", "string", "binary", "array", "map", "ext"}

// String returns the kind's lower-case name ("int", "map", ...).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "invalid"
}

// head is one decoded format header. For strings, binaries and extensions the n data bytes start at next; for
// arrays and maps the n elements (2n values for a map) do. readHead has checked that they can fit.
type head struct {
	kind Kind
	fmt  byte  // the format byte
	ext  int8  // extension type
	big  bool  // an unsigned integer above MaxInt64, in u
	n    int   // data length, element or entry count
	i    int64 // integer value; bool: 0 or 1
	u    uint64
	f    float64
	next int
}

// readHead reads the format header at b[i]. Every length is checked against the rest of the input before anyone
// can allocate for it: n data bytes must be present; n array elements and n map entries need at least n and 2n
// bytes.
func readHead(b []byte, i int) (h head, err error) {
	if i >= len(b) {
		return h, ErrTruncated
	}
	c := b[i]
	h.fmt = c
	i++
	rem := len(b) - i
	var n uint64
	switch {
	case c < 0x80:
		h.kind, h.i = KindInt, int64(c)
		h.next = i
		return h, nil
	case c < 0x90:
		h.kind, n = KindMap, uint64(c&0x0f)
	case c < 0xa0:
		h.kind, n = KindArray, uint64(c&0x0f)
	case c < 0xc0:
		h.kind, n = KindString, uint64(c&0x1f)
	case c >= 0xe0:
		h.kind, h.i = KindInt, int64(int8(c))
		h.next = i
		return h, nil
	default:
		// size of the fixed part after the format byte
		var w int
		switch c {
		case 0xc0:
			h.kind = KindNil
		case 0xc1:
			return h, ErrFormat
		case 0xc2, 0xc3:
			h.kind, h.i = KindBool, int64(c&1)
		case 0xc4, 0xc5, 0xc6:
			h.kind, w = KindBinary, 1<<(c-0xc4)
		case 0xc7, 0xc8, 0xc9:
			h.kind, w = KindExt, 1<<(c-0xc7)+1
		case 0xca:
			h.kind, w = KindFloat, 4
		case 0xcb:
			h.kind, w = KindFloat, 8
		case 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3:
			h.kind, w = KindInt, 1<<((c-0xcc)&3)
		case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
			h.kind, w = KindExt, 1
			n = 1 << (c - 0xd4)
		case 0xd9, 0xda, 0xdb:
			h.kind, w = KindString, 1<<(c-0xd9)
		case 0xdc, 0xdd:
			h.kind, w = KindArray, 2<<(c-0xdc)
		case 0xde, 0xdf:
			h.kind, w = KindMap, 2<<(c-0xde)
		}
		if rem < w {
			return h, ErrTruncated
		}
		p := b[i : i+w]
		i += w
		rem -= w
		switch c {
		case 0xc4, 0xd9, 0xcc:
			n = uint64(p[0])
		case 0xc5, 0xda, 0xdc, 0xde, 0xcd:
			n = uint64(binary.BigEndian.Uint16(p))
		case 0xc6, 0xdb, 0xdd, 0xdf, 0xce:
			n = uint64(binary.BigEndian.Uint32(p))
		case 0xc7:
			n, h.ext = uint64(p[0]), int8(p[1])
		case 0xc8:
			n, h.ext = uint64(binary.BigEndian.Uint16(p)), int8(p[2])
		case 0xc9:
			n, h.ext = uint64(binary.BigEndian.Uint32(p)), int8(p[4])
		case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
			h.ext = int8(p[0])
		case 0xca:
			h.f = float64(math.Float32frombits(binary.BigEndian.Uint32(p)))
		case 0xcb:
			h.f = math.Float64frombits(binary.BigEndian.Uint64(p))
		case 0xcf:
			if u := binary.BigEndian.Uint64(p); u > math.MaxInt64 {
				h.big, h.u = true, u
			} else {
				h.i = int64(u)
			}
		case 0xd0:
			h.i = int64(int8(p[0]))
		case 0xd1:
			h.i = int64(int16(binary.BigEndian.Uint16(p)))
		case 0xd2:
			h.i = int64(int32(binary.BigEndian.Uint32(p)))
		case 0xd3:
			h.i = int64(binary.BigEndian.Uint64(p))
		}
		if h.kind == KindInt && c <= 0xce {
			h.i, n = int64(n), 0
		}
	}
	switch h.kind {
	case KindString, KindBinary, KindExt, KindArray:
		if n > uint64(rem) {
			return h, ErrTruncated
		}
	case KindMap:
		if n > uint64(rem)/2 {
			return h, ErrTruncated
		}
	}
	if c == 0xc7 && h.ext == -1 && n != 12 {
		return h, ErrTimestamp
	}
	h.n = int(n)
	h.next = i
	return h, nil
}

// jsFloat is the JS number notepack.io decodes an integer into: it computes hi*2^32 + lo in doubles, which is
// the exact value rounded once to the nearest double, as Go's integer-to-float conversion rounds.
func (h *head) jsFloat() float64 {
	switch h.kind {
	case KindFloat:
		return h.f
	case KindInt:
		if h.big {
			return float64(h.u)
		}
		return float64(h.i)
	}
	return 0
}

// Extension classes, as notepack.io's decoder treats each (format, type) pair.
const (
	extOther       = iota // [type, Buffer]
	extUndefined          // fixext 1, type 0: undefined (a legacy notepack encoding)
	extArrayBuffer        // ext 8/16/32, type 0: an ArrayBuffer (legacy notepack encoding)
	extDate               // timestamp 32/64/96 (type -1) or the legacy fixext 8 type 0 date
)

func extClass(format byte, typ int8) int {
	switch {
	case typ == 0 && format == 0xd4:
		return extUndefined
	case typ == 0 && format >= 0xc7 && format <= 0xc9:
		return extArrayBuffer
	case typ == 0 && format == 0xd7,
		typ == -1 && (format == 0xd6 || format == 0xd7 || format == 0xc7):
		return extDate
	}
	return extOther
}

// maxDateMs is the largest magnitude of a JS Date's time value (ECMA-262 TimeClip).
const maxDateMs = 8.64e15

// dateMs computes the time value of the Date notepack.io decodes an extDate into, exactly as it does in doubles
// (the explicit float64 conversions stop Go from fusing a multiply and an add, which JS never does), then applies
// ECMA-262 TimeClip: ok is false for an Invalid Date (out of range), else ms is the time value, truncated toward
// zero.
func dateMs(format byte, typ int8, d []byte) (ms int64, ok bool) {
	var t float64
	switch {
	case format == 0xd6: // timestamp 32: new Date(sec * 1e3)
		t = float64(binary.BigEndian.Uint32(d)) * 1e3
	case format == 0xd7 && typ == 0: // legacy: new Date(int64 milliseconds)
		t = float64(float64(int32(binary.BigEndian.Uint32(d)))*4294967296) + float64(binary.BigEndian.Uint32(d[4:]))
	case format == 0xd7: // timestamp 64: 30-bit nanoseconds, 34-bit seconds
		hi, lo := binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])
		s := float64(float64(hi&3)*4294967296) + float64(lo)
		t = float64(s*1e3) + float64(hi>>2)/1e6
	default: // timestamp 96: 32-bit nanoseconds, signed 64-bit seconds
		ns := binary.BigEndian.Uint32(d)
		hi, lo := int32(binary.BigEndian.Uint32(d[4:])), binary.BigEndian.Uint32(d[8:])
		s := float64(float64(hi)*4294967296) + float64(lo)
		t = float64(s*1e3) + float64(ns)/1e6
	}
	if !(math.Abs(t) <= maxDateMs) { // NaN too
		return 0, false
	}
	return int64(t), true // int64() truncates toward zero, as TimeClip's ToIntegerOrInfinity does
}
