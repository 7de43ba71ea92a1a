package notepack

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// This file renders values the way JS does: Number::toString, JSON.stringify's string quoting, Buffer#toString's
// UTF-8 decoding (WHATWG: each maximal invalid subsequence becomes one U+FFFD), Date#toISOString and, for the rare
// Date used as an object key, Date#toString in UTC.

// badSeqLen returns the length of the maximal subpart at the start of s, which does not begin with a valid UTF-8
// sequence: the bytes the WHATWG decoder replaces with one U+FFFD (at least 1; a sequence truncated by the end of
// s is one subpart).
func badSeqLen(s []byte) int {
	c := s[0]
	lo, hi := byte(0x80), byte(0xbf)
	need := 0
	switch {
	case 0xc2 <= c && c <= 0xdf:
		need = 1
	case 0xe0 <= c && c <= 0xef:
		need = 2
		if c == 0xe0 {
			lo = 0xa0
		} else if c == 0xed {
			hi = 0x9f
		}
	case 0xf0 <= c && c <= 0xf4:
		need = 3
		if c == 0xf0 {
			lo = 0x90
		} else if c == 0xf4 {
			hi = 0x8f
		}
	default:
		return 1
	}
	k := 1
	for k <= need && k < len(s) {
		if s[k] < lo || s[k] > hi {
			return k
		}
		lo, hi = 0x80, 0xbf
		k++
	}
	return k
}

// appendUTF8 appends s with every invalid sequence replaced as the WHATWG decoder (Node's Buffer#toString)
// replaces it.
func appendUTF8(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			dst = append(dst, s[i])
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\uFFFD"...)
			i += badSeqLen(s[i:])
			continue
		}
		dst = append(dst, s[i:i+size]...)
		i += size
	}
	return dst
}

// jsString is the string Node decodes from the UTF-8 bytes s.
func jsString(s []byte) string {
	if utf8.Valid(s) {
		return string(s)
	}
	return string(appendUTF8(nil, s))
}

const hexDigits = "0123456789abcdef"

// appendQuoted appends s, decoded from UTF-8 as Node does, as JSON.stringify quotes a string: '"', '\\' and the
// control characters escaped (\b \t \n \f \r, else \u00xx), everything else as it is.
func appendQuoted(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\r':
				dst = append(dst, '\\', 'r')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i += badSeqLen(s[i:])
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendJSNumber appends f as JS's Number::toString writes it (ECMA-262 6.1.6.1.20): "NaN", "Infinity", "0" for
// ±0, integers up to 1e21 in full, else the shortest round-tripping digits in plain or exponent form ("1e+21",
// "1.5e-7", "0.000001").
func appendJSNumber(dst []byte, f float64) []byte {
	switch {
	case f != f:
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		return append(dst, '0')
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	if f <= 1<<53 && f == math.Trunc(f) { // every integer up to 2^53 is its own shortest form
		return strconv.AppendUint(dst, uint64(f), 10)
	}
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // d[.ddd]e±XX
	var digs [24]byte
	d := digs[:0]
	e := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 'e' {
			neg := s[i+1] == '-'
			for _, c := range s[i+2:] {
				e = e*10 + int(c-'0')
			}
			if neg {
				e = -e
			}
			break
		}
		if c != '.' {
			d = append(d, c)
		}
	}
	k, n := len(d), e+1 // k digits, decimal point after n of them
	switch {
	case k <= n && n <= 21:
		dst = append(dst, d...)
		for ; k < n; k++ {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, d[:n]...)
		dst = append(dst, '.')
		dst = append(dst, d[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for ; n < 0; n++ {
			dst = append(dst, '0')
		}
		dst = append(dst, d...)
	default:
		dst = append(dst, d[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, d[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 < 0 {
			dst = append(dst, '-')
			dst = strconv.AppendInt(dst, int64(1-n), 10)
		} else {
			dst = append(dst, '+')
			dst = strconv.AppendInt(dst, int64(n-1), 10)
		}
	}
	return dst
}

func appendPad(dst []byte, v, width int) []byte {
	var buf [12]byte
	s := strconv.AppendInt(buf[:0], int64(v), 10)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// appendISODate appends Date#toISOString of the time value ms (in range): YYYY-MM-DDTHH:mm:ss.sssZ, the year as
// ±YYYYYY outside 0..9999.
func appendISODate(dst []byte, ms int64) []byte {
	t := time.UnixMilli(ms).UTC()
	y := t.Year()
	switch {
	case y < 0:
		dst = appendPad(append(dst, '-'), -y, 6)
	case y > 9999:
		dst = appendPad(append(dst, '+'), y, 6)
	default:
		dst = appendPad(dst, y, 4)
	}
	dst = appendPad(append(dst, '-'), int(t.Month()), 2)
	dst = appendPad(append(dst, '-'), t.Day(), 2)
	dst = appendPad(append(dst, 'T'), t.Hour(), 2)
	dst = appendPad(append(dst, ':'), t.Minute(), 2)
	dst = appendPad(append(dst, ':'), t.Second(), 2)
	dst = appendPad(append(dst, '.'), t.Nanosecond()/1e6, 3)
	return append(dst, 'Z')
}

// appendDateString appends Date#toString of the time value ms as V8 writes it in the UTC time zone
// ("Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"); the real string depends on the Node
// process's time zone, which we cannot know.
func appendDateString(dst []byte, ms int64) []byte {
	t := time.UnixMilli(ms).UTC()
	dst = append(dst, t.Weekday().String()[:3]...)
	dst = append(dst, ' ')
	dst = append(dst, t.Month().String()[:3]...)
	dst = appendPad(append(dst, ' '), t.Day(), 2)
	dst = append(dst, ' ')
	if y := t.Year(); y < 0 {
		dst = appendPad(append(dst, '-'), -y, 4)
	} else {
		dst = appendPad(dst, y, 4)
	}
	dst = appendPad(append(dst, ' '), t.Hour(), 2)
	dst = appendPad(append(dst, ':'), t.Minute(), 2)
	dst = appendPad(append(dst, ':'), t.Second(), 2)
	return append(dst, " GMT+0000 (Coordinated Universal Time)"...)
}
