package codec

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestValidJSONAgainstStdlib(t *testing.T) {
	inputs := []string{
		`0`, `-0`, `1`, `-1`, `01`, `1.`, `.1`, `1.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `-`, `+1`, `1.5e3.2`,
		`true`, `false`, `null`, `tru`, `nul`, `truex`, `""`, `"a"`, `"\""`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`,
		`"\u0041"`, `"\u00e9"`, `"\ud83d\ude00"`, `"\ud800"`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"\x01\"", "\"\x1f\"",
		"\"\x7f\"", "\"\xff\"", `"`, `"abc`, `[]`, `[ ]`, `[1,2]`, `[1,]`, `[,1]`, `[1 2]`, `[`, `]`, `{}`,
		`{ }`, `{"a":1}`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{a:1}`, `{"a":1 "b":2}`, `{"a":[{"b":{}}]}`, `[[[]]]`,
		`[[[]]`, `[]]`, `{"a":1}}`, " [1] ", "[1]\n", "\t{}\r\n", `[1] [2]`, `1 2`, ``, ` `, `[{]}`, `{[]}`,
		`["a",{"b":[1,2,{"c":null}]},true]`, "[\"\u2028\"]", `{"":""}`, `{"a":1,"a":2}`, `[1e400]`,
	}
	for _, in := range inputs {
		b := []byte(strings.TrimLeft(in, " \t\r\n"))
		got := validJSON(b, maxDepthCap) == nil
		if want := json.Valid([]byte(in)); got != want && strings.TrimLeft(in, " \t\r\n") == in {
			t.Errorf("%q: valid=%v, encoding/json says %v", in, got, want)
		}
	}
}

func TestSkipValueDepth(t *testing.T) {
	for depth := 0; depth < 5; depth++ {
		in := strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
		for limit := 0; limit < 6; limit++ {
			_, err := skipValue([]byte(in), 0, limit)
			if want := depth <= limit; (err == nil) != want {
				t.Errorf("depth %d limit %d: %v", depth, limit, err)
			}
		}
	}
	mixed := `{"a":[{"b":[{}]}]}` // depth 5
	if _, err := skipValue([]byte(mixed), 0, 5); err != nil {
		t.Error(err)
	}
	if _, err := skipValue([]byte(mixed), 0, 4); err != ErrTooDeep {
		t.Error(err)
	}
	// Mismatched brackets across the 64-bit words of the bit stack.
	for _, d := range []int{63, 64, 65, 128, 200} {
		in := strings.Repeat("[", d) + "{" + `"k":1` + "]" + strings.Repeat("]", d)
		if _, err := skipValue([]byte(in), 0, maxDepthCap); err != ErrInvalidJSON {
			t.Errorf("mismatch at %d: %v", d, err)
		}
		in = strings.Repeat(`{"k":`, d) + "[]" + strings.Repeat("}", d)
		if _, err := skipValue([]byte(in), 0, maxDepthCap); err != nil {
			t.Errorf("objects at %d: %v", d, err)
		}
	}
}

func TestAppendString(t *testing.T) {
	cases := map[string]string{
		"":                     `""`,
		"abc":                  `"abc"`,
		"a\"b\\c/d":            `"a\"b\\c/d"`,
		"\b\f\n\r\t":           `"\b\f\n\r\t"`,
		"\x00\x01\x1e\x1f\x7f": `"\u0000\u0001\u001e\u001f` + "\x7f\"",
		"<>&\u2028\u2029":      "\"<>&\u2028\u2029\"",
		"é€😀":                  `"é€😀"`,
		"a\xffb":               `"a\ufffdb"`,
		"\xed\xa0\x80":         `"\ufffd\ufffd\ufffd"`, // a UTF-8-encoded surrogate is invalid UTF-8
		"\xe2\x82":             `"\ufffd\ufffd"`,
	}
	for in, want := range cases {
		if got := string(appendString(nil, in)); got != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
	}
}

func TestAppendFloat(t *testing.T) {
	cases := []struct {
		f    float64
		bits int
		want string
	}{
		{0, 64, "0"}, {math.Copysign(0, -1), 64, "0"}, {1, 64, "1"}, {-1.5, 64, "-1.5"}, {0.1, 64, "0.1"},
		{1e21, 64, "1e+21"}, {1e20, 64, "100000000000000000000"}, {1e-7, 64, "1e-7"}, {1e-6, 64, "0.000001"},
		{123e-20, 64, "1.23e-18"}, {5e-324, 64, "5e-324"}, {math.MaxFloat64, 64, "1.7976931348623157e+308"},
		{math.NaN(), 64, "null"}, {math.Inf(1), 64, "null"}, {math.Inf(-1), 64, "null"},
		{float64(float32(0.1)), 32, "0.1"}, {float64(float32(1e21)), 32, "1e+21"},
	}
	for _, c := range cases {
		if got := string(appendFloat(nil, c.f, c.bits)); got != c.want {
			t.Errorf("%v/%d: got %s, want %s", c.f, c.bits, got, c.want)
		}
	}
}

func TestUnquoteStringAgainstStdlib(t *testing.T) {
	inputs := []string{`""`, `"abc"`, `"\"\\\/\b\f\n\r\t"`, `"\u0041\u00e9\u20ac"`, `"\ud83d\ude00"`, `"\ud800"`,
		`"\ud800x"`, `"\udc00"`, `"\ud800\ud800"`, `"\ud83d\u0041"`, "\"a\xffb\"", `"é😀"`, `"\u0000"`}
	for _, in := range inputs {
		got, err := UnquoteString([]byte("pre"), []byte(in))
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		var want string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if string(got) != "pre"+want {
			t.Errorf("%s: got %q, want %q", in, got, "pre"+want)
		}
	}
	for _, bad := range []string{``, `"`, `a`, `"abc`, `"a"b`, `"\x"`, "\"\x01\"", `1`} {
		if got, err := UnquoteString([]byte("pre"), []byte(bad)); err == nil || string(got) != "pre" {
			t.Errorf("%q: %q, %v", bad, got, err)
		}
	}
}

func TestEqualUnquoted(t *testing.T) {
	cases := []struct {
		raw  string
		want string
		eq   bool
	}{
		{`"connect"`, "connect", true}, {`"\u0063onnect"`, "connect", true}, {`"connec\u0074"`, "connect", true},
		{`"connect\u0000"`, "connect", false}, {`"conn"`, "connect", false}, {`"\u00e9"`, "e", false},
		{`"_placeholder"`, "_placeholder", true}, {`"\u005fplaceholder"`, "_placeholder", true},
		{`"\/x"`, "/x", true}, {`"` + strings.Repeat(`\u0061`, 40) + `"`, "aaaa", false},
	}
	for _, c := range cases {
		_, esc := scanString([]byte(c.raw), 0)
		if got := equalUnquoted([]byte(c.raw), esc, c.want); got != c.eq {
			t.Errorf("%s vs %s: %v", c.raw, c.want, got)
		}
	}
}

// TestSkipPlainMatchesTables checks the word-at-a-time scanners against the
// byte tables they shortcut, for every byte value at every position of a
// word and for random strings mixing plain and special bytes.
func TestSkipPlainMatchesTables(t *testing.T) {
	refPlain := func(b []byte, i int) int {
		for i < len(b) && strPlain[b[i]] {
			i++
		}
		return i
	}
	refASCII := func(s string, i int) int {
		for i < len(s) && asciiPlain[s[i]] {
			i++
		}
		return i
	}
	check := func(b []byte) {
		t.Helper()
		for i := 0; i <= len(b); i++ {
			if got, want := skipPlain(b, i), refPlain(b, i); got != want {
				t.Fatalf("skipPlain(%q, %d) = %d, want %d", b, i, got, want)
			}
			if got, want := skipASCIIPlain(string(b), i), refASCII(string(b), i); got != want {
				t.Fatalf("skipASCIIPlain(%q, %d) = %d, want %d", b, i, got, want)
			}
		}
	}
	for c := range 256 {
		for pos := range 17 {
			b := []byte("abcdefghijklmnopq")
			b[pos] = byte(c)
			check(b)
			// After another special byte too: a true flag below must not
			// hide or fake this one.
			b[0] = '"'
			check(b)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	special := []byte{'"', '\\', 0, 0x1f, 0x20, 0x7f, 0x80, 0xff, 0xe2}
	for range 20000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			if rng.IntN(6) == 0 {
				b[i] = special[rng.IntN(len(special))]
			} else {
				b[i] = byte(0x21 + rng.IntN(0x5e))
			}
		}
		check(b)
	}
}

// BenchmarkScanString: a JSON string of 100 plain bytes, as a fan-out
// message's payload, and appendString over the same text.
func BenchmarkScanString(b *testing.B) {
	s := `"` + strings.Repeat("x", 100) + `"`
	raw := []byte(s)
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if end, _ := scanString(raw, 0); end != len(raw) {
				b.Fatal(end)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		dst := make([]byte, 0, 256)
		b.ReportAllocs()
		for b.Loop() {
			dst = appendString(dst[:0], s[1:len(s)-1])
		}
	})
}
