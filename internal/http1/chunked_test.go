package http1

import (
	"bytes"
	"strings"
	"testing"
)

func TestDecodeChunked(t *testing.T) {
	tests := []struct {
		name, in, body string
		max            int
	}{
		{"single", "5\r\nhello\r\n0\r\n\r\n", "hello", -1},
		{"several", "1\r\na\r\n2\r\nbc\r\n3\r\ndef\r\n0\r\n\r\n", "abcdef", -1},
		{"empty body", "0\r\n\r\n", "", -1},
		{"hex cases", "A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n", "01234567890123456789", -1},
		{"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello", -1},
		{"sixteen digits", "0000000000000005\r\nhello\r\n0\r\n\r\n", "hello", -1},
		{"extensions", "5;name=value;flag\r\nhello\r\n0;last\r\n\r\n", "hello", -1},
		{"quoted extension", "5;a=\"x y\"\r\nhello\r\n0\r\n\r\n", "hello", -1},
		{"trailing OWS", "5 \t\r\nhello\r\n0 \r\n\r\n", "hello", -1},
		{"trailers", "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other:\r\n\r\n", "hello", -1},
		{"CRLF inside data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n", -1},
		{"binary data", "3\r\n\x00\xff\n\r\n0\r\n\r\n", "\x00\xff\n", -1},
		{"exactly max", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", 11},
		{"max zero, empty body", "0\r\n\r\n", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, extra := range []string{"", "GET / HTTP/1.1\r\n"} {
				body, n, err := DecodeChunked([]byte(tt.in+extra), nil, tt.max)
				if err != nil || string(body) != tt.body || n != len(tt.in) {
					t.Fatalf("DecodeChunked(%q) = %q, %d, %v; want %q, %d", tt.in+extra, body, n, err, tt.body, len(tt.in))
				}
			}
			// Every proper prefix needs more and leaves dst alone.
			for k := 0; k < len(tt.in); k++ {
				dst := []byte("keep")
				got, n, err := DecodeChunked([]byte(tt.in[:k]), dst, tt.max)
				if err != ErrNeedMore || n != 0 || string(got) != "keep" {
					t.Fatalf("prefix %q: %q, %d, %v", tt.in[:k], got, n, err)
				}
			}
			// In place.
			b := []byte(tt.in)
			body, n, err := DecodeChunked(b, b[:0], tt.max)
			if err != nil || string(body) != tt.body || n != len(tt.in) {
				t.Fatalf("in place: %q, %d, %v", body, n, err)
			}
			// Appends after what dst holds.
			body, _, _ = DecodeChunked([]byte(tt.in), []byte("pre:"), tt.max)
			if string(body) != "pre:"+tt.body {
				t.Fatalf("append: %q", body)
			}
		})
	}
}

func TestDecodeChunkedErrors(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		err      *Error
	}{
		{"no size", "\r\nhello\r\n0\r\n\r\n", -1, errChunkSize},
		{"not hex", "g\r\n", -1, errChunkSize},
		{"negative", "-5\r\nhello\r\n", -1, errChunkSize},
		{"0x prefix", "0x5\r\nhello\r\n", -1, errChunkLine},
		{"seventeen digits", "00000000000000005\r\nhello\r\n0\r\n\r\n", -1, errChunkSize},
		{"huge size, no limit", "ffffffffffffffffff\r\n", -1, ErrBodyTooLarge},
		{"seventeen digits, no limit", "10000000000000000\r\n", -1, errChunkSize},
		{"huge size with max", "ffffffffffffffffff\r\n", 1 << 20, ErrBodyTooLarge},
		{"huge size, line unfinished", "fffffff", 1 << 20, ErrBodyTooLarge},
		{"size over max before data", "100001\r\n", 1 << 20, ErrBodyTooLarge},
		{"sum over max", "5\r\nhello\r\n7\r\n", 11, ErrBodyTooLarge},
		{"max zero", "1\r\n", 0, ErrBodyTooLarge},
		{"space before ext", "5 ;x\r\nhello\r\n0\r\n\r\n", -1, errChunkLine},
		{"junk after size", "5x\r\nhello\r\n0\r\n\r\n", -1, errChunkLine},
		{"bare LF size line", "5\nhello\r\n0\r\n\r\n", -1, errChunkLine},
		{"bare CR size line", "5\rhello\r\n0\r\n\r\n", -1, errChunkLine},
		{"CTL in extension", "5;a\x00\r\nhello\r\n0\r\n\r\n", -1, errChunkLine},
		{"CR in extension", "5;a\rb\r\nhello\r\n0\r\n\r\n", -1, errChunkLine},
		{"data too long", "5\r\nhello!\r\n0\r\n\r\n", -1, errChunkData},
		{"data too short", "5\r\nhell\r\n0\r\n\r\n", -1, errChunkData},
		{"bare LF after data", "5\r\nhello\n0\r\n\r\n", -1, errChunkData},
		{"no CRLF after data", "5\r\nhelloXY", -1, errChunkData},
		{"data end seen early", "5\r\nhelloX", -1, errChunkData},
		{"long size line", "5;" + strings.Repeat("x", maxChunkLine) + "\r\nhello\r\n0\r\n\r\n", -1, errChunkLine},
		{"long size line unfinished", "5;" + strings.Repeat("x", maxChunkLine), -1, errChunkLine},
		{"trailer bare LF", "0\r\nX: y\n\r\n", -1, errBareLF},
		{"trailer obs-fold", "0\r\nX: y\r\n z\r\n\r\n", -1, errObsFold},
		{"trailer no colon", "0\r\nX\r\n\r\n", -1, errNoColon},
		{"trailer space before colon", "0\r\nX : y\r\n\r\n", -1, errSpaceBeforeColn},
		{"trailer NUL", "0\r\nX: \x00\r\n\r\n", -1, errFieldValue},
		{"trailer bare CR", "0\r\n\rX", -1, errBareCR},
		{"end bare LF", "0\r\n\n", -1, errBareLF},
		{"trailer too large", "0\r\nX: " + strings.Repeat("y", MaxTrailerBytes) + "\r\n\r\n", -1, errTrailerTooLarge},
		{"trailer endless", "0\r\nX: " + strings.Repeat("y", MaxTrailerBytes), -1, errTrailerTooLarge},
		{"too much overhead", strings.Repeat("1;"+strings.Repeat("e", 1000)+"\r\nx\r\n", 20) + "0\r\n\r\n", -1, errChunkOverhead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.in)
			orig := bytes.Clone(b)
			body, n, err := DecodeChunked(b, b[:0], tt.max)
			if err != tt.err {
				t.Fatalf("DecodeChunked(%q) = %v, want %v", tt.in, err, tt.err)
			}
			if n != 0 || len(body) != 0 {
				t.Errorf("on error: body %q, consumed %d", body, n)
			}
			if !bytes.Equal(b, orig) {
				t.Error("input modified on error")
			}
		})
	}
}

func TestDecodeChunkedTrailerBoundary(t *testing.T) {
	// A trailer section of exactly MaxTrailerBytes, final CRLF included.
	pad := MaxTrailerBytes - len("X: \r\n\r\n")
	in := "0\r\nX: " + strings.Repeat("y", pad) + "\r\n\r\n"
	if _, n, err := DecodeChunked([]byte(in), nil, -1); err != nil || n != len(in) {
		t.Fatalf("at the bound: %d, %v", n, err)
	}
	in = "0\r\nX: " + strings.Repeat("y", pad+1) + "\r\n\r\n"
	if _, _, err := DecodeChunked([]byte(in), nil, -1); err != errTrailerTooLarge {
		t.Fatalf("one past the bound: %v", err)
	}
}

// TestDecodeChunkedOverheadAllowed checks that legitimate streaming (one byte
// per chunk) is not mistaken for abuse.
func TestDecodeChunkedOverheadAllowed(t *testing.T) {
	in := strings.Repeat("1\r\nx\r\n", 10000) + "0\r\n\r\n"
	body, _, err := DecodeChunked([]byte(in), nil, -1)
	if err != nil || len(body) != 10000 {
		t.Fatalf("%d, %v", len(body), err)
	}
}
