package riptide

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// handshakeJSON is Node's socket.handshake as JSON: what a cluster
// adapter sends for a fetched socket.
type handshakeJSON struct {
	Headers map[string]any  `json:"headers"`
	Time    string          `json:"time"`
	Address string          `json:"address"`
	XDomain bool            `json:"xdomain"`
	Secure  bool            `json:"secure"`
	Issued  int64           `json:"issued"`
	URL     string          `json:"url"`
	Query   map[string]any  `json:"query"`
	Auth    json.RawMessage `json:"auth"`
}

// MarshalJSON writes the handshake in the shape of Node's socket.handshake
// (lower-case header names; a header or query parameter given once is a
// string, several times an array — set-cookie always an array, other
// repeated headers joined with ", " as Node does).
func (h *Handshake) MarshalJSON() ([]byte, error) {
	j := handshakeJSON{
		Headers: make(map[string]any, len(h.Headers)),
		Time:    h.Time,
		Address: h.Address,
		XDomain: h.XDomain,
		Secure:  h.Secure,
		Issued:  h.Issued,
		URL:     h.URL,
		Query:   make(map[string]any, len(h.Query)),
		Auth:    json.RawMessage(h.Auth),
	}
	if len(j.Auth) == 0 || !json.Valid(j.Auth) {
		j.Auth = json.RawMessage("{}")
	}
	for k, v := range h.Headers {
		k = strings.ToLower(k)
		switch {
		case k == "set-cookie":
			j.Headers[k] = v
		case len(v) == 1:
			j.Headers[k] = v[0]
		case len(v) > 1:
			j.Headers[k] = strings.Join(v, ", ")
		}
	}
	for k, v := range h.Query {
		if len(v) == 1 {
			j.Query[k] = v[0]
		} else if len(v) > 1 {
			j.Query[k] = v
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads Node's socket.handshake (from another node of a
// cluster). Unknown or ill-typed fields are ignored.
func (h *Handshake) UnmarshalJSON(b []byte) error {
	var j handshakeJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*h = Handshake{
		Headers: http.Header{},
		Query:   url.Values{},
		Auth:    []byte(j.Auth),
		Address: j.Address,
		Time:    j.Time,
		Issued:  j.Issued,
		URL:     j.URL,
		Secure:  j.Secure,
		XDomain: j.XDomain,
	}
	if len(h.Auth) == 0 || string(h.Auth) == "null" {
		h.Auth = []byte("{}")
	}
	for k, v := range j.Headers {
		h.Headers[http.CanonicalHeaderKey(k)] = stringsOf(v)
	}
	for k, v := range j.Query {
		h.Query[k] = stringsOf(v)
	}
	return nil
}

// stringsOf turns a JSON string or array of strings into a slice.
func stringsOf(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
