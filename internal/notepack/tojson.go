package notepack

import "strconv"

// ToJSON reads the first msgpack value in mp and appends to dst the JSON socket.io-parser writes for the value
// notepack.io decodes, as a Node server does when it delivers a packet that came from the cluster:
// JSON.stringify of the value after deconstructPacket replaced each binary value (a bin, or a legacy ArrayBuffer
// extension) with {"_placeholder":true,"num":N}, N counting from len(attachments) in document order; the binary
// values are appended to attachments and returned as atts. n is the number of bytes of mp read.
//
// The JSON is byte-identical to Node's: numbers as JS writes them (integers above 2^53 rounded to a double first,
// NaN and ±Inf as null), strings escaped as JSON.stringify does, Dates as toISOString's string (an Invalid Date
// as null), undefined as null in arrays (and at the top), map entries whose value is undefined left out, keys
// converted as [Decode] does, other extensions as [type, placeholder]. Two differences, both invisible once the
// receiver has parsed the JSON: keys keep their msgpack order where JS would list array-index keys first, and a
// repeated key is written each time (JSON.parse keeps the last, as notepack.io's decoder does) unless its last
// value is undefined.
//
// The returned attachments alias mp: copy them to keep them past mp's lifetime. On error dst and attachments are
// returned with their original lengths. Errors are [Decode]'s. It allocates nothing when dst and attachments have
// room, except for a map key that is not a string.
func ToJSON(dst []byte, mp []byte, attachments [][]byte) (json []byte, atts [][]byte, n int, err error) {
	w := jsonWriter{d: decoder{b: mp}, dst: dst, atts: attachments}
	if err := w.value(); err != nil {
		return dst, attachments, 0, err
	}
	return w.dst, w.atts, w.d.i, nil
}

type jsonWriter struct {
	d    decoder
	dst  []byte
	atts [][]byte
}

func (w *jsonWriter) placeholder(data []byte) {
	w.dst = append(w.dst, `{"_placeholder":true,"num":`...)
	w.dst = strconv.AppendInt(w.dst, int64(len(w.atts)), 10)
	w.dst = append(w.dst, '}')
	w.atts = append(w.atts, data)
}

func (w *jsonWriter) value() error {
	d := &w.d
	if d.i < len(d.b) { // fast paths for the commonest formats
		switch c := d.b[d.i]; {
		case c < 0x80:
			w.dst = strconv.AppendUint(w.dst, uint64(c), 10)
			d.i++
			return nil
		case c >= 0xa0 && c < 0xc0:
			if n := int(c & 0x1f); n < len(d.b)-d.i {
				w.dst = appendQuoted(w.dst, d.b[d.i+1:d.i+1+n])
				d.i += 1 + n
				return nil
			}
		}
	}
	h, err := readHead(d.b, d.i)
	if err != nil {
		return err
	}
	d.i = h.next
	switch h.kind {
	case KindNil:
		w.dst = append(w.dst, "null"...)
	case KindBool:
		if h.i == 1 {
			w.dst = append(w.dst, "true"...)
		} else {
			w.dst = append(w.dst, "false"...)
		}
	case KindInt:
		if !h.big && -1<<53 <= h.i && h.i <= 1<<53 {
			w.dst = strconv.AppendInt(w.dst, h.i, 10)
		} else {
			w.dst = appendJSNumber(w.dst, h.jsFloat())
		}
	case KindFloat:
		if h.f-h.f != 0 { // NaN, ±Inf
			w.dst = append(w.dst, "null"...)
		} else {
			w.dst = appendJSNumber(w.dst, h.f)
		}
	case KindString:
		w.dst = appendQuoted(w.dst, d.b[d.i:d.i+h.n])
		d.i += h.n
	case KindBinary:
		w.placeholder(d.b[d.i : d.i+h.n])
		d.i += h.n
	case KindExt:
		data := d.b[d.i : d.i+h.n]
		d.i += h.n
		switch extClass(h.fmt, h.ext) {
		case extUndefined:
			w.dst = append(w.dst, "null"...)
		case extArrayBuffer:
			w.placeholder(data)
		case extDate:
			if ms, ok := dateMs(h.fmt, h.ext, data); ok {
				w.dst = append(w.dst, '"')
				w.dst = appendISODate(w.dst, ms)
				w.dst = append(w.dst, '"')
			} else {
				w.dst = append(w.dst, "null"...)
			}
		default:
			w.dst = append(w.dst, '[')
			w.dst = strconv.AppendInt(w.dst, int64(h.ext), 10)
			w.dst = append(w.dst, ',')
			w.placeholder(data)
			w.dst = append(w.dst, ']')
		}
	case KindArray:
		if d.depth >= MaxDepth {
			return ErrTooDeep
		}
		d.depth++
		w.dst = append(w.dst, '[')
		for k := range h.n {
			if k > 0 {
				w.dst = append(w.dst, ',')
			}
			if err := w.value(); err != nil {
				return err
			}
		}
		w.dst = append(w.dst, ']')
		d.depth--
	case KindMap:
		if d.depth >= MaxDepth {
			return ErrTooDeep
		}
		d.depth++
		w.dst = append(w.dst, '{')
		first := true
		for range h.n {
			var key []byte
			if d.i < len(d.b) && isStrFormat(d.b[d.i]) {
				kh, err := readHead(d.b, d.i)
				if err != nil {
					return err
				}
				key = d.b[kh.next : kh.next+kh.n]
				d.i = kh.next + kh.n
			} else {
				d.inKey++
				v, err := d.value()
				d.inKey--
				if err != nil {
					return err
				}
				key = appendJSString(nil, v, false)
			}
			// An undefined value: JSON.stringify leaves the entry out.
			if vh, err := readHead(d.b, d.i); err == nil && vh.kind == KindExt && extClass(vh.fmt, vh.ext) == extUndefined {
				d.i = vh.next + vh.n
				continue
			}
			if !first {
				w.dst = append(w.dst, ',')
			}
			first = false
			w.dst = appendQuoted(w.dst, key)
			w.dst = append(w.dst, ':')
			if err := w.value(); err != nil {
				return err
			}
		}
		w.dst = append(w.dst, '}')
		d.depth--
	}
	return nil
}
