package frame

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// expectedViolation computes, from the raw bits, the first protocol violation
// ParseHeader must report for b, in its documented order, or nil. It is
// written independently of ParseHeader.
func expectedViolation(b []byte) *CloseError {
	if len(b) == 0 {
		return nil
	}
	op := b[0] & 0x0f
	control := op >= 8
	switch {
	case b[0]&0x70 != 0:
		return errReservedBits
	case (op >= 3 && op <= 7) || op >= 0xb:
		return errReservedOpCode
	case control && b[0]&0x80 == 0:
		return errControlNotFinal
	case len(b) < 2:
		return nil
	}
	l7 := b[1] & 0x7f
	if l7 == 127 && len(b) > 2 && b[2]&0x80 != 0 {
		return errLengthMSB
	}
	var length uint64
	switch l7 {
	case 126:
		if len(b) < 4 {
			return nil
		}
		length = uint64(b[2])<<8 | uint64(b[3])
	case 127:
		if len(b) < 10 {
			return nil
		}
		for _, c := range b[2:10] {
			length = length<<8 | uint64(c)
		}
	default:
		length = uint64(l7)
	}
	// The control length is reported once the whole header is in.
	n := 2 + map[byte]int{126: 2, 127: 8}[l7] + 4*int(b[1]>>7)
	if control && length > 125 && len(b) >= n {
		return errControlTooLong
	}
	return nil
}

// FuzzParseHeader checks ParseHeader against gobwas/ws ReadHeader. Where
// they differ it is only because ParseHeader validates more:
//   - ReadHeader checks nothing but the 64-bit MSB; the other checks are
//     gobwas' CheckHeader, applied here to its result;
//   - ParseHeader reports a violation as soon as its bytes are in, where
//     ReadHeader first wants the whole header and returns an EOF error;
//   - ReadHeader reports the MSB only after reading the mask key too.
//
// Every field ParseHeader returns on success must equal ReadHeader's, and n
// must be what ReadHeader consumed.
func FuzzParseHeader(f *testing.F) {
	for _, seed := range [][]byte{
		{0x81, 0x85, 1, 2, 3, 4, 'h', 'e', 'l', 'l', 'o'},
		{0x82, 0x7e, 0x01, 0x00},
		concat([]byte{0x82, 0xff}, u64(1<<40), testMask[:]),
		concat([]byte{0x82, 0xff}, u64(1<<63), testMask[:]),
		{0x09, 0x80, 1, 2, 3, 4},
		{0x89, 0xfe, 0x00, 0x7d},
		{0xc1, 0x80},
		{0x8b, 0x00},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64 { // a header is at most 14 bytes
			b = b[:64]
		}
		h, n, err := ParseHeader(b)
		r := bytes.NewReader(b)
		oh, oerr := ws.ReadHeader(r)
		oracleShort := oerr == io.EOF || oerr == io.ErrUnexpectedEOF
		want := expectedViolation(b)

		switch {
		case err == nil:
			if want != nil || oerr != nil {
				t.Fatalf("accepted % x; want %v, gobwas: %v", b, want, oerr)
			}
			if h != oh || n != len(b)-r.Len() {
				t.Fatalf("% x: got %+v n=%d; gobwas %+v n=%d", b, h, n, oh, len(b)-r.Len())
			}
			if ce := ws.CheckHeader(h, ws.StateServerSide|ws.StateFragmented); ce != nil &&
				ce != ws.ErrProtocolMaskRequired && ce != ws.ErrProtocolContinuationExpected {
				t.Fatalf("% x: gobwas CheckHeader: %v", b, ce)
			}
			return
		case n != 0:
			t.Fatalf("n = %d with error %v", n, err)
		case err == ErrNeedMore:
			if want != nil || !oracleShort {
				t.Fatalf("need more for % x; want %v, gobwas: %v", b, want, oerr)
			}
			return
		}

		var ce *CloseError
		if !errors.As(err, &ce) || ce != want || !errors.Is(err, ErrProtocol) {
			t.Fatalf("% x: err %v, want %v", b, err, want)
		}
		switch {
		case ce == errLengthMSB:
			if oerr != ws.ErrHeaderLengthMSB && !oracleShort {
				t.Fatalf("% x: MSB, gobwas: %v", b, oerr)
			}
		case oracleShort || oerr == ws.ErrHeaderLengthMSB:
			// gobwas did not get past the length: either the header is
			// incomplete and we failed early, or it stopped at the MSB while
			// we stopped at a violation in the first byte.
			if ce == errControlTooLong {
				t.Fatalf("% x: control length reported before the header is complete", b)
			}
		case oerr != nil:
			t.Fatalf("% x: gobwas: %v", b, oerr)
		default:
			// gobwas parsed the whole header: by its own predicates, the
			// header must show the violation we reported.
			var seen bool
			switch ce {
			case errReservedBits:
				seen = oh.Rsv != 0
			case errReservedOpCode:
				seen = oh.OpCode.IsReserved()
			case errControlNotFinal:
				seen = oh.OpCode.IsControl() && !oh.Fin
			case errControlTooLong:
				seen = oh.OpCode.IsControl() && oh.Length > ws.MaxControlFramePayloadSize
			}
			if !seen || ws.CheckHeader(oh, ws.StateServerSide) == nil {
				t.Fatalf("% x: %v, but gobwas parsed %+v", b, err, oh)
			}
		}
	})
}

// FuzzDecoder feeds arbitrary bytes to a Decoder, whole and split at a
// fuzzer-chosen point, and checks that it never panics, that n stays within
// b, that each call makes progress, that both feeds produce the same events,
// and that what it returns is well-formed. It also checks that frames built
// with AppendFrame and PutHeader, masked, round-trip, fragmented or not.
func FuzzDecoder(f *testing.F) {
	f.Add(text(true, "hello"), uint16(3))
	f.Add(concat(text(false, "\xe2"), clientFrame(true, ws.OpPing, nil), clientFrame(true, ws.OpContinuation, []byte("\x82\xac"))), uint16(7))
	f.Add(rawFrame(0x82, true, 127, u64(1<<40), nil), uint16(5))
	f.Add(rawFrame(0x82, true, 127, u64(1<<63), nil), uint16(5))
	f.Add(rawFrame(0x09, true, 1, nil, []byte("x")), uint16(1))
	f.Add(clientFrame(true, ws.OpClose, append(u16(1000), "bye"...)), uint16(4))
	f.Fuzz(checkDecoder)
}

func checkDecoder(t *testing.T, data []byte, split uint16) {
	if len(data) > 1<<16 {
		data = data[:1<<16]
	}
	newDecoder := func() *Decoder { return &Decoder{Limits: &Limits{MaxMessageSize: 1 << 12, MaxFragments: 16}} }
	whole := fuzzDecode(t, newDecoder(), [][]byte{data})
	cut := int(split) % (len(data) + 1)
	parts := fuzzDecode(t, newDecoder(), [][]byte{data[:cut], data[cut:]})
	if !reflect.DeepEqual(whole, parts) {
		t.Fatalf("split at %d changes the result:\n%v\n%v", cut, whole, parts)
	}

	// Round trip: data as one frame, and as two fragments around a ping.
	key := [4]byte{byte(split), byte(split >> 8), 0x5a, 0xa5}
	for _, op := range []ws.OpCode{ws.OpBinary, ws.OpText} {
		want := []event{{op: op, payload: string(data)}}
		frag := []event{fragment, {op: ws.OpPing, payload: "p"}, {op: op, payload: string(data)}}
		if op == ws.OpText && !utf8.Valid(data) {
			want = []event{{err: errTextUTF8}}
			frag = nil // where it fails depends on the cut
		}
		one := maskServerFrame(AppendFrame(nil, op, data), key)
		if got := fuzzDecode(t, &Decoder{}, [][]byte{one}); !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip %v: %v", op, got)
		}
		buf := make([]byte, MaxHeaderSize+cut)
		copy(buf[MaxHeaderSize:], data[:cut])
		first := buf[PutHeader(buf, false, op, cut):]
		buf = make([]byte, MaxHeaderSize+len(data)-cut)
		copy(buf[MaxHeaderSize:], data[cut:])
		last := buf[PutHeader(buf, true, ws.OpContinuation, len(data)-cut):]
		stream := concat(maskServerFrame(first, key), maskServerFrame(AppendFrame(nil, ws.OpPing, []byte("p")), key), maskServerFrame(last, key))
		got := fuzzDecode(t, &Decoder{}, [][]byte{stream})
		if frag == nil {
			if len(got) == 0 || got[len(got)-1].err != errTextUTF8 {
				t.Fatalf("fragmented invalid text: %v", got)
			}
		} else if !reflect.DeepEqual(got, frag) {
			t.Fatalf("fragmented round trip %v at %d: %v", op, cut, got)
		}
	}
}

// fuzzDecode feeds the chunks one after the other, calling Next until it
// needs more, and returns the events. It checks Next's contract on the way.
func fuzzDecode(t *testing.T, d *Decoder, chunks [][]byte) []event {
	var (
		evs     []event
		pending []byte
	)
	for i := 0; ; {
		m, n, err := d.Next(pending)
		if n < 0 || n > len(pending) {
			t.Fatalf("n = %d, len(b) = %d", n, len(pending))
		}
		if err == ErrNeedMore {
			if n != 0 {
				t.Fatalf("n = %d with ErrNeedMore", n)
			}
			if i == len(chunks) {
				return evs
			}
			pending = append(pending, chunks[i]...)
			i++
			continue
		}
		if err != nil {
			var ce *CloseError
			if n != 0 || !errors.As(err, &ce) {
				t.Fatalf("n = %d, err = %v", n, err)
			}
			return append(evs, event{err: err})
		}
		if n == 0 {
			t.Fatal("no progress")
		}
		switch m.Op {
		case 0:
			if m.Payload != nil {
				t.Fatal("fragment with payload")
			}
		case ws.OpText, ws.OpBinary:
			if int64(len(m.Payload)) > d.Limits.maxMessageSize() || (m.Op == ws.OpText && !utf8.Valid(m.Payload)) {
				t.Fatalf("bad message %v %q", m.Op, m.Payload)
			}
		case ws.OpPing, ws.OpPong, ws.OpClose:
			if len(m.Payload) > 125 {
				t.Fatalf("control payload of %d bytes", len(m.Payload))
			}
			if _, _, err := ParseClose(m.Payload); m.Op == ws.OpClose && err != nil {
				t.Fatalf("bad close payload: %v", err)
			}
		default:
			t.Fatalf("op %v", m.Op)
		}
		evs = append(evs, event{op: m.Op, payload: string(m.Payload)})
		pending = pending[n:]
	}
}
