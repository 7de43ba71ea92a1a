package engine

import (
	"bytes"
	"encoding/base64"
	"sync/atomic"
)

// A session keeps its handshake head for Request (and the Socket.IO
// layer's Handshake) for as long as it lives, so the head is most of what
// an idle connection costs the engine. Most of it is the same from one
// client to the next: the request line, "Upgrade: websocket",
// "Connection: Upgrade", "Sec-WebSocket-Version: 13", header names. The
// head is stored with those lines and names replaced by one byte each,
// taken from the control bytes that no head can contain (RFC 9110 §5.5:
// internal/http1 answers 400 to a CTL other than HTAB, or to a bare CR or
// LF), and expanded again, byte for byte, when Request is first called.
// The first Host line the endpoint sees becomes one more token: most
// clients of a server name it the same. The one line every upgrade has and
// no two share, "Sec-WebSocket-Key: <24 characters of base64>", is stored as
// a token and the key's 16 bytes, and the blank line that ends every head is
// implied. The bench client's 189-byte upgrade head is stored in 22 bytes:
// with the sid and a binary IPv4 address, 48 in all, an allocator size
// class below 64.

// headDict is an endpoint's dictionary: tok[b] is what token byte b stands
// for ("" when b is no token).
type headDict struct {
	tok    [32]string
	lines  map[string]byte // whole lines, CRLF included
	names  map[string]byte // "Name: " prefixes of header lines
	reqTok byte            // prefix of the request line: "GET <path>?EIO=4&transport="
	// hostTok stands for the first whole Host line the endpoint saw
	// (learned: most clients of a server name it alike), once host is
	// set; it never changes after.
	hostTok byte
	host    atomic.Pointer[string]
	// keyTok stands for "Sec-WebSocket-Key: " and is followed by the key's
	// 16 bytes, which expand encodes again with the line's CRLF; a key that
	// is not the canonical base64 of 16 bytes stays as sent.
	keyTok byte
}

// keyName is the name of the header keyTok compacts, and keyLen the length
// of a canonical key (base64 of 16 bytes).
const (
	keyName = "Sec-WebSocket-Key: "
	keyLen  = 24
)

// headTokens are the usable token bytes: CTLs but NUL, HTAB, LF and CR.
var headTokens = []byte{1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31}

// headLines are whole lines that clients send verbatim, in the case they
// use (Chrome, Firefox, Safari, Node's ws, gobwas/ws, Go's websocket
// clients; a line spelled otherwise is kept as sent).
var headLines = []string{
	"Upgrade: websocket\r\n",
	"Connection: Upgrade\r\n",
	"Sec-WebSocket-Version: 13\r\n",
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
	"Pragma: no-cache\r\n",
	"Cache-Control: no-cache\r\n",
	"Accept: */*\r\n",
	"Connection: keep-alive\r\n",
	"Accept-Encoding: gzip, deflate, br, zstd\r\n",
}

// headNames are header names whose "Name: " prefix becomes a token.
var headNames = []string{
	"Host", "User-Agent", "Origin", "Cookie", "Accept-Language",
	"Accept-Encoding", "Referer", "Connection", "Authorization", "X-Forwarded-For",
	"Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-Dest", "Sec-WebSocket-Protocol", "Content-Type",
}

// newHeadDict builds the dictionary of an endpoint mounted at path.
func newHeadDict(path string) *headDict {
	d := &headDict{lines: map[string]byte{}, names: map[string]byte{}}
	next := 0
	add := func(s string) byte {
		b := headTokens[next]
		next++
		d.tok[b] = s
		return b
	}
	d.lines["GET "+path+"?EIO=4&transport=websocket HTTP/1.1\r\n"] = add("GET " + path + "?EIO=4&transport=websocket HTTP/1.1\r\n")
	d.reqTok = add("GET " + path + "?EIO=4&transport=")
	for _, l := range headLines {
		d.lines[l] = add(l)
	}
	for _, n := range headNames {
		d.names[n+": "] = add(n + ": ")
	}
	d.keyTok = headTokens[next] // d.tok stays "": expand decodes the key
	next++
	d.hostTok = headTokens[next] // d.tok stays "": expand asks d.host
	return d
}

// compact appends head, compacted, to dst. ok is false (and dst
// unchanged) when head holds a token byte, which internal/http1 never lets
// through, or does not end with the blank line, which it always includes:
// the caller then keeps it as is.
func (d *headDict) compact(dst, head []byte) (out []byte, ok bool) {
	for _, c := range head {
		if c < 0x20 && c != '\t' && c != '\r' && c != '\n' {
			return dst, false
		}
	}
	if !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		return dst, false
	}
	head = head[:len(head)-2] // the blank line: expand adds it back
	out = dst
	for len(head) > 0 {
		n := bytes.Index(head, crlf)
		if n < 0 {
			return append(out, head...), true
		}
		line := head[:n+2]
		head = head[n+2:]
		if b, ok := d.lines[string(line)]; ok {
			out = append(out, b)
			continue
		}
		if len(line) > 6 && string(line[:6]) == "Host: " {
			h := d.host.Load()
			if h == nil {
				learned := string(line)
				if d.host.CompareAndSwap(nil, &learned) {
					h = &learned
				} else {
					h = d.host.Load()
				}
			}
			if *h == string(line) {
				out = append(out, d.hostTok)
				continue
			}
		}
		if key, ok := canonicalKey(line); ok {
			out = append(out, d.keyTok)
			out = append(out, key[:]...)
			continue
		}
		if len(out) == len(dst) && d.hasPrefix(line, d.reqTok) {
			out = append(out, d.reqTok)
			out = append(out, line[len(d.tok[d.reqTok]):]...)
			continue
		}
		if k := bytes.IndexByte(line, ':'); k > 0 && k+1 < len(line) && line[k+1] == ' ' {
			if b, ok := d.names[string(line[:k+2])]; ok {
				out = append(out, b)
				out = append(out, line[k+2:]...)
				continue
			}
		}
		out = append(out, line...)
	}
	return out, true
}

func (d *headDict) hasPrefix(line []byte, tok byte) bool {
	p := d.tok[tok]
	return len(line) >= len(p) && string(line[:len(p)]) == p
}

// canonicalKey decodes the key of a "Sec-WebSocket-Key: " line (CRLF
// included) when expand would write it back byte for byte.
func canonicalKey(line []byte) (key [16]byte, ok bool) {
	if len(line) != len(keyName)+keyLen+2 || string(line[:len(keyName)]) != keyName {
		return key, false
	}
	enc := line[len(keyName) : len(keyName)+keyLen]
	var dec [18]byte // 24 characters without padding decode to 18 bytes
	if n, err := base64.StdEncoding.Decode(dec[:], enc); err != nil || n != 16 {
		return key, false
	}
	key = [16]byte(dec[:16])
	var again [keyLen]byte
	base64.StdEncoding.Encode(again[:], key[:])
	return key, string(again[:]) == string(enc) // the padding bits may differ
}

// expand appends the head that compact turned into c.
func (d *headDict) expand(dst []byte, c string) []byte {
	for i := 0; i < len(c); i++ {
		if b := c[i]; b < 0x20 && d.tok[b] != "" {
			dst = append(dst, d.tok[b]...)
		} else if b == d.keyTok {
			dst = append(dst, keyName...)
			dst = base64.StdEncoding.AppendEncode(dst, []byte(c[i+1:i+17]))
			dst = append(dst, crlf...)
			i += 16
		} else if b == d.hostTok {
			dst = append(dst, *d.host.Load()...) // set before any head used it
		} else {
			dst = append(dst, b)
		}
	}
	return append(dst, crlf...) // the blank line
}

var crlf = []byte("\r\n")
