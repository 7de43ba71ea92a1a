package http1

import "testing"

func benchParse(b *testing.B, in string) {
	buf := []byte(in)
	r := new(Request)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if err := Parse(buf, r, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.Run("upgrade-chrome", func(b *testing.B) { benchParse(b, reqChromeUpgrade) })
	b.Run("upgrade-node-ws", func(b *testing.B) { benchParse(b, reqNodeWSUpgrade) })
	b.Run("polling-GET", func(b *testing.B) { benchParse(b, reqPollingGET) })
	b.Run("polling-POST", func(b *testing.B) { benchParse(b, reqPollingPOSTHead) })
}

// BenchmarkParseNeedMore is the cost of re-parsing a head that arrives in
// two halves (the first call finds it incomplete).
func BenchmarkParseNeedMore(b *testing.B) {
	half := []byte(reqChromeUpgrade[:len(reqChromeUpgrade)/2])
	r := new(Request)
	b.ReportAllocs()
	for b.Loop() {
		if err := Parse(half, r, 0); err != ErrNeedMore {
			b.Fatal(err)
		}
	}
}

func BenchmarkQueryValue(b *testing.B) {
	q := []byte("EIO=4&transport=polling&t=P1a2b3c&sid=Lbo5JLzTotvW3g2LAAAA")
	for _, key := range []string{"EIO", "sid", "absent"} {
		b.Run(key, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				QueryValue(q, key)
			}
		})
	}
}

func BenchmarkUnescape(b *testing.B) {
	s := []byte("hello%20world+and%E2%82%AC")
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		dst, _ = Unescape(dst[:0], s)
	}
}

func BenchmarkAppendAcceptKey(b *testing.B) {
	key := []byte("dGhlIHNhbXBsZSBub25jZQ==")
	dst := make([]byte, 0, AcceptKeyLen)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendAcceptKey(dst[:0], key)
	}
}

func BenchmarkDecodeChunked(b *testing.B) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"small", []byte(reqChunkedPOSTBody)},
		{"64KiB-in-4KiB-chunks", chunkedBody(64<<10, 4<<10)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			dst := make([]byte, 0, len(tc.in))
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.in)))
			for b.Loop() {
				if _, _, err := DecodeChunked(tc.in, dst[:0], 1<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func chunkedBody(size, chunk int) []byte {
	var out []byte
	data := make([]byte, chunk)
	for i := range data {
		data[i] = 'a' + byte(i%26)
	}
	for size > 0 {
		n := min(chunk, size)
		out = append(out, []byte(hex(n)+"\r\n")...)
		out = append(out, data[:n]...)
		out = append(out, "\r\n"...)
		size -= n
	}
	return append(out, "0\r\n\r\n"...)
}

func hex(n int) string {
	const digits = "0123456789abcdef"
	if n == 0 {
		return "0"
	}
	var s []byte
	for ; n > 0; n >>= 4 {
		s = append([]byte{digits[n&15]}, s...)
	}
	return string(s)
}
