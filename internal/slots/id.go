package slots

import "encoding/base64"

// An id that names its place: 20 characters of URL-safe base64 (the length
// of the reference server's ids) from IDRawLen bytes: IDRandomLen random
// bytes, then a loop index and a slot on that loop (24 bits, big-endian).
// Whoever holds the id finds its owner at that place and compares the whole
// id; 88 random bits keep it unguessable. Riptide's sids and socket ids are
// such ids.
const (
	IDLen       = 20
	IDRawLen    = 15
	IDRandomLen = 11
)

// AppendID appends the id made of raw, whose first IDRandomLen bytes the
// caller has filled with random bytes, and of the place (loop, slot). loop
// must be below 256 (gnet runs at most 256 loops); a slot past 2^24 wraps,
// so its id names another slot and, compared whole there, finds nothing.
func AppendID(dst []byte, raw *[IDRawLen]byte, loop int, slot uint32) []byte {
	raw[IDRandomLen] = byte(loop)
	raw[12], raw[13], raw[14] = byte(slot>>16), byte(slot>>8), byte(slot)
	return base64.RawURLEncoding.AppendEncode(dst, raw[:])
}

// Place returns the loop index and slot an id names; ok is false when id
// cannot be one of these ids.
func Place[S string | []byte](id S) (loop int, slot uint32, ok bool) {
	if len(id) != IDLen {
		return 0, 0, false
	}
	var raw [IDRawLen]byte
	if n, err := base64.RawURLEncoding.Decode(raw[:], []byte(id)); err != nil || n != IDRawLen {
		return 0, 0, false
	}
	return int(raw[IDRandomLen]), uint32(raw[12])<<16 | uint32(raw[13])<<8 | uint32(raw[14]), true
}
