package riptide

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

func TestHandshakeJSONNodeShape(t *testing.T) {
	h := &Handshake{
		Headers: http.Header{"User-Agent": {"ua"}, "Set-Cookie": {"a=1"}, "X-Many": {"1", "2"}},
		Query:   url.Values{"EIO": {"4"}, "k": {"a", "b"}},
		Auth:    []byte(`{"token":"t"}`),
		Address: "127.0.0.1", Time: "Fri, 27 Nov 2026 07:00:00 UTC", Issued: 1795000000000,
		URL: "/socket.io/?EIO=4", Secure: true, XDomain: true,
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	headers := generic["headers"].(map[string]any)
	if headers["user-agent"] != "ua" || headers["x-many"] != "1, 2" {
		t.Errorf("headers = %v", headers)
	}
	if c, ok := headers["set-cookie"].([]any); !ok || len(c) != 1 || c[0] != "a=1" {
		t.Errorf("set-cookie = %#v, want an array", headers["set-cookie"])
	}
	q := generic["query"].(map[string]any)
	if q["EIO"] != "4" || !reflect.DeepEqual(q["k"], []any{"a", "b"}) {
		t.Errorf("query = %v", q)
	}
	if a := generic["auth"].(map[string]any); a["token"] != "t" {
		t.Errorf("auth = %v", a)
	}
	for _, k := range []string{"time", "address", "xdomain", "secure", "issued", "url"} {
		if _, ok := generic[k]; !ok {
			t.Errorf("missing %q in %s", k, b)
		}
	}
	var back Handshake
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Headers.Get("User-Agent") != "ua" || back.Query.Get("EIO") != "4" || string(back.Auth) != `{"token":"t"}` ||
		back.Issued != h.Issued || !back.Secure || !back.XDomain || back.URL != h.URL || back.Address != h.Address {
		t.Errorf("round trip = %+v", back)
	}
	// A handshake from Node with odd types must not fail the whole fetch.
	var odd Handshake
	if err := json.Unmarshal([]byte(`{"headers":{"a":["x","y"],"b":5},"query":{},"auth":null}`), &odd); err != nil {
		t.Fatal(err)
	}
	if string(odd.Auth) != "{}" || len(odd.Headers["A"]) != 2 {
		t.Errorf("odd = %+v", odd)
	}
}
