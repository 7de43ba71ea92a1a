package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// stdJSON is encoding/json without HTML escaping: the oracle for what we encode from user types.
func stdJSON(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func event(t *testing.T, args ...any) (string, [][]byte) {
	t.Helper()
	out, atts, err := AppendEvent(nil, "/", NoAckID, "e", args)
	if err != nil {
		t.Fatal(err)
	}
	return string(out), atts
}

type Inner struct {
	X int    `json:"x"`
	Y string `json:"y,omitempty"`
}

type Embedded struct {
	E  string
	E2 int `json:"e2"`
}

type withIface struct {
	Embedded
	*Inner   `json:"inner"`
	Name     string         `json:"name"`
	Any      any            `json:"any"`
	AnyEmpty any            `json:"anyEmpty,omitempty"`
	Ptr      *Inner         `json:"ptr"`
	NilPtr   *Inner         `json:"nilPtr"`
	List     []any          `json:"list"`
	M        map[string]any `json:"m"`
	IntKeys  map[int]any    `json:"intKeys"`
	Arr      [2]any         `json:"arr"`
	Quoted   int            `json:"quoted,string"`
	QStr     string         `json:"qstr,string"`
	Skip     any            `json:"-"`
	//lint:ignore SA5008 deliberate: encoding/json names this field "-", and so must we
	Dash     any                `json:"-,"`
	Time     time.Time          `json:"time"`
	Addr     netip.Addr         `json:"addr"`
	TextKeys map[netip.Addr]any `json:"textKeys"`
	Zero     Inner              `json:"zero,omitzero"`
	Raw      json.RawMessage    `json:"raw"`
	F32      float32            `json:"f32"`
	unexp    any
}

// TestReflectWalkerMatchesStdlib forces the reflection path (the types hold interfaces) on values without binary and
// compares with encoding/json: the walker must be indistinguishable from sonic/encoding/json except for []byte.
func TestReflectWalkerMatchesStdlib(t *testing.T) {
	v := withIface{
		Embedded: Embedded{E: "e", E2: 2},
		Inner:    &Inner{X: 1},
		Name:     "n<&>\x1e\b",
		Any:      map[string]any{"z": 1, "a": []any{true, nil, 1.5, "s"}},
		Ptr:      &Inner{X: 3, Y: "y"},
		List:     []any{Inner{X: 4}, &Inner{X: 5}, []int{1, 2}},
		M:        map[string]any{"k": "v", "b": map[string]any{}},
		IntKeys:  map[int]any{10: "ten", 2: "two", -1: nil},
		Arr:      [2]any{"a", 1},
		Quoted:   42,
		QStr:     `q"s`,
		Skip:     "skipped",
		Dash:     "dash",
		Time:     time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC),
		Addr:     netip.MustParseAddr("10.0.0.1"),
		TextKeys: map[netip.Addr]any{netip.MustParseAddr("10.0.0.2"): 1},
		Raw:      json.RawMessage(`{"r":[1]}`),
		F32:      0.1,
		unexp:    "hidden",
	}
	if !mayHoldBinary(typeOf(v)) {
		t.Fatal("withIface should take the reflection path")
	}
	got, atts := event(t, v, &v, []withIface{v})
	if atts != nil {
		t.Fatalf("unexpected attachments %v", atts)
	}
	want := `2["e",` + stdJSON(t, v) + "," + stdJSON(t, &v) + "," + stdJSON(t, []withIface{v}) + "]"
	if got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

type plain struct {
	A string            `json:"a"`
	B []int             `json:"b"`
	C map[string]string `json:"c"`
	D float64           `json:"d"`
	E *Inner            `json:"e,omitempty"`
}

// TestSonicPathMatchesStdlib covers the sonic path (types that cannot hold binary) and its JSON.stringify fix-ups.
func TestSonicPathMatchesStdlib(t *testing.T) {
	v := plain{A: "x\b\f\x1e<&>\\u0008", B: []int{1, 2}, C: map[string]string{"z": "1", "a": "\f"}, D: 1e21}
	if mayHoldBinary(typeOf(v)) {
		t.Fatal("plain should take the sonic path")
	}
	got, _ := event(t, v, []plain{v, v}, map[string]plain{"k": v})
	want := `2["e",` + stdJSON(t, v) + "," + stdJSON(t, []plain{v, v}) + "," + stdJSON(t, map[string]plain{"k": v}) + "]"
	if got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
	// Invalid UTF-8 inside a sonic-encoded value is repaired, as encoding/json does.
	bad := plain{A: "a\xffb\xed\xa0\x80"}
	got, _ = event(t, bad)
	if want := `2["e",` + stdJSON(t, bad) + "]"; got != want {
		t.Errorf("\n got %q\nwant %q", got, want)
	}
	// NaN in a struct is null, as JSON.stringify writes it.
	got, _ = event(t, plain{D: math.NaN()})
	if !strings.Contains(got, `"d":null`) {
		t.Error(got)
	}
}

func TestAppendEventBinary(t *testing.T) {
	type upload struct {
		Name  string   `json:"name"`
		File  []byte   `json:"file"`
		Parts [][]byte `json:"parts,omitempty"`
		Meta  any      `json:"meta,omitempty"`
	}
	type named []byte
	b0, b1, b2, b3, b4 := []byte{0}, []byte{1}, []byte{2}, []byte{3}, []byte{4}
	out, atts, err := AppendEvent([]byte("4"), "/admin", 12, "upload", []any{
		upload{Name: "f", File: b0, Parts: [][]byte{b1}, Meta: map[string]any{"thumb": b2}},
		&upload{File: b3},
		map[string][]byte{"n": named(b4)},
		[]byte(nil),
		RawJSON(`{"_placeholder":true,"num":99}`), // pre-encoded: never interpreted
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `456-/admin,12["upload",{"name":"f","file":{"_placeholder":true,"num":0},"parts":[{"_placeholder":true,"num":1}],"meta":{"thumb":{"_placeholder":true,"num":2}}},` +
		`{"name":"","file":{"_placeholder":true,"num":3}},{"n":{"_placeholder":true,"num":4}},{"_placeholder":true,"num":5},{"_placeholder":true,"num":99}]`
	if string(out) != want {
		t.Errorf("\n got %s\nwant %s", out, want)
	}
	wantAtts := [][]byte{b0, b1, b2, b3, b4, {}}
	if len(atts) != len(wantAtts) {
		t.Fatalf("attachments %v", atts)
	}
	for i := range atts {
		if !bytes.Equal(atts[i], wantAtts[i]) || atts[i] == nil {
			t.Errorf("attachment %d: %v", i, atts[i])
		}
	}
	if &atts[0][0] != &b0[0] {
		t.Error("attachments must be the caller's slices, not copies")
	}
	// The binary ack, and a large attachment count (two digits shift the payload by 3).
	args := make([]any, 12)
	for i := range args {
		args[i] = []byte{byte(i)}
	}
	out, atts, err = AppendAck([]byte("xx"), "/", 7, args)
	if err != nil || len(atts) != 12 || !strings.HasPrefix(string(out), `xx612-7[{"_placeholder":true,"num":0},`) ||
		!strings.HasSuffix(string(out), `{"_placeholder":true,"num":11}]`) {
		t.Errorf("%s %d %v", out, len(atts), err)
	}
}

func TestAppendEventPlain(t *testing.T) {
	out, atts, err := AppendEvent(make([]byte, 0, 256), "", NoAckID, "msg", []any{
		"s", 1, int8(-2), int16(3), int32(4), int64(5), uint(6), uint8(7), uint16(8), uint32(9), uint64(10),
		1.5, float32(0.1), true, nil, math.Copysign(0, -1), math.Inf(1), json.Number("1e3"), []any(nil),
		map[string]any(nil), []any{}, map[string]any{}, RawJSON(nil), RawJSON("[1, 2]"),
	})
	if err != nil || atts != nil {
		t.Fatal(err, atts)
	}
	want := `2["msg","s",1,-2,3,4,5,6,7,8,9,10,1.5,0.1,true,null,0,null,1e3,null,null,[],{},null,[1, 2]]`
	if string(out) != want {
		t.Errorf("\n got %s\nwant %s", out, want)
	}
	// A map large enough to leave the stack-allocated key array.
	m := map[string]any{}
	for i := range 40 {
		k := string(rune('A'+i%26)) + strings.Repeat("x", i/26)
		m[k] = i
	}
	got, _ := event(t, m)
	if want := `2["e",` + stdJSON(t, m) + "]"; got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

// TestControlCharactersNeverRaw pins PROTOCOL.md §15.12: nothing we write contains a raw 0x00..0x1F outside what
// the caller put before dst, whatever path the value takes.
func TestControlCharactersNeverRaw(t *testing.T) {
	var ctl strings.Builder
	for c := range 0x20 {
		ctl.WriteByte(byte(c))
	}
	s := ctl.String()
	type S struct {
		A string
		B any
	}
	out, _, err := AppendEvent(nil, "/", NoAckID, s, []any{s, map[string]any{s: s}, S{s, s}, []S{{A: s}}, &S{B: []any{s}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range out {
		if c < 0x20 {
			t.Fatalf("raw control character %#x in %q", c, out)
		}
	}
	if !json.Valid(out[1:]) {
		t.Fatalf("invalid JSON: %q", out)
	}
	// Pre-encoded JSON with a raw 0x1E (invalid JSON) is refused on every path.
	for _, v := range []any{RawJSON("\"a\x1eb\""), json.RawMessage("\"a\x1eb\""), RawJSON(`{"a":1`), RawJSON("\"\xff\""), json.Number("1x")} {
		if _, _, err := AppendEvent([]byte("4"), "/", NoAckID, "e", []any{v}); !errors.Is(err, ErrInvalidRawJSON) {
			t.Errorf("%q: %v", v, err)
		}
	}
	if _, _, err := AppendEvent(nil, "/", NoAckID, "e", []any{S{B: rawMarshaler("\"a\x1eb\"")}}); err == nil {
		t.Error("a Marshaler writing a raw 0x1E must fail")
	}
}

type rawMarshaler string

func (r rawMarshaler) MarshalJSON() ([]byte, error) { return []byte(r), nil }

func TestAppendEventErrors(t *testing.T) {
	type cyclic struct {
		Next any
	}
	c := &cyclic{}
	c.Next = c
	m := map[string]any{}
	m["m"] = m
	for _, v := range []any{make(chan int), func() {}, complex(1, 2), c, m, map[[2]int]any{{1, 2}: 1},
		struct{ F any }{F: make(chan int)}} {
		out, atts, err := AppendEvent([]byte("keep"), "/", 1, "e", []any{[]byte{1}, v})
		if err == nil {
			t.Errorf("%T: no error", v)
		}
		if string(out) != "keep" || atts != nil {
			t.Errorf("%T: on error got %q %v", v, out, atts)
		}
	}
}

func TestMayHoldBinary(t *testing.T) {
	type rec struct {
		Kids []*rec
		N    int
	}
	type recBin struct {
		Kids []*recBin
		Data []byte
	}
	type a struct{ B *bStruct }
	cases := map[string]struct {
		v    any
		want bool
	}{
		"int":               {1, false},
		"[]int":             {[]int{}, false},
		"[]byte":            {[]byte{}, true},
		"[4]byte":           {[4]byte{}, false},
		"RawJSON":           {RawJSON{}, false},
		"RawMessage":        {json.RawMessage{}, false},
		"time.Time":         {time.Time{}, false},
		"plain":             {plain{}, false},
		"rec":               {rec{}, false},
		"recBin":            {recBin{}, true},
		"mutual":            {a{}, true},
		"map[string][]byte": {map[string][]byte{}, true},
		"*[]any":            {&[]any{}, true},
	}
	for name, c := range cases {
		if got := mayHoldBinary(typeOf(c.v)); got != c.want {
			t.Errorf("%s: %v", name, got)
		}
	}
	// The inner type of the cycle is answered on its own, not from a partial result.
	if !mayHoldBinary(typeOf(bStruct{})) {
		t.Error("bStruct reaches []byte through a")
	}
}

type bStruct struct {
	A *aStruct
}

type aStruct struct {
	B    *bStruct
	Data []byte
}

func init() {
	_ = aStruct{}
}

func typeOf(v any) reflect.Type { return reflect.TypeOf(v) }
