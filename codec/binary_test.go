package codec

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestResolvePlaceholders(t *testing.T) {
	atts := [][]byte{{0xA}, {0xB, 0xB}}
	data := []byte(`["up",{"_placeholder":true,"num":1},[{"deep":{"x":{"_placeholder":true,"num":0}}}],{"_placeholder":false,"num":0},"s",1,null]`)
	got, err := ResolvePlaceholders(data, atts)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"up", []byte{0xB, 0xB}, []any{map[string]any{"deep": map[string]any{"x": []byte{0xA}}}},
		map[string]any{"_placeholder": false, "num": 0.0}, "s", 1.0, nil}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("\n got %#v\nwant %#v", got, want)
	}
	if &got[1].([]byte)[0] != &atts[1][0] {
		t.Error("placeholders should be the attachment slices themselves")
	}
	// Strings never alias the input: scribbling over it changes nothing.
	for i := range data {
		data[i] = 'X'
	}
	if got[0] != "up" || got[4] != "s" {
		t.Errorf("decoded strings alias the input: %#v", got)
	}
	// Without attachments nothing is a placeholder (plain EVENT, as in the reference).
	got, err = ResolvePlaceholders([]byte(`["x",{"_placeholder":true,"num":5}]`), nil)
	if err != nil || !reflect.DeepEqual(got[1], map[string]any{"_placeholder": true, "num": 5.0}) {
		t.Errorf("%#v %v", got, err)
	}
	for in, wantErr := range map[string]error{
		`["x",{"_placeholder":true,"num":2}]`:   ErrPlaceholder,
		`["x",{"_placeholder":true,"num":-1}]`:  ErrPlaceholder,
		`["x",{"_placeholder":true,"num":0.5}]`: ErrPlaceholder,
		`["x",{"_placeholder":true,"num":"1"}]`: ErrPlaceholder,
		`["x",{"_placeholder":true}]`:           ErrPlaceholder,
		`{"_placeholder":true,"num":0}`:         ErrInvalidPayload,
		`["x",`:                                 ErrInvalidJSON,
		` ["x"]`:                                ErrInvalidJSON,
	} {
		if _, err := ResolvePlaceholders([]byte(in), atts); err != wantErr {
			t.Errorf("%s: got %v, want %v", in, err, wantErr)
		}
	}
	// Duplicate keys: the last one wins, as with JSON.parse.
	got, err = ResolvePlaceholders([]byte(`[{"_placeholder":true,"num":9,"num":0},{"_placeholder":true,"_placeholder":false,"num":9}]`), atts)
	if err != nil || !bytes.Equal(got[0].([]byte), atts[0]) || reflect.TypeOf(got[1]).Kind() != reflect.Map {
		t.Errorf("%#v %v", got, err)
	}
}

type fileMsg struct {
	Name  string   `json:"name"`
	File  []byte   `json:"file"`
	Parts [][]byte `json:"parts"`
	Any   any      `json:"any"`
	N     float64  `json:"n"`
}

func TestUnmarshalArg(t *testing.T) {
	atts := [][]byte{{1, 2, 3}, {}, {0xFF}}
	raw := []byte(`{"name":"f","file":{"_placeholder":true,"num":0},"parts":[{"num":1,"_placeholder":true},{"_placeholder":true,"num":2}],"any":{"_placeholder":true,"num":2},"n":1.5}`)
	m, err := DecodeArg[fileMsg](raw, atts)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "f" || !bytes.Equal(m.File, atts[0]) || len(m.Parts) != 2 || len(m.Parts[0]) != 0 || !bytes.Equal(m.Parts[1], atts[2]) || m.N != 1.5 {
		t.Fatalf("%#v", m)
	}
	if m.Any != "/w==" { // documented: a placeholder in an interface field of a typed target arrives as base64
		t.Errorf("any field: %#v", m.Any)
	}
	// Into any: []byte at the placeholders.
	v, err := DecodeArg[any](raw, atts)
	if err != nil {
		t.Fatal(err)
	}
	if mm := v.(map[string]any); !bytes.Equal(mm["file"].([]byte), atts[0]) || !bytes.Equal(mm["any"].([]byte), atts[2]) {
		t.Errorf("%#v", v)
	}
	mp, err := DecodeArg[map[string]any](raw, atts)
	if err != nil || !bytes.Equal(mp["file"].([]byte), atts[0]) {
		t.Errorf("%#v %v", mp, err)
	}
	arr, err := DecodeArg[[]any]([]byte(`[{"_placeholder":true,"num":1},2]`), atts)
	if err != nil || !reflect.DeepEqual(arr, []any{[]byte{}, 2.0}) {
		t.Errorf("%#v %v", arr, err)
	}
	// A bare placeholder into []byte.
	b, err := DecodeArg[[]byte]([]byte(`{"_placeholder":true,"num":0}`), atts)
	if err != nil || !bytes.Equal(b, atts[0]) {
		t.Errorf("%v %v", b, err)
	}
	// Plain values, and the lifetime promise.
	in := []byte(`{"name":"abc","n":2}`)
	m, err = DecodeArg[fileMsg](in, nil)
	if err != nil || m.Name != "abc" {
		t.Fatal(m, err)
	}
	copy(in, bytes.Repeat([]byte("X"), len(in)))
	if m.Name != "abc" {
		t.Error("decoded string aliases the input")
	}
	s, err := DecodeArg[string]([]byte(`"\u00e9\n"`), nil)
	if err != nil || s != "é\n" {
		t.Error(s, err)
	}
	// Errors.
	if _, err := DecodeArg[fileMsg]([]byte(`{"file":{"_placeholder":true,"num":3}}`), atts); err != ErrPlaceholder {
		t.Error(err)
	}
	if _, err := DecodeArg[int]([]byte(`"x"`), nil); err == nil {
		t.Error("type mismatch should fail")
	}
	if _, err := DecodeArg[int]([]byte(`1 2`), nil); !errors.Is(err, ErrInvalidPacket) {
		t.Error(err)
	}
	var notPtr fileMsg
	if err := UnmarshalArg([]byte(`{}`), nil, notPtr); err != ErrUnsupportedValue {
		t.Error(err)
	}
	if err := UnmarshalArg([]byte(`{}`), atts, (*fileMsg)(nil)); err != ErrUnsupportedValue {
		t.Error(err)
	}
}

// TestBinaryRoundTrip: what AppendEvent writes, DecodePacket + ResolvePlaceholders read back.
func TestBinaryRoundTrip(t *testing.T) {
	args := []any{map[string]any{"a": []byte{1}, "b": []any{[]byte{2, 2}, "x"}}, []byte{}, 3.5}
	out, atts, err := AppendEvent(nil, "/n", 5, "ev", args)
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	if err := DecodePacket(out, &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != PacketBinaryEvent || p.Attachments != 3 || string(p.Namespace) != "/n" || p.ID != 5 {
		t.Fatalf("%+v", p)
	}
	got, err := ResolvePlaceholders(p.Data, atts)
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]any{"ev"}, args...); !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %#v\nwant %#v", got, want)
	}
}
