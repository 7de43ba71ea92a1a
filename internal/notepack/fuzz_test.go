package notepack

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Fuzz targets (STYLE.md §8). Hostile seeds live in testdata/fuzz/FuzzXxx/ (written by testdata/gen_corpus.go);
// crashers found by `go test -fuzz` are committed there too. Oracles: Decode, ToJSON and Reader.Skip must agree on
// every input; encoding/json judges AppendJSON; Decode -> Append -> Decode must be stable.

const fuzzMaxInput = 1 << 16

var fuzzSeeds = []string{
	"\xc0", "\x92\x01\xa1a", "\x81\xa1a\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00", "\xdd\xff\xff\xff\xff", "\xdf\xff\xff\xff\xff",
	"\xc6\xff\xff\xff\xff", "\xc9\xff\xff\xff\xff\x00", "\xd4\x00\x00", "\x81\x01\xd4\x00\x00", "\xd6\xff\x00\x00\x00\x01",
	"\xc7\x0c\xff\x00\x00\x00\x01\xff\xff\xff\xff\xff\xff\xff\xff", "\x81\x92\x01\xc0\x01", "\xa3\xed\xa0\x80", "\xc1",
	"\xd7\x00\x7f\xff\xff\xff\xff\xff\xff\xff", "\xca\x7f\xc0\x00\x00", "\xcf\xff\xff\xff\xff\xff\xff\xff\xff",
}

func isOurError(err error) bool {
	for _, e := range []error{ErrTruncated, ErrFormat, ErrTooDeep, ErrTimestamp} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add(bytes.Repeat([]byte{0x91}, MaxDepth+1))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzMaxInput {
			return
		}
		v, n, _, err := decodeDup(b)
		_, _, tn, terr := ToJSON(nil, b, nil)
		if terr != err || tn != n {
			t.Fatalf("%x: Decode (n %d, %v) and ToJSON (n %d, %v) disagree", b, n, err, tn, terr)
		}
		r := NewReader(b)
		if serr := r.Skip(); serr != err || err == nil && r.Len() != len(b)-n {
			t.Fatalf("%x: Decode (n %d, %v) and Skip (%v, %d left) disagree", b, n, err, serr, r.Len())
		}
		if err != nil {
			if !isOurError(err) || v != nil || n != 0 {
				t.Fatalf("%x: %v, %v, %d", b, err, v, n)
			}
			return
		}
		if n < 1 || n > len(b) {
			t.Fatalf("%x: n = %d", b, n)
		}
		enc, err := Append(nil, v)
		if errors.Is(err, ErrTooDeep) {
			return // an extension at the depth limit becomes a [type, data] array
		}
		if err != nil {
			t.Fatalf("%x: Append(Decode) = %v", b, err)
		}
		v2, n2, err := Decode(enc)
		if err != nil || n2 != len(enc) {
			t.Fatalf("%x: Decode(Append(Decode)) = %v, n %d of %d", b, err, n2, len(enc))
		}
		if !reflect.DeepEqual(view(v, false), view(v2, false)) {
			t.Fatalf("%x: Decode -> Append -> Decode changed the value:\n%#v\n%#v", b, v, v2)
		}
		if enc2, _ := Append(nil, v2); !bytes.Equal(enc, enc2) {
			t.Fatalf("%x: Append(Decode(Append(Decode))) = %x, want %x", b, enc2, enc)
		}
	})
}

// resolve is the oracle for placeholders: socket.io-parser's reconstructPacket on what encoding/json decoded.
func resolve(v any, atts [][]byte) (any, bool) {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			r, ok := resolve(e, atts)
			if !ok {
				return nil, false
			}
			x[i] = r
		}
	case map[string]any:
		if ph, _ := x["_placeholder"].(bool); ph && len(atts) > 0 {
			f, isNum := x["num"].(float64)
			if !isNum || f != math.Trunc(f) || f < 0 || f >= float64(len(atts)) {
				return nil, false
			}
			return atts[int(f)], true
		}
		for k, e := range x {
			r, ok := resolve(e, atts)
			if !ok {
				return nil, false
			}
			x[k] = r
		}
	}
	return v, true
}

func FuzzAppendJSON(f *testing.F) {
	for _, s := range []string{`["tick",{"sym":"ABC","px":101.25,"ts":1700000000000}]`, `[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]`,
		`{"_placeholder":true,"num":0}`, `[{"num":1,"x":{},"_placeholder":true}]`, `{"_placeholder":true,"num":0.5}`,
		`"\ud800\udc00\ud800x\u00e9\n"`, `-0`, `1e400`, `9007199254740993`, `1e20`, `{"a":1,"a":2}`, ` [ ] `, `[1,]`,
		`"` + strings.Repeat(`\u00e9`, 20) + `"`, strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
		"\"\xff\xe1\x80\"", `{"\u005fplaceholder":true,"num":0}`} {
		f.Add([]byte(s), byte(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, natts byte) {
		if len(data) > fuzzMaxInput {
			return
		}
		atts := [][]byte{{0}, {1, 1}, {2, 2, 2}}[:natts%4]
		out, err := AppendJSON(nil, data, atts)
		// Same bytes after a prefix: the widening pass works on absolute offsets.
		if pre, perr := AppendJSON([]byte("\x01\x02\x03"), data, atts); perr != err || err == nil && !bytes.Equal(pre[3:], out) {
			t.Fatalf("%q: with a prefix: %x, %v; without: %x, %v", data, pre, perr, out, err)
		}
		valid := json.Valid(data)
		switch {
		case err == nil && !valid:
			t.Fatalf("%q: invalid JSON accepted: %x", data, out)
		case err != nil && valid && !errors.Is(err, ErrTooDeep) && !errors.Is(err, ErrPlaceholder):
			t.Fatalf("%q: valid JSON refused: %v", data, err)
		case err != nil && !valid && !errors.Is(err, ErrInvalidJSON) && !errors.Is(err, ErrTooDeep):
			t.Fatalf("%q: invalid JSON: %v, want ErrInvalidJSON", data, err)
		}
		if !valid || errors.Is(err, ErrTooDeep) {
			return
		}
		var ov any
		if json.Unmarshal(data, &ov) != nil {
			return // nested past encoding/json's own limit
		}
		ov, ok := resolve(ov, atts)
		if ok != (err == nil) && !(ok && hasDuplicateKeys(data)) { // a duplicate key can hide a bad placeholder
			t.Fatalf("%q with %d attachments: AppendJSON %v, reconstructPacket ok %v", data, len(atts), err, ok)
		}
		if err != nil {
			return
		}
		v, n, err := Decode(out)
		if err != nil || n != len(out) {
			t.Fatalf("%q: Decode(%x) = %v, n %d", data, out, err, n)
		}
		if !utf8.Valid(data) {
			return // encoding/json and Node replace invalid UTF-8 differently (per byte vs WHATWG)
		}
		if !reflect.DeepEqual(view(v, false), view(ov, false)) {
			t.Fatalf("%q: Decode(AppendJSON) = %#v, encoding/json: %#v", data, v, ov)
		}
	})
}

// hasDuplicateKeys reports whether an object in the (valid) JSON text repeats a key.
func hasDuplicateKeys(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		keys   map[string]bool
		object bool
		key    bool // the next string token is a key
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		top := len(stack) - 1
		switch x := tok.(type) {
		case json.Delim:
			switch x {
			case '{', '[':
				if top >= 0 && stack[top].object {
					stack[top].key = true
				}
				stack = append(stack, frame{keys: map[string]bool{}, object: x == '{', key: x == '{'})
			default:
				stack = stack[:top]
			}
			continue
		case string:
			if top >= 0 && stack[top].object && stack[top].key {
				if stack[top].keys[x] {
					return true
				}
				stack[top].keys[x] = true
				stack[top].key = false
				continue
			}
		}
		if top >= 0 && stack[top].object {
			stack[top].key = true
		}
	}
}

// jsonProjection is the value a client holds after JSON.parse of what ToJSON wrote: Dates as their ISO strings,
// NaN and ±Inf as null.
func jsonProjection(v any) any {
	switch x := v.(type) {
	case time.Time:
		return string(appendISODate(nil, x.UnixMilli()))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonProjection(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonProjection(e)
		}
		return out
	}
	return v
}

func hasPlaceholderKey(v any) bool {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if hasPlaceholderKey(e) {
				return true
			}
		}
	case map[string]any:
		if _, ok := x["_placeholder"]; ok {
			return true
		}
		for _, e := range x {
			if hasPlaceholderKey(e) {
				return true
			}
		}
	}
	return false
}

func FuzzToJSON(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte("\x93\xc4\x01\x00\x81\xa1a\xc4\x00\xc7\x01\x00\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzMaxInput {
			return
		}
		const prefix = "{prefix}"
		pre := [][]byte{{9}}
		out, atts, n, err := ToJSON([]byte(prefix), b, pre)
		v, dn, dup, derr := decodeDup(b)
		if err != derr || n != dn {
			t.Fatalf("%x: ToJSON (n %d, %v) and Decode (n %d, %v) disagree", b, n, err, dn, derr)
		}
		if err != nil {
			if string(out) != prefix || len(atts) != 1 {
				t.Fatalf("%x: on error: %q, %d attachments", b, out, len(atts))
			}
			return
		}
		if !bytes.HasPrefix(out, []byte(prefix)) || len(atts) < 1 || atts[0][0] != 9 {
			t.Fatalf("%x: prefix or attachments lost: %q", b, out)
		}
		js := out[len(prefix):]
		if !json.Valid(js) || !utf8.Valid(js) {
			t.Fatalf("%x: ToJSON wrote invalid JSON %q", b, js)
		}
		if dup || hasPlaceholderKey(v) {
			return // JSON keeps every duplicate; data that looks like a placeholder is ambiguous
		}
		want := view(jsonProjection(v), false)
		var ov any
		if err := json.Unmarshal(js, &ov); err != nil {
			t.Fatal(err)
		}
		ov, ok := resolve(ov, atts)
		if !ok || !reflect.DeepEqual(view(ov, false), want) {
			t.Fatalf("%x: ToJSON = %s %x\nparses to %#v\nDecode:    %#v", b, js, atts, ov, v)
		}
		// And back through AppendJSON, as the next hop of the cluster would.
		mp, err := AppendJSON(nil, js, atts)
		if errors.Is(err, ErrTooDeep) {
			return // an extension at the depth limit became a [type, placeholder] array
		}
		if err != nil {
			t.Fatalf("%x: AppendJSON(ToJSON) = %v (%s)", b, err, js)
		}
		back, _, err := Decode(mp)
		if err != nil || !reflect.DeepEqual(view(back, false), want) {
			t.Fatalf("%x: AppendJSON(ToJSON) decodes to %#v (%v), want %#v", b, back, err, v)
		}
	})
}
