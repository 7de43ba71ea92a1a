package notepack

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// AppendJSON transcodes one JSON value (RFC 8259, what JSON.parse accepts, optionally surrounded by whitespace)
// straight into msgpack, producing what notepack.io produces for the value JSON.parse returns, and appends it to dst:
//
//   - numbers become the double JSON.parse reads, written by [AppendFloat]: 1, 1.0 and 1e0 are the int 1,
//     -0 is 0, 9007199254740993 is 2^53, 101.25 is a float 64, 1e400 is +Inf; integral values outside
//     [-2^63, 2^64) (1e20, 1e300) are float 64 where notepack.io would wrap them (see [AppendFloat]);
//   - strings are unescaped; an unpaired surrogate escape (\ud800) becomes U+FFFD, as Node's UTF-8 encoder (and
//     notepack.io for strings over 32 UTF-16 units) writes it; invalid UTF-8 bytes become U+FFFD as Node's UTF-8
//     decoder (WHATWG) reads them;
//   - arrays and objects keep their elements and keys in text order, so the bytes equal notepack.io's unless an
//     object repeats a key or has array-index keys ("1") after other keys, which JSON.parse merges or reorders: a
//     JS peer still decodes the same object, since it also keeps the last duplicate.
//
// When attachments is not empty, every object whose "_placeholder" is true (the last one, in any key order, with
// or without other keys) is replaced, as socket.io-parser's reconstructPacket does, by a bin holding
// attachments[num]; num must be a JSON number with an integer value in 0..len(attachments)-1, else
// [ErrPlaceholder], even inside a value that a later duplicate key hides from JSON.parse (the codec package refuses
// such packets too). With no attachments nothing is a placeholder (socket.io-parser only reconstructs binary
// packets).
//
// Invalid JSON is [ErrInvalidJSON]; nesting deeper than [MaxDepth] is [ErrTooDeep]. On error the returned slice
// is dst with its original length (bytes past it may have been written). The work is linear in len(data); it
// allocates nothing when dst has room for the result, except for a number of more than 32 characters or more
// than 16 arrays and objects of 16 or more elements.
func AppendJSON(dst, data []byte, attachments [][]byte) ([]byte, error) {
	return appendJSON(dst, data, attachments, 0)
}

// A container's header size depends on its element count, unknown until its end. Each container gets a one-byte
// header, patched at its end when the count is below 16 (the usual case); bigger ones are listed as fixups and
// their headers widened in one backward pass at the end, so each byte moves at most once (widening each container
// as it ends would move a deeply nested payload once per level).
type fixup struct {
	pos int // offset of the one-byte header in dst
	n   int
	m   bool // map, else array
}

type jsonEnc struct {
	in    []byte
	dst   []byte
	atts  [][]byte
	depth int
	// The fixups: the first ones in fixBuf, all of them in more once there are too many. (A slice of a local
	// array stored in e would move the array to the heap: the recursive methods leak e's contents.)
	fixBuf [16]fixup
	nfix   int
	more   []fixup
	phErr  error // a bad placeholder: reported once the whole text is known to be JSON, as JSON.parse fails first
}

func appendJSON(dst, data []byte, atts [][]byte, depth int) ([]byte, error) {
	e := jsonEnc{in: data, dst: dst, atts: atts, depth: depth}
	i, err := e.value(skipWS(data, 0))
	if err == nil && skipWS(data, i) != len(data) {
		err = ErrInvalidJSON
	}
	if err == nil {
		err = e.phErr
	}
	if err != nil {
		return dst, err
	}
	if e.fixCount() > 0 {
		e.widen()
	}
	return e.dst, nil
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// value transcodes the value at in[i] (no leading whitespace) and returns the offset after it.
func (e *jsonEnc) value(i int) (int, error) {
	if i >= len(e.in) {
		return 0, ErrInvalidJSON
	}
	switch c := e.in[i]; c {
	case '{':
		return e.object(i)
	case '[':
		return e.array(i)
	case '"':
		return e.str(i)
	case 't':
		return e.literal(i, "true", 0xc3)
	case 'f':
		return e.literal(i, "false", 0xc2)
	case 'n':
		return e.literal(i, "null", 0xc0)
	default:
		if c == '-' || '0' <= c && c <= '9' {
			return e.number(i)
		}
	}
	return 0, ErrInvalidJSON
}

func (e *jsonEnc) literal(i int, lit string, b byte) (int, error) {
	if len(e.in)-i < len(lit) || string(e.in[i:i+len(lit)]) != lit {
		return 0, ErrInvalidJSON
	}
	e.dst = append(e.dst, b)
	return i + len(lit), nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// number transcodes a JSON number: the double JSON.parse reads (correctly rounded, as strconv.ParseFloat is),
// written by AppendFloat. Integers of up to 15 digits are exact and skip the float parser.
func (e *jsonEnc) number(i int) (int, error) {
	in := e.in
	start := i
	if in[i] == '-' {
		i++
	}
	digits := i
	switch {
	case i >= len(in) || !isDigit(in[i]):
		return 0, ErrInvalidJSON
	case in[i] == '0':
		i++
	default:
		for i < len(in) && isDigit(in[i]) {
			i++
		}
	}
	intEnd := i
	integer := true
	fracStart, fracEnd := i, i
	if i < len(in) && in[i] == '.' {
		i++
		fracStart = i
		if i >= len(in) || !isDigit(in[i]) {
			return 0, ErrInvalidJSON
		}
		for i < len(in) && isDigit(in[i]) {
			i++
		}
		fracEnd = i
		integer = false
	}
	exp := 0
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		i++
		neg := false
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			neg = in[i] == '-'
			i++
		}
		if i >= len(in) || !isDigit(in[i]) {
			return 0, ErrInvalidJSON
		}
		for i < len(in) && isDigit(in[i]) {
			if exp < 1e6 {
				exp = exp*10 + int(in[i]-'0')
			}
			i++
		}
		if neg {
			exp = -exp
		}
		integer = false
	}
	if integer && intEnd-digits <= 15 {
		var v int64
		for _, c := range in[digits:intEnd] {
			v = v*10 + int64(c-'0')
		}
		if digits > start {
			v = -v
		}
		e.dst = AppendInt(e.dst, v)
		return i, nil
	}
	// A magnitude of 10^309 or more is +-Inf for JSON.parse; settle it here, as strconv allocates its range error.
	if decimalMagnitude(in[digits:intEnd], in[fracStart:fracEnd])+exp >= 310 {
		e.dst = AppendFloat(e.dst, math.Inf(1-2*(digits-start)))
		return i, nil
	}
	f, ok := parseFloat(in[start:i])
	if !ok {
		return 0, ErrInvalidJSON
	}
	e.dst = AppendFloat(e.dst, f)
	return i, nil
}

// decimalMagnitude returns m such that the number int.frac (without exponent) is in [10^(m-1), 10^m), or a very
// negative m for zero.
func decimalMagnitude(intPart, frac []byte) int {
	for k, c := range intPart {
		if c != '0' {
			return len(intPart) - k
		}
	}
	for k, c := range frac {
		if c != '0' {
			return -k
		}
	}
	return -1 << 30
}

// parseFloat parses a validated JSON number. Out-of-range values are ±Inf, as in JSON.parse. The string
// conversion does not allocate for up to 32 bytes (the argument does not escape).
func parseFloat(b []byte) (float64, bool) {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil && !math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func (e *jsonEnc) array(i int) (int, error) {
	if e.depth >= MaxDepth {
		return 0, ErrTooDeep
	}
	e.depth++
	pos := len(e.dst)
	e.dst = append(e.dst, 0x90)
	n := 0
	i = skipWS(e.in, i+1)
	if i < len(e.in) && e.in[i] == ']' {
		e.depth--
		return i + 1, nil
	}
	for {
		var err error
		if i, err = e.value(i); err != nil {
			return 0, err
		}
		n++
		i = skipWS(e.in, i)
		if i >= len(e.in) {
			return 0, ErrInvalidJSON
		}
		if e.in[i] == ']' {
			break
		}
		if e.in[i] != ',' {
			return 0, ErrInvalidJSON
		}
		i = skipWS(e.in, i+1)
	}
	e.depth--
	return i + 1, e.header(pos, n, false)
}

func (e *jsonEnc) object(i int) (int, error) {
	if e.depth >= MaxDepth {
		return 0, ErrTooDeep
	}
	e.depth++
	pos := len(e.dst)
	fixMark, errMark := e.fixCount(), e.phErr
	e.dst = append(e.dst, 0x80)
	n := 0
	// Placeholder detection (attachments only): the last "_placeholder" value and the last "num" token.
	ph, num := false, []byte(nil)
	i = skipWS(e.in, i+1)
	if i < len(e.in) && e.in[i] == '}' {
		e.depth--
		return i + 1, nil
	}
	for {
		if i >= len(e.in) || e.in[i] != '"' {
			return 0, ErrInvalidJSON
		}
		kpos := len(e.dst)
		var err error
		if i, err = e.str(i); err != nil {
			return 0, err
		}
		key := e.dst[kpos:] // header + unescaped key
		isPH := len(e.atts) > 0 && string(key) == "\xac_placeholder"
		isNum := len(e.atts) > 0 && string(key) == "\xa3num"
		i = skipWS(e.in, i)
		if i >= len(e.in) || e.in[i] != ':' {
			return 0, ErrInvalidJSON
		}
		i = skipWS(e.in, i+1)
		vpos, vstart := len(e.dst), i
		if i, err = e.value(i); err != nil {
			return 0, err
		}
		switch {
		case isPH:
			ph = len(e.dst) == vpos+1 && e.dst[vpos] == 0xc3 // the literal true
		case isNum:
			num = nil
			if c := e.in[vstart]; c == '-' || isDigit(c) {
				num = e.in[vstart:i]
			}
		}
		n++
		i = skipWS(e.in, i)
		if i >= len(e.in) {
			return 0, ErrInvalidJSON
		}
		if e.in[i] == '}' {
			break
		}
		if e.in[i] != ',' {
			return 0, ErrInvalidJSON
		}
		i = skipWS(e.in, i+1)
	}
	e.depth--
	if ph {
		// reconstructPacket replaces the object without looking inside: forget what its content did.
		e.dst, e.phErr = e.dst[:pos], errMark
		e.truncFix(fixMark)
		k, ok := placeholderNum(num, len(e.atts))
		switch {
		case !ok:
			e.phErr = ErrPlaceholder
			e.dst = AppendNil(e.dst) // keep going: the rest of the text may not be JSON
		case uint64(len(e.atts[k])) > math.MaxUint32:
			e.phErr = ErrTooLarge
			e.dst = AppendNil(e.dst)
		default:
			e.dst = AppendBytes(e.dst, e.atts[k])
		}
		return i + 1, nil
	}
	return i + 1, e.header(pos, n, true)
}

// placeholderNum validates a placeholder's num token: socket.io-parser wants typeof num === "number" and
// 0 <= num < buffers.length; we also want an integer (buffers[0.5] would be undefined).
func placeholderNum(tok []byte, n int) (int, bool) {
	if tok == nil {
		return 0, false
	}
	if len(tok) == 1 { // the usual 0..9
		k := int(tok[0] - '0')
		return k, k < n
	}
	f, ok := parseFloat(tok)
	if !ok || f != math.Trunc(f) || f < 0 || f >= float64(n) {
		return 0, false
	}
	return int(f), true
}

// header writes the count of the container whose one-byte header is at pos, or lists it for widen.
func (e *jsonEnc) header(pos, n int, isMap bool) error {
	switch {
	case n < 16 && isMap:
		e.dst[pos] = 0x80 | byte(n)
	case n < 16:
		e.dst[pos] = 0x90 | byte(n)
	case uint64(n) > math.MaxUint32:
		return ErrTooLarge
	default:
		e.addFix(fixup{pos, n, isMap})
	}
	return nil
}

func (e *jsonEnc) addFix(f fixup) {
	if e.more == nil && e.nfix < len(e.fixBuf) {
		e.fixBuf[e.nfix] = f
		e.nfix++
		return
	}
	if e.more == nil {
		e.more = append(make([]fixup, 0, 4*len(e.fixBuf)), e.fixBuf[:e.nfix]...)
	}
	e.more = append(e.more, f)
}

func (e *jsonEnc) fixCount() int {
	if e.more != nil {
		return len(e.more)
	}
	return e.nfix
}

func (e *jsonEnc) truncFix(k int) {
	if e.more != nil {
		e.more = e.more[:k]
	} else {
		e.nfix = k
	}
}

// widen writes the headers of the containers listed in e.fix, moving each byte once: the segments between
// headers go right, last first, by the growth of all the headers before them.
func (e *jsonEnc) widen() {
	fx := e.more
	if fx == nil {
		fx = e.fixBuf[:e.nfix]
	}
	slices.SortFunc(fx, func(a, b fixup) int { return cmp.Compare(a.pos, b.pos) })
	grow := 0
	for _, f := range fx {
		grow += headerGrowth(f.n)
	}
	end := len(e.dst)
	e.dst = slices.Grow(e.dst, grow)[:end+grow]
	shift := grow
	for k := len(fx) - 1; k >= 0; k-- {
		f := fx[k]
		copy(e.dst[f.pos+1+shift:end+shift], e.dst[f.pos+1:end])
		shift -= headerGrowth(f.n)
		h := e.dst[f.pos+shift : f.pos+shift]
		if f.m {
			AppendMapHeader(h, f.n)
		} else {
			AppendArrayHeader(h, f.n)
		}
		end = f.pos
	}
}

// headerGrowth is how many bytes the header of a container of n >= 16 elements has beyond one.
func headerGrowth(n int) int {
	if n < 0x10000 {
		return 2
	}
	return 4
}

// strPlain[c] is true for the bytes a JSON string can hold as they are with nothing to check: printable ASCII but
// '"' and '\\'.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str transcodes the JSON string at in[i] (the opening quote) into a msgpack string.
func (e *jsonEnc) str(i int) (int, error) {
	in := e.in
	j := i + 1
	for j < len(in) && strPlain[in[j]] {
		j++
	}
	if j < len(in) && in[j] == '"' { // plain ASCII: copy
		if uint64(j-i-1) > math.MaxUint32 {
			return 0, ErrTooLarge
		}
		e.dst = append(AppendStringHeader(e.dst, j-i-1), in[i+1:j]...)
		return j + 1, nil
	}
	// Write the content after a one-byte header, then move it if the header must be longer: strings are
	// leaves, so this moves each byte at most once.
	pos := len(e.dst)
	e.dst = append(e.dst, 0xa0)
	e.dst = append(e.dst, in[i+1:j]...)
	for {
		if j >= len(in) {
			return 0, ErrInvalidJSON
		}
		c := in[j]
		switch {
		case strPlain[c]:
			k := j + 1
			for k < len(in) && strPlain[in[k]] {
				k++
			}
			e.dst = append(e.dst, in[j:k]...)
			j = k
			continue
		case c == '"':
			j++
		case c == '\\':
			var err error
			if j, err = e.escape(j); err != nil {
				return 0, err
			}
			continue
		case c < 0x20:
			return 0, ErrInvalidJSON // JSON.parse rejects raw control characters
		default:
			r, size := utf8.DecodeRune(in[j:])
			if r == utf8.RuneError && size == 1 {
				e.dst = append(e.dst, "\uFFFD"...)
				j += badSeqLen(in[j:])
			} else {
				e.dst = append(e.dst, in[j:j+size]...)
				j += size
			}
			continue
		}
		break
	}
	n := len(e.dst) - pos - 1
	if n < 32 {
		e.dst[pos] = 0xa0 | byte(n)
		return j, nil
	}
	if uint64(n) > math.MaxUint32 {
		return 0, ErrTooLarge
	}
	var h [5]byte
	hdr := AppendStringHeader(h[:0], n)
	e.dst = append(e.dst, hdr[1:]...)
	copy(e.dst[pos+len(hdr):], e.dst[pos+1:pos+1+n])
	copy(e.dst[pos:], hdr)
	return j, nil
}

// escape appends the character of the escape sequence at in[j] (the backslash) and returns the offset after it.
func (e *jsonEnc) escape(j int) (int, error) {
	in := e.in
	if j+1 >= len(in) {
		return 0, ErrInvalidJSON
	}
	var c byte
	switch in[j+1] {
	case '"', '\\', '/':
		c = in[j+1]
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		r, ok := hex4(in, j+2)
		if !ok {
			return 0, ErrInvalidJSON
		}
		j += 6
		if 0xd800 <= r && r < 0xdc00 && j+1 < len(in) && in[j] == '\\' && in[j+1] == 'u' {
			if r2, ok := hex4(in, j+2); ok && 0xdc00 <= r2 && r2 < 0xe000 {
				e.dst = utf8.AppendRune(e.dst, 0x10000+(r-0xd800)<<10+(r2-0xdc00))
				return j + 6, nil
			}
		}
		if 0xd800 <= r && r < 0xe000 {
			r = utf8.RuneError // unpaired surrogate
		}
		e.dst = utf8.AppendRune(e.dst, r)
		return j, nil
	default:
		return 0, ErrInvalidJSON
	}
	e.dst = append(e.dst, c)
	return j + 2, nil
}

func hex4(b []byte, i int) (rune, bool) {
	if len(b)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
