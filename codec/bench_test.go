package codec

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/bytedance/sonic"
)

// Benchmarks for the per-message paths (STYLE.md §8). sonic's JIT path is used on amd64/arm64 before go1.28;
// BenchmarkAppendEvent logs which one ran.

var (
	benchEvent   = []byte(`2/chat,12["message",{"user":"alice","text":"hello there, how are you doing today?","ts":1700000000123}]`)
	benchMsg100  = strings.Repeat("x", 99) + "!"
	benchBinary  = []byte(`52-/up,3["upload",{"name":"a.png","file":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}]`)
	benchPayload = []byte("4hello\x1e2\x1e4" + string(benchEvent) + "\x1e4" + string(benchEvent) + "\x1ebAQIDBA==")
)

type benchStruct struct {
	User string   `json:"user"`
	Text string   `json:"text"`
	TS   int64    `json:"ts"`
	Tags []string `json:"tags"`
	OK   bool     `json:"ok"`
}

var benchValue = benchStruct{User: "alice", Text: "hello there, how are you doing today?", TS: 1700000000123, Tags: []string{"a", "b"}, OK: true}

func BenchmarkDecodePacket(b *testing.B) {
	for _, c := range []struct {
		name string
		in   []byte
	}{{"event-nsp-ack-100B", benchEvent}, {"binary-event", benchBinary}, {"connect", []byte(`0/admin,{"token":"123"}`)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.in)))
			var p Packet
			for b.Loop() {
				if err := DecodePacket(c.in, &p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("hostile-70000-args", func(b *testing.B) {
		in := []byte(`2["x"` + strings.Repeat(",0", 70000) + `]`)
		b.ReportAllocs()
		var p Packet
		for b.Loop() {
			_ = DecodePacket(in, &p)
		}
	})
	b.Run("hostile-6000-deep", func(b *testing.B) {
		in := []byte(`2["x",` + strings.Repeat("[", 6000) + strings.Repeat("]", 6000) + `]`)
		b.ReportAllocs()
		var p Packet
		for b.Loop() {
			_ = DecodePacket(in, &p)
		}
	})
}

func BenchmarkEngine(b *testing.B) {
	b.Run("ParseEnginePacket", func(b *testing.B) {
		b.ReportAllocs()
		pkt := []byte("4" + string(benchEvent))
		for b.Loop() {
			_, _, _ = ParseEnginePacket(pkt)
		}
	})
	b.Run("NextPayloadPacket", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(benchPayload)))
		for b.Loop() {
			for _, rest, ok := NextPayloadPacket(benchPayload); ok; _, rest, ok = NextPayloadPacket(rest) {
			}
		}
	})
	b.Run("DecodeBase64Packet-1KiB", func(b *testing.B) {
		pkt := AppendBase64Packet(nil, make([]byte, 1024))
		dst := make([]byte, 0, 1024)
		b.ReportAllocs()
		b.SetBytes(1024)
		for b.Loop() {
			dst, _ = DecodeBase64Packet(dst[:0], pkt)
		}
	})
}

func BenchmarkArgs(b *testing.B) {
	data := benchEvent[9:]
	b.Run("SplitArgs", func(b *testing.B) {
		var dst [8][]byte
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			_, _ = SplitArgs(data, dst[:0])
		}
	})
	b.Run("EventName+Unquote", func(b *testing.B) {
		scratch := make([]byte, 0, 32)
		b.ReportAllocs()
		for b.Loop() {
			name, _, _ := EventName(data)
			scratch, _ = UnquoteString(scratch[:0], name)
		}
	})
	raw := []byte(`{"user":"alice","text":"hello there, how are you doing today?","ts":1700000000123,"tags":["a","b"],"ok":true}`)
	b.Run("DecodeArg-struct", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, err := DecodeArg[benchStruct](raw, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DecodeArg-any", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, err := DecodeArg[any](raw, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ResolvePlaceholders-binary", func(b *testing.B) {
		atts := [][]byte{make([]byte, 64), make([]byte, 64)}
		var p Packet
		if err := DecodePacket(benchBinary, &p); err != nil {
			b.Fatal(err)
		}
		data := p.Data
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ResolvePlaceholders(data, atts); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkAppendEvent(b *testing.B) {
	b.Logf("sonic API kind %d (1 = native JIT), %s/%s %s", sonic.APIKind, runtime.GOOS, runtime.GOARCH, runtime.Version())
	cases := []struct {
		name string
		args []any
	}{
		{"string-100B", []any{benchMsg100}},
		{"struct", []any{benchValue}},
		{"ptr-struct", []any{&benchValue}},
		{"map", []any{map[string]any{"user": "alice", "text": "hello there", "ts": 1700000000123.0, "ok": true}}},
		{"RawJSON", []any{RawJSON(`{"user":"alice","text":"hello there, how are you doing today?","ts":1700000000123}`)}},
		{"binary-1KiB", []any{map[string]any{"name": "a.png", "file": make([]byte, 1024)}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				buf, _, err = AppendEvent(buf[:0], "/chat", 7, "message", c.args)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
	}
	b.Run("encoding-json-struct-baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal([]any{"message", benchValue})
		}
	})
}

func BenchmarkAppendPacketHeader(b *testing.B) {
	p := Packet{Type: PacketBinaryAck, Namespace: []byte("/chat"), ID: 123456, Attachments: 3}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPacketHeader(buf[:0], &p)
	}
}
