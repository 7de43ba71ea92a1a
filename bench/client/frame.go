package client

import (
	"encoding/binary"
	"fmt"

	"github.com/gobwas/ws"
)

// frameReader is the read side Conn and LoopConn share: a buffer of
// received bytes, WebSocket frame parsing (masked server frames are
// unmasked, though servers do not mask) and the reassembly of fragmented
// messages. Whoever owns it reads into buf[w:] (prepare, then grow) and
// takes the frames out with next.
type frameReader struct {
	buf    []byte // read buffer; unparsed bytes are buf[r:w]
	r, w   int
	frag   []byte // a fragmented message being reassembled
	fragOp byte
	max    int // the buffer grows by itself up to this (see grow)
}

// ensure makes room for n more bytes after buf[r:w]: it moves the unparsed
// bytes to the front and grows the buffer when that is not enough.
func (rd *frameReader) ensure(n int) {
	if len(rd.buf)-rd.w >= n {
		return
	}
	if rd.r > 0 {
		rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
		rd.r = 0
		if len(rd.buf)-rd.w >= n {
			return
		}
	}
	nb := make([]byte, max(2*len(rd.buf), rd.w+n))
	copy(nb, rd.buf[:rd.w])
	rd.buf = nb
}

// prepare makes buf[w:] non-empty for the next read and returns its size.
func (rd *frameReader) prepare() (free int) {
	if rd.r == rd.w {
		rd.r, rd.w = 0, 0
	}
	if rd.w == len(rd.buf) {
		rd.ensure(len(rd.buf) / 2)
	}
	return len(rd.buf) - rd.w
}

// grow accounts for a read of n bytes into the free space (free, from
// prepare). When a read filled it all, the buffer doubles (up to max): a
// connection receiving a burst then takes more frames per read(2).
func (rd *frameReader) grow(n, free int) {
	if n <= 0 {
		return
	}
	rd.w += n
	if n == free && len(rd.buf) < rd.max {
		rd.ensure(len(rd.buf))
	}
}

// next takes the next control frame or whole message out of the buffer:
// its opcode (opText or opBinary for a message, opPing, opPong or opClose)
// and its payload, borrowed until the next call. ok is false when the
// buffer holds no complete one (the buffer is then made large enough for
// the frame it started).
func (rd *frameReader) next() (op byte, payload []byte, ok bool, err error) {
	for {
		p := rd.buf[rd.r:rd.w]
		if len(p) < 2 {
			return 0, nil, false, nil
		}
		b0, b1 := p[0], p[1]
		hdr := 2
		size := uint64(b1 & 0x7f)
		switch size {
		case 126:
			if len(p) < 4 {
				return 0, nil, false, nil
			}
			size, hdr = uint64(binary.BigEndian.Uint16(p[2:])), 4
		case 127:
			if len(p) < 10 {
				return 0, nil, false, nil
			}
			size, hdr = binary.BigEndian.Uint64(p[2:]), 10
		}
		masked := b1&0x80 != 0
		if masked {
			hdr += 4
		}
		if size > 1<<30 {
			return 0, nil, false, fmt.Errorf("%w: frame of %d bytes", ErrProtocol, size)
		}
		total := hdr + int(size)
		if len(p) < total {
			rd.ensure(total - len(p))
			return 0, nil, false, nil
		}
		payload = p[hdr:total]
		if masked {
			ws.Cipher(payload, [4]byte(p[hdr-4:hdr]), 0)
		}
		rd.r += total
		fin, op := b0&0x80 != 0, b0&0x0f
		switch op {
		case opPing, opPong, opClose:
			return op, payload, true, nil
		case opContinuation:
			if rd.fragOp == 0 {
				return 0, nil, false, fmt.Errorf("%w: continuation without a first fragment", ErrProtocol)
			}
			rd.frag = append(rd.frag, payload...)
			if !fin {
				continue
			}
			op, payload = rd.fragOp, rd.frag
			rd.fragOp = 0
			rd.frag = rd.frag[:0]
			return op, payload, true, nil
		case opText, opBinary:
			if !fin {
				rd.fragOp = op
				rd.frag = append(rd.frag[:0], payload...)
				continue
			}
			return op, payload, true, nil
		default:
			return 0, nil, false, fmt.Errorf("%w: opcode %d", ErrProtocol, op)
		}
	}
}

// appendEmit appends maxHeader spare bytes and the Engine.IO message of an
// EVENT, 42[id]["event",args...] (no id when id < 0), ready for
// frameInPlace: the real header is later written right-aligned in front of
// the payload (minimal length encoding, as RFC 6455 requires), so nothing
// is copied twice.
func appendEmit(b []byte, id int64, event string, args [][]byte) []byte {
	b = append(b, make([]byte, maxHeader)...)
	b = append(b, '4', '2')
	if id >= 0 {
		b = appendInt(b, id)
	}
	b = append(b, '[')
	b = appendJSONString(b, event)
	for _, a := range args {
		b = append(b, ',')
		b = append(b, a...)
	}
	return append(b, ']')
}
