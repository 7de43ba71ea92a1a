package codec

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func decode(t *testing.T, in string) (Packet, error) {
	t.Helper()
	var p Packet
	err := DecodePacket([]byte(in), &p)
	if err != nil && !errors.Is(err, ErrInvalidPacket) {
		t.Fatalf("%q: error %v does not wrap ErrInvalidPacket", in, err)
	}
	return p, err
}

func TestDecodePacketFields(t *testing.T) {
	cases := []struct {
		in   string
		want Packet
	}{
		{`0`, Packet{Type: PacketConnect, ID: -1}},
		{`0/admin,`, Packet{Type: PacketConnect, Namespace: []byte("/admin"), ID: -1}},
		{`0/admin`, Packet{Type: PacketConnect, Namespace: []byte("/admin"), ID: -1}},
		{`0/,`, Packet{Type: PacketConnect, ID: -1}},
		{`0{"token":"123"}`, Packet{Type: PacketConnect, ID: -1, Data: []byte(`{"token":"123"}`)}},
		{`1/admin,`, Packet{Type: PacketDisconnect, Namespace: []byte("/admin"), ID: -1}},
		{`2/admin,13["foo"]`, Packet{Type: PacketEvent, Namespace: []byte("/admin"), ID: 13, Data: []byte(`["foo"]`)}},
		{`2007["x"]`, Packet{Type: PacketEvent, ID: 7, Data: []byte(`["x"]`)}},
		{`20["x"]`, Packet{Type: PacketEvent, ID: 0, Data: []byte(`["x"]`)}},
		{`29007199254740991["x"]`, Packet{Type: PacketEvent, ID: MaxSafeInteger, Data: []byte(`["x"]`)}},
		{`3456[1]`, Packet{Type: PacketAck, ID: 456, Data: []byte(`[1]`)}},
		{`30[]`, Packet{Type: PacketAck, ID: 0, Data: []byte(`[]`)}},
		{`51-["upload",{"_placeholder":true,"num":0}]`, Packet{Type: PacketBinaryEvent, ID: -1, Attachments: 1, Data: []byte(`["upload",{"_placeholder":true,"num":0}]`)}},
		{`62-/admin,789[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`, Packet{Type: PacketBinaryAck, Namespace: []byte("/admin"), ID: 789, Attachments: 2, Data: []byte(`[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`)}},
		{`2[42,"x"]`, Packet{Type: PacketEvent, ID: -1, Data: []byte(`[42,"x"]`)}},
		{"2[\"x\"] \n", Packet{Type: PacketEvent, ID: -1, Data: []byte("[\"x\"] \n")}},
	}
	for _, c := range cases {
		p, err := decode(t, c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if p.Type != c.want.Type || !bytes.Equal(p.Namespace, c.want.Namespace) || (p.Namespace == nil) != (c.want.Namespace == nil) ||
			p.ID != c.want.ID || p.Attachments != c.want.Attachments || !bytes.Equal(p.Data, c.want.Data) || (p.Data == nil) != (c.want.Data == nil) {
			t.Errorf("%q:\n got %+v\nwant %+v", c.in, p, c.want)
		}
	}
}

func TestDecodePacketErrors(t *testing.T) {
	cases := []struct {
		in   string
		want error
	}{
		{``, ErrPacketType},
		{`abc`, ErrPacketType},
		{`7`, ErrPacketType},
		{` 2["x"]`, ErrPacketType},
		{`4{"message":"x"}`, ErrUnexpectedType},
		{`5["x"]`, ErrAttachments},
		{`50-["x"]`, ErrAttachments},
		{`5-["x"]`, ErrAttachments},
		{`51["x"]`, ErrAttachments},
		{`51`, ErrAttachments},
		{`511-["x"]`, ErrTooManyAttachments},
		{`599999999999999999999999999999-["x"]`, ErrTooManyAttachments},
		{`29007199254740992["x"]`, ErrAckID},
		{`29007199254740993["x"]`, ErrAckID},
		{`2` + strings.Repeat("9", 400) + `["x"]`, ErrAckID},
		{`3[]`, ErrMissingAckID},
		{`61-[{"_placeholder":true,"num":0}]`, ErrMissingAckID},
		{`2 ["x"]`, ErrInvalidJSON},
		{"2\n[\"x\"]", ErrInvalidJSON},
		{`2abc["x"]`, ErrInvalidJSON},
		{`2["x",]`, ErrInvalidJSON},
		{"2[\"a\x1eb\"]", ErrInvalidJSON},
		{`0{}x`, ErrInvalidJSON},
		{`2`, ErrInvalidPayload},
		{`3`, ErrInvalidPayload},
		{`1{}`, ErrInvalidPayload},
		{`0[]`, ErrInvalidPayload},
		{`0"x"`, ErrInvalidPayload},
		{`2{}`, ErrInvalidPayload},
		{`2[]`, ErrInvalidPayload},
		{`2[null]`, ErrInvalidPayload},
		{`2[["x"]]`, ErrInvalidPayload},
		{`2["connect"]`, ErrReservedEvent},
		{`2["disconnecting",1]`, ErrReservedEvent},
		{`2["\u0063onnect"]`, ErrReservedEvent},
		{`2["\u0072emoveListener"]`, ErrReservedEvent},
		{`51-["x",{"_placeholder":true,"num":1}]`, ErrPlaceholder},
		{`51-["x",{"_placeholder":true,"num":-1}]`, ErrPlaceholder},
		{`51-["x",{"_placeholder":true,"num":0.5}]`, ErrPlaceholder},
		{`51-["x",{"_placeholder":true,"num":"0"}]`, ErrPlaceholder},
		{`51-["x",{"_placeholder":true,"num":1e400}]`, ErrPlaceholder},
		{`51-["x",{"_placeholder":true}]`, ErrPlaceholder},
		{`51-["x",[{"a":{"\u005fplaceholder":true,"num":3}}]]`, ErrPlaceholder},
	}
	for _, c := range cases {
		if _, err := decode(t, c.in); err != c.want {
			t.Errorf("%.60q: got %v, want %v", c.in, err, c.want)
		}
	}
}

// TestDecodePacketHostile pins the bounded-work promise: these are errors, not stack overflows or long scans.
func TestDecodePacketHostile(t *testing.T) {
	args70k := `2["x"` + strings.Repeat(",0", 70000) + `]`
	if _, err := decode(t, args70k); err != ErrTooManyArgs {
		t.Errorf("70,000 args: %v", err)
	}
	deep := `2["x",` + strings.Repeat("[", 6000) + strings.Repeat("]", 6000) + `]`
	if _, err := decode(t, deep); err != ErrTooDeep {
		t.Errorf("6,000 deep: %v", err)
	}
	deepObj := `0` + strings.Repeat(`{"a":`, 6000) + `1` + strings.Repeat(`}`, 6000)
	if _, err := decode(t, deepObj); err != ErrTooDeep {
		t.Errorf("6,000 deep objects: %v", err)
	}
	unterminated := `2["x",` + strings.Repeat("[", 100000)
	if _, err := decode(t, unterminated); err != ErrTooDeep {
		t.Errorf("unterminated: %v", err)
	}
	// Exactly at the limits.
	ok := `2["x"` + strings.Repeat(",0", DefaultMaxArgs-1) + `]`
	if _, err := decode(t, ok); err != nil {
		t.Errorf("%d args: %v", DefaultMaxArgs, err)
	}
	ok = `2["x",` + strings.Repeat("[", DefaultMaxDepth-1) + strings.Repeat("]", DefaultMaxDepth-1) + `]`
	if _, err := decode(t, ok); err != nil {
		t.Errorf("depth %d: %v", DefaultMaxDepth, err)
	}
	over := `2["x",` + strings.Repeat("[", DefaultMaxDepth) + strings.Repeat("]", DefaultMaxDepth) + `]`
	if _, err := decode(t, over); err != ErrTooDeep {
		t.Errorf("depth %d: %v", DefaultMaxDepth+1, err)
	}
}

func TestDecodeOptions(t *testing.T) {
	var p Packet
	o := DecodeOptions{MaxAttachments: 2, MaxDepth: 2, MaxArgs: 3}
	for in, want := range map[string]error{
		`52-["x",{"_placeholder":true,"num":1}]`: nil,
		`53-["x"]`:                               ErrTooManyAttachments,
		`2["x",[1]]`:                             nil,
		`2["x",[[1]]]`:                           ErrTooDeep,
		`2["x",1,2]`:                             nil,
		`2["x",1,2,3]`:                           ErrTooManyArgs,
		`31[1,2,3]`:                              nil,
		`31[1,2,3,4]`:                            ErrTooManyArgs,
		`4{"message":"x"}`:                       ErrUnexpectedType,
	} {
		if err := o.DecodePacket([]byte(in), &p); err != want {
			t.Errorf("%s: got %v, want %v", in, err, want)
		}
	}
	// MaxDepth above the scanner's capacity is clamped, not an overflow.
	huge := DecodeOptions{MaxDepth: 1 << 30}
	deep := `2["x",` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `]`
	if err := huge.DecodePacket([]byte(deep), &p); err != ErrTooDeep {
		t.Errorf("clamped depth: %v", err)
	}
	ok := `2["x",` + strings.Repeat("[", 255) + strings.Repeat("]", 255) + `]`
	if err := huge.DecodePacket([]byte(ok), &p); err != nil {
		t.Errorf("depth 256: %v", err)
	}
	client := DecodeOptions{AllowConnectError: true}
	for in, want := range map[string]error{
		`4{"message":"x"}`:         nil,
		`4/admin,"x"`:              nil,
		`4`:                        ErrInvalidPayload,
		`4[]`:                      ErrInvalidPayload,
		`0/admin,{"sid":"abc"}`:    nil,
		`4{"message":"x","data":}`: ErrInvalidJSON,
	} {
		if err := client.DecodePacket([]byte(in), &p); err != want {
			t.Errorf("client %s: got %v, want %v", in, err, want)
		}
	}
}

func TestPacketTypeString(t *testing.T) {
	names := []string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}
	for i, n := range names {
		if got := PacketType(i).String(); got != n || !PacketType(i).Valid() {
			t.Errorf("%d: %q", i, got)
		}
	}
	if PacketType(7).Valid() || PacketType(7).String() != "PacketType(7)" {
		t.Error("type 7")
	}
}

func TestAppendPacketHeader(t *testing.T) {
	cases := []struct {
		p    Packet
		want string
	}{
		{Packet{Type: PacketConnect, ID: -1}, "0"},
		{Packet{Type: PacketConnect, Namespace: []byte("/"), ID: -1}, "0"},
		{Packet{Type: PacketConnect, Namespace: []byte("/admin"), ID: -1}, "0/admin,"},
		{Packet{Type: PacketDisconnect, Namespace: []byte("/admin"), ID: -1}, "1/admin,"},
		{Packet{Type: PacketEvent, Namespace: []byte("/admin"), ID: 13}, "2/admin,13"},
		{Packet{Type: PacketEvent, ID: 0}, "20"},
		{Packet{Type: PacketAck, ID: 456}, "3456"},
		{Packet{Type: PacketBinaryEvent, Attachments: 2, ID: -1}, "52-"},
		{Packet{Type: PacketBinaryAck, Attachments: 1, Namespace: []byte("/a"), ID: 789}, "61-/a,789"},
		{Packet{Type: PacketConnectError, Namespace: []byte("/random"), ID: -1}, "4/random,"},
	}
	for _, c := range cases {
		if got := string(AppendPacketHeader([]byte("4"), &c.p)); got != "4"+c.want {
			t.Errorf("%+v: got %q, want %q", c.p, got, "4"+c.want)
		}
	}
}

func TestAppendServerPackets(t *testing.T) {
	if got := string(AppendConnect(nil, "/", "s", "")); got != `0{"sid":"s"}` {
		t.Error(got)
	}
	if got := string(AppendConnect(nil, "", "s", "p")); got != `0{"sid":"s","pid":"p"}` {
		t.Error(got)
	}
	if got := string(AppendDisconnect(nil, "/admin")); got != `1/admin,` {
		t.Error(got)
	}
	got, err := AppendConnectError([]byte("4"), "/x", "no", map[string]any{"b": []byte{1}})
	if err != ErrBinaryNotAllowed || string(got) != "4" {
		t.Errorf("binary in connect error data: %q, %v", got, err)
	}
	got, err = AppendConnectError(nil, "/", "m", struct {
		Code int `json:"code"`
	}{7})
	if err != nil || string(got) != `4{"message":"m","data":{"code":7}}` {
		t.Errorf("%q, %v", got, err)
	}
}

func TestIsReservedEvent(t *testing.T) {
	for _, n := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		if !IsReservedEvent(n) {
			t.Error(n)
		}
		p, err := decode(t, `2[`+strconv.Quote(n)+`]`)
		if err != ErrReservedEvent {
			t.Errorf("%s: %v %+v", n, err, p)
		}
	}
	for _, n := range []string{"", "Connect", "connect ", "message", "removeListeners"} {
		if IsReservedEvent(n) {
			t.Error(n)
		}
		if _, err := decode(t, `2[`+strconv.Quote(n)+`]`); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
}
