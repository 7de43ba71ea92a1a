package http1

import "testing"

func TestQueryValue(t *testing.T) {
	const q = "EIO=4&transport=polling&t=P1a2b3c&sid=Lbo5JLzTotvW3g2LAAAA&b64&empty=&x=1&x=2"
	tests := []struct {
		q, key, val string
		ok          bool
	}{
		{q, "EIO", "4", true},
		{q, "transport", "polling", true},
		{q, "sid", "Lbo5JLzTotvW3g2LAAAA", true},
		{q, "t", "P1a2b3c", true},
		{q, "b64", "", true},
		{q, "empty", "", true},
		{q, "x", "1", true},
		{q, "eio", "", false},
		{q, "EI", "", false},
		{q, "EIO=", "", false},
		{"", "EIO", "", false},
		{"&&EIO=4&&", "EIO", "4", true},
		{"EIO=4=5", "EIO", "4=5", true},
		{"%45IO=4", "EIO", "4", true},
		{"a+b=1", "a b", "1", true},
		{"a%2Bb=1", "a+b", "1", true},
		{"a+b=1", "a+b", "", false},
		{"%zz=1&%zz=2", "%zz", "", false},
		{"a%=1&a=2", "a", "2", true},
		{"=v", "", "v", true},
		{"a=%20%zz", "a", "%20%zz", true},
		{"a;b=1&a=2", "a;b", "1", true},
		{"sid=a&sid=b", "sid", "a", true},
	}
	for _, tt := range tests {
		val, ok := QueryValue([]byte(tt.q), tt.key)
		if string(val) != tt.val || ok != tt.ok {
			t.Errorf("QueryValue(%q, %q) = %q, %v; want %q, %v", tt.q, tt.key, val, ok, tt.val, tt.ok)
		}
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct {
		in, out string
		ok      bool
	}{
		{"", "", true},
		{"plain", "plain", true},
		{"a+b", "a b", true},
		{"%41%42c", "ABc", true},
		{"%e2%82%AC", "€", true},
		{"100%25", "100%", true},
		{"%2B+%2b", "+ +", true},
		{"%", "", false},
		{"%4", "", false},
		{"a%4g", "", false},
		{"%zz", "", false},
		{"ok%", "", false},
	}
	for _, tt := range tests {
		got, err := Unescape([]byte("pre:"), []byte(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("Unescape(%q): err %v", tt.in, err)
			continue
		}
		if !tt.ok {
			if string(got) != "pre:" || err != errEscape {
				t.Errorf("Unescape(%q) on error = %q, %v", tt.in, got, err)
			}
			continue
		}
		if string(got) != "pre:"+tt.out {
			t.Errorf("Unescape(%q) = %q, want %q", tt.in, got, "pre:"+tt.out)
		}
		// In place.
		b := []byte(tt.in)
		got, err = Unescape(b[:0], b)
		if err != nil || string(got) != tt.out {
			t.Errorf("in place Unescape(%q) = %q, %v", tt.in, got, err)
		}
	}
}
