package notepack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testdata/vectors.json is written by internal/interop/testdata/notepack_vectors.js from the real notepack.io and
// socket.io-parser (STYLE.md §8); TestNodeVectorsUpToDate checks it against a live run. These tests hold our
// encoders to it byte for byte, our Decode to notepack.io's decoded values and our ToJSON to socket.io-parser's
// JSON, except for the deliberate differences listed in deviations.

type vectorFile struct {
	Notepack string   `json:"notepack.io"`
	Vectors  []vector `json:"vectors"`
}

type vector struct {
	Kind       string            `json:"kind"` // encode (a JS value), json (a JSON text + attachments), decode (bytes)
	Name       string            `json:"name"`
	Hex        string            `json:"hex"`
	SHA256     string            `json:"sha256"` // instead of hex for big encodings
	Len        int               `json:"len"`
	Text       *string           `json:"text"`
	TextSHA256 string            `json:"text_sha256"` // instead of text for big texts (see bigTexts)
	AttsIn     []json.RawMessage `json:"atts_in"`     // hex, or {"sha256","len"} (see bigAttachment)
	Error      *string           `json:"error"`
	View       json.RawMessage   `json:"view"`
	JSON       *string           `json:"json"`
	Atts       []string          `json:"atts"`
	JSONSHA256 string            `json:"json_sha256"`
	JSONLen    int               `json:"json_len"`
	AttsN      int               `json:"atts_n"`
	Reencoded  string            `json:"reencoded"` // notepack.encode(notepack.decode(bytes)), when it differs
}

// deviations are the vectors where we differ from notepack.io on purpose (see the package doc).
var deviations = map[string]string{
	"json/num/1e20":                            "notepack.io wraps integral numbers >= 2^64 modulo 2^64; we write float 64",
	"json/num/1e21":                            "same",
	"json/num/1e300":                           "same",
	"json/num/-1e300":                          "same, below -2^63",
	"json/num/2^64-1":                          "JSON.parse gives 2^64, which notepack.io writes as 0",
	"json/lone-surrogate-short":                "notepack.io's short-string UTF-8 writer pairs a lone surrogate with the next unit; we write U+FFFD",
	"json/lone-surrogate-short-end":            "same, at the end of the string",
	"json/placeholder-num-fraction":            "socket.io-parser yields undefined for num 0.5; we refuse it (ErrPlaceholder)",
	"json/placeholder-bad-under-duplicate-key": "JSON.parse drops the value holding the bad placeholder; we refuse it, as the codec does",
	"decode/error/ts96-length-0":               "notepack.io reads 12 bytes whatever the ext length says; we refuse it (ErrTimestamp)",
	"decode/map/duplicate-then-undefined":      "ToJSON writes the first value of a key whose last value is undefined",
	"decode/map/duplicate":                     "ToJSON writes each duplicate key; JSON.parse keeps the last, as notepack.io does",
	"decode/map/duplicate-order":               "same",
}

// reencodeDiffers are the vectors where Append(Decode(b)) cannot equal notepack.encode(notepack.decode(b)).
// (Go maps are unordered, and Go keeps integers above 2^53 exact: those are checked by value instead.)
var reencodeDiffers = map[string]string{
	"decode/float64/nan-payload": "V8 keeps a NaN's payload; AppendFloat writes the canonical NaN",
	"decode/float64/1e21":        "notepack.io wraps the integral 1e21 modulo 2^64; we keep the float 64",
	"decode/date/legacy-huge":    "an Invalid Date: notepack.io re-encodes it as Date(0); Decode gives nil",
	"decode/date/ts96-huge":      "same",
	"decode/date/ts96-below-min": "same",
}

func loadVectors(t testing.TB) vectorFile {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if f.Notepack != "3.0.1" || len(f.Vectors) < 200 {
		t.Fatalf("vectors.json: notepack.io %q, %d vectors", f.Notepack, len(f.Vectors))
	}
	return f
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func seqAny(n int) []any {
	a := make([]any, n)
	for i := range a {
		a[i] = int64(i % 128)
	}
	return a
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// goEquivalent returns the Go value that stands for the JS value of an encode vector.
func goEquivalent(name string) (any, bool) {
	kind, arg, _ := strings.Cut(name, "/")
	switch kind {
	case "int":
		n, err := strconv.ParseInt(arg, 10, 64)
		return n, err == nil
	case "num":
		f, err := strconv.ParseFloat(arg, 64)
		return f, err == nil
	case "bin":
		switch arg {
		case "uint8array", "arraybuffer":
			return []byte{1, 2, 3}, true
		case "uint16array":
			return []byte{1, 2, 0xff}, true
		}
		n, err := strconv.Atoi(arg)
		return pattern(n), err == nil
	case "array":
		switch arg {
		case "mixed":
			return []any{nil, true, false, "a", 1.5, []any{}, map[string]any{}}, true
		case "undefined":
			return []any{nil}, true
		}
		n, err := strconv.Atoi(arg)
		return seqAny(n), err == nil
	case "map":
		switch arg {
		case "undefined-and-functions":
			return map[string]any{"b": nil, "d": 1}, true
		case "index-keys":
			return map[string]any{"01": 1, "4294967295": 2, "a": 3, "10": 4, "9": 5, "4294967294": 6}, true
		case "nested":
			return map[string]any{"a": map[string]any{"b": map[string]any{"c": []any{1, map[string]any{"d": []any{}}}}}}, true
		}
		n, err := strconv.Atoi(arg)
		m := make(map[string]any, n)
		for i := range n {
			m[fmt.Sprintf("k%05d", i)] = int64(i % 128)
		}
		return m, err == nil
	case "str":
		s, ok := map[string]string{
			"empty": "", "a": "a", "x31": strings.Repeat("x", 31), "x32": strings.Repeat("x", 32),
			"x33": strings.Repeat("x", 33), "x255": strings.Repeat("x", 255), "x256": strings.Repeat("x", 256),
			"x65535": strings.Repeat("x", 65535), "x65536": strings.Repeat("x", 65536), "e-acute": "é", "euro": "€",
			"emoji": "😀", "mixed": "héllo wörld ✓ 😀", "e-acute*16": strings.Repeat("é", 16),
			"euro*11": strings.Repeat("€", 11), "controls": "\x00\x01\b\t\n\f\r\"\\/\x1f\x7f\u2028\u2029",
			"lone-long-first": "\uFFFD" + strings.Repeat("x", 40), "lone-long-last": strings.Repeat("x", 40) + "\uFFFD",
		}[arg]
		return s, ok
	case "date":
		f, err := strconv.ParseFloat(arg, 64)
		return time.UnixMilli(int64(f)), err == nil
	case "undefined", "null":
		return nil, true
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return nil, false // node-only/...
}

// bigTexts rebuilds the JSON texts the vectors file stores as a hash.
var bigTexts = map[string]func() string{
	"array-65536": func() string {
		var b strings.Builder
		b.WriteByte('[')
		for i := range 65536 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(i % 100))
		}
		return b.String() + "]"
	},
	"string-widening": func() string {
		return `["` + strings.Repeat(`\u00e9`, 40) + `","` + strings.Repeat("é", 200) + `","` +
			strings.Repeat(`\n`, 300) + `","` + strings.Repeat("x", 70000) + `\n"]`
	},
}

func (v *vector) text(t *testing.T) []byte {
	if v.Text != nil {
		return []byte(*v.Text)
	}
	f, ok := bigTexts[v.Name]
	if !ok {
		t.Fatalf("no recipe for the big text of %s", v.Name)
	}
	s := []byte(f())
	if sha(s) != v.TextSHA256 {
		t.Fatalf("rebuilt text of %s does not match its hash", v.Name)
	}
	return s
}

func (v *vector) attachments(t *testing.T) [][]byte {
	var out [][]byte
	for _, raw := range v.AttsIn {
		var h string
		if json.Unmarshal(raw, &h) == nil {
			out = append(out, mustHex(t, h))
			continue
		}
		var big struct {
			SHA256 string `json:"sha256"`
			Len    int    `json:"len"`
		}
		if err := json.Unmarshal(raw, &big); err != nil {
			t.Fatal(err)
		}
		b := bytes.Repeat([]byte{0xab}, big.Len) // the only big attachment: "ab" * 300
		if sha(b) != big.SHA256 {
			t.Fatalf("%s: cannot rebuild attachment %s", v.Name, raw)
		}
		out = append(out, b)
	}
	return out
}

// matches reports whether got are the bytes the vector holds (as hex or hash).
func (v *vector) matches(got []byte) bool {
	if v.Hex != "" || v.SHA256 == "" {
		return hex.EncodeToString(got) == v.Hex
	}
	return len(got) == v.Len && sha(got) == v.SHA256
}

func floatBytes(f float64) []byte {
	b := []byte{0xcb, 0, 0, 0, 0, 0, 0, 0, 0}
	u := math.Float64bits(f)
	for i := range 8 {
		b[8-i] = byte(u >> (8 * i))
	}
	return b
}

func TestVectors(t *testing.T) {
	vf := loadVectors(t)
	seen := map[string]bool{}
	for i := range vf.Vectors {
		v := &vf.Vectors[i]
		id := v.Kind + "/" + v.Name
		if seen[id] {
			t.Fatalf("duplicate vector %s", id)
		}
		seen[id] = true
		t.Run(id, func(t *testing.T) {
			_, deviant := deviations[id]
			var mp []byte // the bytes notepack.io wrote (or, for big vectors, ours after checking them)
			switch v.Kind {
			case "encode":
				mp = checkEncodeVector(t, v, deviant)
			case "json":
				mp = checkJSONVector(t, v, deviant)
			case "decode":
				mp = mustHex(t, v.Hex)
			default:
				t.Fatalf("unknown kind %q", v.Kind)
			}
			if mp != nil {
				checkDecodeVector(t, v, mp, deviant)
			}
		})
	}
	for id := range deviations {
		if !seen[id] {
			t.Errorf("deviation %s names no vector", id)
		}
	}
}

func checkEncodeVector(t *testing.T, v *vector, deviant bool) []byte {
	gv, ok := goEquivalent(v.Name)
	if !ok {
		if !strings.HasPrefix(v.Name, "node-only/") {
			t.Fatalf("no Go equivalent for %s", v.Name)
		}
		return mustHex(t, v.Hex)
	}
	got, err := Append(nil, gv)
	if err != nil {
		t.Fatal(err)
	}
	// Integral numbers out of [-2^63, 2^64): notepack.io wraps them, we write a float 64.
	if f, isF := gv.(float64); isF && !math.IsInf(f, 0) && f == math.Trunc(f) && (f >= 1<<64 || f < -(1<<63)) {
		if want := floatBytes(f); !bytes.Equal(got, want) || v.matches(got) {
			t.Fatalf("Append(%v) = %x, want our float 64 %x (notepack.io: %s)", f, got, want, v.Hex)
		}
		return nil // the decode checks hold for notepack.io's bytes, not ours
	}
	if deviant {
		t.Fatal("listed as a deviation but encodes like notepack.io")
	}
	if !v.matches(got) {
		t.Fatalf("Append(%T) = %.64x..., want %.64s... (sha %s)", gv, got, v.Hex, v.SHA256)
	}
	// The low-level appenders agree with Append.
	var alt []byte
	switch x := gv.(type) {
	case int64:
		alt = AppendInt(nil, x)
		if x >= 0 && !bytes.Equal(AppendUint(nil, uint64(x)), got) {
			t.Fatalf("AppendUint(%d) differs", x)
		}
	case float64:
		alt = AppendFloat(nil, x)
	case string:
		alt = AppendString(nil, x)
	case []byte:
		alt = AppendBytes(nil, x)
	case time.Time:
		alt = AppendTime(nil, x)
	case bool:
		alt = AppendBool(nil, x)
	case nil:
		alt = AppendNil(nil)
	}
	if alt != nil && !bytes.Equal(alt, got) {
		t.Fatalf("appender wrote %x, Append %x", alt, got)
	}
	return got
}

func checkJSONVector(t *testing.T, v *vector, deviant bool) []byte {
	text, atts := v.text(t), v.attachments(t)
	got, err := AppendJSON(nil, text, atts)
	id := "json/" + v.Name
	switch {
	case id == "json/placeholder-num-fraction" || id == "json/placeholder-bad-under-duplicate-key":
		if !errors.Is(err, ErrPlaceholder) {
			t.Fatalf("want ErrPlaceholder, got %x, %v", got, err)
		}
		return mustHex(t, v.Hex)
	case v.Error != nil:
		if err == nil {
			t.Fatalf("JSON.parse/reconstructPacket threw %q, we encoded %x", *v.Error, got)
		}
		return nil
	case err != nil:
		t.Fatalf("AppendJSON: %v", err)
	case strings.HasPrefix(v.Name, "num/"):
		f, _ := parseFloat(text)
		if want := floatBytes(f); !bytes.Equal(got, want) || v.matches(got) {
			t.Fatalf("AppendJSON(%s) = %x, want our float 64 %x (notepack.io: %s)", text, got, want, v.Hex)
		}
		return mustHex(t, v.Hex)
	case strings.HasPrefix(v.Name, "lone-surrogate-short"):
		var s string
		if err := json.Unmarshal(text, &s); err != nil { // encoding/json also writes U+FFFD
			t.Fatal(err)
		}
		if want := AppendString(nil, s); !bytes.Equal(got, want) || !strings.Contains(s, "\uFFFD") {
			t.Fatalf("AppendJSON(%s) = %x, want %x", text, got, want)
		}
		return mustHex(t, v.Hex)
	case strings.HasPrefix(v.Name, "same-value/"):
		// JSON.parse merged or reordered keys: our bytes differ, the value a JS peer decodes does not.
		if v.matches(got) {
			t.Fatalf("expected different bytes from notepack.io's %s", v.Hex)
		}
		dv, _, err := Decode(got)
		if err != nil || !sameView(t, view(dv, true), v.View) {
			t.Fatalf("Decode(%x) = %v (%v), want view %s", got, dv, err, v.View)
		}
		return mustHex(t, v.Hex)
	}
	if deviant {
		t.Fatal("listed as a deviation but transcodes like notepack.io")
	}
	if !v.matches(got) {
		t.Fatalf("AppendJSON(%.200s) = %.200x, want %.200s (sha %s)", text, got, v.Hex, v.SHA256)
	}
	return got
}

func checkDecodeVector(t *testing.T, v *vector, mp []byte, deviant bool) {
	id := v.Kind + "/" + v.Name
	dv, n, err := Decode(mp)
	tj, tatts, tn, terr := ToJSON(nil, mp, nil)
	if !errors.Is(terr, err) || tn != n {
		t.Fatalf("ToJSON (n %d, %v) and Decode (n %d, %v) disagree", tn, terr, n, err)
	}
	r := NewReader(mp)
	if serr := r.Skip(); !errors.Is(serr, err) || err == nil && r.Len() != len(mp)-n {
		t.Fatalf("Skip (%v, %d left) and Decode (n %d, %v) disagree", serr, r.Len(), n, err)
	}
	if id == "decode/error/ts96-length-0" {
		if !errors.Is(err, ErrTimestamp) {
			t.Fatalf("want ErrTimestamp, got %v", err)
		}
		return
	}
	if v.Error != nil {
		if trailing, _ := strconv.Atoi(strings.TrimSuffix(*v.Error, " trailing bytes")); trailing > 0 {
			if err != nil || n != len(mp)-trailing {
				t.Fatalf("notepack.io: %s; Decode: n %d, %v", *v.Error, n, err)
			}
			return
		}
		if err == nil {
			t.Fatalf("notepack.io: %s; Decode: %#v", *v.Error, dv)
		}
		return
	}
	if err != nil {
		t.Fatalf("Decode(%.64x): %v", mp, err)
	}
	if n != len(mp) {
		t.Fatalf("Decode read %d of %d bytes", n, len(mp))
	}
	if v.View != nil && !sameView(t, view(dv, true), v.View) {
		t.Fatalf("Decode = %#v\nview %v\nwant %s", dv, normJSON(t, view(dv, true)), v.View)
	}
	// ToJSON against socket.io-parser's JSON.stringify.
	switch {
	case deviant && strings.HasPrefix(v.Name, "map/duplicate"):
		var got, want any
		if json.Unmarshal(tj, &got) != nil || json.Unmarshal([]byte(*v.JSON), &want) != nil || string(tj) == *v.JSON {
			t.Fatalf("ToJSON = %s (Node: %s)", tj, *v.JSON)
		}
		if id == "decode/map/duplicate-then-undefined" {
			want = map[string]any{"a": 1.0}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ToJSON = %s parses to %v, want %v", tj, got, want)
		}
	case v.JSON != nil:
		if string(tj) != *v.JSON || !slices.Equal(hexes(tatts), v.Atts) {
			t.Fatalf("ToJSON = %s %v\n  want %s %v", tj, hexes(tatts), *v.JSON, v.Atts)
		}
	case sha(tj) != v.JSONSHA256 || len(tj) != v.JSONLen || len(tatts) != v.AttsN:
		t.Fatalf("ToJSON of the big vector differs (%d bytes, %d attachments)", len(tj), len(tatts))
	}
	// Re-encoding what we decoded gives what notepack.io gives re-encoding what it decoded, unless JS rounded an
	// integer above 2^53 that Go keeps exact.
	re, err := Append(nil, dv)
	if err != nil {
		t.Fatalf("Append(Decode): %v", err)
	}
	want := mp
	if v.Reencoded != "" {
		want = mustHex(t, v.Reencoded)
	}
	if bytes.Equal(re, want) {
		if _, listed := reencodeDiffers[id]; listed {
			t.Fatal("listed in reencodeDiffers but re-encodes like notepack.io")
		}
		return
	}
	if _, listed := reencodeDiffers[id]; listed || wrapsInNotepack(dv) {
		return
	}
	rv, _, err := Decode(re)
	if err != nil {
		t.Fatalf("Decode(Append(Decode)): %v", err)
	}
	wv, _, _ := Decode(want)
	if !exactBeyond53(dv) && !reflect.DeepEqual(normJSON(t, view(rv, true)), normJSON(t, view(wv, true))) {
		t.Fatalf("Append(Decode) = %.64x, notepack.io re-encodes %.64x, and their values differ", re, want)
	}
}

// wrapsInNotepack reports whether v holds an integral float outside [-2^63, 2^64), which notepack.io wraps
// modulo 2^64 when it encodes it and AppendFloat keeps as a float 64.
func wrapsInNotepack(v any) bool {
	switch x := v.(type) {
	case float64:
		return !math.IsInf(x, 0) && x == math.Trunc(x) && (x >= 1<<64 || x < -(1<<63))
	case []any:
		return slices.ContainsFunc(x, wrapsInNotepack)
	case map[string]any:
		for _, e := range x {
			if wrapsInNotepack(e) {
				return true
			}
		}
	}
	return false
}

// exactBeyond53 reports whether v holds an integer JS would round.
func exactBeyond53(v any) bool {
	switch x := v.(type) {
	case int64:
		return x > 1<<53 || x < -1<<53
	case uint64:
		return true
	case []any:
		return slices.ContainsFunc(x, exactBeyond53)
	case map[string]any:
		for _, e := range x {
			if exactBeyond53(e) {
				return true
			}
		}
	}
	return false
}
