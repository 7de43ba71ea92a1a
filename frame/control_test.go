package frame

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

func TestAppendClose(t *testing.T) {
	for _, tc := range []struct {
		code   ws.StatusCode
		reason string
	}{
		{ws.StatusNormalClosure, ""},
		{ws.StatusGoingAway, "bye"},
		{ws.StatusMessageTooBig, strings.Repeat("r", 123)},
		{4000, "app"},
	} {
		want, _ := ws.CompileFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(tc.code, tc.reason)))
		if got := AppendClose(nil, tc.code, tc.reason); !bytes.Equal(got, want) {
			t.Errorf("%d %q: % x, want % x", tc.code, tc.reason, got, want)
		}
	}
	if got := AppendClose([]byte("x"), 0, "ignored"); string(got) != "x\x88\x00" {
		t.Errorf("code 0: % x", got)
	}
	// Echoing what ParseClose returns for an empty close is safe: 1005 is
	// never written (§7.4.1).
	code, _, _ := ParseClose(nil)
	if got := AppendClose(nil, code, ""); !bytes.Equal(got, CloseFrameNoStatus) {
		t.Errorf("code 1005: % x", got)
	}
	// Long reasons are cut to fit 125 bytes, on a rune boundary.
	for _, reason := range []string{
		strings.Repeat("a", 200),
		strings.Repeat("é", 100),       // 2-byte runes; 123 is odd
		"a" + strings.Repeat("€", 60),  // 3-byte runes
		"ab" + strings.Repeat("😀", 40), // 4-byte runes
	} {
		f := AppendClose(nil, ws.StatusNormalClosure, reason)
		h, n, err := ParseHeader(f)
		if err != nil || h.OpCode != ws.OpClose || h.Length > 125 || n+int(h.Length) != len(f) {
			t.Fatalf("%q: bad frame % x: %v", reason, f, err)
		}
		code, r, err := ParseClose(f[n:])
		if err != nil || code != ws.StatusNormalClosure || !utf8.Valid(r) || !strings.HasPrefix(reason, string(r)) || len(r) < 120 {
			t.Errorf("%q: got %d %q %v", reason[:8], code, r, err)
		}
	}
}

func TestAppendPong(t *testing.T) {
	if got := AppendPong(nil, []byte("hi")); string(got) != "\x8a\x02hi" {
		t.Errorf("% x", got)
	}
	long := bytes.Repeat([]byte{'p'}, 200)
	if got := AppendPong(nil, long); len(got) != 127 || got[1] != 125 {
		t.Errorf("long payload: len %d, % x", len(got), got[:2])
	}
}

func TestParseClose(t *testing.T) {
	code, reason, err := ParseClose(nil)
	if code != ws.StatusNoStatusRcvd || reason != nil || err != nil {
		t.Errorf("empty: %d %q %v", code, reason, err)
	}
	if _, _, err := ParseClose([]byte{0x03}); err != errCloseLength || !errors.Is(err, ErrProtocol) {
		t.Errorf("1 byte: %v", err)
	}
	p := append(u16(1000), "bye"...)
	code, reason, err = ParseClose(p)
	if code != 1000 || string(reason) != "bye" || err != nil || &reason[0] != &p[2] {
		t.Errorf("1000 bye: %d %q %v", code, reason, err)
	}
	if _, _, err := ParseClose(append(u16(1000), 0xff)); err != errCloseReasonUTF8 || !errors.Is(err, ErrInvalidUTF8) {
		t.Errorf("bad reason: %v", err)
	}
	if _, _, err := ParseClose(append(u16(1000), 0xe2, 0x82)); err != errCloseReasonUTF8 {
		t.Errorf("truncated reason: %v", err)
	}
}

// Close codes follow gobwas/ws CheckCloseFrameData, except that codes of 5000
// and up, which it accepts, are rejected (see ParseClose).
func TestParseCloseCodes(t *testing.T) {
	valid := map[ws.StatusCode]bool{
		1000: true, 1001: true, 1002: true, 1003: true, 1007: true, 1008: true,
		1009: true, 1010: true, 1011: true, 3000: true, 3999: true, 4000: true, 4999: true,
	}
	for c := range 1 << 16 {
		code := ws.StatusCode(c)
		_, _, err := ParseClose(u16(uint16(c)))
		oracle := ws.CheckCloseFrameData(code, "") == nil && c < 5000
		if (err == nil) != oracle {
			t.Fatalf("code %d: err %v, gobwas says valid=%v", c, err, oracle)
		}
		if v, ok := valid[code]; ok && v != (err == nil) {
			t.Fatalf("code %d: err %v", c, err)
		}
		if err != nil && err != errCloseCode {
			t.Fatalf("code %d: err %v, want errCloseCode", c, err)
		}
	}
	for _, c := range []ws.StatusCode{0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 2000, 2999, 5000, 65535} {
		if _, _, err := ParseClose(u16(uint16(c))); err == nil {
			t.Errorf("code %d accepted", c)
		}
	}
}

func TestCloseError(t *testing.T) {
	sentinels := []*CloseError{ErrProtocol, ErrInvalidUTF8, ErrPolicy, ErrTooBig}
	for _, e := range []*CloseError{
		ErrProtocol, ErrInvalidUTF8, ErrPolicy, ErrTooBig,
		errReservedBits, errReservedOpCode, errControlNotFinal, errControlTooLong, errLengthMSB,
		errUnmasked, errNoContinuation, errInterleaved, errCloseLength, errCloseCode,
		errTextUTF8, errCloseReasonUTF8, errTooManyFragments,
	} {
		matched := 0
		for _, s := range sentinels {
			if errors.Is(e, s) {
				matched++
				if s.Code != e.Code {
					t.Errorf("%v matches %v", e, s)
				}
			}
		}
		if matched != 1 {
			t.Errorf("%v matches %d sentinels", e, matched)
		}
		if errors.Is(e, ErrNeedMore) || errors.Is(ErrNeedMore, e) {
			t.Errorf("%v matches ErrNeedMore", e)
		}
		var ce *CloseError
		if !errors.As(error(e), &ce) || ce != e {
			t.Errorf("errors.As(%v)", e)
		}
		if !strings.HasPrefix(e.Error(), "frame: ") || !strings.Contains(e.Error(), e.Reason) {
			t.Errorf("Error() = %q", e.Error())
		}
		f := e.Frame()
		h, n, err := ParseHeader(f)
		if err != nil || h.OpCode != ws.OpClose || h.Masked || !h.Fin || n+int(h.Length) != len(f) {
			t.Fatalf("%v: bad frame % x", e, f)
		}
		if code, reason, err := ParseClose(f[n:]); code != e.Code || len(reason) != 0 || err != nil {
			t.Errorf("%v: frame carries %d %q %v", e, code, reason, err)
		}
	}
	if !bytes.Equal(ErrProtocol.Frame(), ws.CompiledCloseProtocolError) ||
		!bytes.Equal(ErrTooBig.Frame(), ws.CompiledCloseMessageTooBig) ||
		!bytes.Equal(ErrInvalidUTF8.Frame(), ws.CompiledCloseInvalidFramePayloadData) {
		t.Error("pre-built frames differ from gobwas/ws")
	}
	if got := (&CloseError{Code: 4001}).Frame(); !bytes.Equal(got, []byte{0x88, 0x02, 0x0f, 0xa1}) {
		t.Errorf("4001: % x", got)
	}
	if got := (&CloseError{}).Frame(); !bytes.Equal(got, CloseFrameNoStatus) {
		t.Errorf("code 0: % x", got)
	}
	if !errors.Is(&CloseError{Code: 1002, Reason: "mine"}, ErrProtocol) {
		t.Error("a caller's 1002 does not match ErrProtocol")
	}
	if errors.Is(ErrProtocol, errUnmasked) {
		t.Error("matching must go from precise to sentinel only")
	}
}
