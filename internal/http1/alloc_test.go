//go:build !race

package http1

import "testing"

// TestAllocs pins the hot paths at zero allocations (STYLE.md §4, §8).
func TestAllocs(t *testing.T) {
	r := new(Request)
	for _, tc := range []struct{ name, in string }{
		{"upgrade", reqChromeUpgrade},
		{"node-ws upgrade", reqNodeWSUpgrade},
		{"polling GET", reqPollingGET},
		{"polling POST head", reqPollingPOSTHead},
		{"chunked POST head", reqChunkedPOSTHead},
	} {
		b := []byte(tc.in)
		if n := testing.AllocsPerRun(100, func() {
			if err := Parse(b, r, 0); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("Parse(%s): %v allocs", tc.name, n)
		}
	}

	// Errors and need-more are package-level values.
	bad := []byte("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n")
	partial := []byte(reqChromeUpgrade[:100])
	if n := testing.AllocsPerRun(100, func() {
		_ = Parse(bad, r, 0)
		_ = Parse(partial, r, 0)
	}); n != 0 {
		t.Errorf("Parse errors: %v allocs", n)
	}

	q := []byte("EIO=4&transport=polling&t=P1a2b3c&sid=Lbo5JLzTotvW3g2LAAAA")
	if n := testing.AllocsPerRun(100, func() {
		if v, ok := QueryValue(q, "sid"); !ok || len(v) != 20 {
			t.Fatal("sid")
		}
		_, _ = QueryValue(q, "absent")
	}); n != 0 {
		t.Errorf("QueryValue: %v allocs", n)
	}

	esc := []byte("a%20b+c%E2%82%AC")
	dst := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := Unescape(dst[:0], esc); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Unescape: %v allocs", n)
	}

	key := []byte("dGhlIHNhbXBsZSBub25jZQ==")
	acc := make([]byte, 0, AcceptKeyLen)
	if n := testing.AllocsPerRun(100, func() {
		acc = AppendAcceptKey(acc[:0], key)
		_ = ValidWebSocketKey(key)
	}); n != 0 {
		t.Errorf("AppendAcceptKey: %v allocs", n)
	}

	body := []byte(reqChunkedPOSTBody + "0;x\r\nX: y\r\n\r\n")
	out := make([]byte, 0, len(body))
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := DecodeChunked(body, out[:0], 1<<20); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("DecodeChunked: %v allocs", n)
	}
}
