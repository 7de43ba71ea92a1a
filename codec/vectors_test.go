package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// vectors.json is produced by testdata/gen_vectors.js from the npm socket.io-parser and engine.io-parser
// (STYLE.md §8). These tests hold our encoders to the reference byte for byte and our decoders to its accept/reject
// decisions, except for the deliberate differences listed in stricterThanReference.

type vectors struct {
	Versions  map[string]string `json:"versions"`
	SIOEncode []struct {
		Name string   `json:"name"`
		Type int      `json:"type"`
		Nsp  string   `json:"nsp"`
		ID   int64    `json:"id"`
		Data any      `json:"data"`
		Out  []string `json:"out"`
	} `json:"sio_encode"`
	SIODecode []struct {
		In     string `json:"in"`
		OK     bool   `json:"ok"`
		Error  string `json:"error"`
		Packet struct {
			Type        int     `json:"type"`
			Nsp         string  `json:"nsp"`
			ID          float64 `json:"id"` // a JS number: 1e+30 for an overlong id
			Attachments int     `json:"attachments"`
			Data        any     `json:"data"`
		} `json:"packet"`
	} `json:"sio_decode"`
	EIODecodePacket []struct {
		In  string  `json:"in"`
		Out eioDesc `json:"out"`
	} `json:"eio_decode_packet"`
	EIODecodePayload []struct {
		In  string    `json:"in"`
		Out []eioDesc `json:"out"`
	} `json:"eio_decode_payload"`
	EIOEncodePayload []struct {
		Name    string    `json:"name"`
		Packets []eioDesc `json:"packets"`
		Out     string    `json:"out"`
	} `json:"eio_encode_payload"`
	Open []struct {
		Sid          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int64    `json:"pingInterval"`
		PingTimeout  int64    `json:"pingTimeout"`
		MaxPayload   int64    `json:"maxPayload"`
		Out          string   `json:"out"`
	} `json:"open"`
}

type eioDesc struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

func loadVectors(t testing.TB) *vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

// fromDesc turns a vector value descriptor into the Go value an application would pass: {"$binary": b64} is a
// []byte, everything else is what encoding/json decodes.
func fromDesc(d any) any {
	switch x := d.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = fromDesc(e)
		}
		return out
	case map[string]any:
		if s, ok := x["$binary"].(string); ok && len(x) == 1 {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				panic(err)
			}
			return b
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = fromDesc(e)
		}
		return out
	}
	return d
}

func TestVectorsVersions(t *testing.T) {
	v := loadVectors(t)
	if !strings.HasPrefix(v.Versions["socket.io-parser"], "4.2.") || !strings.HasPrefix(v.Versions["engine.io-parser"], "5.2.") {
		t.Fatalf("vectors generated from unexpected versions: %v", v.Versions)
	}
}

func TestVectorsSIOEncode(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.SIOEncode {
		t.Run(c.Name, func(t *testing.T) {
			var (
				out  []byte
				atts [][]byte
				err  error
			)
			prefix := []byte("4") // as the root writes it: Engine.IO type first, then the packet
			switch PacketType(c.Type) {
			case PacketEvent:
				data := fromDesc(c.Data).([]any)
				out, atts, err = AppendEvent(prefix, c.Nsp, c.ID, data[0].(string), data[1:])
			case PacketAck:
				out, atts, err = AppendAck(prefix, c.Nsp, c.ID, fromDesc(c.Data).([]any))
			case PacketConnect:
				m := c.Data.(map[string]any)
				pid, _ := m["pid"].(string)
				out = AppendConnect(prefix, c.Nsp, m["sid"].(string), pid)
			case PacketConnectError:
				m := c.Data.(map[string]any)
				data, has := m["data"]
				if has && data == nil {
					data = RawJSON("null") // JS null, as opposed to an absent (undefined) err.data
				}
				out, err = AppendConnectError(prefix, c.Nsp, m["message"].(string), fromDesc(data))
			case PacketDisconnect:
				out = AppendDisconnect(prefix, c.Nsp)
			default:
				t.Fatalf("unhandled type %d", c.Type)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(out[1:]), c.Out[0]; got != want {
				t.Errorf("packet:\n got %q\nwant %q", got, want)
			}
			if out[0] != '4' {
				t.Errorf("prefix clobbered: %q", out)
			}
			if len(atts) != len(c.Out)-1 {
				t.Fatalf("attachments: got %d, want %d", len(atts), len(c.Out)-1)
			}
			for i, a := range atts {
				if got := base64.StdEncoding.EncodeToString(a); got != c.Out[i+1] {
					t.Errorf("attachment %d: got %s, want %s", i, got, c.Out[i+1])
				}
			}
			if bytes.IndexByte(out, RecordSeparator) >= 0 {
				t.Errorf("raw 0x1E in output (PROTOCOL.md §15.12): %q", out)
			}
			// The header writer agrees with the packet writers.
			var p Packet
			if err := (DecodeOptions{AllowConnectError: true, MaxAttachments: 100}).DecodePacket(out[1:], &p); err != nil {
				t.Fatalf("our own output does not decode: %v", err)
			}
			if hdr := AppendPacketHeader(nil, &p); !bytes.HasPrefix(out[1:], hdr) || !bytes.Equal(append(hdr, p.Data...), out[1:]) {
				t.Errorf("AppendPacketHeader(%+v) = %q, not a prefix of %q", p, hdr, out[1:])
			}
		})
	}
}

// stricterThanReference lists the inputs socket.io-parser accepts and we refuse, on purpose (PROTOCOL.md §15.13 and
// the bounds of DecodeOptions). Every entry is checked: the reference must accept it and we must refuse it.
var stricterThanReference = map[string]string{
	"":                                       "empty packet: the reference reads Number(\"\") as type 0 (CONNECT)",
	"3 1[]":                                  "whitespace in the ack id: the reference reads a space as a digit",
	"2 [\"x\"]":                              "whitespace before the payload: the reference reads it as ack id 0",
	"2\t[\"x\"]":                             "whitespace before the payload: the reference reads it as ack id 0",
	"2/admin, [\"x\"]":                       "whitespace before the payload: the reference reads it as ack id 0",
	"21 [\"x\"]":                             "whitespace after the ack id: the reference folds it into the id",
	"29007199254740992[\"x\"]":               "ack id above 2^53-1",
	"29007199254740993[\"x\"]":               "ack id above 2^53-1 (the reference silently rounds it)",
	"2999999999999999999999999999999[\"x\"]": "ack id above 2^53-1 (the reference makes it 1e+30)",
	"21":                                     "EVENT without payload",
	"2":                                      "EVENT without payload",
	"2/admin[\"x\"]":                         "EVENT without payload (the namespace swallowed it: no comma)",
	"3":                                      "ACK without payload or id",
	"31":                                     "ACK without payload",
	"3[]":                                    "ACK without ack id",
	"3/admin,":                               "ACK without payload or id",
	"61-[{\"_placeholder\":true,\"num\":0}]": "BINARY_ACK without ack id",
	"51e1-[\"x\"]":                           "attachment count not plain digits (JS coerces \"1e1\" to 10)",
	"5 1-[\"x\"]":                            "attachment count not plain digits (JS coerces \" 1\" to 1)",
	"51-[\"x\",{\"_placeholder\":true,\"num\":0.5}]": "placeholder num not an integer (the reference yields undefined)",
	"4{\"message\":\"x\"}":                           "CONNECT_ERROR from a client (PROTOCOL.md §11); accepted with AllowConnectError",
	"4\"str\"":                                       "CONNECT_ERROR from a client; accepted with AllowConnectError",
	"4/admin,{\"message\":\"x\"}":                    "CONNECT_ERROR from a client; accepted with AllowConnectError",
}

func stricterReason(in string) (string, bool) {
	if r, ok := stricterThanReference[in]; ok {
		return r, true
	}
	switch {
	case strings.Count(in, "[") > DefaultMaxDepth:
		return "nesting deeper than DefaultMaxDepth", true
	case strings.Count(in, ",") >= DefaultMaxArgs:
		return "more than DefaultMaxArgs arguments", true
	}
	return "", false
}

func TestVectorsSIODecode(t *testing.T) {
	v := loadVectors(t)
	seen := map[string]bool{}
	for _, c := range v.SIODecode {
		name := c.In
		if len(name) > 60 {
			name = name[:60] + "…"
		}
		t.Run(name, func(t *testing.T) {
			var p Packet
			err := DecodePacket([]byte(c.In), &p)
			if err != nil && !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
			}
			reason, stricter := stricterReason(c.In)
			if stricter {
				seen[c.In] = true
				if !c.OK {
					t.Fatalf("listed as stricter (%s) but the reference rejects it too: %s", reason, c.Error)
				}
				if err == nil {
					t.Fatalf("listed as stricter (%s) but we accept it", reason)
				}
				if strings.HasPrefix(reason, "CONNECT_ERROR") {
					if err := (DecodeOptions{AllowConnectError: true}).DecodePacket([]byte(c.In), &p); err != nil {
						t.Fatalf("AllowConnectError: %v", err)
					}
					comparePacket(t, &p, c.Packet.Type, c.Packet.Nsp, c.Packet.ID, c.Packet.Attachments, c.Packet.Data)
				}
				return
			}
			if !c.OK {
				if err == nil {
					t.Fatalf("reference rejects (%s), we accept: %+v", c.Error, p)
				}
				return
			}
			if err != nil {
				t.Fatalf("reference accepts, we reject: %v", err)
			}
			comparePacket(t, &p, c.Packet.Type, c.Packet.Nsp, c.Packet.ID, c.Packet.Attachments, c.Packet.Data)
		})
	}
	for in := range stricterThanReference {
		if !seen[in] {
			t.Errorf("stricterThanReference entry %q has no vector", in)
		}
	}
}

func comparePacket(t *testing.T, p *Packet, typ int, nsp string, id float64, atts int, data any) {
	t.Helper()
	gotType := int(p.Type)
	if p.Type == PacketBinaryEvent || p.Type == PacketBinaryAck {
		gotType -= 3 // the reference reports reassembled binary packets as EVENT/ACK
	}
	gotNsp := string(p.Namespace)
	if p.Namespace == nil {
		gotNsp = "/"
	}
	if gotType != typ || gotNsp != nsp || float64(p.ID) != id || p.Attachments != atts {
		t.Fatalf("got type %d nsp %q id %d attachments %d; want %d %q %v %d", gotType, gotNsp, p.ID, p.Attachments, typ, nsp, id, atts)
	}
	if p.Data == nil {
		if data != nil {
			t.Fatalf("no data, want %v", data)
		}
		return
	}
	if bytes.Contains(p.Data, []byte("1e400")) {
		return // JS parses it as Infinity (written back as null); Go cannot hold it in a float64
	}
	if len(p.Data) > 4000 {
		return // the generator keeps no data for the huge bounds cases
	}
	var got any
	if p.Data[0] == '[' {
		// Resolve placeholders with the buffers the generator sent: Buffer.from([i]).
		bufs := make([][]byte, p.Attachments)
		for i := range bufs {
			bufs[i] = []byte{byte(i)}
		}
		arr, err := ResolvePlaceholders(p.Data, bufs)
		if err != nil {
			t.Fatalf("ResolvePlaceholders: %v", err)
		}
		got = any(arr)
	} else if err := UnmarshalArg(p.Data, nil, &got); err != nil {
		t.Fatalf("UnmarshalArg: %v", err)
	}
	if want := fromDesc(data); !reflect.DeepEqual(got, want) {
		t.Fatalf("data:\n got %#v\nwant %#v", got, want)
	}
}

func TestVectorsEIODecodePacket(t *testing.T) {
	v := loadVectors(t)
	stricter := map[string]string{
		"bAQ":    "unpadded base64 (Node's Buffer.from is lenient)",
		"b!!!!":  "invalid base64 characters (Node skips them)",
		"b AQID": "space inside base64 (Node skips it)",
	}
	for _, c := range v.EIODecodePacket {
		t.Run(c.In, func(t *testing.T) {
			got, err := decodeEngineForTest([]byte(c.In))
			if err != nil && !errors.Is(err, ErrEngineParse) {
				t.Fatalf("error %v does not wrap ErrEngineParse", err)
			}
			if reason, ok := stricter[c.In]; ok {
				if c.Out.Type == "error" || err == nil {
					t.Fatalf("stricter case (%s) not as listed: ref %v, ours err=%v", reason, c.Out, err)
				}
				return
			}
			if c.Out.Type == "error" {
				if err == nil {
					t.Fatalf("reference rejects, we accept: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("reference accepts, we reject: %v", err)
			}
			if !reflect.DeepEqual(got, c.Out) {
				t.Fatalf("got %+v, want %+v", got, c.Out)
			}
		})
	}
}

// decodeEngineForTest decodes one Engine.IO text packet into the vector representation.
func decodeEngineForTest(pkt []byte) (eioDesc, error) {
	if len(pkt) > 0 && pkt[0] == BinaryPrefix {
		b, err := DecodeBase64Packet(nil, pkt)
		if err != nil {
			return eioDesc{}, err
		}
		return eioDesc{Type: "message", Data: map[string]any{"$binary": base64.StdEncoding.EncodeToString(b)}}, nil
	}
	typ, data, err := ParseEnginePacket(pkt)
	if err != nil {
		return eioDesc{}, err
	}
	d := eioDesc{Type: typ.String()}
	if len(data) > 0 {
		d.Data = string(data)
	}
	return d, nil
}

func TestVectorsEIODecodePayload(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.EIODecodePayload {
		t.Run(c.In, func(t *testing.T) {
			body := make([]byte, len(c.In)) // non-nil even when empty, as a read body is
			copy(body, c.In)
			var got []eioDesc
			for pkt, rest, ok := NextPayloadPacket(body); ok; pkt, rest, ok = NextPayloadPacket(rest) {
				d, err := decodeEngineForTest(pkt)
				if err != nil {
					got = append(got, eioDesc{Type: "error", Data: "parser error"})
					break // the reference stops at the first bad packet
				}
				got = append(got, d)
			}
			if !reflect.DeepEqual(got, c.Out) {
				t.Fatalf("got %+v\nwant %+v", got, c.Out)
			}
		})
	}
}

func TestVectorsEIOEncodePayload(t *testing.T) {
	v := loadVectors(t)
	types := map[string]EngineType{"open": EngineOpen, "close": EngineClose, "ping": EnginePing, "pong": EnginePong,
		"message": EngineMessage, "upgrade": EngineUpgrade, "noop": EngineNoop}
	for _, c := range v.EIOEncodePayload {
		t.Run(c.Name, func(t *testing.T) {
			var out []byte
			for i, p := range c.Packets {
				if i > 0 {
					out = append(out, RecordSeparator)
				}
				switch d := fromDesc(p.Data).(type) {
				case []byte:
					out = AppendBase64Packet(out, d)
				case string:
					out = append(append(out, byte(types[p.Type])), d...)
				case nil:
					out = append(out, byte(types[p.Type]))
				}
			}
			if string(out) != c.Out {
				t.Fatalf("got %q, want %q", out, c.Out)
			}
		})
	}
}

func TestVectorsOpen(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Open {
		if got := AppendOpen(nil, c.Sid, c.Upgrades, c.PingInterval, c.PingTimeout, c.MaxPayload); string(got) != c.Out {
			t.Errorf("got  %s\nwant %s", got, c.Out)
		}
	}
}
