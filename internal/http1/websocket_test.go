package http1

import (
	"crypto/sha1"
	"encoding/base64"
	"strings"
	"testing"
)

func TestAppendAcceptKey(t *testing.T) {
	// RFC 6455 §1.3.
	got := AppendAcceptKey([]byte("Sec-WebSocket-Accept: "), []byte("dGhlIHNhbXBsZSBub25jZQ=="))
	if string(got) != "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("got %q", got)
	}
	for _, key := range []string{"", "x3JJHMbDL1EzLkh9GBhXDw==", strings.Repeat("k", 92), strings.Repeat("k", 93), strings.Repeat("k", 1000)} {
		sum := sha1.Sum([]byte(key + acceptGUID))
		want := base64.StdEncoding.EncodeToString(sum[:])
		if got := AppendAcceptKey(nil, []byte(key)); string(got) != want || len(got) != AcceptKeyLen {
			t.Errorf("key of %d bytes: %q, want %q", len(key), got, want)
		}
	}
}

func TestValidWebSocketKey(t *testing.T) {
	for key, ok := range map[string]bool{
		"dGhlIHNhbXBsZSBub25jZQ==":    true,
		"x3JJHMbDL1EzLkh9GBhXDw==":    true,
		"++++++++++++++++++++//==":    true,
		"dGhlIHNhbXBsZSBub25jZQ=":     false,
		"dGhlIHNhbXBsZSBub25jZQ===":   false,
		"dGhlIHNhbXBsZSBub25jZQ-=":    false,
		"dGhlIHNhbXBsZSBub25jZ-==":    false,
		"dGhlIHNhbXBsZSBub25jZ\x00==": false,
		"":                            false,
	} {
		if got := ValidWebSocketKey([]byte(key)); got != ok {
			t.Errorf("ValidWebSocketKey(%q) = %v", key, got)
		}
	}
}
