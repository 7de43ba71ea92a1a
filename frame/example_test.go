package frame_test

import (
	"errors"
	"fmt"

	"github.com/gobwas/ws"
	"github.com/riptide-io/riptide/frame"
)

// An encoder appends its payload behind MaxHeaderSize bytes of headroom, then
// frames it in place: one buffer, no copy.
func ExamplePutHeader() {
	buf := make([]byte, frame.MaxHeaderSize, 64)
	buf = append(buf, `42["hello"]`...) // the payload, encoded once
	start := frame.PutHeader(buf, true, ws.OpText, len(buf)-frame.MaxHeaderSize)
	wire := buf[start:]
	fmt.Printf("% x\n", wire[:2])
	fmt.Printf("%s\n", wire[2:])
	// Output:
	// 81 0b
	// 42["hello"]
}

// A connection's inbound bytes: a text message in two fragments with a ping
// between them, then the start of a frame that has not fully arrived.
func ExampleDecoder_Next() {
	mask := [4]byte{1, 2, 3, 4}
	masked := func(b0 byte, payload string) []byte {
		p := []byte(payload)
		frame.Unmask(p, mask) // masking is the same XOR
		return append(append([]byte{b0, 0x80 | byte(len(p))}, mask[:]...), p...)
	}
	var in []byte
	in = append(in, masked(0x01, "4hel")...) // text, FIN clear
	in = append(in, masked(0x89, "are you there")...)
	in = append(in, masked(0x80, "lo")...) // continuation, FIN set
	in = append(in, 0x81)                  // the next frame, partial

	var d frame.Decoder // one per connection, used on its loop
	for {
		m, n, err := d.Next(in)
		if err == frame.ErrNeedMore {
			fmt.Println("need more;", len(in), "byte(s) kept")
			break
		}
		if err != nil {
			var ce *frame.CloseError
			if errors.As(err, &ce) {
				fmt.Printf("send % x and close\n", ce.Frame())
			}
			break
		}
		in = in[n:]
		switch m.Op {
		case 0:
			fmt.Println("fragment consumed")
		case ws.OpPing:
			fmt.Printf("ping, answer % x\n", frame.AppendPong(nil, m.Payload)[:2])
		default:
			fmt.Printf("%v message %q\n", m.Op, m.Payload)
		}
	}
	// Output:
	// fragment consumed
	// ping, answer 8a 0d
	// 1 message "4hello"
	// need more; 1 byte(s) kept
}

func ExampleParseClose() {
	code, reason, err := frame.ParseClose([]byte{0x03, 0xe8, 'b', 'y', 'e'})
	fmt.Println(code, string(reason), err)
	_, _, err = frame.ParseClose([]byte{0x03, 0xed}) // 1005 is never sent
	fmt.Println(err)
	// Output:
	// 1000 bye <nil>
	// frame: invalid close status code (close 1002)
}

func ExampleCloseError_Frame() {
	var d frame.Decoder
	_, _, err := d.Next([]byte{0x81, 0x02, 'h', 'i'}) // not masked
	fmt.Println(err)
	fmt.Printf("% x\n", err.(*frame.CloseError).Frame())
	// Output:
	// frame: client frame not masked (close 1002)
	// 88 02 03 ea
}
