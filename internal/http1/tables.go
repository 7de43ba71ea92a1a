package http1

// Byte-class tables. A table lookup per byte is what keeps the scanners
// branch-light; they are built once at init from the RFC grammar.
var (
	// tokenTable: tchar, RFC 9110 §5.6.2 ("!#$%&'*+-.^_`|~", DIGIT, ALPHA).
	// Exactly net/textproto's validHeaderFieldByte.
	tokenTable [256]bool
	// targetTable: bytes allowed in a request-target as net/http takes it:
	// anything but SP and CTLs (0x00-0x1f, 0x7f). obs-text is accepted, as
	// net/url does.
	targetTable [256]bool
	// valueTable: field-value bytes, RFC 9110 §5.5: HTAB, SP, VCHAR,
	// obs-text. Exactly net/textproto's validHeaderValueByte.
	valueTable [256]bool
	// hostTable: bytes net/http's server allows in a Host header
	// (httpguts.ValidHostHeader).
	hostTable [256]bool
	// regNameTable: bytes of a reg-name in an absolute-form authority
	// (RFC 3986 unreserved and sub-delims, no pct-encoding).
	regNameTable [256]bool
	// hexTable maps a hex digit to its value+1 (0 for non-hex bytes).
	hexTable [256]byte
	// lowerTable is ASCII lower-casing.
	lowerTable [256]byte
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
		tokenTable[c] = alnum || contains("!#$%&'*+-.^_`|~", b)
		targetTable[c] = b > ' ' && b != 0x7f
		valueTable[c] = b == '\t' || b >= ' ' && b != 0x7f
		hostTable[c] = alnum || contains("!$%&()*+,-.:;=[]'_~", b)
		regNameTable[c] = alnum || contains("-._~!$&'()*+,;=", b)
		switch {
		case '0' <= b && b <= '9':
			hexTable[c] = b - '0' + 1
		case 'a' <= b && b <= 'f':
			hexTable[c] = b - 'a' + 11
		case 'A' <= b && b <= 'F':
			hexTable[c] = b - 'A' + 11
		}
		lowerTable[c] = b
		if 'A' <= b && b <= 'Z' {
			lowerTable[c] = b + 'a' - 'A'
		}
	}
}

func contains(set string, b byte) bool {
	for i := 0; i < len(set); i++ {
		if set[i] == b {
			return true
		}
	}
	return false
}

// equalFold reports whether b equals the lower-case ASCII string lower,
// ignoring ASCII case in b.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lowerTable[b[i]] != lower[i] {
			return false
		}
	}
	return true
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

func trimOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// hasToken reports whether the comma-separated list v contains the token tok
// (lower case), ASCII case-insensitively, each element trimmed of OWS. This
// is httpguts.HeaderValuesContainsToken on one value.
func hasToken(v []byte, tok string) bool {
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		if equalFold(trimOWS(v[:i]), tok) {
			return true
		}
		if i == len(v) {
			break
		}
		v = v[i+1:]
	}
	return false
}
