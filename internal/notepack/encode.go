package notepack

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"
)

// The appenders write one msgpack value in the format notepack.io 3.0.1 chooses for the equivalent JS value and
// return the extended slice. They never fail and allocate only when dst lacks capacity. Lengths must be below 2^32
// (msgpack's limit): past it they panic, as for any other programming error; [Append] and [AppendJSON] check
// instead and return [ErrTooLarge].

// AppendNil appends nil (0xc0), what notepack.io writes for null and undefined.
func AppendNil(dst []byte) []byte { return append(dst, 0xc0) }

// AppendBool appends false (0xc2) or true (0xc3).
func AppendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 0xc3)
	}
	return append(dst, 0xc2)
}

// AppendInt appends v in the smallest format notepack.io uses for it: a non-negative v as positive fixint,
// uint 8, 16, 32 or 64 (never int 8..64), a negative one as negative fixint, int 8, 16, 32 or 64. A JS peer
// decodes a magnitude above 2^53 into the nearest double.
func AppendInt(dst []byte, v int64) []byte {
	switch {
	case v >= 0:
		return AppendUint(dst, uint64(v))
	case v >= -32:
		return append(dst, byte(v))
	case v >= math.MinInt8:
		return append(dst, 0xd0, byte(v))
	case v >= math.MinInt16:
		return append(dst, 0xd1, byte(v>>8), byte(v))
	case v >= math.MinInt32:
		return append(dst, 0xd2, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return append(dst, 0xd3, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// AppendUint appends v as positive fixint, uint 8, 16, 32 or 64, the smallest that holds it.
func AppendUint(dst []byte, v uint64) []byte {
	switch {
	case v < 0x80:
		return append(dst, byte(v))
	case v < 0x100:
		return append(dst, 0xcc, byte(v))
	case v < 0x10000:
		return append(dst, 0xcd, byte(v>>8), byte(v))
	case v < 0x100000000:
		return append(dst, 0xce, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return append(dst, 0xcf, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// AppendFloat appends v as notepack.io encodes the JS number v: an integral value as an integer ([AppendUint] for
// v >= 0, so -0 is 0x00; [AppendInt] for v < 0), anything else as float 64 (never float 32), NaN as the
// canonical 0x7ff8000000000000 that V8 writes.
//
// One deliberate difference: notepack.io also writes integral values outside [-2^63, 2^64) as 64-bit integers,
// wrapping them modulo 2^64 (1e20 becomes 7766279631452241920, 2^64 and 1e300 become 0). We write those as
// float 64, so that a JS peer decodes the number we meant.
func AppendFloat(dst []byte, v float64) []byte {
	if v == math.Trunc(v) && v >= -(1<<63) && v < 1<<64 { // false for NaN and ±Inf
		if v >= 0 {
			return AppendUint(dst, uint64(v))
		}
		return AppendInt(dst, int64(v))
	}
	b := math.Float64bits(v)
	if v != v {
		b = 0x7ff8000000000000
	}
	return append(dst, 0xcb, byte(b>>56), byte(b>>48), byte(b>>40), byte(b>>32), byte(b>>24), byte(b>>16), byte(b>>8), byte(b))
}

// appendLen appends a header of the family whose smallest non-fix format byte is f8 (with f8+1 for 16 bits and
// f8+2 for 32) or, when n < fixMax, the fix format fix|n. f8 == 0 means the family has no 8-bit form.
func appendLen(dst []byte, n int, fix byte, fixMax int, f8 byte, f16 byte) []byte {
	switch {
	case n < 0 || uint64(n) > math.MaxUint32:
		panic("notepack: length out of range (must be 0..2^32-1)")
	case n < fixMax:
		return append(dst, fix|byte(n))
	case f8 != 0 && n < 0x100:
		return append(dst, f8, byte(n))
	case n < 0x10000:
		return append(dst, f16, byte(n>>8), byte(n))
	}
	return append(dst, f16+1, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// AppendStringHeader appends the header of a string of n bytes (fixstr, str 8, 16 or 32); the n bytes of UTF-8
// must follow.
func AppendStringHeader(dst []byte, n int) []byte { return appendLen(dst, n, 0xa0, 32, 0xd9, 0xda) }

// AppendString appends s as a msgpack string: fixstr, str 8, 16 or 32 by its length in bytes, then the bytes
// unchanged. s should be valid UTF-8: a JS peer decodes invalid sequences into U+FFFD, as [Decode] does.
func AppendString(dst []byte, s string) []byte {
	return append(AppendStringHeader(dst, len(s)), s...)
}

// AppendBytes appends b as bin 8, 16 or 32 (notepack.io has no smaller form, even for an empty Buffer): a JS peer
// decodes it into a Buffer. b may be nil (an empty Buffer).
func AppendBytes(dst []byte, b []byte) []byte {
	return append(appendLen(dst, len(b), 0xc4, 0, 0xc4, 0xc5), b...)
}

// AppendArrayHeader appends the header of an array of n elements (fixarray, array 16 or 32); the n elements must
// follow.
func AppendArrayHeader(dst []byte, n int) []byte { return appendLen(dst, n, 0x90, 16, 0, 0xdc) }

// AppendMapHeader appends the header of a map of n entries (fixmap, map 16 or 32); n keys and values, alternating,
// must follow. notepack.io writes JS objects as maps with string keys.
func AppendMapHeader(dst []byte, n int) []byte { return appendLen(dst, n, 0x80, 16, 0, 0xde) }

// AppendTime appends t as notepack.io encodes a JS Date, which holds whole milliseconds (t is truncated to them):
// timestamp 32 (fixext 4, type -1) for whole seconds in [0, 2^32), timestamp 64 (fixext 8) for seconds in
// [0, 2^34), timestamp 96 (ext 8) otherwise. A JS peer decodes a Date; one outside the ±8.64e15 ms a Date can
// hold is an Invalid Date there (and nil in [Decode]).
func AppendTime(dst []byte, t time.Time) []byte {
	s := t.Unix()
	ns := uint32(t.Nanosecond() / 1e6 * 1e6)
	switch {
	case s >= 0 && s <= 1<<32-1 && ns == 0:
		return append(dst, 0xd6, 0xff, byte(s>>24), byte(s>>16), byte(s>>8), byte(s))
	case s >= 0 && s <= 1<<34-1:
		hi := ns<<2 | uint32(s>>32)
		return append(dst, 0xd7, 0xff, byte(hi>>24), byte(hi>>16), byte(hi>>8), byte(hi),
			byte(s>>24), byte(s>>16), byte(s>>8), byte(s))
	}
	return append(dst, 0xc7, 12, 0xff, byte(ns>>24), byte(ns>>16), byte(ns>>8), byte(ns),
		byte(s>>56), byte(s>>48), byte(s>>40), byte(s>>32), byte(s>>24), byte(s>>16), byte(s>>8), byte(s))
}

// Append appends the msgpack encoding of a Go value, as notepack.io encodes the JS value a Node peer would hold:
//
//   - nil: nil; bool; every int, uint and float kind: [AppendInt], [AppendUint], [AppendFloat] (float32 widened);
//   - string: [AppendString]; []byte: [AppendBytes] (a Buffer); time.Time: [AppendTime] (a Date);
//   - []any, []string: arrays; map[string]any, map[string]string: maps, keys in the order a JS object built from
//     them enumerates when its non-index keys were inserted in sorted order: array-index keys ("0", "1", ...,
//     "4294967294") first in numeric order, then the rest in byte order;
//   - json.Number and json.RawMessage: through [AppendJSON] (without attachments);
//   - anything else: encoding/json's Marshal, then [AppendJSON]. This is JSON's view of the value: []byte fields
//     become base64 strings, times RFC 3339 strings; put a []byte or time.Time in a map[string]any or []any to get a
//     Buffer or a Date.
//
// Nesting deeper than [MaxDepth] (a slice holding itself, say) is [ErrTooDeep]; strings, byte slices, arrays and
// maps of 2^32 or more are [ErrTooLarge]. On error the returned slice is dst with its original length. Allocates
// only to sort map keys, for the encoding/json fallback, and when dst lacks capacity.
func Append(dst []byte, v any) ([]byte, error) {
	out, err := appendAny(dst, v, 0)
	if err != nil {
		return dst, err
	}
	return out, nil
}

func appendAny(dst []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return AppendNil(dst), nil
	case bool:
		return AppendBool(dst, x), nil
	case int:
		return AppendInt(dst, int64(x)), nil
	case int8:
		return AppendInt(dst, int64(x)), nil
	case int16:
		return AppendInt(dst, int64(x)), nil
	case int32:
		return AppendInt(dst, int64(x)), nil
	case int64:
		return AppendInt(dst, x), nil
	case uint:
		return AppendUint(dst, uint64(x)), nil
	case uint8:
		return AppendUint(dst, uint64(x)), nil
	case uint16:
		return AppendUint(dst, uint64(x)), nil
	case uint32:
		return AppendUint(dst, uint64(x)), nil
	case uint64:
		return AppendUint(dst, x), nil
	case uintptr:
		return AppendUint(dst, uint64(x)), nil
	case float32:
		return AppendFloat(dst, float64(x)), nil
	case float64:
		return AppendFloat(dst, x), nil
	case string:
		if uint64(len(x)) > math.MaxUint32 {
			return dst, ErrTooLarge
		}
		return AppendString(dst, x), nil
	case []byte:
		if uint64(len(x)) > math.MaxUint32 {
			return dst, ErrTooLarge
		}
		return AppendBytes(dst, x), nil
	case time.Time:
		return AppendTime(dst, x), nil
	case json.Number:
		return appendJSON(dst, []byte(x), nil, depth)
	case json.RawMessage:
		return appendJSON(dst, x, nil, depth)
	case []any:
		if depth >= MaxDepth {
			return dst, ErrTooDeep
		}
		if uint64(len(x)) > math.MaxUint32 {
			return dst, ErrTooLarge
		}
		dst = AppendArrayHeader(dst, len(x))
		for _, e := range x {
			var err error
			if dst, err = appendAny(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case []string:
		if depth >= MaxDepth {
			return dst, ErrTooDeep
		}
		if uint64(len(x)) > math.MaxUint32 {
			return dst, ErrTooLarge
		}
		dst = AppendArrayHeader(dst, len(x))
		for _, e := range x {
			if uint64(len(e)) > math.MaxUint32 {
				return dst, ErrTooLarge
			}
			dst = AppendString(dst, e)
		}
		return dst, nil
	case map[string]any:
		if depth >= MaxDepth {
			return dst, ErrTooDeep
		}
		keys := sortedKeys(x)
		dst = AppendMapHeader(dst, len(keys))
		for _, k := range keys {
			if uint64(len(k)) > math.MaxUint32 {
				return dst, ErrTooLarge
			}
			dst = AppendString(dst, k)
			var err error
			if dst, err = appendAny(dst, x[k], depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case map[string]string:
		if depth >= MaxDepth {
			return dst, ErrTooDeep
		}
		keys := sortedKeys(x)
		dst = AppendMapHeader(dst, len(keys))
		for _, k := range keys {
			if uint64(len(k)) > math.MaxUint32 || uint64(len(x[k])) > math.MaxUint32 {
				return dst, ErrTooLarge
			}
			dst = AppendString(AppendString(dst, k), x[k])
		}
		return dst, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return appendJSON(dst, b, nil, depth)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	return keys
}

// compareKeys orders object keys as JS enumerates them (ECMA-262 OrdinaryOwnPropertyKeys): array indexes first,
// numerically; the other keys in insertion order, for which we take byte order.
func compareKeys(a, b string) int {
	ia, aok := arrayIndex(a)
	ib, bok := arrayIndex(b)
	switch {
	case aok && bok:
		return cmp.Compare(ia, ib)
	case aok:
		return -1
	case bok:
		return 1
	}
	return strings.Compare(a, b)
}

// arrayIndex reports whether k is an array index: the canonical decimal form of an integer in 0..2^32-2.
func arrayIndex(k string) (uint64, bool) {
	if len(k) == 0 || len(k) > 10 || len(k) > 1 && k[0] == '0' {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, v <= 1<<32-2
}
