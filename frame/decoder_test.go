package frame

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/gobwas/ws"
)

// event is what one call of Next produced: a message, a consumed fragment
// (op 0), or an error.
type event struct {
	op      ws.OpCode
	payload string
	err     error
}

func (e event) String() string {
	if e.err != nil {
		return "err(" + e.err.Error() + ")"
	}
	return fmt.Sprintf("%v:%q", e.op, e.payload)
}

var fragment = event{}

// decodeAll feeds stream to d in chunks of size chunk (0: all at once), the
// way a connection's buffer fills, and records what Next returns until the
// stream is exhausted or an error occurs. It fails t if Next breaks its
// contract on n.
func decodeAll(t testing.TB, d *Decoder, stream []byte, chunk int) []event {
	if chunk <= 0 {
		chunk = len(stream) + 1
	}
	var (
		evs     []event
		pending []byte
		fed     int
	)
	for {
		m, n, err := d.Next(pending)
		switch {
		case err == ErrNeedMore:
			if n != 0 {
				t.Fatalf("n = %d with ErrNeedMore", n)
			}
			if fed == len(stream) {
				return evs
			}
			end := min(fed+chunk, len(stream))
			pending = append(pending, stream[fed:end]...)
			fed = end
			continue
		case err != nil:
			if n != 0 {
				t.Fatalf("n = %d with error %v", n, err)
			}
			return append(evs, event{err: err})
		case n <= 0 || n > len(pending):
			t.Fatalf("n = %d, len(b) = %d", n, len(pending))
		case m.Op == 0 && m.Payload != nil:
			t.Fatalf("fragment with payload %q", m.Payload)
		}
		evs = append(evs, event{op: m.Op, payload: string(m.Payload)})
		pending = pending[n:]
	}
}

func TestDecoder(t *testing.T) {
	text := func(fin bool, s string) []byte { return clientFrame(fin, ws.OpText, []byte(s)) }
	bin := func(fin bool, s string) []byte { return clientFrame(fin, ws.OpBinary, []byte(s)) }
	cont := func(fin bool, s string) []byte { return clientFrame(fin, ws.OpContinuation, []byte(s)) }
	ctl := func(op ws.OpCode, s string) []byte { return clientFrame(true, op, []byte(s)) }
	closeBody := func(code uint16, reason string) string { return string(u16(code)) + reason }
	msg := func(op ws.OpCode, s string) event { return event{op: op, payload: s} }
	fail := func(err error) event { return event{err: err} }
	big := strings.Repeat("x", 70000)

	for _, tc := range []struct {
		name   string
		dec    Decoder
		stream []byte
		want   []event
	}{
		{"text", Decoder{}, text(true, "hello"), []event{msg(ws.OpText, "hello")}},
		{"binary", Decoder{}, bin(true, "\x00\xff"), []event{msg(ws.OpBinary, "\x00\xff")}},
		{"empty text", Decoder{}, text(true, ""), []event{msg(ws.OpText, "")}},
		{"len16", Decoder{}, bin(true, big[:300]), []event{msg(ws.OpBinary, big[:300])}},
		{"len64", Decoder{}, bin(true, big), []event{msg(ws.OpBinary, big)}},
		{"non-minimal length", Decoder{}, rawFrame(0x81, true, 127, u64(2), []byte("hi")), []event{msg(ws.OpText, "hi")}},
		{"several frames", Decoder{}, concat(text(true, "a"), bin(true, "b"), ctl(ws.OpPing, "c")),
			[]event{msg(ws.OpText, "a"), msg(ws.OpBinary, "b"), msg(ws.OpPing, "c")}},
		{"unmasked", Decoder{}, rawFrame(0x81, false, 2, nil, []byte("hi")), []event{fail(errUnmasked)}},
		{"unmasked ping", Decoder{}, rawFrame(0x89, false, 0, nil, nil), []event{fail(errUnmasked)}},
		{"invalid utf8", Decoder{}, text(true, "a\xffb"), []event{fail(errTextUTF8)}},
		{"surrogate", Decoder{}, text(true, "\xed\xa0\x80"), []event{fail(errTextUTF8)}},
		{"invalid utf8 in binary is fine", Decoder{}, bin(true, "\xff"), []event{msg(ws.OpBinary, "\xff")}},

		// §5.4 fragmentation.
		{"fragmented text", Decoder{}, concat(text(false, "Hel"), cont(false, "lo, "), cont(true, "World")),
			[]event{fragment, fragment, msg(ws.OpText, "Hello, World")}},
		{"fragmented binary, empty parts", Decoder{}, concat(bin(false, ""), cont(false, ""), cont(true, "")),
			[]event{fragment, fragment, msg(ws.OpBinary, "")}},
		{"ping between fragments", Decoder{}, concat(bin(false, "ab"), ctl(ws.OpPing, "p"), cont(false, "cd"), ctl(ws.OpPong, ""), cont(true, "ef")),
			[]event{fragment, msg(ws.OpPing, "p"), fragment, msg(ws.OpPong, ""), msg(ws.OpBinary, "abcdef")}},
		{"close between fragments", Decoder{}, concat(text(false, "ab"), ctl(ws.OpClose, closeBody(1000, "bye"))),
			[]event{fragment, msg(ws.OpClose, closeBody(1000, "bye"))}},
		{"two fragmented messages", Decoder{}, concat(text(false, "a"), cont(true, "b"), bin(false, "c"), cont(true, "d"), text(true, "e")),
			[]event{fragment, msg(ws.OpText, "ab"), fragment, msg(ws.OpBinary, "cd"), msg(ws.OpText, "e")}},
		{"big fragmented", Decoder{}, concat(bin(false, big), cont(true, big)), []event{fragment, msg(ws.OpBinary, big+big)}},
		{"continuation first", Decoder{}, cont(true, "x"), []event{fail(errNoContinuation)}},
		{"continuation after message", Decoder{}, concat(text(true, "a"), cont(true, "x")), []event{msg(ws.OpText, "a"), fail(errNoContinuation)}},
		{"text during fragmented", Decoder{}, concat(text(false, "a"), text(true, "b")), []event{fragment, fail(errInterleaved)}},
		{"binary during fragmented", Decoder{}, concat(text(false, "a"), bin(false, "b")), []event{fragment, fail(errInterleaved)}},

		// UTF-8 across fragment boundaries (§8.1): "€" is e2 82 ac, "😀" f0 9f 98 80.
		{"euro split 1+2", Decoder{}, concat(text(false, "a\xe2"), cont(true, "\x82\xac")), []event{fragment, msg(ws.OpText, "a€")}},
		{"euro split 2+1", Decoder{}, concat(text(false, "\xe2\x82"), cont(true, "\xac")), []event{fragment, msg(ws.OpText, "€")}},
		{"emoji byte by byte", Decoder{}, concat(text(false, "\xf0"), cont(false, "\x9f"), cont(false, "\x98"), cont(true, "\x80")),
			[]event{fragment, fragment, fragment, msg(ws.OpText, "😀")}},
		{"emoji split, empty fragments", Decoder{}, concat(text(false, "\xf0\x9f"), cont(false, ""), cont(false, "\x98"), cont(true, "\x80!")),
			[]event{fragment, fragment, fragment, msg(ws.OpText, "😀!")}},
		{"invalid in first fragment fails at once", Decoder{}, concat(text(false, "ok\xff"), cont(true, "x")), []event{fail(errTextUTF8)}},
		{"bad continuation byte fails at once", Decoder{}, concat(text(false, "\xe2"), cont(false, "a"), cont(true, "")), []event{fragment, fail(errTextUTF8)}},
		{"surrogate prefix fails at once", Decoder{}, concat(text(false, "\xed\xa0"), cont(true, "\x80")), []event{fail(errTextUTF8)}},
		{"incomplete at the end", Decoder{}, concat(text(false, "\xe2\x82"), cont(true, "")), []event{fragment, fail(errTextUTF8)}},
		{"too long sequence", Decoder{}, concat(text(false, "\xf0\x9f\x98"), cont(true, "\x80\x80")), []event{fragment, fail(errTextUTF8)}},

		// Limits, checked from the header.
		{"at max size", Decoder{Limits: &Limits{MaxMessageSize: 5}}, text(true, "12345"), []event{msg(ws.OpText, "12345")}},
		{"over max size", Decoder{Limits: &Limits{MaxMessageSize: 5}}, text(true, "123456"), []event{fail(ErrTooBig)}},
		{"over max size assembled", Decoder{Limits: &Limits{MaxMessageSize: 5}}, concat(text(false, "123"), cont(false, "45"), cont(true, "6")),
			[]event{fragment, fragment, fail(ErrTooBig)}},
		{"at max size assembled", Decoder{Limits: &Limits{MaxMessageSize: 5}}, concat(text(false, "123"), ctl(ws.OpPing, "control frames do not count"), cont(true, "45")),
			[]event{fragment, msg(ws.OpPing, "control frames do not count"), msg(ws.OpText, "12345")}},
		{"default max size", Decoder{}, rawFrame(0x82, true, 127, u64(1_000_001), nil), []event{fail(ErrTooBig)}},
		{"2^40 from the header alone", Decoder{}, rawFrame(0x82, true, 127, u64(1<<40), nil), []event{fail(ErrTooBig)}},
		{"2^63-1 from the header alone", Decoder{Limits: &Limits{MaxMessageSize: 1<<63 - 1}}, concat(bin(false, "ab"), rawFrame(0x80, true, 127, u64(1<<63-1), nil)),
			[]event{fragment, fail(ErrTooBig)}},
		{"msb set", Decoder{}, rawFrame(0x82, true, 127, u64(1<<63|5), []byte("hello")), []event{fail(errLengthMSB)}},
		{"max fragments", Decoder{Limits: &Limits{MaxFragments: 3}}, concat(bin(false, "a"), cont(false, "b"), cont(true, "c")),
			[]event{fragment, fragment, msg(ws.OpBinary, "abc")}},
		{"too many fragments", Decoder{Limits: &Limits{MaxFragments: 3}}, concat(bin(false, "a"), cont(false, "b"), cont(false, "c"), cont(true, "d")),
			[]event{fragment, fragment, fragment, fail(errTooManyFragments)}},
		{"too many fragments, default", Decoder{}, concat(bin(false, ""), bytes.Repeat(cont(false, ""), DefaultMaxFragments)),
			append(make([]event, DefaultMaxFragments), fail(errTooManyFragments))},

		// Header checks (§5.2, §5.5).
		{"rsv1", Decoder{}, rawFrame(0xc1, true, 1, nil, []byte("x")), []event{fail(errReservedBits)}},
		{"reserved opcode", Decoder{}, rawFrame(0x83, true, 0, nil, nil), []event{fail(errReservedOpCode)}},
		{"reserved control opcode", Decoder{}, rawFrame(0x8b, true, 0, nil, nil), []event{fail(errReservedOpCode)}},
		{"fragmented ping", Decoder{}, rawFrame(0x09, true, 1, nil, []byte("x")), []event{fail(errControlNotFinal)}},
		{"ping 125", Decoder{}, ctl(ws.OpPing, big[:125]), []event{msg(ws.OpPing, big[:125])}},
		{"ping 126", Decoder{}, rawFrame(0x89, true, 126, u16(126), []byte(big[:126])), []event{fail(errControlTooLong)}},

		// Close frames (§5.5.1, §7.4).
		{"close empty", Decoder{}, ctl(ws.OpClose, ""), []event{msg(ws.OpClose, "")}},
		{"close 1000", Decoder{}, ctl(ws.OpClose, closeBody(1000, "")), []event{msg(ws.OpClose, closeBody(1000, ""))}},
		{"close 4000 reason", Decoder{}, ctl(ws.OpClose, closeBody(4000, "ça va")), []event{msg(ws.OpClose, closeBody(4000, "ça va"))}},
		{"close 1 byte", Decoder{}, ctl(ws.OpClose, "\x03"), []event{fail(errCloseLength)}},
		{"close 1005", Decoder{}, ctl(ws.OpClose, closeBody(1005, "")), []event{fail(errCloseCode)}},
		{"close 999", Decoder{}, ctl(ws.OpClose, closeBody(999, "")), []event{fail(errCloseCode)}},
		{"close 1012", Decoder{}, ctl(ws.OpClose, closeBody(1012, "")), []event{fail(errCloseCode)}},
		{"close 5000", Decoder{}, ctl(ws.OpClose, closeBody(5000, "")), []event{fail(errCloseCode)}},
		{"close bad reason", Decoder{}, ctl(ws.OpClose, closeBody(1000, "\xc3")), []event{fail(errCloseReasonUTF8)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// All at once, then at every possible partial read: the same
			// events each time.
			for _, chunk := range []int{0, 1, 2, 3, 7} {
				d := tc.dec
				if got := decodeAll(t, &d, tc.stream, chunk); !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("chunk %d:\n got %v\nwant %v", chunk, got, tc.want)
				}
			}
		})
	}
}

// Errors the header decides are reported before the payload arrives, and
// partial frames are left untouched.
func TestDecoderHeaderFirst(t *testing.T) {
	var d Decoder
	hdr := rawFrame(0x82, true, 127, u64(1<<40), nil)
	if _, n, err := d.Next(hdr); err != ErrTooBig || n != 0 || !errors.Is(err, ErrTooBig) {
		t.Fatalf("2^40: n=%d err=%v", n, err)
	}
	if _, _, err := d.Next(hdr[:3]); err != ErrNeedMore {
		t.Fatalf("partial 2^40 header: %v", err)
	}
	f := text(true, "hello")
	for i := range len(f) {
		d.Reset()
		b := append([]byte(nil), f[:i]...)
		if _, n, err := d.Next(b); err != ErrNeedMore || n != 0 || !bytes.Equal(b, f[:i]) {
			t.Fatalf("prefix %d: n=%d err=%v, b modified: %v", i, n, err, !bytes.Equal(b, f[:i]))
		}
	}
}

func text(fin bool, s string) []byte { return clientFrame(fin, ws.OpText, []byte(s)) }

// Payloads alias the input (unfragmented) or the assembly buffer, with their
// capacity capped so that appending to one cannot clobber what follows.
func TestDecoderAliasing(t *testing.T) {
	var d Decoder
	b := concat(text(true, "hello"), text(true, "world"))
	m, n, err := d.Next(b)
	if err != nil || string(m.Payload) != "hello" {
		t.Fatal(m, err)
	}
	if &m.Payload[0] != &b[n-5] || cap(m.Payload) != 5 {
		t.Errorf("payload does not alias b or is not capped: cap %d", cap(m.Payload))
	}
	_ = append(m.Payload, "XXXXXXXX"...)
	if m, _, err := d.Next(b[n:]); err != nil || string(m.Payload) != "world" {
		t.Errorf("next frame clobbered: %q %v", m.Payload, err)
	}

	b = concat(text(false, "ab"), clientFrame(true, ws.OpContinuation, []byte("cd")))
	_, n, _ = d.Next(b)
	m, _, err = d.Next(b[n:])
	if err != nil || string(m.Payload) != "abcd" || &m.Payload[0] != &d.asm.buf[0] || cap(m.Payload) != 4 {
		t.Errorf("reassembled: %q %v", m.Payload, err)
	}
}

// The assembly buffer goes back to the pool with its state while small, and
// is dropped once a big message is done, so that memory stays bounded.
func TestDecoderBufferBounded(t *testing.T) {
	var d Decoder
	// assemble decodes a fragmented message of size bytes and returns its
	// state, still held by d (the message is valid until the next call).
	assemble := func(size int) *assembly {
		t.Helper()
		p := bytes.Repeat([]byte{'z'}, size)
		b := concat(clientFrame(false, ws.OpBinary, p[:size/2]), clientFrame(true, ws.OpContinuation, p[size/2:]))
		_, n, err := d.Next(b)
		if err != nil {
			t.Fatal(err)
		}
		if m, _, err := d.Next(b[n:]); err != nil || !bytes.Equal(m.Payload, p) {
			t.Fatalf("size %d: %v", size, err)
		}
		if d.asm == nil || !d.asm.done {
			t.Fatalf("size %d: no finished assembly held: %+v", size, d.asm)
		}
		return d.asm
	}
	next := func() {
		t.Helper()
		if _, _, err := d.Next(text(true, "x")); err != nil {
			t.Fatal(err)
		}
		if d.asm != nil {
			t.Fatal("assembly state kept after the message")
		}
	}
	// The released state is inspected after it went back to the pool: the
	// test takes nothing from the pool meanwhile.
	a := assemble(1000)
	next()
	if c := cap(a.buf); c == 0 || c > maxRetained || len(a.buf) != 0 || a.done || a.op != 0 || a.frags != 0 || a.checked != 0 {
		t.Fatalf("small message: released state not emptied or buffer not kept: len %d cap %d %+v", len(a.buf), c, *a)
	}
	a = assemble(100_000)
	if cap(a.buf) < 100_000 {
		t.Fatalf("cap %d", cap(a.buf))
	}
	next()
	if a.buf != nil {
		t.Errorf("big buffer kept after the message: cap %d", cap(a.buf))
	}
	// Growth never exceeds the limit.
	d = Decoder{Limits: &Limits{MaxMessageSize: 1500}}
	if a := assemble(1500); cap(a.buf) > 1500 {
		t.Errorf("cap %d over MaxMessageSize", cap(a.buf))
	}
}

// An idle connection holds no assembly state: it is taken at the first
// fragment of a message, kept while the message is in progress and while
// the reassembled message is valid, and given back at the next call to Next
// (or Release) whatever that call decodes.
func TestDecoderReleasesState(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after func(d *Decoder) // what follows the fragmented message
	}{
		{"text", func(d *Decoder) { _, _, _ = d.Next(text(true, "x")) }},
		{"ping", func(d *Decoder) { _, _, _ = d.Next(clientFrame(true, ws.OpPing, nil)) }},
		{"partial frame", func(d *Decoder) { _, _, _ = d.Next(text(true, "x")[:3]) }},
		{"nothing", func(d *Decoder) { _, _, _ = d.Next(nil) }},
		{"Release", func(d *Decoder) { d.Release() }},
		{"Reset", func(d *Decoder) { d.Reset() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			if d.Release(); d.asm != nil {
				t.Fatal("Release made a state")
			}
			start := concat(text(false, "ab"), clientFrame(true, ws.OpPing, nil))
			if evs := decodeAll(t, &d, start, 0); len(evs) != 2 || d.asm == nil || d.asm.done {
				t.Fatalf("in progress: %v, state %+v", evs, d.asm)
			}
			if d.Release(); d.asm == nil {
				t.Fatal("Release dropped a message in progress")
			}
			m, _, err := d.Next(clientFrame(true, ws.OpContinuation, []byte("cd")))
			if err != nil || string(m.Payload) != "abcd" || d.asm == nil {
				t.Fatalf("final fragment: %q %v, state %+v", m.Payload, err, d.asm)
			}
			tc.after(&d)
			if d.asm != nil {
				t.Fatalf("state kept: %+v", d.asm)
			}
			// And the Decoder works on.
			again := concat(text(false, "ef"), clientFrame(true, ws.OpContinuation, []byte("gh")), text(true, "i"))
			if got := decodeAll(t, &d, again, 1); len(got) != 3 || got[1].payload != "efgh" || d.asm != nil {
				t.Fatalf("after: %v, state %+v", got, d.asm)
			}
		})
	}
}

func TestDecoderReset(t *testing.T) {
	lim := &Limits{MaxMessageSize: 100, MaxFragments: 5}
	d := Decoder{Limits: lim}
	if _, _, err := d.Next(text(false, "ab")); err != nil {
		t.Fatal(err)
	}
	d.Reset()
	if d.asm != nil || d.Limits != lim || *lim != (Limits{MaxMessageSize: 100, MaxFragments: 5}) {
		t.Errorf("after Reset: %+v", d)
	}
	// The message in progress is gone: a new one may start.
	if m, _, err := d.Next(text(true, "new")); err != nil || string(m.Payload) != "new" {
		t.Errorf("%q %v", m.Payload, err)
	}
}

// Limits are read through a pointer that may be nil, and keep their meaning:
// zero or less is the default, and sizes are capped below 4 GiB.
func TestLimits(t *testing.T) {
	for _, tc := range []struct {
		l           *Limits
		size, frags int64
	}{
		{nil, DefaultMaxMessageSize, DefaultMaxFragments},
		{&Limits{}, DefaultMaxMessageSize, DefaultMaxFragments},
		{&Limits{MaxMessageSize: -1, MaxFragments: -1}, DefaultMaxMessageSize, DefaultMaxFragments},
		{&Limits{MaxMessageSize: 7, MaxFragments: 3}, 7, 3},
		{&Limits{MaxMessageSize: 1 << 40}, 1<<32 - 1, DefaultMaxFragments},
	} {
		if s, f := tc.l.maxMessageSize(), tc.l.maxFragments(); s != tc.size || f != tc.frags {
			t.Errorf("%+v: %d, %d; want %d, %d", tc.l, s, f, tc.size, tc.frags)
		}
	}
}

// Every connection holds a Decoder: two pointers, the fragment state
// behind one of them. Pinned so that a field added here is a decision.
func TestDecoderSize(t *testing.T) {
	if got := unsafe.Sizeof(Decoder{}); got > 16 {
		t.Errorf("Decoder is %d bytes, want at most 16", got)
	}
}
