package notepack

// Reader walks msgpack values in a byte slice without building them, for messages whose shape the caller knows
// (a cluster message: an array of uid, packet, options...). Every method either reads a whole value and advances
// past it, or returns an error and leaves the position unchanged. Slices it returns alias the input, which must
// stay unchanged while they are used. The zero Reader reads nothing; NewReader and Reset set the input. A Reader
// is not safe for concurrent use. Nothing allocates except ReadString's result and ReadValue.
type Reader struct {
	b []byte
	i int
}

// NewReader returns a Reader of b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Reset makes r read b from its start.
func (r *Reader) Reset(b []byte) { r.b, r.i = b, 0 }

// Len returns the number of bytes not read yet.
func (r *Reader) Len() int { return len(r.b) - r.i }

// Rest returns the bytes not read yet (aliasing the input).
func (r *Reader) Rest() []byte { return r.b[r.i:] }

// PeekKind returns the kind of the next value without reading it: KindInvalid at the end of the input, before
// 0xc1, or when the header is truncated or its length cannot fit in the input.
func (r *Reader) PeekKind() Kind {
	h, err := readHead(r.b, r.i)
	if err != nil {
		return KindInvalid
	}
	return h.kind
}

func (r *Reader) head(want Kind) (head, error) {
	h, err := readHead(r.b, r.i)
	if err != nil {
		return h, err
	}
	if h.kind != want {
		return h, ErrType
	}
	return h, nil
}

// ReadNil reads a nil, or an undefined (fixext 1 of type 0, which JS peers treat alike), and reports true; for
// anything else it reads nothing and reports false.
func (r *Reader) ReadNil() bool {
	h, err := readHead(r.b, r.i)
	switch {
	case err != nil:
		return false
	case h.kind == KindNil:
		r.i = h.next
		return true
	case h.kind == KindExt && extClass(h.fmt, h.ext) == extUndefined:
		r.i = h.next + h.n
		return true
	}
	return false
}

// ReadBool reads a bool.
func (r *Reader) ReadBool() (bool, error) {
	h, err := r.head(KindBool)
	if err != nil {
		return false, err
	}
	r.i = h.next
	return h.i == 1, nil
}

// ReadInt reads an integer in any integer format; one above math.MaxInt64 is [ErrOverflow]. Floats are
// [ErrType], even integral ones (notepack.io writes every integral number in an integer format).
func (r *Reader) ReadInt() (int64, error) {
	h, err := r.head(KindInt)
	if err != nil {
		return 0, err
	}
	if h.big {
		return 0, ErrOverflow
	}
	r.i = h.next
	return h.i, nil
}

// ReadFloat reads any number as the float64 a JS peer sees (an integer above 2^53 rounded to the nearest double).
func (r *Reader) ReadFloat() (float64, error) {
	h, err := readHead(r.b, r.i)
	if err != nil {
		return 0, err
	}
	if h.kind != KindInt && h.kind != KindFloat {
		return 0, ErrType
	}
	r.i = h.next
	return h.jsFloat(), nil
}

// ReadStringBytes reads a string and returns its bytes as they are in the input (not checked as UTF-8).
func (r *Reader) ReadStringBytes() ([]byte, error) {
	h, err := r.head(KindString)
	if err != nil {
		return nil, err
	}
	r.i = h.next + h.n
	return r.b[h.next:r.i], nil
}

// ReadString reads a string, decoded as [Decode] does (invalid UTF-8 becomes U+FFFD). It allocates the string.
func (r *Reader) ReadString() (string, error) {
	b, err := r.ReadStringBytes()
	if err != nil {
		return "", err
	}
	return jsString(b), nil
}

// ReadBytes reads a bin, or the legacy ArrayBuffer extension (ext 8/16/32 of type 0), and returns its bytes
// (aliasing the input).
func (r *Reader) ReadBytes() ([]byte, error) {
	h, err := readHead(r.b, r.i)
	if err != nil {
		return nil, err
	}
	if h.kind != KindBinary && !(h.kind == KindExt && extClass(h.fmt, h.ext) == extArrayBuffer) {
		return nil, ErrType
	}
	r.i = h.next + h.n
	return r.b[h.next:r.i], nil
}

// ReadArrayHeader reads an array header and returns the element count, which the caller then reads (the input
// has at least that many bytes left).
func (r *Reader) ReadArrayHeader() (int, error) {
	h, err := r.head(KindArray)
	if err != nil {
		return 0, err
	}
	r.i = h.next
	return h.n, nil
}

// ReadMapHeader reads a map header and returns the entry count; the caller then reads that many keys and values,
// alternating.
func (r *Reader) ReadMapHeader() (int, error) {
	h, err := r.head(KindMap)
	if err != nil {
		return 0, err
	}
	r.i = h.next
	return h.n, nil
}

// ReadValue reads the next value with [Decode].
func (r *Reader) ReadValue() (any, error) {
	v, n, err := Decode(r.b[r.i:])
	if err != nil {
		return nil, err
	}
	r.i += n
	return v, nil
}

// Skip reads the next value, checking it as [Decode] would, without building it.
func (r *Reader) Skip() error {
	end, err := skip(r.b, r.i, 0)
	if err != nil {
		return err
	}
	r.i = end
	return nil
}

// Raw reads the next value, checked as by Skip, and returns its encoding (aliasing the input).
func (r *Reader) Raw() ([]byte, error) {
	start := r.i
	if err := r.Skip(); err != nil {
		return nil, err
	}
	return r.b[start:r.i], nil
}

// skip returns the end of the value at b[i]. It fails exactly when Decode would.
func skip(b []byte, i, depth int) (int, error) {
	h, err := readHead(b, i)
	if err != nil {
		return 0, err
	}
	switch h.kind {
	case KindString, KindBinary, KindExt:
		return h.next + h.n, nil
	case KindArray, KindMap:
		if depth >= MaxDepth {
			return 0, ErrTooDeep
		}
		n := h.n
		if h.kind == KindMap {
			n *= 2
		}
		i = h.next
		for range n {
			if i, err = skip(b, i, depth+1); err != nil {
				return 0, err
			}
		}
		return i, nil
	}
	return h.next, nil
}
