package notepack

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Hostile lengths fail before anything is allocated (the pin is in alloc_test.go).
func TestHugeLengthClaims(t *testing.T) {
	for _, in := range []string{"\xdd\xff\xff\xff\xff", "\xdf\xff\xff\xff\xff", "\xdb\xff\xff\xff\xff", "\xc6\xff\xff\xff\xff",
		"\xc9\xff\xff\xff\xff\x00", "\xdc\x00\x02\x01", "\xde\x00\x01\xa1a", "\x92\x01", "\x81\xa1a"} {
		b := []byte(in)
		if _, _, err := Decode(b); !errors.Is(err, ErrTruncated) {
			t.Errorf("Decode(%x) = %v, want ErrTruncated", b, err)
		}
		if _, _, _, err := ToJSON(nil, b, nil); !errors.Is(err, ErrTruncated) {
			t.Errorf("ToJSON(%x) = %v", b, err)
		}
		r := NewReader(b)
		if err := r.Skip(); !errors.Is(err, ErrTruncated) || r.Len() != len(b) {
			t.Errorf("Skip(%x) = %v, %d left", b, err, r.Len())
		}
		if k := r.PeekKind(); k != KindInvalid && b[1] == 0xff {
			t.Errorf("PeekKind(%x) = %v", b, k)
		}
	}
}

func TestDepthLimit(t *testing.T) {
	nest := func(n int) []byte { return append(bytes.Repeat([]byte{0x91}, n), 0xc0) }
	if _, _, err := Decode(nest(MaxDepth)); err != nil {
		t.Fatalf("MaxDepth levels: %v", err)
	}
	if _, _, _, err := ToJSON(nil, nest(MaxDepth), nil); err != nil {
		t.Fatalf("ToJSON, MaxDepth levels: %v", err)
	}
	deep := nest(MaxDepth + 1)
	if _, _, err := Decode(deep); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("Decode: %v", err)
	}
	if _, _, _, err := ToJSON(nil, deep, nil); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("ToJSON: %v", err)
	}
	if err := NewReader(deep).Skip(); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("Skip: %v", err)
	}
	// A map key counts as a level too: {[[...]]: 1}.
	key := append([]byte{0x81}, nest(MaxDepth)...)
	if _, _, err := Decode(append(key, 1)); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("deep key: %v", err)
	}
	js := func(n int) []byte { return []byte(strings.Repeat("[", n) + strings.Repeat("]", n)) }
	if _, err := AppendJSON(nil, js(MaxDepth), nil); err != nil {
		t.Fatalf("AppendJSON, MaxDepth levels: %v", err)
	}
	if _, err := AppendJSON(nil, js(MaxDepth+1), nil); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("AppendJSON: %v", err)
	}
	objs := []byte(strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1))
	if _, err := AppendJSON(nil, objs, nil); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("AppendJSON objects: %v", err)
	}
	self := []any{nil}
	self[0] = self
	if _, err := Append(nil, self); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("Append(self-referencing slice) = %v", err)
	}
}

// The widening pass: containers of 16+ and 65536+ elements at many levels, after existing bytes in dst.
func TestAppendJSONWidening(t *testing.T) {
	var v any = []any{"x"}
	for level := range 40 {
		n := 16 + level%3
		if level == 20 {
			n = 70000
		}
		if level%2 == 0 {
			a := make([]any, n)
			for i := range a {
				a[i] = int64(i)
			}
			a[n/2] = v
			v = a
		} else {
			m := map[string]any{}
			for i := range n {
				m[strings.Repeat("k", 1+i%7)+string(rune('a'+i%26))+strings.Repeat("z", i/182)] = int64(i)
			}
			m["inner"] = v
			v = m
		}
	}
	text, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	prefix := []byte("prefix")
	got, err := AppendJSON(slices.Clone(prefix), text, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Append(slices.Clone(prefix), v) // json.Marshal sorted the keys as Append does (no index keys)
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendJSON and Append differ (%d vs %d bytes)", len(got), len(want))
	}
	// Strings whose header grows while they are unescaped.
	for _, n := range []int{31, 32, 255, 256, 65535, 65536} {
		s := strings.Repeat("é", n/2) + strings.Repeat("x", n%2)
		quoted, _ := json.Marshal(strings.ReplaceAll(s, "é", "\n")) // escapes: the slow path
		if got, err := AppendJSON(nil, quoted, nil); err != nil || !bytes.Equal(got, AppendString(nil, strings.ReplaceAll(s, "é", "\n"))) {
			t.Fatalf("string of %d: %v", n, err)
		}
		quoted = []byte(`"` + strings.Repeat(`\u00e9`, n/2) + strings.Repeat("x", n%2) + `"`)
		if got, err := AppendJSON(nil, quoted, nil); err != nil || !bytes.Equal(got, AppendString(nil, s)) {
			t.Fatalf("escaped string of %d: %v", n, err)
		}
	}
}

func TestAppendJSONErrorsKeepDst(t *testing.T) {
	dst := []byte("keep")
	for _, in := range []string{`[1,2`, `{"_placeholder":true,"num":3}`, `[{"_placeholder":true}`, `"\ud800`, `tru`} {
		got, err := AppendJSON(dst, []byte(in), [][]byte{{1}})
		if err == nil || string(got) != "keep" {
			t.Errorf("%s: %q, %v", in, got, err)
		}
	}
	if _, err := AppendJSON(nil, []byte(`[{"_placeholder":true}`), [][]byte{{1}}); !errors.Is(err, ErrInvalidJSON) {
		t.Errorf("a syntax error wins over a placeholder error (JSON.parse fails first): %v", err)
	}
	if _, err := AppendJSON(nil, []byte(`[{"_placeholder":true,"num":"0"}]`), [][]byte{{1}}); !errors.Is(err, ErrPlaceholder) {
		t.Errorf("num as a string: %v", err)
	}
}

func TestAppendFallbacks(t *testing.T) {
	type point struct {
		X, Y int
		Tag  []byte
	}
	got, err := Append(nil, []any{point{1, 2, []byte("hi")}, json.RawMessage(`{"a":[1.5]}`), json.Number("1e3"),
		map[string]string{"b": "2", "a": "1"}, []string{"x"}, uint8(200), int16(-300), float32(0.5), time.Unix(1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := Decode(got)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{map[string]any{"X": int64(1), "Y": int64(2), "Tag": "aGk="}, map[string]any{"a": []any{1.5}}, int64(1000),
		map[string]any{"a": "1", "b": "2"}, []any{"x"}, int64(200), int64(-300), 0.5, time.Unix(1, 0).UTC()}
	if !equalViews(v, want) {
		t.Fatalf("got %#v", v)
	}
	if _, err := Append(nil, make(chan int)); err == nil {
		t.Fatal("a channel encoded")
	}
	if _, err := Append(nil, json.Number("NaN")); !errors.Is(err, ErrInvalidJSON) {
		t.Fatalf("json.Number(NaN): %v", err)
	}
}

func equalViews(a, b any) bool {
	x, _ := json.Marshal(view(a, true))
	y, _ := json.Marshal(view(b, true))
	return string(x) == string(y)
}

func TestKeyOrder(t *testing.T) {
	keys := []string{"b", "10", "a", "4294967295", "9", "01", "4294967294", "", "0"}
	slices.SortFunc(keys, compareKeys)
	want := []string{"0", "9", "10", "4294967294", "", "01", "4294967295", "a", "b"}
	if !slices.Equal(keys, want) {
		t.Fatalf("%q, want %q", keys, want)
	}
}

func TestAppendFloatEdges(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{
		{1, "\x01"}, {math.Copysign(0, -1), "\x00"}, {-1, "\xff"}, {255, "\xcc\xff"}, {-129, "\xd1\xff\x7f"},
		{1 << 53, "\xcf\x00\x20\x00\x00\x00\x00\x00\x00"}, {-(1 << 63), "\xd3\x80\x00\x00\x00\x00\x00\x00\x00"},
		{math.Float64frombits(0x7ff8000000000001), "\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00"},
		{math.NaN(), "\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00"},
		{1e20, "\xcb\x44\x15\xaf\x1d\x78\xb5\x8c\x40"}, // notepack.io: cf6bc75e2d63100000 (wrapped)
	} {
		if got := AppendFloat(nil, c.f); string(got) != c.want {
			t.Errorf("AppendFloat(%v) = %x, want %x", c.f, got, c.want)
		}
	}
}

func TestReader(t *testing.T) {
	// A broadcast as @socket.io/redis-adapter 8.3 publishes it: [uid, packet, opts].
	msg, err := Append(nil, []any{"node-1", map[string]any{"type": 2, "nsp": "/", "data": []any{"tick", []byte{1, 2}}},
		map[string]any{"rooms": []string{"a", "b"}, "except": []string{}, "flags": map[string]any{"volatile": true}}})
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(msg)
	if n, err := r.ReadArrayHeader(); n != 3 || err != nil {
		t.Fatal(n, err)
	}
	if _, err := r.ReadInt(); !errors.Is(err, ErrType) || r.PeekKind() != KindString {
		t.Fatalf("ReadInt on a string: %v (must not move)", err)
	}
	if uid, err := r.ReadString(); uid != "node-1" || err != nil {
		t.Fatal(uid, err)
	}
	n, err := r.ReadMapHeader()
	if n != 3 || err != nil {
		t.Fatal(n, err)
	}
	var data []byte
	for range n {
		k, err := r.ReadStringBytes()
		if err != nil {
			t.Fatal(err)
		}
		switch string(k) {
		case "type":
			if v, err := r.ReadInt(); v != 2 || err != nil {
				t.Fatal(v, err)
			}
		case "data":
			if data, err = r.Raw(); err != nil {
				t.Fatal(err)
			}
		default:
			if err := r.Skip(); err != nil {
				t.Fatal(err)
			}
		}
	}
	js, atts, _, err := ToJSON(nil, data, nil)
	if string(js) != `["tick",{"_placeholder":true,"num":0}]` || len(atts) != 1 || err != nil {
		t.Fatalf("%s %v %v", js, atts, err)
	}
	if r.PeekKind() != KindMap || r.ReadNil() {
		t.Fatal("opts")
	}
	v, err := r.ReadValue()
	if err != nil || r.Len() != 0 || len(r.Rest()) != 0 || r.PeekKind() != KindInvalid {
		t.Fatal(v, err, r.Len())
	}
	if _, err := r.ReadBool(); !errors.Is(err, ErrTruncated) {
		t.Fatal(err)
	}

	r.Reset([]byte("\xc0\xd4\x00\x00\xc3\xcf\xff\xff\xff\xff\xff\xff\xff\xff\xcf\xff\xff\xff\xff\xff\xff\xff\xff\xc7\x01\x00\x07\xc4\x01\x08\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"))
	first, second, third := r.ReadNil(), r.ReadNil(), r.ReadNil() // nil, undefined, then a bool: not read
	if !first || !second || third {
		t.Fatal("ReadNil", first, second, third)
	}
	if b, err := r.ReadBool(); !b || err != nil {
		t.Fatal(b, err)
	}
	if _, err := r.ReadInt(); !errors.Is(err, ErrOverflow) {
		t.Fatal(err)
	}
	if f, err := r.ReadFloat(); f != 1<<64 || err != nil {
		t.Fatal(f, err)
	}
	if f, err := r.ReadFloat(); f != 1<<64 || err != nil {
		t.Fatal(f, err)
	}
	if b, err := r.ReadBytes(); string(b) != "\x07" || err != nil { // the legacy ArrayBuffer extension
		t.Fatal(b, err)
	}
	if b, err := r.ReadBytes(); string(b) != "\x08" || err != nil {
		t.Fatal(b, err)
	}
	if _, err := r.ReadBytes(); !errors.Is(err, ErrType) {
		t.Fatal(err)
	}
	if f, err := r.ReadFloat(); f != 1.5 || err != nil {
		t.Fatal(f, err)
	}
	var zero Reader
	if zero.PeekKind() != KindInvalid || zero.ReadNil() || zero.Len() != 0 {
		t.Fatal("zero Reader")
	}
	if KindMap.String() != "map" || Kind(99).String() != "invalid" {
		t.Fatal("Kind.String")
	}
}

func TestDecodeCopies(t *testing.T) {
	in := []byte("\x92\xc4\x01\x07\xa1a")
	v, _, _ := Decode(in)
	in[3], in[5] = 0, 'b'
	if a := v.([]any); a[0].([]byte)[0] != 7 || a[1] != "a" {
		t.Fatal("Decode aliases its input")
	}
}

// The overflow shortcut agrees with strconv at the boundary.
func TestNumberOverflowShortcut(t *testing.T) {
	for _, s := range []string{"1e308", "1.7976931348623157e308", "1.7976931348623159e308", "1e309", "9.99e308", "0.1e310",
		"0.01e311", "10e308", "-1e309", "1e310", "-0.000e999", "0e99999", "100e307", "0.0001e312", "1e-400", "179769313486231580793728971405301e276"} {
		f, _ := strconv.ParseFloat(s, 64)
		got, err := AppendJSON(nil, []byte(s), nil)
		if err != nil || string(got) != string(AppendFloat(nil, f)) {
			t.Errorf("%s: %x, want %x (%v)", s, got, AppendFloat(nil, f), f)
		}
	}
}
