package http1

import (
	"math"
	"net/netip"
)

const (
	// MaxHeaders is the number of header fields a [Request] holds without
	// allocating. A head with more fields is refused with [ErrHeadTooLarge]
	// (431 "too many header fields"), as Node and nginx refuse long heads.
	MaxHeaders = 64
	// DefaultMaxHead is the head size bound [Parse] uses when maxHead <= 0:
	// Node's default --max-http-header-size (16 KiB).
	DefaultMaxHead = 16 << 10
)

// Header is one header field line. Name is as received (not canonicalised);
// Value is trimmed of leading and trailing SP/HTAB. Both alias the input.
type Header struct {
	Name, Value []byte
}

// Request is one parsed HTTP/1.x request head.
//
// Every []byte field aliases the buffer given to [Parse] and is valid until
// the caller discards or overwrites those bytes. A picked-out header field
// is nil when the header is absent and non-nil (possibly empty) when present;
// when a header appears more than once it holds the first value (all values
// are in Headers). Header names are matched ASCII case-insensitively.
//
// A Request is reused across calls to [Parse], which resets it first. It must
// not be copied once used (Headers points into the Request itself; go vet
// reports copies) and is not safe for concurrent use.
type Request struct {
	_ noCopy

	Method   []byte // a token: "GET", "POST", "OPTIONS", …
	URI      []byte // the request-target exactly as sent
	Path     []byte // URI up to the first '?', still percent-encoded ("*" for "OPTIONS *"; the path component for absolute-form, possibly empty)
	RawQuery []byte // URI after the first '?', without it; nil when there is no '?'

	// ProtoMinor is the minor HTTP version: 0 for HTTP/1.0, 1 for HTTP/1.1.
	// The major version is always 1.
	ProtoMinor int

	// Host is the Host header (validated as net/http's server does), or
	// the authority of an absolute-form target, which RFC 9112 §3.2.2 says
	// takes precedence. Nil only for an HTTP/1.0 request without Host.
	Host                        []byte
	Origin                      []byte // Origin: CORS and Engine.IO's origin check (PROTOCOL.md §3)
	Upgrade                     []byte // Upgrade
	Connection                  []byte // Connection (first line; all lines count for KeepAlive/IsUpgrade)
	SecWebSocketKey             []byte // Sec-WebSocket-Key (see [ValidWebSocketKey], [AppendAcceptKey])
	SecWebSocketVersion         []byte // Sec-WebSocket-Version ("13")
	SecWebSocketProtocol        []byte // Sec-WebSocket-Protocol
	SecWebSocketExtensions      []byte // Sec-WebSocket-Extensions (permessage-deflate offers)
	ContentType                 []byte // Content-Type (octet-stream POSTs are refused on EIO=4, PROTOCOL.md §5)
	Cookie                      []byte // Cookie
	UserAgent                   []byte // User-Agent
	XForwardedFor               []byte // X-Forwarded-For (first line)
	AcceptEncoding              []byte // Accept-Encoding (polling compression)
	Expect                      []byte // Expect ("100-continue" wants an interim response)
	AccessControlRequestMethod  []byte // Access-Control-Request-Method (CORS preflight)
	AccessControlRequestHeaders []byte // Access-Control-Request-Headers (CORS preflight)

	// ContentLength is the validated Content-Length, or -1 when the
	// header is absent. A request with neither Content-Length nor Chunked
	// has no body (RFC 9112 §6.3).
	ContentLength int64
	// Chunked reports "Transfer-Encoding: chunked"; the body follows the
	// head in chunked coding (see [DecodeChunked]). Never set together with
	// a Content-Length: such requests are refused.
	Chunked bool
	// KeepAlive reports whether the connection stays open after this
	// request: on HTTP/1.1 unless Connection has the token "close"; on
	// HTTP/1.0 only if Connection has "keep-alive" and not "close".
	KeepAlive bool
	// IsUpgrade reports that Connection has the token "upgrade" and
	// Upgrade has the token "websocket" (comma lists, any case, all lines).
	// Method, version, key and Sec-WebSocket-Version are for the caller
	// to check (RFC 6455 §4.2.1).
	IsUpgrade bool

	// Headers holds every header field line in order, backed by an array
	// inside the Request, so up to MaxHeaders fields cost no allocation.
	Headers []Header
	// HeadLen is the size of the head in bytes, including the request line
	// and the final CRLFCRLF. The body, or the next pipelined request,
	// starts at HeadLen.
	HeadLen int

	headers [MaxHeaders]Header
}

// Reset clears r for reuse, dropping every reference into the last input.
// [Parse] calls it first, so calling it is only needed to release the input
// early.
func (r *Request) Reset() {
	n := min(len(r.Headers), MaxHeaders)
	clear(r.headers[:n])
	r.Method, r.URI, r.Path, r.RawQuery = nil, nil, nil, nil
	r.ProtoMinor = 0
	r.Host, r.Origin, r.Upgrade, r.Connection = nil, nil, nil, nil
	r.SecWebSocketKey, r.SecWebSocketVersion = nil, nil
	r.SecWebSocketProtocol, r.SecWebSocketExtensions = nil, nil
	r.ContentType, r.Cookie, r.UserAgent, r.XForwardedFor = nil, nil, nil, nil
	r.AcceptEncoding, r.Expect = nil, nil
	r.AccessControlRequestMethod, r.AccessControlRequestHeaders = nil, nil
	r.ContentLength = -1
	r.Chunked, r.KeepAlive, r.IsUpgrade = false, false, false
	r.Headers = r.headers[:0:MaxHeaders]
	r.HeadLen = 0
}

// Get returns the value of the first header field named name (ASCII
// case-insensitive), or nil if there is none. It scans Headers: a linear
// search, no allocation. The result aliases the input.
func (r *Request) Get(name string) []byte {
	for i := range r.Headers {
		h := &r.Headers[i]
		if len(h.Name) != len(name) {
			continue
		}
		eq := true
		for j := 0; j < len(name); j++ {
			if lowerTable[h.Name[j]] != lowerTable[name[j]] {
				eq = false
				break
			}
		}
		if eq {
			return h.Value
		}
	}
	return nil
}

// parseState is what Parse learns from the headers before it can judge the
// head as a whole.
type parseState struct {
	authority  []byte // host of an absolute-form target
	cl         []byte // first Content-Length value
	te         []byte // first Transfer-Encoding value
	teCount    int
	hostCount  int
	connClose  bool
	connKeep   bool
	connUpg    bool
	upgradeWS  bool
	badTrailer bool
}

// Parse parses one request head from the start of b into r (which it resets
// first), without allocating.
//
// It returns nil when b starts with a complete, valid head: r.HeadLen bytes
// long, body and pipelined requests after it. It returns [ErrNeedMore] while
// b holds a valid but incomplete head, and an [*Error] as soon as the bytes
// seen prove the request bad (complete lines are checked as they arrive, the
// request line byte by byte, so garbage such as a TLS ClientHello is refused
// at once). On error the contents of r are unspecified.
//
// maxHead bounds the head, CRLFCRLF included: if b holds maxHead bytes or
// more and no complete head among the first maxHead, Parse returns
// [ErrHeadTooLarge] at once, whether or not a terminator comes later, so a
// slow client cannot make the caller buffer without bound. maxHead <= 0
// means [DefaultMaxHead].
//
// Parse keeps no state between calls: each call rescans b from the start, so
// a head that arrives in k pieces costs O(k·n) byte checks, which maxHead
// bounds. Every field of r aliases b; see [Request].
//
// # Grammar (RFC 9112)
//
//   - Request line: method SP request-target SP "HTTP/" DIGIT "." DIGIT CRLF.
//     Method is a token. HTTP/1.0 and HTTP/1.1 are accepted; other
//     well-formed versions get [ErrVersion] (505), malformed ones 400.
//   - The request-target is origin-form ("/path?query"), "*", or
//     absolute-form with an http or https scheme and a host[:port]
//     authority. It may not contain CTLs; the path's percent-encodings
//     must be well formed (as net/url requires); the query is not checked.
//   - Header lines: token ":" OWS value OWS CRLF, value bytes HTAB, SP,
//     VCHAR or obs-text. A line starting with SP/HTAB (obs-fold), a space
//     before the colon, NUL or other CTLs, a bare CR or a bare LF are 400.
//   - Host is required on HTTP/1.1, must appear at most once and contain
//     only the bytes net/http's server accepts (RFC 9112 §3.2).
//   - Content-Length: 1*DIGIT up to 2^63-1; repeated only with identical
//     values (RFC 9110 §8.6, as net/http).
//   - Transfer-Encoding: exactly one field whose value is "chunked" (any
//     case), otherwise 501 (as net/http). With Content-Length, or on an
//     HTTP/1.0 request, it is a 400 (RFC 9112 §6.1: a smuggling signal).
//   - A chunked request whose Trailer names Transfer-Encoding, Trailer or
//     Content-Length is a 400 (as net/http).
//
// # Divergences from net/http.ReadRequest
//
// Parse refuses, where ReadRequest accepts: bare LF line endings; obs-fold
// continuation lines; whitespace before a colon; Transfer-Encoding with
// Content-Length (ReadRequest drops Content-Length) or on HTTP/1.0
// (ReadRequest ignores it); a missing Host on HTTP/1.1, a Host with bytes
// outside httpguts.ValidHostHeader (both checked by net/http's Server, not
// by ReadRequest); versions other than 1.0/1.1, such as HTTP/1.2 (505);
// authority-form targets (CONNECT host:port); absolute-form targets with a
// scheme other than http/https, userinfo, percent-encoding, zone or
// multiple colons in the authority, or an opaque part ("http:x"); empty lines
// before the request line (RFC 9112 §2.2 allows skipping them; the Server
// does so only after a POST); heads over maxHead or with more than
// MaxHeaders fields. It never accepts a head ReadRequest refuses.
func Parse(b []byte, r *Request, maxHead int) error {
	r.Reset()
	if maxHead <= 0 {
		maxHead = DefaultMaxHead
	}
	lim := b
	if len(lim) > maxHead {
		lim = lim[:maxHead]
	}
	// What running out of lim means: the head is incomplete, and it may
	// still fit, or it may not.
	more := ErrNeedMore
	if len(b) >= maxHead {
		more = ErrHeadTooLarge
	}

	// Request line. Each part is checked as its bytes arrive.
	i := 0
	for i < len(lim) && tokenTable[lim[i]] {
		i++
	}
	if i == len(lim) {
		return more
	}
	if i == 0 || lim[i] != ' ' {
		return errMethod
	}
	r.Method = b[0:i:i]
	i++
	start := i
	i = scanTarget(lim, i)
	if i == len(lim) {
		return more
	}
	if i == start || lim[i] != ' ' {
		return errTarget
	}
	target := b[start:i:i]
	i++
	if err := checkVersion(lim[i:]); err != nil {
		return err
	}
	if len(lim)-i < len("HTTP/1.1\r\n") {
		return more
	}
	if lim[i+5] != '1' || lim[i+7] > '1' {
		return ErrVersion
	}
	r.ProtoMinor = int(lim[i+7] - '0')
	i += len("HTTP/1.1\r\n")

	var st parseState
	if err := r.setTarget(target, &st); err != nil {
		return err
	}

	// Header lines, up to the empty line.
	for {
		if i == len(lim) {
			return more
		}
		switch lim[i] {
		case '\r':
			if i+1 == len(lim) {
				return more
			}
			if lim[i+1] != '\n' {
				return errBareCR
			}
			r.HeadLen = i + 2
			return r.finish(&st)
		case '\n':
			return errBareLF
		case ' ', '\t':
			return errObsFold
		}
		start := i
		for i < len(lim) && tokenTable[lim[i]] {
			i++
		}
		if i == len(lim) {
			return more
		}
		switch c := lim[i]; {
		case c == ':':
		case c == ' ' || c == '\t':
			return errSpaceBeforeColn
		case c == '\r' || c == '\n':
			return errNoColon
		default:
			return errFieldName
		}
		if i == start {
			return errFieldName
		}
		name := b[start:i:i]
		i++
		for i < len(lim) && isOWS(lim[i]) {
			i++
		}
		vstart := i
		i = scanValue(lim, i)
		if i == len(lim) {
			return more
		}
		switch lim[i] {
		case '\r':
		case '\n':
			return errBareLF
		default:
			return errFieldValue
		}
		if i+1 == len(lim) {
			return more
		}
		if lim[i+1] != '\n' {
			return errBareCR
		}
		vend := i
		for vend > vstart && isOWS(lim[vend-1]) {
			vend--
		}
		i += 2
		if len(r.Headers) == MaxHeaders {
			return errTooManyFields
		}
		value := b[vstart:vend:vend]
		r.Headers = append(r.Headers, Header{Name: name, Value: value})
		if err := r.pick(name, value, &st); err != nil {
			return err
		}
	}
}

// checkVersion checks the available prefix of `HTTP/x.y CRLF`.
func checkVersion(v []byte) error {
	const pat = "HTTP/0.0\r\n"
	n := min(len(v), len(pat))
	for k := 0; k < n; k++ {
		c := v[k]
		switch k {
		case 5, 7:
			if c < '0' || c > '9' {
				return errVersionSyntax
			}
		case 8:
			if c != '\r' {
				if c == '\n' {
					return errBareLF
				}
				return errVersionSyntax
			}
		case 9:
			if c != '\n' {
				return errBareCR
			}
		default:
			if c != pat[k] {
				return errVersionSyntax
			}
		}
	}
	return nil
}

// setTarget splits and checks the request-target (RFC 9112 §3.2).
func (r *Request) setTarget(t []byte, st *parseState) error {
	r.URI = t
	path := t
	switch {
	case t[0] == '/': // origin-form
	case len(t) == 1 && t[0] == '*': // asterisk-form
		r.Path = t
		return nil
	default: // absolute-form: http[s]://authority[/path][?query]
		var rest []byte
		switch {
		case len(t) > 7 && equalFold(t[:7], "http://"):
			rest = t[7:]
		case len(t) > 8 && equalFold(t[:8], "https://"):
			rest = t[8:]
		default:
			return errTarget
		}
		e := 0
		for e < len(rest) && rest[e] != '/' && rest[e] != '?' {
			e++
		}
		if !validAuthority(rest[:e]) {
			return errTarget
		}
		st.authority = rest[:e:e]
		path = rest[e:]
	}
	for k := 0; k < len(path); k++ {
		if path[k] == '?' {
			r.RawQuery = path[k+1:]
			path = path[:k:k]
			break
		}
	}
	for k := 0; k < len(path); k++ {
		if path[k] == '%' {
			if k+2 >= len(path) || hexTable[path[k+1]] == 0 || hexTable[path[k+2]] == 0 {
				return errEscape
			}
			k += 2
		}
	}
	r.Path = path
	return nil
}

// validAuthority accepts host[:port] where host is a non-empty reg-name
// without pct-encoding, or an IPv6 literal without zone, and port is digits.
// Stricter than net/url (no userinfo, no '%', one colon at most outside
// brackets).
func validAuthority(a []byte) bool {
	if len(a) == 0 {
		return false
	}
	h := a
	if a[0] == '[' {
		e := 1
		for e < len(a) && a[e] != ']' {
			c := a[e]
			if hexTable[c] == 0 && c != ':' && c != '.' {
				return false
			}
			e++
		}
		if e == len(a) || e == 1 {
			return false
		}
		// Rare path: the string conversion may allocate.
		ip, err := netip.ParseAddr(string(a[1:e]))
		if err != nil || !ip.Is6() {
			return false
		}
		h = a[e+1:]
		if len(h) == 0 {
			return true
		}
		if h[0] != ':' {
			return false
		}
	} else {
		k := 0
		for k < len(a) && regNameTable[a[k]] {
			k++
		}
		if k == 0 {
			return false
		}
		h = a[k:]
		if len(h) == 0 {
			return true
		}
		if h[0] != ':' {
			return false
		}
	}
	for _, c := range h[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// pick records the headers Engine.IO needs and the framing headers.
func (r *Request) pick(name, v []byte, st *parseState) error {
	switch len(name) {
	case 4:
		if equalFold(name, "host") {
			st.hostCount++
			if st.hostCount > 1 {
				return errDuplicateHost
			}
			for _, c := range v {
				if !hostTable[c] {
					return errHost
				}
			}
			r.Host = v
		}
	case 6:
		switch {
		case equalFold(name, "origin"):
			setFirst(&r.Origin, v)
		case equalFold(name, "cookie"):
			setFirst(&r.Cookie, v)
		case equalFold(name, "expect"):
			setFirst(&r.Expect, v)
		}
	case 7:
		switch {
		case equalFold(name, "upgrade"):
			setFirst(&r.Upgrade, v)
			if !st.upgradeWS && hasToken(v, "websocket") {
				st.upgradeWS = true
			}
		case equalFold(name, "trailer"):
			if hasToken(v, "transfer-encoding") || hasToken(v, "trailer") || hasToken(v, "content-length") {
				st.badTrailer = true
			}
		}
	case 10:
		switch {
		case equalFold(name, "connection"):
			setFirst(&r.Connection, v)
			st.connClose = st.connClose || hasToken(v, "close")
			st.connKeep = st.connKeep || hasToken(v, "keep-alive")
			st.connUpg = st.connUpg || hasToken(v, "upgrade")
		case equalFold(name, "user-agent"):
			setFirst(&r.UserAgent, v)
		}
	case 12:
		if equalFold(name, "content-type") {
			setFirst(&r.ContentType, v)
		}
	case 14:
		if equalFold(name, "content-length") {
			if st.cl != nil {
				if string(st.cl) != string(v) {
					return errCLConflict
				}
				return nil
			}
			n, ok := parseContentLength(v)
			if !ok {
				return errContentLength
			}
			st.cl = v
			r.ContentLength = n
		}
	case 15:
		switch {
		case equalFold(name, "accept-encoding"):
			setFirst(&r.AcceptEncoding, v)
		case equalFold(name, "x-forwarded-for"):
			setFirst(&r.XForwardedFor, v)
		}
	case 17:
		switch {
		case equalFold(name, "transfer-encoding"):
			st.teCount++
			if st.te == nil {
				st.te = v
			}
		case equalFold(name, "sec-websocket-key"):
			setFirst(&r.SecWebSocketKey, v)
		}
	case 21:
		if equalFold(name, "sec-websocket-version") {
			setFirst(&r.SecWebSocketVersion, v)
		}
	case 22:
		if equalFold(name, "sec-websocket-protocol") {
			setFirst(&r.SecWebSocketProtocol, v)
		}
	case 24:
		if equalFold(name, "sec-websocket-extensions") {
			setFirst(&r.SecWebSocketExtensions, v)
		}
	case 29:
		if equalFold(name, "access-control-request-method") {
			setFirst(&r.AccessControlRequestMethod, v)
		}
	case 30:
		if equalFold(name, "access-control-request-headers") {
			setFirst(&r.AccessControlRequestHeaders, v)
		}
	}
	return nil
}

// setFirst keeps the first value of a header that may repeat.
func setFirst(dst *[]byte, v []byte) {
	if *dst == nil {
		*dst = v
	}
}

// finish applies the checks that need the whole head.
func (r *Request) finish(st *parseState) error {
	if st.hostCount == 0 && r.ProtoMinor == 1 {
		return errMissingHost
	}
	if st.authority != nil {
		r.Host = st.authority
	}
	if st.teCount > 0 {
		switch {
		case st.cl != nil:
			return errCLAndTE
		case r.ProtoMinor == 0:
			return errTEOn10
		case st.teCount > 1:
			return errTECount
		case !equalFold(st.te, "chunked"):
			return errTransferCoding
		}
		r.Chunked = true
		if st.badTrailer {
			return errTrailerKey
		}
	}
	if r.ProtoMinor == 1 {
		r.KeepAlive = !st.connClose
	} else {
		r.KeepAlive = st.connKeep && !st.connClose
	}
	r.IsUpgrade = st.connUpg && st.upgradeWS
	return nil
}

// parseContentLength parses 1*DIGIT into an int64, refusing overflow (as
// strconv.ParseUint(v, 10, 63) does for net/http).
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// noCopy makes go vet's copylocks check report copies of a Request.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
