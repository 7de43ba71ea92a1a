package http1

import (
	"math"
	"slices"
)

const (
	// MaxTrailerBytes bounds the trailer section of a chunked body, final
	// CRLF included; more is refused with [ErrHeadTooLarge]. It is the
	// bound net/http enforces through its 4 KiB bufio.Reader.
	MaxTrailerBytes = 4096

	// maxChunkLine bounds a chunk-size line, extensions and CRLF included.
	// net/http allows 4 KiB; nobody sends more than a few bytes.
	maxChunkLine = 1024
	// maxChunkOverhead is net/http's budget for non-data bytes: each
	// chunk may carry 16 bytes plus twice its size of overhead, and the
	// excess over that may not pass 16 KiB.
	maxChunkOverhead = 16 << 10
)

// DecodeChunked decodes a whole chunked body (RFC 9112 §7.1) from the start
// of b — the bytes after a head with [Request.Chunked] set — and appends the
// data to dst. It returns the extended buffer and the number of bytes of b
// the body took: the chunks, the last chunk, the trailer section and its
// final CRLF. Trailer fields are checked and skipped.
//
// It returns [ErrNeedMore] while b holds a valid but incomplete body, and
// refuses with [ErrBodyTooLarge] as soon as the declared chunk sizes add up
// to more than max bytes — from the size line, before the data arrives — so
// the caller never buffers more than about max bytes of data. max < 0 means
// no limit. Other failures are [*Error]s: 400 for bad framing and 431
// ([ErrHeadTooLarge]) for trailers over [MaxTrailerBytes].
//
// b is scanned completely before anything is copied, so dst may be b[:0]
// to decode in place: b is modified only when err is nil. On error dst is
// returned unchanged and consumed is 0. DecodeChunked does not allocate when
// dst has room for the data.
//
// Grammar, as net/http's chunked reader plus its trailer reading: a size of
// 1 to 16 hex digits, then either optional SP/HTAB or ';' and an extension
// (any HTAB, SP, VCHAR or obs-text bytes, ignored), then CRLF; the data;
// CRLF. Divergences, all refusals where net/http accepts: size lines longer
// than 1 KiB (net/http: 4 KiB); CTLs in chunk extensions; trailer fields
// with bare LF, obs-fold or whitespace before the colon.
func DecodeChunked(b, dst []byte, max int) (body []byte, consumed int, err error) {
	limit := uint64(math.MaxInt)
	if max >= 0 {
		limit = uint64(max)
	}
	var total uint64
	var excess int64
	i := 0
	for {
		start := i
		var n uint64
		digits := 0
		for i < len(b) && hexTable[b[i]] != 0 {
			if digits == 16 {
				return dst, 0, errChunkSize
			}
			n = n<<4 | uint64(hexTable[b[i]]-1)
			digits++
			if n > limit-total {
				return dst, 0, ErrBodyTooLarge
			}
			i++
		}
		if i < len(b) && digits == 0 {
			return dst, 0, errChunkSize
		}
		if i < len(b) && b[i] == ';' {
			for i < len(b) && valueTable[b[i]] && i-start < maxChunkLine {
				i++
			}
		} else {
			for i < len(b) && isOWS(b[i]) && i-start < maxChunkLine {
				i++
			}
		}
		if i-start > maxChunkLine-2 {
			return dst, 0, errChunkLine
		}
		if i == len(b) {
			return dst, 0, ErrNeedMore
		}
		if b[i] != '\r' {
			return dst, 0, errChunkLine
		}
		if i+1 == len(b) {
			return dst, 0, ErrNeedMore
		}
		if b[i+1] != '\n' {
			return dst, 0, errChunkLine
		}
		excess += int64(i-start) + 2 - 16 - 2*int64(min(n, 1<<32))
		if excess < 0 {
			excess = 0
		}
		if excess > maxChunkOverhead {
			return dst, 0, errChunkOverhead
		}
		i += 2
		if n == 0 {
			break
		}
		if avail := uint64(len(b) - i); avail < n+2 {
			if avail > n && b[i+int(n)] != '\r' {
				return dst, 0, errChunkData
			}
			return dst, 0, ErrNeedMore
		}
		end := i + int(n)
		if b[end] != '\r' || b[end+1] != '\n' {
			return dst, 0, errChunkData
		}
		total += n
		i = end + 2
	}

	// Trailer section: field lines, then CRLF. Bounded like a head.
	tstart := i
	lim := b
	more := ErrNeedMore
	if len(b)-tstart >= MaxTrailerBytes {
		lim = b[:tstart+MaxTrailerBytes]
		more = errTrailerTooLarge
	}
	for {
		if i == len(lim) {
			return dst, 0, more
		}
		switch lim[i] {
		case '\r':
			if i+1 == len(lim) {
				return dst, 0, more
			}
			if lim[i+1] != '\n' {
				return dst, 0, errBareCR
			}
			i += 2
		case '\n':
			return dst, 0, errBareLF
		case ' ', '\t':
			return dst, 0, errObsFold
		default:
			var err error
			if i, err = skipFieldLine(lim, i); err != nil {
				if err == ErrNeedMore {
					err = more
				}
				return dst, 0, err
			}
			continue
		}
		break
	}
	consumed = i

	// Second pass: the body is complete and valid; copy the data.
	dst = slices.Grow(dst, int(total))
	for j := 0; ; {
		n := 0
		for ; hexTable[b[j]] != 0; j++ {
			n = n<<4 | int(hexTable[b[j]]-1)
		}
		for b[j] != '\n' {
			j++
		}
		j++
		if n == 0 {
			break
		}
		dst = append(dst, b[j:j+n]...)
		j += n + 2
	}
	return dst, consumed, nil
}

// skipFieldLine checks the field line at b[i:] (token ":" value CRLF) and
// returns the index after it, or ErrNeedMore if b ends first.
func skipFieldLine(b []byte, i int) (int, error) {
	start := i
	for i < len(b) && tokenTable[b[i]] {
		i++
	}
	if i == len(b) {
		return i, ErrNeedMore
	}
	switch c := b[i]; {
	case c == ':':
	case c == ' ' || c == '\t':
		return i, errSpaceBeforeColn
	case c == '\r' || c == '\n':
		return i, errNoColon
	default:
		return i, errFieldName
	}
	if i == start {
		return i, errFieldName
	}
	i++
	for i < len(b) && valueTable[b[i]] {
		i++
	}
	if i == len(b) {
		return i, ErrNeedMore
	}
	switch b[i] {
	case '\r':
	case '\n':
		return i, errBareLF
	default:
		return i, errFieldValue
	}
	if i+1 == len(b) {
		return i, ErrNeedMore
	}
	if b[i+1] != '\n' {
		return i, errBareCR
	}
	return i + 2, nil
}
