package hostile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

const wsLimit = 100_000 // MaxHTTPBufferSize of the WebSocket group

// closeFrame is a masked client close frame with code and reason.
func closeFrame(code uint16, reason string) []byte {
	p := binary.BigEndian.AppendUint16(nil, code)
	return frame(finBit|opClose, true, append(p, reason...))
}

// header64 is a masked frame header with a 64-bit length, and no payload.
func header64(b0 byte, length uint64) []byte {
	b := []byte{b0, 0x80 | 127}
	b = binary.BigEndian.AppendUint64(b, length)
	return append(b, maskKey[:]...)
}

// TestIllegalFrames sends frames RFC 6455 forbids on an open, connected
// Socket.IO WebSocket. Each gets the close code of the violation (§7.4.1),
// then the server closes the connection; the namespace socket disconnects
// with reason "transport error".
func TestIllegalFrames(t *testing.T) {
	cfg := baseConfig()
	cfg.MaxHTTPBufferSize = wsLimit
	h := startServer(t, cfg)

	type tc struct {
		name string
		data []byte
		code ws.StatusCode
	}
	cases := []tc{
		{"unmasked text", frame(finBit|opText, false, []byte(`42["echo"]`)), ws.StatusProtocolError},
		{"unmasked ping", frame(finBit|opPing, false, []byte("x")), ws.StatusProtocolError},
		{"unmasked close", frame(finBit|opClose, false, []byte{3, 232}), ws.StatusProtocolError},
		{"RSV1 (no extension negotiated)", frame(finBit|0x40|opText, true, []byte(`42["echo"]`)), ws.StatusProtocolError},
		{"RSV2", frame(finBit|0x20|opText, true, []byte(`42["echo"]`)), ws.StatusProtocolError},
		{"RSV3", frame(finBit|0x10|opBinary, true, []byte{1}), ws.StatusProtocolError},
		{"RSV1 on a ping", frame(finBit|0x40|opPing, true, nil), ws.StatusProtocolError},
		{"fragmented ping", frame(opPing, true, []byte("x")), ws.StatusProtocolError},
		{"fragmented close", frame(opClose, true, []byte{3, 232}), ws.StatusProtocolError},
		{"fragmented pong", frame(opPong, true, nil), ws.StatusProtocolError},
		{"ping of 126 bytes", frame(finBit|opPing, true, bytes.Repeat([]byte("p"), 126)), ws.StatusProtocolError},
		{"pong of 200 bytes", frame(finBit|opPong, true, bytes.Repeat([]byte("p"), 200)), ws.StatusProtocolError},
		{"close of 126 bytes", closeFrame(1000, string(bytes.Repeat([]byte("r"), 124))), ws.StatusProtocolError},
		{"ping declaring a 64-bit length", header64(finBit|opPing, 1<<20), ws.StatusProtocolError},
		{"invalid UTF-8 text", textFrame("4\xff\xfe"), ws.StatusInvalidFramePayloadData},
		{"overlong UTF-8", textFrame("42[\"\xc0\xaf\"]"), ws.StatusInvalidFramePayloadData},
		{"UTF-16 surrogate in UTF-8", textFrame("42[\"\xed\xa0\x80\"]"), ws.StatusInvalidFramePayloadData},
		{"code point above U+10FFFF", textFrame("42[\"\xf4\x90\x80\x80\"]"), ws.StatusInvalidFramePayloadData},
		{"text ending mid-character", textFrame("42[\"\xe2\x82"), ws.StatusInvalidFramePayloadData},
		{"invalid UTF-8 across fragments", append(frame(opText, true, []byte("4\xe2\x82")), frame(finBit|opCont, true, []byte("("))...), ws.StatusInvalidFramePayloadData},
		{"invalid UTF-8 in a close reason", closeFrame(1000, "bye\xff"), ws.StatusInvalidFramePayloadData},
		{"64-bit length with the top bit set", append(header64(finBit|opText, 1<<63|1), "4abc"...), ws.StatusProtocolError},
		{"64-bit length of all ones", header64(finBit|opBinary, ^uint64(0)), ws.StatusProtocolError},
		{"declared length over MaxHTTPBufferSize, no payload sent", header64(finBit|opText, wsLimit+1), ws.StatusMessageTooBig},
		{"declared length 2^63-1, no payload sent", header64(finBit|opBinary, 1<<63-1), ws.StatusMessageTooBig},
		{"fragments adding up over MaxHTTPBufferSize", append(frame(opBinary, true, make([]byte, wsLimit-10)), header64(opCont, 11)...), ws.StatusMessageTooBig},
		{"continuation without a start", frame(finBit|opCont, true, []byte("x")), ws.StatusProtocolError},
		{"final continuation without a start", frame(opCont, true, nil), ws.StatusProtocolError},
		{"new text while a message is fragmented", append(frame(opText, true, []byte("4a")), textFrame("4b")...), ws.StatusProtocolError},
		{"new binary while a message is fragmented", append(frame(opBinary, true, []byte{1}), binaryFrame([]byte{2})...), ws.StatusProtocolError},
		{"close with a 1-byte payload", frame(finBit|opClose, true, []byte{3}), ws.StatusProtocolError},
	}
	for _, op := range []byte{3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF} {
		cases = append(cases, tc{fmt.Sprintf("reserved opcode 0x%X", op), frame(finBit|op, true, []byte("x")), ws.StatusProtocolError})
	}
	for _, code := range []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		cases = append(cases, tc{fmt.Sprintf("close with invalid code %d", code), closeFrame(code, ""), ws.StatusProtocolError})
	}
	// Too many fragments: a text message of 1 + 1100 empty fragments.
	many := frame(opText, true, []byte("4"))
	for i := 0; i < 1100; i++ {
		many = append(many, frame(opCont, true, nil)...)
	}
	cases = append(cases, tc{"1101 fragments", many, ws.StatusPolicyViolation})

	// The reference (engine.io 6.6 on ws 8) reports "transport error" to
	// the disconnect handlers after a frame error; collected here and
	// reported once below.
	var wrongReason []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, id := h.sioConnect(t, "/")
			w.writeMaybe(c.data)
			w.expectClose(c.code)
			if r := h.reason(t, id); r != "transport error" {
				wrongReason = append(wrongReason, fmt.Sprintf("%s: %q", c.name, r))
			}
			h.check(t)
		})
	}
	t.Run("disconnect reason after a frame error", func(t *testing.T) {
		if len(wrongReason) > 0 {
			t.Errorf("%d of %d frame errors disconnected the socket with another reason than %q (Node's): %s",
				len(wrongReason), len(cases), "transport error", strings.Join(wrongReason, "; "))
		}
	})

	// What is legal must keep working on the same connection.
	t.Run("legal: control frames between fragments, 125-byte ping", func(t *testing.T) {
		w, _ := h.sioConnect(t, "/")
		ping := bytes.Repeat([]byte("P"), 125)
		var b []byte
		b = append(b, frame(opText, true, []byte(`421["ec`))...)
		b = append(b, frame(finBit|opPing, true, ping)...)
		b = append(b, frame(opCont, true, []byte(`ho","`))...)
		b = append(b, frame(finBit|opPong, true, []byte("unsolicited"))...)
		b = append(b, frame(opCont, true, nil)...) // empty fragment
		b = append(b, frame(finBit|opCont, true, []byte(`é"]`))...)
		w.write(b)
		op, p, err := w.readFrame()
		if err != nil || op != ws.OpPong || !bytes.Equal(p, ping) {
			t.Fatalf("want the 125-byte pong first, got op %v %q %v", op, p, err)
		}
		w.expectText(`431["é"]`)
		w.Close()
		h.check(t)
	})
	for _, code := range []uint16{1000, 1001, 1003, 1007, 3000, 4999} {
		t.Run(fmt.Sprintf("legal: client close %d", code), func(t *testing.T) {
			w, id := h.sioConnect(t, "/")
			w.write(closeFrame(code, "bye"))
			op, p, err := w.readFrame()
			if err != nil || op != ws.OpClose {
				t.Fatalf("want a close frame in answer, got op %v %q %v", op, p, err)
			}
			if got := closeCode(p); got != ws.StatusNoStatusRcvd && got != ws.StatusCode(code) {
				t.Fatalf("close answered with %s, want no status or %d", closeDesc(p), code)
			}
			w.expectEOF()
			if r := h.reason(t, id); r != "transport close" {
				t.Errorf("server-side disconnect reason %q, want %q", r, "transport close")
			}
			h.check(t)
		})
	}
	h.finish(t)
}
