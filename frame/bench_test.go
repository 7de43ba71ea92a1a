package frame

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/gobwas/ws"
)

var sizes = []int{64, 1 << 10, 64 << 10}

func BenchmarkParseHeader(b *testing.B) {
	for _, n := range []int{5, 1000, 100_000} {
		f := clientFrame(true, ws.OpBinary, make([]byte, n))
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(f) - n)) // header bytes
			for b.Loop() {
				if _, _, err := ParseHeader(f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUnmask(b *testing.B) {
	for _, n := range sizes {
		p := make([]byte, n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				Unmask(p, testMask)
			}
		})
	}
}

func BenchmarkDecoderNext(b *testing.B) {
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"text-small", clientFrame(true, ws.OpText, []byte(`42["message","hello, world"]`))},
		{"text-1KiB", clientFrame(true, ws.OpText, bytes.Repeat([]byte("abcdé"), 1<<10/6))},
		{"binary-16KiB", clientFrame(true, ws.OpBinary, make([]byte, 16<<10))},
		{"text-16KiB-4-fragments", concat(
			clientFrame(false, ws.OpText, bytes.Repeat([]byte("a"), 4<<10)),
			clientFrame(false, ws.OpContinuation, bytes.Repeat([]byte("b"), 4<<10)),
			clientFrame(false, ws.OpContinuation, bytes.Repeat([]byte("c"), 4<<10)),
			clientFrame(true, ws.OpContinuation, bytes.Repeat([]byte("d"), 4<<10)),
		)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			// Decoding unmasks in place: work on a copy restored each time.
			// The copy is part of the measured time (a memmove, far cheaper
			// than the decoding).
			buf := make([]byte, len(tc.frame))
			d := Decoder{Limits: &Limits{MaxMessageSize: 1 << 20}}
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.frame)))
			for b.Loop() {
				copy(buf, tc.frame)
				for p := buf; len(p) > 0; {
					_, n, err := d.Next(p)
					if err != nil {
						b.Fatal(err)
					}
					p = p[n:]
				}
			}
		})
	}
}

func BenchmarkPutHeader(b *testing.B) {
	buf := make([]byte, MaxHeaderSize)
	for _, n := range []int{5, 1000, 100_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = PutHeader(buf, true, ws.OpText, n)
			}
		})
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	for _, n := range sizes {
		payload := make([]byte, n)
		dst := make([]byte, 0, MaxHeaderSize+n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				_ = AppendFrame(dst[:0], ws.OpBinary, payload)
			}
		})
	}
}
