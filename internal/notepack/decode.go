package notepack

import "time"

// Decode decodes the first msgpack value in b into the Go value corresponding to what notepack.io 3.0.1 decodes
// it into, and returns it with the number of bytes it took (b may continue; notepack.io's decode would throw
// "trailing bytes", so check n == len(b) when that matters):
//
//   - nil: nil; false, true: bool;
//   - integers: int64, or uint64 for those above math.MaxInt64. They are exact, where JS rounds magnitudes above
//     2^53 to the nearest double;
//   - float 32 and 64: float64 (NaN, ±Inf and -0 included);
//   - strings: string, invalid UTF-8 replaced by U+FFFD as Node's decoder (WHATWG) does it;
//   - bin: []byte (a Buffer in JS), a copy;
//   - arrays: []any; maps: map[string]any, last duplicate key winning. Keys that are not strings become the
//     string JS makes of them when it uses a value as a property key: 1 -> "1", 1.5 -> "1.5", 1e21 -> "1e+21",
//     nil -> "null", true -> "true", a bin -> its UTF-8 text, an array -> its elements joined with "," (nil as ""),
//     a map -> "[object Object]", a Date -> its toString in UTC ("Thu Jan 01 1970 00:00:00 GMT+0000
//     (Coordinated Universal Time)"; Node would use its own time zone);
//   - extensions, as notepack.io reads them: fixext 1 of type 0 is undefined: nil in an array or at the top, and a
//     map entry whose value is undefined is left out (as a JS object enumerates it to notepack.io or
//     JSON.stringify); timestamps 32/64/96 (type -1) and the legacy fixext 8 of type 0 are Dates: time.Time in UTC
//     at millisecond precision (a JS Date's), or nil when out of a Date's range (an Invalid Date, which JSON
//     writes as null); ext 8/16/32 of type 0 (a legacy ArrayBuffer): []byte; any other extension: []any{int64(type),
//     []byte(data)}, the [type, Buffer] pair notepack.io returns.
//
// Differences from JS that Go cannot avoid: a "__proto__" key is an ordinary key (JS would set the prototype),
// and maps are unordered.
//
// Errors: [ErrTruncated], [ErrFormat], [ErrTimestamp], [ErrTooDeep]. No length is trusted before it is checked
// against the input, so a few bytes claiming a huge array allocate nothing.
func Decode(b []byte) (v any, n int, err error) {
	d := decoder{b: b}
	v, err = d.value()
	if err != nil {
		return nil, 0, err
	}
	return d.public(v), d.i, nil
}

type decoder struct {
	b     []byte
	i     int
	depth int
	inKey int  // > 0 while decoding a non-string map key: keep the JS-only markers below
	dup   bool // a map repeated a key (tests: ToJSON and Decode then differ in harmless ways)
}

// Markers for JS values Decode has no Go value for. They only live while a key is converted to a string.
type (
	undefinedT   struct{}
	invalidDateT struct{}
	arrayBufferT []byte
)

// public maps a marker to the Go value Decode returns.
func (d *decoder) public(v any) any {
	if d.inKey > 0 {
		return v
	}
	switch x := v.(type) {
	case undefinedT, invalidDateT:
		return nil
	case arrayBufferT:
		return []byte(x)
	}
	return v
}

func (d *decoder) value() (any, error) {
	h, err := readHead(d.b, d.i)
	if err != nil {
		return nil, err
	}
	d.i = h.next
	switch h.kind {
	case KindNil:
		return nil, nil
	case KindBool:
		return h.i == 1, nil
	case KindInt:
		if h.big {
			return h.u, nil
		}
		return h.i, nil
	case KindFloat:
		return h.f, nil
	case KindString:
		s := d.b[d.i : d.i+h.n]
		d.i += h.n
		return jsString(s), nil
	case KindBinary:
		s := d.b[d.i : d.i+h.n]
		d.i += h.n
		return append([]byte{}, s...), nil
	case KindExt:
		data := d.b[d.i : d.i+h.n]
		d.i += h.n
		return extValue(h.fmt, h.ext, data), nil
	case KindArray:
		if d.depth >= MaxDepth {
			return nil, ErrTooDeep
		}
		d.depth++
		a := make([]any, h.n)
		for k := range a {
			v, err := d.value()
			if err != nil {
				return nil, err
			}
			a[k] = d.public(v)
		}
		d.depth--
		return a, nil
	}
	// KindMap
	if d.depth >= MaxDepth {
		return nil, ErrTooDeep
	}
	d.depth++
	// The hint is capped: the count is only known to fit the input (2 bytes an entry), and a map costs far more
	// than 2 bytes an entry, so a big claim must not reserve memory before its entries are read.
	m := make(map[string]any, min(h.n, 64))
	for range h.n {
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		_, had := m[k]
		d.dup = d.dup || had
		if _, undef := v.(undefinedT); undef {
			delete(m, k)
			continue
		}
		m[k] = d.public(v)
	}
	d.depth--
	return m, nil
}

func extValue(format byte, typ int8, data []byte) any {
	switch extClass(format, typ) {
	case extUndefined:
		return undefinedT{}
	case extArrayBuffer:
		return arrayBufferT(append([]byte{}, data...))
	case extDate:
		ms, ok := dateMs(format, typ, data)
		if !ok {
			return invalidDateT{}
		}
		return time.UnixMilli(ms).UTC()
	}
	return []any{int64(typ), append([]byte{}, data...)}
}

// isStrFormat reports whether c starts a string.
func isStrFormat(c byte) bool { return 0xa0 <= c && c <= 0xbf || 0xd9 <= c && c <= 0xdb }

// key decodes a map key into the property key JS makes of it.
func (d *decoder) key() (string, error) {
	if d.i < len(d.b) && isStrFormat(d.b[d.i]) {
		h, err := readHead(d.b, d.i)
		if err != nil {
			return "", err
		}
		d.i = h.next + h.n
		return jsString(d.b[h.next:d.i]), nil
	}
	d.inKey++
	v, err := d.value()
	d.inKey--
	if err != nil {
		return "", err
	}
	return string(appendJSString(nil, v, false)), nil
}

// appendJSString appends JS's ToString of a decoded value (markers included); elem is for an element of an
// array being joined, where null and undefined are empty.
func appendJSString(dst []byte, v any, elem bool) []byte {
	switch x := v.(type) {
	case nil:
		if !elem {
			dst = append(dst, "null"...)
		}
	case undefinedT:
		if !elem {
			dst = append(dst, "undefined"...)
		}
	case bool:
		if x {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case int64:
		return appendJSNumber(dst, float64(x))
	case uint64:
		return appendJSNumber(dst, float64(x))
	case float64:
		return appendJSNumber(dst, x)
	case string:
		return append(dst, x...)
	case []byte: // Buffer#toString
		return appendUTF8(dst, x)
	case arrayBufferT:
		return append(dst, "[object ArrayBuffer]"...)
	case time.Time:
		return appendDateString(dst, x.UnixMilli())
	case invalidDateT:
		return append(dst, "Invalid Date"...)
	case []any: // Array#join(",")
		for k, e := range x {
			if k > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSString(dst, e, true)
		}
	case map[string]any:
		return append(dst, "[object Object]"...)
	}
	return dst
}
