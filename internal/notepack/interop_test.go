package notepack

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riptide-io/riptide/internal/interop"
)

// These tests run the real notepack.io through internal/interop/testdata/notepack_vectors.js (which needs node
// and npm: the harness installs the pinned packages and fails, never skips, without them).

// TestNodeVectorsUpToDate regenerates testdata/vectors.json and wants the committed file unchanged.
func TestNodeVectorsUpToDate(t *testing.T) {
	interop.Setup(t)
	out, stderr, err := interop.TryRunNode(t, "notepack_vectors.js", "vectors")
	if err != nil {
		t.Fatalf("node notepack_vectors.js vectors: %v\n%s", err, stderr)
	}
	want, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Fatal("testdata/vectors.json is stale: regenerate it with\n" +
			"  (cd internal/interop/testdata && node notepack_vectors.js vectors > ../../notepack/testdata/vectors.json)")
	}
}

type nodeRequest struct {
	Op   string   `json:"op"`
	Hex  string   `json:"hex,omitempty"`
	Text string   `json:"text,omitempty"`
	Atts []string `json:"atts,omitempty"`
}

type nodeResult struct {
	Error     *string         `json:"error"`
	View      json.RawMessage `json:"view"`
	JSON      string          `json:"json"`
	Atts      []string        `json:"atts"`
	Reencoded string          `json:"reencoded"`
	Hex       string          `json:"hex"`
}

func runBatch(t *testing.T, reqs []nodeRequest) []nodeResult {
	t.Helper()
	b, err := json.Marshal(reqs)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "requests.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	line := interop.RunNode(t, "notepack_vectors.js", "batch", path)
	var res struct {
		Results []nodeResult `json:"results"`
	}
	if err := json.Unmarshal(line, &res); err != nil || len(res.Results) != len(reqs) {
		t.Fatalf("batch result: %v (%d results for %d requests)", err, len(res.Results), len(reqs))
	}
	return res.Results
}

// TestNodeRoundTrip encodes random Go values and JSON texts with this package and has notepack.io decode them:
// Node must see the values we meant, ToJSON must write socket.io-parser's JSON, AppendJSON must write
// notepack.io's bytes, and we must read back what notepack.io re-encodes.
func TestNodeRoundTrip(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("NOTEPACK_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (NOTEPACK_SEED=%d to repeat)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 0x5eed))

	var reqs []nodeRequest
	var values []any
	var encoded [][]byte
	for range 500 {
		v := randValue(r, 0)
		b, err := Append(nil, v)
		if err != nil {
			t.Fatalf("Append(%.300#v): %v", v, err)
		}
		values, encoded = append(values, v), append(encoded, b)
		reqs = append(reqs, nodeRequest{Op: "decode", Hex: hex.EncodeToString(b)})
	}
	// Deliberate differences: Node must decode what we meant, not what notepack.io would have written.
	for _, v := range []any{1e20, 1e21, math.Ldexp(1, 64), 1e300, -1e300, -math.Ldexp(1, 63) - 4096, math.MaxFloat64,
		"\uFFFD", "a\uFFFD", math.NaN(), math.Copysign(0, -1)} {
		b, _ := Append(nil, v)
		values, encoded = append(values, v), append(encoded, b)
		reqs = append(reqs, nodeRequest{Op: "decode", Hex: hex.EncodeToString(b)})
	}
	nValues := len(reqs)
	var texts []string
	var attsIn [][][]byte
	for i := range 600 {
		natt := 0
		if i%3 == 0 {
			natt = 1 + r.IntN(3)
		}
		g := jsonGen{r: r, atts: natt}
		g.value(0)
		text := string(g.b)
		if i%4 == 3 { // a prefix: mostly invalid, sometimes a different valid text
			text = text[:r.IntN(len(text)+1)]
		}
		atts := make([][]byte, natt)
		for k := range atts {
			atts[k] = pattern(r.IntN(5) + k)
		}
		texts, attsIn = append(texts, text), append(attsIn, atts)
		reqs = append(reqs, nodeRequest{Op: "json", Text: text, Atts: hexes(atts)})
	}

	res := runBatch(t, reqs)
	for i, v := range values {
		checkNodeDecoded(t, v, encoded[i], &res[i])
	}
	for i, text := range texts {
		nr := &res[nValues+i]
		got, err := AppendJSON(nil, []byte(text), attsIn[i])
		switch {
		case nr.Error != nil && err == nil:
			t.Errorf("%q: Node threw %q, AppendJSON = %x", text, *nr.Error, got)
		case nr.Error == nil && err != nil:
			t.Errorf("%q: AppendJSON: %v, Node = %s", text, err, nr.Hex)
		case err == nil && hex.EncodeToString(got) != nr.Hex:
			t.Errorf("%q (atts %v):\n AppendJSON = %x\n notepack.io = %s", text, hexes(attsIn[i]), got, nr.Hex)
		}
	}
}

func checkNodeDecoded(t *testing.T, v any, b []byte, nr *nodeResult) {
	t.Helper()
	if nr.Error != nil {
		t.Errorf("notepack.io cannot decode %.300x (from %.300#v): %s", b, v, *nr.Error)
		return
	}
	if !sameView(t, view(v, false), nr.View) {
		t.Errorf("notepack.io decodes %.300x (from %.300#v) into\n %.600s, want\n %.600v", b, v, nr.View, normJSON(t, view(v, false)))
		return
	}
	dv, n, err := Decode(b)
	if err != nil || n != len(b) || !sameView(t, view(dv, true), nr.View) {
		t.Errorf("Decode(%.300x) = %.300#v, %d, %v; Node: %.300s", b, dv, n, err, nr.View)
		return
	}
	tj, atts, _, err := ToJSON(nil, b, nil)
	if err != nil || string(tj) != nr.JSON || !slices.Equal(hexes(atts), nr.Atts) {
		t.Errorf("ToJSON(%.300x) = %.600s %.100v, %v\n socket.io-parser: %.600s %.100v", b, tj, hexes(atts), err, nr.JSON, nr.Atts)
	}
	re := b
	if nr.Reencoded != "" {
		re, _ = hex.DecodeString(nr.Reencoded)
	}
	rv, _, err := Decode(re)
	if err != nil {
		t.Errorf("Decode(notepack.io's %x): %v", re, err)
		return
	}
	if wrapsInNotepack(dv) || hasInvalidDate(v) {
		return // notepack.io re-encodes such a number wrapped, an Invalid Date as Date(0): nothing to compare
	}
	if !sameView(t, view(rv, true), nr.View) {
		t.Errorf("Decode(notepack.io's %x) = %#v, want view %s", re, rv, nr.View)
	}
	if again, _ := Append(nil, rv); !bytes.Equal(again, re) && !exactBeyond53(rv) {
		t.Errorf("Append(Decode(%x)) = %x: not notepack.io's bytes", re, again)
	}
}

// hasInvalidDate reports whether v holds a time a JS Date cannot hold.
func hasInvalidDate(v any) bool {
	switch x := v.(type) {
	case time.Time:
		return math.Abs(float64(x.UnixMilli())) > maxDateMs
	case []any:
		return slices.ContainsFunc(x, hasInvalidDate)
	case map[string]any:
		for _, e := range x {
			if hasInvalidDate(e) {
				return true
			}
		}
	}
	return false
}

// ---- random Go values ----

var (
	specialFloats = []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 101.25, 1e-7, 5e-324, math.MaxFloat64, math.Inf(1),
		math.Inf(-1), math.NaN(), 1 << 53, 1<<53 + 2, 1 << 63, math.Ldexp(1, 64), 1e20, 1e21, -1 << 63, 4.35, 0.1}
	boundaryInts = []int64{0, 1, 127, 128, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, 1<<53 - 1, 1 << 53, 1<<53 + 1,
		math.MaxInt64, -1, -32, -33, -128, -129, -32768, -32769, -1 << 31, -1<<31 - 1, -1 << 53, -1<<53 - 1, math.MinInt64}
	runePool = []string{"a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "ß", "€", "\u2028",
		"\uFFFD", "\uFFFF", "中", "😀", "𝄞", "\U0010FFFF"}
	badUTF8 = []string{"\xff", "\xe1\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "\xf0\x9f\x98"}
	keyPool = []string{"a", "b", "sym", "px", "ts", "data", "_placeholder", "num", "0", "1", "7", "10", "4294967294",
		"4294967295", "01", "-1", "1.5", "", "é", "😀", "toString", "constructor"}
)

func randString(r *rand.Rand, badOK bool) string {
	n := r.IntN(40)
	switch r.IntN(12) {
	case 0:
		n = 255 + r.IntN(3)
	case 1:
		n = 30 + r.IntN(4)
	}
	var b strings.Builder
	for b.Len() < n {
		if badOK && r.IntN(30) == 0 {
			b.WriteString(badUTF8[r.IntN(len(badUTF8))])
			continue
		}
		if r.IntN(3) == 0 {
			b.WriteString(runePool[r.IntN(len(runePool))])
		} else {
			b.WriteByte(byte('a' + r.IntN(26)))
		}
	}
	return b.String()
}

func randFloat(r *rand.Rand) float64 {
	switch r.IntN(5) {
	case 0:
		return specialFloats[r.IntN(len(specialFloats))]
	case 1:
		return math.Float64frombits(r.Uint64())
	case 2:
		return math.Round(r.NormFloat64() * math.Pow(10, float64(r.IntN(22))))
	}
	return r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
}

func randInt(r *rand.Rand) int64 {
	if r.IntN(2) == 0 {
		return boundaryInts[r.IntN(len(boundaryInts))] + int64(r.IntN(3)-1)
	}
	return int64(r.Uint64()) >> r.IntN(64)
}

func randValue(r *rand.Rand, depth int) any {
	k := r.IntN(19)
	if depth >= 4 && k >= 13 {
		k = r.IntN(13)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2, 3:
		return randInt(r)
	case 4:
		return math.MaxInt64 + uint64(r.IntN(1<<20))
	case 5, 6:
		return randFloat(r)
	case 7:
		return float32(randFloat(r))
	case 8:
		return randString(r, true)
	case 9:
		return pattern(r.IntN(300))
	case 10:
		ms := r.Int64N(2*8.64e15) - 8.64e15
		if r.IntN(10) == 0 {
			ms *= 3 // often beyond a Date's range
		}
		return time.UnixMilli(ms).Add(time.Duration(r.IntN(1e6))) // sub-millisecond part: truncated
	case 11:
		switch r.IntN(4) {
		case 0:
			return int8(randInt(r))
		case 1:
			return uint16(randInt(r))
		case 2:
			return int32(randInt(r))
		}
		f := randFloat(r)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			f = 0.25
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
	case 12:
		if r.IntN(2) == 0 {
			s := make([]string, r.IntN(5))
			for i := range s {
				s[i] = randString(r, false)
			}
			return s
		}
		m := map[string]string{}
		for range r.IntN(5) {
			m[randKey(r)] = randString(r, true)
		}
		return m
	case 13, 14, 15:
		n := r.IntN(8)
		if r.IntN(5) == 0 {
			n = 15 + r.IntN(3)
		}
		a := make([]any, n)
		for i := range a {
			a[i] = randValue(r, depth+1)
		}
		return a
	}
	n := r.IntN(6)
	if r.IntN(5) == 0 {
		n = 15 + r.IntN(3)
	}
	m := map[string]any{}
	for range n {
		m[randKey(r)] = randValue(r, depth+1)
	}
	return m
}

func randKey(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return keyPool[r.IntN(len(keyPool))]
	}
	return randString(r, false) // valid UTF-8: two invalid keys could become the same JS key
}

// ---- random JSON texts (no duplicate keys, array-index keys only first and ascending, no lone surrogates and no
// integral numbers outside [-2^63, 2^64): the cases where our bytes differ from notepack.io's on purpose) ----

type jsonGen struct {
	r    *rand.Rand
	b    []byte
	atts int
}

func (g *jsonGen) ws() {
	for g.r.IntN(4) == 0 {
		g.b = append(g.b, " \t\n\r"[g.r.IntN(4)])
	}
}

func (g *jsonGen) value(depth int) {
	g.ws()
	k := g.r.IntN(10)
	if depth >= 5 && k >= 7 {
		k = g.r.IntN(7)
	}
	switch k {
	case 0:
		g.b = append(g.b, []string{"null", "true", "false"}[g.r.IntN(3)]...)
	case 1, 2:
		g.number()
	case 3, 4, 5:
		g.str(randString(g.r, false))
	case 6:
		if g.atts > 0 {
			g.placeholder()
		} else {
			g.number()
		}
	case 7:
		n := g.r.IntN(6)
		if g.r.IntN(4) == 0 {
			n = 14 + g.r.IntN(4)
		}
		g.b = append(g.b, '[')
		for i := range n {
			if i > 0 {
				g.b = append(g.b, ',')
			}
			g.value(depth + 1)
		}
		g.ws()
		g.b = append(g.b, ']')
	default:
		n := g.r.IntN(6)
		if g.r.IntN(4) == 0 {
			n = 14 + g.r.IntN(4)
		}
		keys := map[string]bool{}
		var list []string
		for idx := 0; g.r.IntN(4) == 0; idx += 1 + g.r.IntN(20) { // array-index keys first, ascending
			list = append(list, strconv.Itoa(idx))
			keys[strconv.Itoa(idx)] = true
		}
		for len(list) < n {
			k := randString(g.r, false)
			if _, isIndex := arrayIndex(k); !isIndex && !keys[k] && k != "__proto__" {
				keys[k] = true
				list = append(list, k)
			}
		}
		g.b = append(g.b, '{')
		for i, k := range list {
			if i > 0 {
				g.b = append(g.b, ',')
			}
			g.ws()
			g.str(k)
			g.ws()
			g.b = append(g.b, ':')
			g.value(depth + 1)
		}
		g.ws()
		g.b = append(g.b, '}')
	}
	g.ws()
}

func (g *jsonGen) number() {
	for {
		var s string
		switch g.r.IntN(6) {
		case 0:
			s = strconv.FormatInt(randInt(g.r), 10)
		case 1:
			s = strconv.FormatFloat(randFloat(g.r), 'g', -1, 64)
		case 2:
			s = strconv.FormatFloat(randFloat(g.r), 'E', g.r.IntN(20), 64)
		case 3:
			s = strconv.FormatFloat(randFloat(g.r), 'f', g.r.IntN(5), 64)
		case 4:
			s = []string{"0", "-0", "1.0", "1e0", "-0.0", "1E+2", "0.1e-2", "9007199254740993", "123456789012345678"}[g.r.IntN(9)]
		default:
			s = strconv.Itoa(g.r.IntN(1000) - 500)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) && !strings.ContainsAny(s, "eE") || strings.ContainsAny(s, "IN") {
			continue // strconv's "NaN" / "+Inf" are not JSON
		}
		if f == math.Trunc(f) && !math.IsInf(f, 0) && (f >= 1<<64 || f < -(1<<63)) {
			continue
		}
		g.b = append(g.b, strings.TrimPrefix(s, "+")...)
		return
	}
}

func (g *jsonGen) str(s string) {
	g.b = append(g.b, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			g.b = append(g.b, '\\', byte(c))
		case c < 0x20 || g.r.IntN(8) == 0:
			if c > 0xffff {
				hi, lo := 0xd800+(c-0x10000)>>10, 0xdc00+(c-0x10000)&0x3ff
				g.b = append(g.b, []byte(`\u`+strconv.FormatInt(int64(hi), 16)+`\u`+strconv.FormatInt(int64(lo), 16))...)
			} else {
				g.b = append(g.b, []byte(`\u`+leftPad(strconv.FormatInt(int64(c), 16), 4))...)
			}
		case c == '/' && g.r.IntN(2) == 0:
			g.b = append(g.b, `\/`...)
		default:
			g.b = append(g.b, string(c)...)
		}
	}
	g.b = append(g.b, '"')
}

func leftPad(s string, n int) string { return strings.Repeat("0", max(0, n-len(s))) + s }

func (g *jsonGen) placeholder() {
	num := strconv.Itoa(g.r.IntN(g.atts))
	parts := []string{`"_placeholder":true`, `"num":` + num}
	if g.r.IntN(3) == 0 {
		parts = append(parts, `"x":[1,{"y":2}]`)
	}
	g.r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	g.b = append(g.b, "{"+strings.Join(parts, ",")+"}"...)
}
