package codec

import "testing"

func TestAppendEventData(t *testing.T) {
	cases := []struct {
		nsp  string
		id   int64
		data string
		atts int
		want string
	}{
		{"/", NoAckID, `["e",1]`, 0, `2["e",1]`},
		{"/chat", NoAckID, `["e"]`, 0, `2/chat,["e"]`},
		{"/chat", 7, `["e"]`, 0, `2/chat,7["e"]`},
		{"/", 3, `["e",{"_placeholder":true,"num":0}]`, 1, `51-3["e",{"_placeholder":true,"num":0}]`},
		{"/a", NoAckID, `["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, 2, `52-/a,["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
	}
	for _, c := range cases {
		got := string(AppendEventData(nil, c.nsp, c.id, []byte(c.data), c.atts))
		if got != c.want {
			t.Errorf("AppendEventData(%q, %d, %s, %d) = %s, want %s", c.nsp, c.id, c.data, c.atts, got, c.want)
		}
	}
	// Same bytes as AppendEvent for the same values, binary included.
	want, atts, err := AppendEvent(nil, "/x", 9, "ev", []any{"a", []byte{1, 2}, map[string]any{"k": []byte{3}}})
	if err != nil {
		t.Fatal(err)
	}
	data := want[len("52-/x,9"):]
	if got := AppendEventData(nil, "/x", 9, data, len(atts)); string(got) != string(want) {
		t.Errorf("AppendEventData = %s, want %s", got, want)
	}
}
