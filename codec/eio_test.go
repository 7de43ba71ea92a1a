package codec

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseEnginePacket(t *testing.T) {
	for _, c := range []struct {
		in   string
		typ  EngineType
		data string
	}{{"0", EngineOpen, ""}, {"2probe", EnginePing, "probe"}, {"4", EngineMessage, ""}, {"4hé", EngineMessage, "hé"}, {"6", EngineNoop, ""}} {
		typ, data, err := ParseEnginePacket([]byte(c.in))
		if err != nil || typ != c.typ || string(data) != c.data || data == nil {
			t.Errorf("%q: %v %q %v", c.in, typ, data, err)
		}
	}
	for _, in := range []string{"", "7", "b", "bAQID", "x", " 4", "/"} {
		if _, _, err := ParseEnginePacket([]byte(in)); !errors.Is(err, ErrEngineParse) {
			t.Errorf("%q: %v", in, err)
		}
	}
	names := "open close ping pong message upgrade noop"
	var got []byte
	for typ := EngineOpen; typ <= EngineNoop; typ++ {
		if !typ.Valid() {
			t.Error(typ)
		}
		got = append(append(got, typ.String()...), ' ')
	}
	if string(got) != names+" " || EngineType('7').Valid() || EngineType('7').String() != "EngineType(55)" {
		t.Errorf("%q", got)
	}
}

func TestNextPayloadPacket(t *testing.T) {
	split := func(body []byte) (out []string) {
		for pkt, rest, ok := NextPayloadPacket(body); ok; pkt, rest, ok = NextPayloadPacket(rest) {
			out = append(out, string(pkt))
		}
		return out
	}
	for in, want := range map[string][]string{
		"4hello":              {"4hello"},
		"4a\x1e2\x1ebAQID":    {"4a", "2", "bAQID"},
		"4a\x1e":              {"4a", ""},
		"\x1e4a":              {"", "4a"},
		"4a\x1e\x1e4b":        {"4a", "", "4b"},
		"":                    {""},
		"4[\"\\u001e\"]\x1e4": {"4[\"\\u001e\"]", "4"},
	} {
		body := make([]byte, len(in))
		copy(body, in)
		if got := split(body); !equalStrings(got, want) {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
	if got := split(nil); got != nil {
		t.Errorf("nil body: %q", got)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBase64Packet(t *testing.T) {
	for _, bin := range [][]byte{{}, {1}, {1, 2}, {1, 2, 3}, {1, 2, 3, 4}, bytes.Repeat([]byte{0xFF, 0x1E, 0}, 100)} {
		pkt := AppendBase64Packet([]byte("pre"), bin)
		got, err := DecodeBase64Packet([]byte("dst"), pkt[3:])
		if err != nil || !bytes.Equal(got, append([]byte("dst"), bin...)) {
			t.Errorf("%v: %q %v", bin, got, err)
		}
		if bytes.IndexByte(pkt, RecordSeparator) >= 0 {
			t.Errorf("separator in %q", pkt)
		}
	}
	if got := string(AppendBase64Packet(nil, []byte{1, 2, 3, 4})); got != "bAQIDBA==" {
		t.Error(got)
	}
	for _, in := range []string{"", "4AQID", "bAQ", "bA", "b!!!!", "bAQ=", "bAQ==x", "b-_8=", "b AQID"} {
		got, err := DecodeBase64Packet([]byte("dst"), []byte(in))
		if !errors.Is(err, ErrEngineParse) || string(got) != "dst" {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
}

func TestAppendOpen(t *testing.T) {
	got := AppendOpen([]byte("x"), "abc", nil, 25000, 20000, 1000000)
	if want := `x0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`; string(got) != want {
		t.Errorf("got %s", got)
	}
}
