package codec

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestSplitArgs(t *testing.T) {
	for in, want := range map[string][]string{
		`[]`:                               {},
		`[ ]`:                              {},
		`["x"]`:                            {`"x"`},
		`[ "x" , 1 ,{"a":[1,2]} , [ ] ] `:  {`"x"`, `1`, `{"a":[1,2]}`, `[ ]`},
		`["a,b","c]",{"d":"}"},null,true]`: {`"a,b"`, `"c]"`, `{"d":"}"}`, `null`, `true`},
		`[-1.5e3,"\"",0]`:                  {`-1.5e3`, `"\""`, `0`},
	} {
		var buf [8][]byte
		got, err := SplitArgs([]byte(in), buf[:0])
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if len(got) != len(want) {
			t.Errorf("%s: got %q", in, got)
			continue
		}
		for i := range got {
			if string(got[i]) != want[i] || !json.Valid(got[i]) {
				t.Errorf("%s: element %d = %q, want %q", in, i, got[i], want[i])
			}
		}
	}
	for _, in := range []string{``, `{}`, `"x"`, `[`, `["x"`, `["x",]`, `[,]`, `["x"]]`, `["x"] x`, ` ["x"]`, `[01]`} {
		if _, err := SplitArgs([]byte(in), nil); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("%q: %v", in, err)
		}
	}
	// Appending keeps what dst held.
	got, _ := SplitArgs([]byte(`[1]`), [][]byte{[]byte("keep")})
	if len(got) != 2 || string(got[0]) != "keep" || string(got[1]) != "1" {
		t.Errorf("%q", got)
	}
}

func TestEventName(t *testing.T) {
	for in, want := range map[string]struct {
		name  string
		isStr bool
	}{
		`["foo",1,2]`:         {`"foo"`, true},
		`[ "a\"b" ]`:          {`"a\"b"`, true},
		`[42,"x"]`:            {`42`, false},
		`[-1.5,{"broken":]`:   {`-1.5`, false}, // only element 0 is looked at
		`["\u00e9v\u00e9nt"]`: {`"\u00e9v\u00e9nt"`, true},
	} {
		name, isStr, err := EventName([]byte(in))
		if err != nil || string(name) != want.name || isStr != want.isStr {
			t.Errorf("%s: %q %v %v", in, name, isStr, err)
		}
	}
	for _, in := range []string{`[]`, `[null]`, `[[1]]`, `{}`, `[`, `["x`, ``, `[true]`} {
		if _, _, err := EventName([]byte(in)); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("%q: %v", in, err)
		}
	}
	name, _, _ := EventName([]byte(`["\u00e9v\u00e9nt"]`))
	if s, err := UnquoteString(nil, name); err != nil || string(s) != "évént" {
		t.Error(string(s), err)
	}
}
