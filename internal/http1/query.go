package http1

import "bytes"

// QueryValue returns the raw value of the first key=value pair in rawQuery
// whose key, once percent-decoded ('+' as space), equals key. The value is
// still percent-encoded (decode it with [Unescape]); it is empty for "key" or
// "key=", and ok is false when no pair matches.
//
// Pairs are separated by '&' only (';' is an ordinary byte, as in Node's
// querystring and in net/url since Go 1.17) and empty pairs are skipped. A
// pair whose key has an invalid escape never matches, as net/url skips it.
// When rawQuery has no invalid escapes and no ';', the result is the first
// element of url.ParseQuery(rawQuery)[key], before decoding.
//
// val aliases rawQuery. QueryValue does not allocate.
func QueryValue(rawQuery []byte, key string) (val []byte, ok bool) {
	q := rawQuery
	for len(q) > 0 {
		pair := q
		if end := bytes.IndexByte(q, '&'); end >= 0 {
			pair, q = q[:end], q[end+1:]
		} else {
			q = nil
		}
		if len(pair) == 0 {
			continue
		}
		eq := bytes.IndexByte(pair, '=')
		if eq < 0 {
			eq = len(pair)
		}
		if !keyEqual(pair[:eq], key) {
			continue
		}
		if eq == len(pair) {
			return pair[eq:eq:eq], true
		}
		return pair[eq+1 : len(pair) : len(pair)], true
	}
	return nil, false
}

// keyEqual reports whether raw, decoded as a query component, equals key.
func keyEqual(raw []byte, key string) bool {
	if len(raw) < len(key) {
		return false // decoding only ever shortens
	}
	j := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			if i+2 >= len(raw) {
				return false
			}
			hi, lo := hexTable[raw[i+1]], hexTable[raw[i+2]]
			if hi == 0 || lo == 0 {
				return false
			}
			c = (hi-1)<<4 | (lo - 1)
			i += 2
		}
		if j == len(key) || key[j] != c {
			return false
		}
		j++
	}
	return j == len(key)
}

// Unescape appends the percent-decoding of s to dst, decoding '+' as a space
// as query components are (url.QueryUnescape). It returns the extended
// buffer, or dst unchanged and an error (a 400 [*Error]) when a '%' is not
// followed by two hex digits.
//
// dst may be s[:0] to decode in place: the output never runs ahead of the
// input. (On error, s may then have been partly overwritten.) Unescape does
// not allocate when dst has room for len(s) more bytes.
func Unescape(dst, s []byte) ([]byte, error) {
	n := len(dst)
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] != '%' && s[j] != '+' {
			j++
		}
		dst = append(dst, s[i:j]...) // runs of plain bytes in one copy
		if j == len(s) {
			break
		}
		if s[j] == '+' {
			dst = append(dst, ' ')
			i = j + 1
			continue
		}
		if j+2 >= len(s) {
			return dst[:n], errEscape
		}
		hi, lo := hexTable[s[j+1]], hexTable[s[j+2]]
		if hi == 0 || lo == 0 {
			return dst[:n], errEscape
		}
		dst = append(dst, (hi-1)<<4|(lo-1))
		i = j + 3
	}
	return dst, nil
}
