package codec_test

import (
	"fmt"

	"github.com/riptide-io/riptide/codec"
)

func ExampleDecodePacket() {
	// The data of an Engine.IO message: the wire had 42/admin,13["chat",{"text":"hi"},7].
	var p codec.Packet
	if err := codec.DecodePacket([]byte(`2/admin,13["chat",{"text":"hi"},7]`), &p); err != nil {
		panic(err)
	}
	fmt.Println(p.Type, string(p.Namespace), p.ID)

	name, _, _ := codec.EventName(p.Data)
	event, _ := codec.UnquoteString(nil, name)
	args, _ := codec.SplitArgs(p.Data, make([][]byte, 0, 8))
	fmt.Printf("%s %q\n", event, args[1:])

	type chat struct {
		Text string `json:"text"`
	}
	msg, _ := codec.DecodeArg[chat](args[1], nil)
	fmt.Println(msg.Text)

	// Protocol errors are sentinels: close the connection (PROTOCOL.md §11).
	err := codec.DecodePacket([]byte(`2["connect"]`), &p)
	fmt.Println(err)
	// Output:
	// EVENT /admin 13
	// chat ["{\"text\":\"hi\"}" "7"]
	// hi
	// riptide: codec: reserved event name
}

func ExampleAppendEvent() {
	// The root package writes the Engine.IO type, then the Socket.IO packet, into one buffer.
	buf := []byte{byte(codec.EngineMessage)}
	buf, attachments, err := codec.AppendEvent(buf, "/", codec.NoAckID, "upload", []any{[]byte{1, 2, 3}})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(buf))
	// On polling, each attachment follows as a base64 packet.
	for _, a := range attachments {
		fmt.Println(string(codec.AppendBase64Packet(nil, a)))
	}

	buf, _, _ = codec.AppendEvent(buf[:0], "/admin", 12, "message", []any{"hi <b>\x1e</b>", map[string]any{"n": 1.5}})
	fmt.Println(string(buf))
	// Output:
	// 451-["upload",{"_placeholder":true,"num":0}]
	// bAQID
	// 2/admin,12["message","hi <b>\u001e</b>",{"n":1.5}]
}

func ExampleNextPayloadPacket() {
	body := []byte("4hello\x1e2\x1ebAQIDBA==")
	for pkt, rest, ok := codec.NextPayloadPacket(body); ok; pkt, rest, ok = codec.NextPayloadPacket(rest) {
		if len(pkt) > 0 && pkt[0] == codec.BinaryPrefix {
			bin, err := codec.DecodeBase64Packet(nil, pkt)
			fmt.Println("binary", bin, err)
			continue
		}
		typ, data, err := codec.ParseEnginePacket(pkt)
		fmt.Printf("%s %q %v\n", typ, data, err)
	}
	// Output:
	// message "hello" <nil>
	// ping "" <nil>
	// binary [1 2 3 4] <nil>
}

func ExampleResolvePlaceholders() {
	// A BINARY_EVENT announced 2 attachments, which arrived as two binary messages.
	var p codec.Packet
	_ = codec.DecodePacket([]byte(`52-["files",{"a":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}]`), &p)
	args, err := codec.ResolvePlaceholders(p.Data, [][]byte{{0xA}, {0xB, 0xC}})
	fmt.Println(args, err)
	// Output:
	// [files map[a:[10]] [11 12]] <nil>
}

func ExampleAppendOpen() {
	fmt.Println(string(codec.AppendOpen(nil, "Q0mJ7Qv8Wj2rC6ZzAAAB", []string{"websocket"}, 25000, 20000, 1000000)))
	// Output:
	// 0{"sid":"Q0mJ7Qv8Wj2rC6ZzAAAB","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
}
