//go:build !race

package codec

import (
	"strings"
	"testing"
)

// Zero-allocation pins (STYLE.md §4, §8): these paths run once per received message on a loop.

var sinkErr error

func pinZero(t *testing.T, name string, f func()) {
	t.Helper()
	if n := testing.AllocsPerRun(200, f); n != 0 {
		t.Errorf("%s: %v allocs per run, want 0", name, n)
	}
}

func TestZeroAllocs(t *testing.T) {
	event := []byte(`2/chat,12["message",{"user":"alice","text":"hello there, how are you doing today?","ts":1700000000123}]`)
	if len(event) < 90 {
		t.Fatal("want a ~100 byte payload")
	}
	var p Packet
	pinZero(t, "DecodePacket", func() { sinkErr = DecodePacket(event, &p) })
	if sinkErr != nil || p.ID != 12 {
		t.Fatal(sinkErr, p)
	}
	binary := []byte(`52-/up,3["upload",{"name":"a.png","file":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}]`)
	pinZero(t, "DecodePacket binary", func() { sinkErr = DecodePacket(binary, &p) })
	escaped := []byte(`2["\u0063onnec\u0074ion",1]`)
	pinZero(t, "DecodePacket escaped name", func() { sinkErr = DecodePacket(escaped, &p) })
	reserved := []byte(`2["connect"]`)
	pinZero(t, "DecodePacket error", func() { sinkErr = DecodePacket(reserved, &p) })
	if sinkErr == nil {
		t.Fatal("want an error")
	}
	deep := []byte(`2["x",` + strings.Repeat("[", 100))
	pinZero(t, "DecodePacket deep error", func() { sinkErr = DecodePacket(deep, &p) })

	pkt := []byte("4hello")
	pinZero(t, "ParseEnginePacket", func() { _, _, sinkErr = ParseEnginePacket(pkt) })
	payload := []byte("4hello\x1e2\x1e4" + string(event) + "\x1ebAQIDBA==")
	pinZero(t, "NextPayloadPacket", func() {
		for _, rest, ok := NextPayloadPacket(payload); ok; _, rest, ok = NextPayloadPacket(rest) {
		}
	})
	dst := make([]byte, 0, 64)
	b64 := []byte("bAQIDBA==")
	pinZero(t, "DecodeBase64Packet", func() { dst, sinkErr = DecodeBase64Packet(dst[:0], b64) })

	hdr := Packet{Type: PacketBinaryAck, Namespace: []byte("/chat"), ID: 123456, Attachments: 3}
	out := make([]byte, 0, 64)
	pinZero(t, "AppendPacketHeader", func() { out = AppendPacketHeader(out[:0], &hdr) })

	data := event[9:]
	var args [8][]byte
	var split [][]byte
	pinZero(t, "SplitArgs", func() { split, sinkErr = SplitArgs(data, args[:0]) })
	if len(split) != 2 {
		t.Fatal(split)
	}
	var name []byte
	pinZero(t, "EventName", func() { name, _, sinkErr = EventName(data) })
	scratch := make([]byte, 0, 64)
	pinZero(t, "UnquoteString", func() { scratch, sinkErr = UnquoteString(scratch[:0], name) })
	if string(scratch) != "message" {
		t.Fatal(string(scratch))
	}

	buf := make([]byte, 0, 512)
	msg := "a 100-byte chat message ........................................................................!"
	strArgs := []any{msg}
	pinZero(t, "AppendEvent string", func() { buf, _, sinkErr = AppendEvent(buf[:0], "/chat", 7, "message", strArgs) })
	mapArgs := []any{map[string]any{"user": "alice", "n": 1.5, "ok": true, "tags": []any{"a", "b"}}}
	pinZero(t, "AppendEvent map", func() { buf, _, sinkErr = AppendEvent(buf[:0], "/", NoAckID, "m", mapArgs) })
	rawArgs := []any{RawJSON(`{"user":"alice","text":"hi"}`)}
	pinZero(t, "AppendEvent RawJSON", func() { buf, _, sinkErr = AppendEvent(buf[:0], "/", NoAckID, "m", rawArgs) })
	pinZero(t, "AppendAck", func() { buf, _, sinkErr = AppendAck(buf[:0], "/", 3, strArgs) })
	pinZero(t, "AppendConnect", func() { buf = AppendConnect(buf[:0], "/chat", "abcdefghijklmnopqrst", "") })
	pinZero(t, "AppendOpen", func() {
		buf = AppendOpen(buf[:0], "abcdefghijklmnopqrst", nil, 25000, 20000, 1000000)
	})
}
