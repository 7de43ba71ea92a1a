package codec

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the JSON primitives shared by the decoders and encoders: a validating, non-recursive scanner
// (RFC 8259 grammar, which is what JSON.parse accepts) with a hard nesting bound, the JSON.stringify-compatible
// string escaper and the string unquoter. Nothing here allocates.

// maxDepthCap is the largest nesting depth the scanner can track (its bit stack has this many bits). Configured
// depths above it are clamped.
const maxDepthCap = 256

// strPlain[c] is true for bytes that need no attention while scanning a JSON string: not '"', not '\\', not a
// control character. Bytes >= 0x80 are plain: like encoding/json.Valid and JSON.parse (which sees the text after
// UTF-8 decoding), the scanner does not reject invalid UTF-8; that is the transport's job (RFC 6455 §8.1).
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Word-at-a-time byte classes (see skipPlain): lo has 1 in every byte, hi
// the high bit of every byte.
const (
	lo = 0x0101010101010101
	hi = 0x8080808080808080
)

// specialInWord flags, in the high bit of each byte of x (eight bytes of a
// string, the first in the lowest byte), the bytes that are not strPlain: '"',
// '\\' and controls below 0x20; with ascii, also every byte >= 0x80. Each
// test is the classic "has a zero byte" trick, (v - lo) &^ v & hi, whose only
// false positives sit above a true one: the lowest flag is always exact,
// which is all the callers use.
func specialInWord(x uint64, ascii bool) uint64 {
	m := ((x - lo*0x20) | (x ^ lo*'"' - lo) | (x ^ lo*'\\' - lo)) &^ x & hi
	if ascii {
		m |= x & hi
	}
	return m
}

// skipPlain returns the index of the first byte at or after i that is not
// strPlain, or len(b): eight bytes per step while it can. Strings are most
// of a packet's bytes, and a byte at a time was most of the cost of
// validating a RawJSON argument (BenchmarkScanString).
func skipPlain(b []byte, i int) int {
	for len(b)-i >= 8 {
		if m := specialInWord(binary.LittleEndian.Uint64(b[i:]), false); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(b) && strPlain[b[i]] {
		i++
	}
	return i
}

// skipASCIIPlain is skipPlain for asciiPlain (appendString's bytes that
// need no escaping and no UTF-8 check).
func skipASCIIPlain(s string, i int) int {
	for len(s)-i >= 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if m := specialInWord(x, true); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(s) && asciiPlain[s[i]] {
		i++
	}
	return i
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipWS returns the index of the first non-whitespace byte at or after i.
func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) rune {
	switch {
	case c <= '9':
		return rune(c - '0')
	case c >= 'a':
		return rune(c - 'a' + 10)
	default:
		return rune(c - 'A' + 10)
	}
}

// scanString validates the JSON string starting at b[i] == '"'. It returns the index just past the closing quote
// (or -1) and whether the string contains any escape.
func scanString(b []byte, i int) (end int, escaped bool) {
	i++
	for {
		i = skipPlain(b, i)
		if i >= len(b) {
			return -1, escaped
		}
		switch b[i] {
		case '"':
			return i + 1, escaped
		case '\\':
			escaped = true
			if i+1 >= len(b) {
				return -1, escaped
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1, escaped
				}
				i += 6
			default:
				return -1, escaped
			}
		default: // raw control character
			return -1, escaped
		}
	}
}

// scanNumber validates the JSON number starting at b[i] ('-' or a digit) and returns its end, or -1.
func scanNumber(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i++
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		j := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == j {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == j {
			return -1
		}
	}
	return i
}

func scanLiteral(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// scanScalar validates the non-container value starting at b[i] and returns its end, or -1.
func scanScalar(b []byte, i int) int {
	switch b[i] {
	case '"':
		end, _ := scanString(b, i)
		return end
	case 't':
		return scanLiteral(b, i, "true")
	case 'f':
		return scanLiteral(b, i, "false")
	case 'n':
		return scanLiteral(b, i, "null")
	default:
		if b[i] == '-' || '0' <= b[i] && b[i] <= '9' {
			return scanNumber(b, i)
		}
		return -1
	}
}

// skipValue validates one JSON value starting exactly at b[i] (no leading whitespace) and returns the index just
// past it. Containers may nest at most maxDepth levels (a bare scalar needs 0; `[]` needs 1). It never recurses:
// the open containers live in a fixed bit stack, so a hostile 6,000-deep input costs one error, not a stack.
func skipValue(b []byte, i int, maxDepth int) (int, error) {
	if maxDepth > maxDepthCap {
		maxDepth = maxDepthCap
	}
	var stack [maxDepthCap / 64]uint64 // bit set = object, clear = array
	depth := 0
	for {
		// A value is expected at b[i].
		if i >= len(b) {
			return -1, ErrInvalidJSON
		}
		switch c := b[i]; c {
		case '{', '[':
			if depth >= maxDepth {
				return -1, ErrTooDeep
			}
			if c == '{' {
				stack[depth>>6] |= 1 << (depth & 63)
			} else {
				stack[depth>>6] &^= 1 << (depth & 63)
			}
			depth++
			i = skipWS(b, i+1)
			if i < len(b) && (c == '{' && b[i] == '}' || c == '[' && b[i] == ']') {
				depth--
				i++
				break
			}
			if c == '{' {
				if i = objectKey(b, i); i < 0 {
					return -1, ErrInvalidJSON
				}
			}
			continue
		default:
			if i = scanScalar(b, i); i < 0 {
				return -1, ErrInvalidJSON
			}
		}
		// A value just ended at i: close containers or move to the next member.
		for {
			if depth == 0 {
				return i, nil
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return -1, ErrInvalidJSON
			}
			isObj := stack[(depth-1)>>6]&(1<<((depth-1)&63)) != 0
			if b[i] == ',' {
				i = skipWS(b, i+1)
				if isObj {
					if i = objectKey(b, i); i < 0 {
						return -1, ErrInvalidJSON
					}
				}
				break
			}
			if isObj && b[i] == '}' || !isObj && b[i] == ']' {
				depth--
				i++
				continue
			}
			return -1, ErrInvalidJSON
		}
	}
}

// objectKey scans `"key" :` plus following whitespace starting at b[i]; it returns the index of the member value,
// or -1.
func objectKey(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i, _ = scanString(b, i); i < 0 {
		return -1
	}
	i = skipWS(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return skipWS(b, i+1)
}

// arrayIter walks the elements of a top-level JSON array, validating each one, without allocating.
type arrayIter struct {
	b        []byte
	i        int
	n        int // elements returned so far
	maxDepth int // depth budget of each element
	closed   bool
}

// init positions the iterator after the opening bracket of b, which must start with '['. maxDepth counts the
// array itself.
func (it *arrayIter) init(b []byte, maxDepth int) error {
	if len(b) == 0 || b[0] != '[' {
		return ErrInvalidJSON
	}
	if maxDepth < 1 {
		return ErrTooDeep
	}
	*it = arrayIter{b: b, i: skipWS(b, 1), maxDepth: maxDepth - 1}
	if it.i < len(b) && b[it.i] == ']' {
		it.i++
		it.closed = true
	}
	return nil
}

// next returns the bounds of the next element, or start == -1 after the closing bracket.
func (it *arrayIter) next() (start, end int, err error) {
	if it.closed {
		return -1, -1, nil
	}
	b, i := it.b, it.i
	if it.n > 0 {
		i = skipWS(b, i)
		if i >= len(b) {
			return -1, -1, ErrInvalidJSON
		}
		if b[i] == ']' {
			it.i = i + 1
			it.closed = true
			return -1, -1, nil
		}
		if b[i] != ',' {
			return -1, -1, ErrInvalidJSON
		}
		i = skipWS(b, i+1)
	}
	end, err = skipValue(b, i, it.maxDepth)
	if err != nil {
		return -1, -1, err
	}
	it.i = end
	it.n++
	return i, end, nil
}

// finish checks that only whitespace follows the closed array.
func (it *arrayIter) finish() error {
	if skipWS(it.b, it.i) != len(it.b) {
		return ErrInvalidJSON
	}
	return nil
}

// validJSON reports whether b is exactly one JSON value, optionally followed by whitespace, and starting without
// whitespace, nesting at most maxDepth.
func validJSON(b []byte, maxDepth int) error {
	if len(b) == 0 {
		return ErrInvalidJSON
	}
	end, err := skipValue(b, 0, maxDepth)
	if err != nil {
		return err
	}
	if skipWS(b, end) != len(b) {
		return ErrInvalidJSON
	}
	return nil
}

const hexDigits = "0123456789abcdef"

// asciiPlain[c] is true for the bytes appendString copies as they are without looking further: printable ASCII
// other than '"' and '\\'.
var asciiPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString appends s as a JSON string exactly as JSON.stringify writes it: `"` and `\` escaped, \b \f \n \r \t
// as short escapes, other U+0000..U+001F as lowercase \u00XX (PROTOCOL.md §15.12: 0x1E can never reach the
// polling framing), everything else (<, >, &, U+2028, U+2029, DEL) raw. Invalid UTF-8, which a JS string cannot
// hold, becomes \ufffd per bad byte, as encoding/json does, so a WebSocket text frame is always valid UTF-8.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		i = skipASCIIPlain(s, i)
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		if size == 1 { // invalid UTF-8 (a valid rune >= 0x80 is never 1 byte)
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendFloat formats f as JSON.stringify does: shortest round-trip digits, exponent form below 1e-6 and from 1e21
// on (`1e-7`, `1e+21`), -0 as `0`, NaN and ±Inf as `null`. bits is 32 or 64 (float32 values are formatted with
// their own shortest digits, as encoding/json does).
func appendFloat(dst []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if f == 0 {
		return append(dst, '0')
	}
	abs := math.Abs(f)
	format := byte('f')
	if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' { // e-07 -> e-7, as JS writes it
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// UnquoteString appends to dst the decoded contents of raw, which must be one JSON string token including its
// quotes (as returned by [EventName] or [SplitArgs]). Escapes are decoded as JSON.parse does, except that a lone
// UTF-16 surrogate, which a Go string cannot hold, becomes U+FFFD, as in encoding/json. On a malformed token it
// returns dst unchanged and [ErrInvalidJSON]. It never retains raw; with enough capacity in dst it allocates
// nothing.
func UnquoteString(dst, raw []byte) ([]byte, error) {
	if len(raw) < 2 || raw[0] != '"' {
		return dst, ErrInvalidJSON
	}
	if end, _ := scanString(raw, 0); end != len(raw) {
		return dst, ErrInvalidJSON
	}
	return unquoteValid(dst, raw[1:len(raw)-1]), nil
}

// unquoteValid decodes the inside of a validated JSON string.
func unquoteValid(dst, s []byte) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = utf8.AppendRune(dst, utf8.RuneError)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		if c != '\\' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch e := s[i+1]; e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(s[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2 = hex4(s[i+2:])
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					i += 6
					r = dec
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			start = i
			continue
		default: // '"', '\\', '/'
			dst = append(dst, e)
		}
		i += 2
		start = i
	}
	return append(dst, s[start:]...)
}

func hex4(s []byte) rune {
	return unhex(s[0])<<12 | unhex(s[1])<<8 | unhex(s[2])<<4 | unhex(s[3])
}

// equalUnquoted reports whether the validated JSON string token raw (with quotes) decodes to want, which must be
// ASCII and at most 32 bytes. It does not allocate; escaped is scanString's report (false allows a plain compare).
func equalUnquoted(raw []byte, escaped bool, want string) bool {
	s := raw[1 : len(raw)-1]
	if !escaped {
		return string(s) == want
	}
	var buf [32]byte
	n := 0
	for i := 0; i < len(s); {
		if n >= len(want) {
			return false
		}
		c := s[i]
		if c == '\\' {
			switch e := s[i+1]; e {
			case 'u':
				r := hex4(s[i+2:])
				if r >= utf8.RuneSelf {
					return false
				}
				c = byte(r)
				i += 6
			case 'b':
				c, i = '\b', i+2
			case 'f':
				c, i = '\f', i+2
			case 'n':
				c, i = '\n', i+2
			case 'r':
				c, i = '\r', i+2
			case 't':
				c, i = '\t', i+2
			default:
				c, i = e, i+2
			}
		} else {
			i++
		}
		buf[n] = c
		n++
	}
	return string(buf[:n]) == want
}
