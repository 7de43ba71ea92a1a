package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets (STYLE.md §8). Hostile seeds live in testdata/fuzz/FuzzXxx/ (written by testdata/gen_corpus.go);
// crashers found by `go test -fuzz` are committed there too.

const fuzzMaxInput = 1 << 18 // room for the 70,000-argument seed

func FuzzDecodePacket(f *testing.F) {
	for _, s := range []string{`0`, `0/admin,`, `0{"token":"1"}`, `1/admin,`, `2["foo",1]`, `2/admin,13["foo",{"a":[1,2]}]`,
		`3456[1]`, `51-["upload",{"_placeholder":true,"num":0}]`, `62-/a,7[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`,
		`4{"message":"x"}`, `2007["x"]`, `2 ["x"]`, `2["\u0063onnect"]`, `2[1.5e3,"x"]`, "2[\"a\\u001eb\"]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzMaxInput {
			return
		}
		var p Packet
		err := DecodePacket(b, &p)
		if err != nil {
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
			}
			return
		}
		checkPacket(t, b, &p)
		// Re-encode and decode again: same packet.
		enc := append(AppendPacketHeader(nil, &p), p.Data...)
		var q Packet
		if err := DecodePacket(enc, &q); err != nil {
			t.Fatalf("re-encoded %q (from %q) does not decode: %v", enc, b, err)
		}
		if q.Type != p.Type || !bytes.Equal(q.Namespace, p.Namespace) || q.ID != p.ID || q.Attachments != p.Attachments || !bytes.Equal(q.Data, p.Data) {
			t.Fatalf("round trip of %q via %q: %+v != %+v", b, enc, q, p)
		}
	})
}

// checkPacket asserts the invariants of an accepted packet, with encoding/json as the JSON oracle.
func checkPacket(t *testing.T, b []byte, p *Packet) {
	t.Helper()
	if !p.Type.Valid() || p.Type == PacketConnectError {
		t.Fatalf("%q: type %v", b, p.Type)
	}
	if p.Namespace != nil && (p.Namespace[0] != '/' || len(p.Namespace) < 2 || bytes.IndexByte(p.Namespace, ',') >= 0) {
		t.Fatalf("%q: namespace %q", b, p.Namespace)
	}
	if p.ID < NoAckID || p.ID > MaxSafeInteger {
		t.Fatalf("%q: id %d", b, p.ID)
	}
	binary := p.Type == PacketBinaryEvent || p.Type == PacketBinaryAck
	if binary != (p.Attachments > 0) || p.Attachments > DefaultMaxAttachments {
		t.Fatalf("%q: attachments %d", b, p.Attachments)
	}
	if p.Data == nil {
		if p.Type != PacketConnect && p.Type != PacketDisconnect {
			t.Fatalf("%q: %v without data", b, p.Type)
		}
		return
	}
	if !json.Valid(p.Data) {
		t.Fatalf("%q: accepted invalid JSON %q", b, p.Data)
	}
	switch p.Type {
	case PacketConnect:
		var m map[string]json.RawMessage
		if json.Unmarshal(p.Data, &m) != nil {
			t.Fatalf("%q: CONNECT payload is not an object", b)
		}
	case PacketDisconnect:
		t.Fatalf("%q: DISCONNECT with data", b)
	default:
		var arr []json.RawMessage
		if err := json.Unmarshal(p.Data, &arr); err != nil || len(arr) > DefaultMaxArgs {
			t.Fatalf("%q: not an array within MaxArgs: %v", b, err)
		}
		split, err := SplitArgs(p.Data, nil)
		if err != nil || len(split) != len(arr) {
			t.Fatalf("%q: SplitArgs %d, %v; encoding/json %d", b, len(split), err, len(arr))
		}
		if p.Type == PacketEvent || p.Type == PacketBinaryEvent {
			name, isStr, err := EventName(p.Data)
			if err != nil || !bytes.Equal(name, arr[0]) {
				t.Fatalf("%q: EventName %q %v", b, name, err)
			}
			if isStr {
				var want string
				_ = json.Unmarshal(name, &want)
				got, err := UnquoteString(nil, name)
				if err != nil || string(got) != want || IsReservedEvent(want) {
					t.Fatalf("%q: name %q, want %q (%v)", b, got, want, err)
				}
			}
		} else if p.ID == NoAckID {
			t.Fatalf("%q: ack without id", b)
		}
		if binary {
			atts := make([][]byte, p.Attachments)
			for i := range atts {
				atts[i] = []byte{byte(i)}
			}
			// May fail only where sonic refuses a number JS accepts (1e400); never panic.
			_, _ = ResolvePlaceholders(p.Data, atts)
			for _, el := range split {
				var v any
				_ = UnmarshalArg(el, atts, &v)
				var bs struct{ X []byte }
				_ = UnmarshalArg(el, atts, &bs)
			}
		}
	}
}

func FuzzEnginePacket(f *testing.F) {
	for _, s := range []string{"", "0", "2probe", "4hello", "4", "6", "7", "b", "bAQID", "x", "4€"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, data, err := ParseEnginePacket(b)
		valid := len(b) > 0 && b[0] >= '0' && b[0] <= '6'
		if (err == nil) != valid {
			t.Fatalf("%q: err %v", b, err)
		}
		if err != nil {
			if !errors.Is(err, ErrEngineParse) {
				t.Fatal(err)
			}
			return
		}
		if byte(typ) != b[0] || !bytes.Equal(data, b[1:]) || !typ.Valid() {
			t.Fatalf("%q: %v %q", b, typ, data)
		}
	})
}

func FuzzPayload(f *testing.F) {
	for _, s := range []string{"4hello", "4hello\x1e2\x1ebAQIDBA==", "", "\x1e", "4a\x1e", "b", "bAQ", "b!!!!",
		"451-[\"m\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID", "4[\"a\\u001eb\"]\x1e4x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > fuzzMaxInput {
			return
		}
		if body == nil {
			body = []byte{}
		}
		var rebuilt []byte
		n := 0
		for pkt, rest, ok := NextPayloadPacket(body); ok; pkt, rest, ok = NextPayloadPacket(rest) {
			if n > 0 {
				rebuilt = append(rebuilt, RecordSeparator)
			}
			rebuilt = append(rebuilt, pkt...)
			n++
			if bytes.IndexByte(pkt, RecordSeparator) >= 0 {
				t.Fatalf("separator inside packet %q", pkt)
			}
			if len(pkt) > 0 && pkt[0] == BinaryPrefix {
				got, err := DecodeBase64Packet([]byte("pre"), pkt)
				want, werr := base64.StdEncoding.DecodeString(string(pkt[1:]))
				if (err == nil) != (werr == nil) {
					t.Fatalf("%q: %v vs encoding/base64 %v", pkt, err, werr)
				}
				if err != nil {
					if !errors.Is(err, ErrEngineParse) || string(got) != "pre" {
						t.Fatalf("%q: %q %v", pkt, got, err)
					}
					continue
				}
				if !bytes.Equal(got[3:], want) {
					t.Fatalf("%q: %x vs %x", pkt, got[3:], want)
				}
				again, err := DecodeBase64Packet(nil, AppendBase64Packet(nil, want))
				if err != nil || !bytes.Equal(again, want) {
					t.Fatalf("base64 round trip of %x: %x %v", want, again, err)
				}
				continue
			}
			if _, _, err := ParseEnginePacket(pkt); (err == nil) != (len(pkt) > 0 && pkt[0] >= '0' && pkt[0] <= '6') {
				t.Fatalf("%q: %v", pkt, err)
			}
		}
		if n != bytes.Count(body, []byte{RecordSeparator})+1 || !bytes.Equal(rebuilt, body) {
			t.Fatalf("%q: %d packets, rebuilt %q", body, n, rebuilt)
		}
	})
}

func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{`[]`, `["x",1,{"a":[1,2]},null]`, `[ "a,b" , "c]" ]`, `[1,]`, `{}`, `[[[[]]]]`, `["\u0000"]`,
		`[1e400,-0,0.5e-3]`, `["x"] `, `[`, `["\"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzMaxInput {
			return
		}
		var buf [16][]byte
		got, err := SplitArgs(b, buf[:0])
		var want []json.RawMessage
		stdErr := json.Unmarshal(b, &want)
		isArray := len(b) > 0 && b[0] == '['
		if err != nil {
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatal(err)
			}
			// Refusing valid JSON arrays is allowed only past the depth cap (leading whitespace is not an array start).
			if stdErr == nil && isArray && want != nil && err != ErrTooDeep {
				t.Fatalf("%q: valid array refused: %v", b, err)
			}
			return
		}
		if stdErr != nil || !json.Valid(b) || !isArray {
			t.Fatalf("%q: accepted, encoding/json says %v", b, stdErr)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d elements, encoding/json %d", b, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%q: element %d %q vs %q", b, i, got[i], want[i])
			}
		}
		// The validator agrees with encoding/json on every element.
		for _, el := range got {
			if validJSON(el, maxDepthCap) != nil {
				t.Fatalf("element %q", el)
			}
		}
	})
}

func FuzzUnquoteString(f *testing.F) {
	for _, s := range []string{`""`, `"a"`, `"\ud83d\ude00"`, `"\ud800"`, `"\ud800\udc00\ud800"`, "\"\xff\"", `"\u0000\/"`, `"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := UnquoteString(nil, raw)
		var want string
		stdErr := json.Unmarshal(raw, &want)
		// UnquoteString takes exactly one token: encoding/json also allows surrounding whitespace.
		exact := len(raw) > 0 && raw[0] == '"' && raw[len(raw)-1] == '"'
		if (err == nil) != (stdErr == nil && exact) {
			t.Fatalf("%q: %v vs encoding/json %v", raw, err, stdErr)
		}
		if err == nil && string(got) != want {
			t.Fatalf("%q: %q vs encoding/json %q", raw, got, want)
		}
	})
}

// FuzzAppendString checks the JSON.stringify-compatible escaper: output is valid JSON and UTF-8, holds no raw
// control character (PROTOCOL.md §15.12) and decodes to what encoding/json's own round trip gives.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "abc", "\x00\x1e\x1f\x7f", "<>&\u2028", "é😀", "\xff\xfe", "\xed\xa0\x80", `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, _, err := AppendEvent(nil, "/", NoAckID, s, []any{s, map[string]any{s: s}})
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(out) {
			t.Fatalf("%q: invalid UTF-8 %q", s, out)
		}
		for _, c := range out {
			if c < 0x20 {
				t.Fatalf("%q: raw control character in %q", s, out)
			}
		}
		var got []any
		if err := json.Unmarshal(out[1:], &got); err != nil {
			t.Fatalf("%q: %q: %v", s, out, err)
		}
		std, _ := json.Marshal(s)
		var want string
		_ = json.Unmarshal(std, &want)
		if got[0] != want || got[1] != want || got[2].(map[string]any)[want] != want {
			t.Fatalf("%q: got %q, want %q", s, got, want)
		}
		if strings.ContainsAny(s, "<>&") && !bytes.ContainsAny(out, "<>&") {
			t.Fatalf("%q: HTML characters escaped, JSON.stringify does not", s)
		}
	})
}
