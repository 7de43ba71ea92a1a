//go:build !race

package notepack

import (
	"strings"
	"testing"
	"time"
)

// Zero-allocation pins (STYLE.md §4, §8): AppendJSON and the appenders run once per broadcast that crosses the
// cluster, ToJSON and the Reader once per message received from it.

func pinZero(t *testing.T, name string, f func()) {
	t.Helper()
	if n := testing.AllocsPerRun(200, f); n != 0 {
		t.Errorf("%s: %v allocs per run, want 0", name, n)
	}
}

func TestZeroAllocs(t *testing.T) {
	if len(eventData) < 90 {
		t.Fatal("want a ~100 byte event")
	}
	dst := make([]byte, 0, 1<<17)
	atts := [][]byte{[]byte("PNG..."), {1, 2, 3}}
	for name, in := range map[string]string{
		"event":            eventData,
		"binary":           binaryData,
		"escapes":          `["\u00e9\n\ud83d\ude00\ud800 x","` + strings.Repeat(`\"`, 40) + `"]`,
		"16 elements":      `[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,{"a":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}]`,
		"numbers":          `[0,-0,1.0,1e2,-1.5e-7,9007199254740993,123456789012345678,1e400,-0.0001e312,0.1]`,
		"65536 characters": `"` + strings.Repeat("x", 65536) + `\n"`,
	} {
		data := []byte(in)
		pinZero(t, "AppendJSON "+name, func() { sinkBytes, sinkErr = AppendJSON(dst[:0], data, atts) })
		if sinkErr != nil {
			t.Fatalf("%s: %v", name, sinkErr)
		}
	}
	bad := []byte(`[1,2,`)
	pinZero(t, "AppendJSON error", func() { sinkBytes, sinkErr = AppendJSON(dst[:0], bad, nil) })

	now := time.Unix(1700000000, 123e6)
	pinZero(t, "appenders", func() {
		b := dst[:0]
		b = AppendArrayHeader(b, 70000)
		b = AppendMapHeader(b, 3)
		b = AppendNil(b)
		b = AppendBool(b, true)
		b = AppendInt(b, -1<<40)
		b = AppendUint(b, 1<<63)
		b = AppendFloat(b, 101.25)
		b = AppendFloat(b, 1e300)
		b = AppendString(b, "hello")
		b = AppendBytes(b, atts[0])
		b = AppendTime(b, now)
		sinkBytes = b
	})

	mp, _ := AppendJSON(nil, []byte(binaryData), atts)
	attBuf := make([][]byte, 0, 8)
	pinZero(t, "ToJSON", func() { sinkBytes, _, _, sinkErr = ToJSON(dst[:0], mp, attBuf[:0]) })
	ev, _ := AppendJSON(nil, []byte(eventData), nil)
	pinZero(t, "ToJSON event", func() { sinkBytes, _, _, sinkErr = ToJSON(dst[:0], ev, nil) })

	pinZero(t, "Reader", func() {
		r := NewReader(ev)
		n, _ := r.ReadArrayHeader()
		name, _ := r.ReadStringBytes()
		m, _ := r.ReadMapHeader()
		for range m {
			r.Skip()
			raw, _ := r.Raw()
			sinkBytes = raw
		}
		sinkInt = int64(n + len(name))
	})

	// A few bytes claiming 4e9 elements are refused before anything is allocated.
	for _, in := range []string{"\xdd\xff\xff\xff\xff", "\xdf\xff\xff\xff\xff", "\xc6\xff\xff\xff\xff", "\xc9\xff\xff\xff\xff\x00"} {
		b := []byte(in)
		pinZero(t, "Decode "+in, func() { _, _, sinkErr = Decode(b) })
		if sinkErr != ErrTruncated {
			t.Fatal(sinkErr)
		}
	}
}
