//go:build !race

package frame

import (
	"bytes"
	"testing"

	"github.com/gobwas/ws"
)

// The hot paths do not allocate. (The race detector allocates, hence the
// build tag.)
func TestAllocs(t *testing.T) {
	small := clientFrame(true, ws.OpText, []byte("42[\"message\",\"hello\"]"))
	big := clientFrame(true, ws.OpText, bytes.Repeat([]byte{'a'}, 64<<10))
	scratch := make([]byte, len(big))
	payload := make([]byte, 64<<10)
	frag := concat(
		clientFrame(false, ws.OpText, bytes.Repeat([]byte("é"), 200)),
		clientFrame(true, ws.OpPing, []byte("ping")),
		clientFrame(false, ws.OpContinuation, bytes.Repeat([]byte("€"), 200)),
		clientFrame(true, ws.OpContinuation, bytes.Repeat([]byte("x"), 100)),
	)
	var d Decoder
	decodeAllFrames := func(frames []byte) {
		b := append(scratch[:0], frames...) // Next unmasks in place
		for len(b) > 0 {
			_, n, err := d.Next(b)
			if err != nil {
				t.Fatal(err)
			}
			b = b[n:]
		}
	}
	decodeAllFrames(frag) // leave an assembly state and its buffer in the pool
	headroom := make([]byte, MaxHeaderSize+len(payload))
	dst := make([]byte, 0, MaxHeaderSize+len(payload))

	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"ParseHeader", func() { _, _, _ = ParseHeader(big) }},
		{"Unmask 64KiB", func() { Unmask(payload, testMask) }},
		{"Decoder.Next small text", func() { decodeAllFrames(small) }},
		{"Decoder.Next 64KiB text", func() { decodeAllFrames(big) }},
		{"Decoder.Next fragmented, steady state", func() { decodeAllFrames(frag) }},
		{"Decoder.Next need more", func() { _, _, _ = d.Next(big[:100]) }},
		{"Decoder.Next error", func() { _, _, _ = d.Next([]byte{0x81, 0x00}) }},
		{"PutHeader", func() { _ = PutHeader(headroom, true, ws.OpText, len(payload)) }},
		{"AppendFrame", func() { _ = AppendFrame(dst[:0], ws.OpBinary, payload) }},
		{"AppendClose", func() { _ = AppendClose(dst[:0], ws.StatusGoingAway, "bye") }},
		{"AppendPong", func() { _ = AppendPong(dst[:0], payload[:125]) }},
		{"ParseClose", func() { _, _, _ = ParseClose([]byte{0x03, 0xe8, 'o', 'k'}) }},
		{"CloseError.Frame", func() { _ = ErrTooBig.Frame() }},
	} {
		if a := testing.AllocsPerRun(100, tc.f); a != 0 {
			t.Errorf("%s: %v allocs, want 0", tc.name, a)
		}
	}
}
