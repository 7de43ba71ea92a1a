package frame

import (
	"bytes"
	"encoding/binary"

	"github.com/gobwas/ws"
)

var testMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// clientFrame encodes a masked client frame with gobwas/ws, independently of
// the code under test.
func clientFrame(fin bool, op ws.OpCode, payload []byte) []byte {
	var buf bytes.Buffer
	h := ws.Header{Fin: fin, OpCode: op, Masked: true, Mask: testMask, Length: int64(len(payload))}
	if err := ws.WriteHeader(&buf, h); err != nil {
		panic(err)
	}
	p := append([]byte(nil), payload...)
	ws.Cipher(p, testMask, 0)
	return append(buf.Bytes(), p...)
}

// rawFrame builds a frame by hand: first byte, a 7-bit length, optional
// extended length bytes, the test mask if masked, and payload (masked).
func rawFrame(b0 byte, masked bool, l7 byte, ext []byte, payload []byte) []byte {
	b1 := l7
	if masked {
		b1 |= 0x80
	}
	f := append([]byte{b0, b1}, ext...)
	p := append([]byte(nil), payload...)
	if masked {
		f = append(f, testMask[:]...)
		ws.Cipher(p, testMask, 0)
	}
	return append(f, p...)
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// maskServerFrame turns an unmasked frame (as written by AppendFrame or
// PutHeader) into a client frame masked with key.
func maskServerFrame(f []byte, key [4]byte) []byte {
	h, hn, err := ParseHeader(f)
	if err != nil || h.Masked {
		panic("maskServerFrame: bad frame")
	}
	out := append([]byte(nil), f[:hn]...)
	out[1] |= 0x80
	out = append(out, key[:]...)
	p := append([]byte(nil), f[hn:]...)
	ws.Cipher(p, key, 0)
	return append(out, p...)
}

func concat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
