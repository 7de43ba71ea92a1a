package notepack

import (
	"strings"
	"testing"
)

// Benchmarks (STYLE.md §8). The event is the ~100-byte data array of a typical ticker broadcast.

const (
	eventData  = `["tick",{"sym":"ABC","px":101.25,"ts":1700000000000,"bid":101.2,"ask":101.3,"vol":12345,"note":"ok"}]`
	binaryData = `["upload",{"name":"a.png","file":{"_placeholder":true,"num":0}},{"num":1,"_placeholder":true}]`
)

var (
	sinkErr   error
	sinkBytes []byte
	sinkInt   int64
)

func benchInputs() map[string][]byte {
	var big strings.Builder
	big.WriteString(`[`)
	for i := range 2000 {
		if i > 0 {
			big.WriteString(",")
		}
		big.WriteString(`{"id":12345,"name":"caf\u00e9 ✓","px":101.25,"ok":true,"tags":["a","b"]}`)
	}
	big.WriteString(`]`)
	return map[string][]byte{
		"event-100B":  []byte(eventData),
		"binary":      []byte(binaryData),
		"array-150KB": []byte(big.String()),
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	atts := [][]byte{[]byte("PNG..."), {1, 2, 3}}
	for name, in := range benchInputs() {
		b.Run(name, func(b *testing.B) {
			dst := make([]byte, 0, 2*len(in))
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				sinkBytes, sinkErr = AppendJSON(dst[:0], in, atts)
			}
		})
	}
}

func BenchmarkToJSON(b *testing.B) {
	atts := [][]byte{[]byte("PNG..."), {1, 2, 3}}
	for name, in := range benchInputs() {
		mp, err := AppendJSON(nil, in, atts)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			dst := make([]byte, 0, 2*len(in))
			attBuf := make([][]byte, 0, 4)
			b.SetBytes(int64(len(mp)))
			b.ReportAllocs()
			for b.Loop() {
				sinkBytes, _, _, sinkErr = ToJSON(dst[:0], mp, attBuf[:0])
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	mp, _ := AppendJSON(nil, []byte(eventData), nil)
	b.SetBytes(int64(len(mp)))
	b.ReportAllocs()
	for b.Loop() {
		_, _, sinkErr = Decode(mp)
	}
}

func BenchmarkAppend(b *testing.B) {
	v := []any{"tick", map[string]any{"sym": "ABC", "px": 101.25, "ts": int64(1700000000000)}}
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		sinkBytes, sinkErr = Append(dst[:0], v)
	}
}
