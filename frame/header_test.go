package frame

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/gobwas/ws"
)

func TestParseHeader(t *testing.T) {
	m := testMask
	for _, tc := range []struct {
		name string
		in   []byte
		want ws.Header
		n    int
		err  error
	}{
		{"empty", nil, ws.Header{}, 0, ErrNeedMore},
		{"text unmasked", []byte{0x81, 0x05}, ws.Header{Fin: true, OpCode: ws.OpText, Length: 5}, 2, nil},
		{"text masked", []byte{0x81, 0x85, m[0], m[1], m[2], m[3]}, ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: m, Length: 5}, 6, nil},
		{"continuation not final", []byte{0x00, 0x80, 1, 2, 3, 4}, ws.Header{Masked: true, Mask: [4]byte{1, 2, 3, 4}}, 6, nil},
		{"len 125", []byte{0x82, 125}, ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 125}, 2, nil},
		{"len16 126", concat([]byte{0x82, 126}, u16(126)), ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 126}, 4, nil},
		{"len16 65535 masked", concat([]byte{0x82, 0xfe}, u16(65535), m[:]), ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: m, Length: 65535}, 8, nil},
		{"len64 65536", concat([]byte{0x82, 127}, u64(65536)), ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 65536}, 10, nil},
		{"len64 max", concat([]byte{0x82, 0xff}, u64(math.MaxInt64), m[:]), ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: m, Length: math.MaxInt64}, 14, nil},
		{"len 2^40", concat([]byte{0x82, 0xff}, u64(1<<40), m[:]), ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: m, Length: 1 << 40}, 14, nil},
		// §5.2 asks the sender for minimal lengths; we accept the others.
		{"non-minimal len16", concat([]byte{0x81, 126}, u16(5)), ws.Header{Fin: true, OpCode: ws.OpText, Length: 5}, 4, nil},
		{"non-minimal len64", concat([]byte{0x81, 127}, u64(5)), ws.Header{Fin: true, OpCode: ws.OpText, Length: 5}, 10, nil},
		{"non-minimal control", concat([]byte{0x89, 126}, u16(125)), ws.Header{Fin: true, OpCode: ws.OpPing, Length: 125}, 4, nil},
		{"ping 125", []byte{0x89, 125}, ws.Header{Fin: true, OpCode: ws.OpPing, Length: 125}, 2, nil},
		{"close empty", []byte{0x88, 0x00}, ws.Header{Fin: true, OpCode: ws.OpClose}, 2, nil},
		{"pong", []byte{0x8a, 0x00}, ws.Header{Fin: true, OpCode: ws.OpPong}, 2, nil},

		{"rsv1", []byte{0xc1, 0x00}, ws.Header{}, 0, errReservedBits},
		{"rsv2", []byte{0xa1}, ws.Header{}, 0, errReservedBits},
		{"rsv3 alone", []byte{0x91}, ws.Header{}, 0, errReservedBits},
		{"opcode 3", []byte{0x83, 0x00}, ws.Header{}, 0, errReservedOpCode},
		{"opcode 7", []byte{0x87}, ws.Header{}, 0, errReservedOpCode},
		{"opcode 0xb", []byte{0x8b, 0x00}, ws.Header{}, 0, errReservedOpCode},
		{"opcode 0xf", []byte{0x8f}, ws.Header{}, 0, errReservedOpCode},
		{"fragmented ping", []byte{0x09, 0x80}, ws.Header{}, 0, errControlNotFinal},
		{"fragmented close, 1 byte", []byte{0x08}, ws.Header{}, 0, errControlNotFinal},
		{"ping 126", concat([]byte{0x89, 0xfe}, u16(126), m[:]), ws.Header{}, 0, errControlTooLong},
		{"close len64", concat([]byte{0x88, 127}, u64(1000)), ws.Header{}, 0, errControlTooLong},
		{"msb set", concat([]byte{0x82, 0xff}, u64(1<<63), m[:]), ws.Header{}, 0, errLengthMSB},
		{"msb set, 3 bytes", []byte{0x82, 0xff, 0x80}, ws.Header{}, 0, errLengthMSB},
		{"msb set, all ones", concat([]byte{0x82, 127}, u64(math.MaxUint64)), ws.Header{}, 0, errLengthMSB},
		{"msb set on ping", []byte{0x89, 0xff, 0xff}, ws.Header{}, 0, errLengthMSB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := ParseHeader(tc.in)
			if err != tc.err {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.err != nil {
				if n != 0 {
					t.Errorf("n = %d on error", n)
				}
				if tc.err != ErrNeedMore && !errors.Is(err, ErrProtocol) {
					t.Errorf("%v does not match ErrProtocol", err)
				}
				return
			}
			if h != tc.want || n != tc.n {
				t.Errorf("got %+v, %d; want %+v, %d", h, n, tc.want, tc.n)
			}
			// With payload bytes behind it, the result is the same.
			h2, n2, err := ParseHeader(append(tc.in, 0xff, 0xff, 0xff))
			if h2 != h || n2 != n || err != nil {
				t.Errorf("with trailing bytes: %+v, %d, %v", h2, n2, err)
			}
		})
	}
}

// Every strict prefix of a valid header is ErrNeedMore; the header itself
// agrees with gobwas/ws.
func TestParseHeaderPartial(t *testing.T) {
	for _, length := range []int64{0, 1, 125, 126, 1000, 65535, 65536, 1 << 40, math.MaxInt64} {
		for _, masked := range []bool{false, true} {
			for _, op := range []ws.OpCode{ws.OpContinuation, ws.OpText, ws.OpBinary, ws.OpClose, ws.OpPing, ws.OpPong} {
				if op.IsControl() && length > 125 {
					continue
				}
				want := ws.Header{Fin: true, OpCode: op, Masked: masked, Length: length}
				if masked {
					want.Mask = testMask
				}
				var buf bytes.Buffer
				if err := ws.WriteHeader(&buf, want); err != nil {
					t.Fatal(err)
				}
				enc := buf.Bytes()
				for i := range len(enc) {
					if _, n, err := ParseHeader(enc[:i]); err != ErrNeedMore || n != 0 {
						t.Fatalf("%+v: prefix %d: n=%d err=%v, want ErrNeedMore", want, i, n, err)
					}
				}
				h, n, err := ParseHeader(enc)
				if err != nil || h != want || n != len(enc) {
					t.Fatalf("%+v: got %+v, %d, %v", want, h, n, err)
				}
			}
		}
	}
}

func TestUnmask(t *testing.T) {
	for n := range 80 {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 7)
		}
		orig := append([]byte(nil), p...)
		Unmask(p, testMask)
		for i := range p {
			if p[i] != orig[i]^testMask[i%4] {
				t.Fatalf("len %d: byte %d = %#x, want %#x", n, i, p[i], orig[i]^testMask[i%4])
			}
		}
		Unmask(p, testMask)
		if !bytes.Equal(p, orig) {
			t.Fatalf("len %d: unmasking twice is not the identity", n)
		}
	}
}

func TestHeaderSize(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{0, 2}, {125, 2}, {126, 4}, {65535, 4}, {65536, 10}, {math.MaxInt, 10},
	} {
		if got := HeaderSize(tc.n); got != tc.want {
			t.Errorf("HeaderSize(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func TestPutHeader(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 1 << 32, math.MaxInt} {
		for _, fin := range []bool{true, false} {
			for _, op := range []ws.OpCode{ws.OpContinuation, ws.OpText, ws.OpBinary} {
				buf := bytes.Repeat([]byte{0xee}, MaxHeaderSize+4) // headroom + some payload
				start := PutHeader(buf, fin, op, n)
				if start != MaxHeaderSize-HeaderSize(n) {
					t.Fatalf("n=%d: start = %d", n, start)
				}
				for i, c := range buf {
					if (i < start || i >= MaxHeaderSize) && c != 0xee {
						t.Fatalf("n=%d: PutHeader wrote byte %d", n, i)
					}
				}
				var want bytes.Buffer
				ws.WriteHeader(&want, ws.Header{Fin: fin, OpCode: op, Length: int64(n)})
				if !bytes.Equal(buf[start:MaxHeaderSize], want.Bytes()) {
					t.Fatalf("n=%d fin=%v op=%v: % x, want % x", n, fin, op, buf[start:MaxHeaderSize], want.Bytes())
				}
			}
		}
	}
}

func TestPutHeaderPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"short buf":  func() { PutHeader(make([]byte, MaxHeaderSize-1), true, ws.OpText, 0) },
		"negative n": func() { PutHeader(make([]byte, MaxHeaderSize), true, ws.OpText, -1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestAppendFrame(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 70000} {
		for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary, ws.OpPing} {
			payload := bytes.Repeat([]byte{'x'}, n)
			want, err := ws.CompileFrame(ws.NewFrame(op, true, payload))
			if err != nil {
				t.Fatal(err)
			}
			prefix := []byte("prefix")
			got := AppendFrame(prefix, op, payload)
			if !bytes.Equal(got[:len(prefix)], prefix) || !bytes.Equal(got[len(prefix):], want) {
				t.Fatalf("n=%d op=%v: frame differs from gobwas/ws", n, op)
			}
		}
	}
}
