package engine

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// refusedPOST sends a polling POST for an unknown sid, with header lines
// extra, its 100,000-byte body's first 1,000 bytes only, and checks its 400
// (code 1). It returns the connection, its reader and the body.
func refusedPOST(t *testing.T, extra string) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	_, base := startServer(t, quietConfig(), newEcho())
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	body := strings.Repeat("x", 100_000)
	head := "POST /engine.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\nHost: x\r\n" + extra +
		"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 100000\r\n\r\n"
	if _, err := io.WriteString(c, head+body[:1000]); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(b), `"code":1`) {
		t.Fatalf("refused POST: %d %q", resp.StatusCode, b)
	}
	return c, br, body
}

// TestRefusedBodyArrivingLater: a POST refused from its head (an unknown
// sid) whose body is still on its way gets its 400, the rest of the body is
// discarded as it arrives, and the keep-alive connection serves the next
// request. (Its tail was parsed as a new request: a 400 and a closed
// connection, so a client still writing its body saw a reset.)
func TestRefusedBodyArrivingLater(t *testing.T) {
	c, br, body := refusedPOST(t, "")
	// The rest of the body, in pieces, then a handshake on the same connection.
	for off := 1000; off < len(body); off += 30_000 {
		if _, err := io.WriteString(c, body[off:min(off+30_000, len(body))]); err != nil {
			t.Fatalf("writing the body's rest: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := io.WriteString(c, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the request after the refused body: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), `0{"sid":"`) {
		t.Fatalf("handshake after the refused body: %d %q", resp.StatusCode, b)
	}
}

// TestRefusedBodyConnectionClose: the same refusal on a request that asked
// for no keep-alive (Connection: close, as a client with keep-alives
// disabled sends). The server must not close while the body is still on
// its way: the client, still writing, would get a reset (a broken pipe)
// instead of the answer. It drops the rest, then closes.
func TestRefusedBodyConnectionClose(t *testing.T) {
	c, br, body := refusedPOST(t, "Connection: close\r\n")
	// Give a premature close time to reach us, then write the rest.
	time.Sleep(50 * time.Millisecond)
	for off := 1000; off < len(body); off += 20_000 {
		if _, err := io.WriteString(c, body[off:min(off+20_000, len(body))]); err != nil {
			t.Fatalf("writing the body's rest: %v (the server closed under the client)", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Then the server closes: EOF, not a reset, and nothing more.
	rest, err := io.ReadAll(br)
	if err != nil || len(rest) != 0 {
		t.Fatalf("after the body: %q, %v; want a clean end of stream", rest, err)
	}
}
