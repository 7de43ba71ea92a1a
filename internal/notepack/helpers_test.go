package notepack

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// view is the canonical picture of a JS value that notepack_vectors.js prints (see its header): Go builds the same
// picture from a Go value, so the two compare with reflect.DeepEqual after a JSON round trip. With zeroSign false
// -0 is "0", for comparisons in which notepack.io's own -0 -> 0 is expected.
func view(v any, zeroSign bool) any {
	num := func(f float64) any {
		if zeroSign && f == 0 && math.Signbit(f) {
			return map[string]any{"$n": "-0"}
		}
		return map[string]any{"$n": string(appendJSNumber(nil, f))}
	}
	switch x := v.(type) {
	case nil:
		return nil
	case bool:
		return x
	case string:
		return jsString([]byte(x))
	case int:
		return num(float64(x))
	case int8:
		return num(float64(x))
	case int16:
		return num(float64(x))
	case int32:
		return num(float64(x))
	case int64:
		return num(float64(x))
	case uint:
		return num(float64(x))
	case uint8:
		return num(float64(x))
	case uint16:
		return num(float64(x))
	case uint32:
		return num(float64(x))
	case uint64:
		return num(float64(x))
	case float32:
		return num(float64(x))
	case float64:
		return num(x)
	case json.Number:
		f, _ := strconv.ParseFloat(string(x), 64)
		return num(f)
	case []byte:
		return map[string]any{"$bin": hex.EncodeToString(x)}
	case time.Time:
		ms := x.UnixMilli()
		if math.Abs(float64(ms)) > maxDateMs {
			return nil
		}
		return map[string]any{"$date": strconv.FormatInt(ms, 10)}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = view(e, zeroSign)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = view(e, zeroSign)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[jsString([]byte(k))] = view(e, zeroSign)
		}
		return map[string]any{"$obj": out}
	case map[string]string:
		out := map[string]any{}
		for k, e := range x {
			out[jsString([]byte(k))] = view(e, zeroSign)
		}
		return map[string]any{"$obj": out}
	}
	panic("view: unexpected " + reflect.TypeOf(v).String())
}

// normJSON round-trips a view through JSON, so Go-built and JSON-parsed views compare with DeepEqual.
func normJSON(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal view: %v", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal view: %v", err)
	}
	return out
}

func sameView(t testing.TB, got any, want json.RawMessage) bool {
	t.Helper()
	var w any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("bad view %s: %v", want, err)
	}
	return reflect.DeepEqual(normJSON(t, got), w)
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}

func hexes(b [][]byte) []string {
	out := make([]string, len(b))
	for i, x := range b {
		out[i] = hex.EncodeToString(x)
	}
	return out
}

// decodeDup decodes like Decode and also reports whether a map repeated a key.
func decodeDup(b []byte) (v any, n int, dup bool, err error) {
	d := decoder{b: b}
	v, err = d.value()
	if err != nil {
		return nil, 0, d.dup, err
	}
	return d.public(v), d.i, d.dup, nil
}
