package http1

import (
	"crypto/sha1"
	"encoding/base64"
	"slices"
)

// acceptGUID is the magic string of RFC 6455 §1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKeyLen is the length of a Sec-WebSocket-Accept value.
const AcceptKeyLen = 28

// AppendAcceptKey appends the Sec-WebSocket-Accept value for the given
// Sec-WebSocket-Key to dst (RFC 6455 §4.2.2 item 5.4):
// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), 28 bytes.
//
// The key is used as given (the caller passes [Request.SecWebSocketKey],
// already trimmed); check it first with [ValidWebSocketKey]. Hashing happens
// in stack buffers: AppendAcceptKey does not allocate when dst has
// [AcceptKeyLen] bytes of spare capacity and the key is at most 92 bytes (a
// valid key is 24).
func AppendAcceptKey(dst, secWebSocketKey []byte) []byte {
	var sum [sha1.Size]byte
	var buf [128]byte
	if len(secWebSocketKey) <= len(buf)-len(acceptGUID) {
		n := copy(buf[:], secWebSocketKey)
		n += copy(buf[n:], acceptGUID)
		sum = sha1.Sum(buf[:n])
	} else {
		h := sha1.New()
		h.Write(secWebSocketKey)
		h.Write([]byte(acceptGUID))
		h.Sum(sum[:0])
	}
	dst = slices.Grow(dst, AcceptKeyLen)
	n := len(dst)
	dst = dst[:n+AcceptKeyLen]
	base64.StdEncoding.Encode(dst[n:], sum[:])
	return dst
}

// ValidWebSocketKey reports whether key is a Sec-WebSocket-Key as RFC 6455
// §4.2.1 item 5 requires: the base64 encoding of 16 bytes, so 22 base64
// characters followed by "==". This is the check Node's ws server makes
// (/^[+/0-9A-Za-z]{22}==$/).
func ValidWebSocketKey(key []byte) bool {
	if len(key) != 24 || key[22] != '=' || key[23] != '=' {
		return false
	}
	for _, c := range key[:22] {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}
