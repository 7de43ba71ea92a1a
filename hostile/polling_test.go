package hostile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const pollLimit = 100_000 // MaxHTTPBufferSize of the polling group

// rawDo sends one request with "Connection: close" on a fresh connection
// and returns the parsed response and its body; the server must close the
// connection after it.
func (h *server) rawDo(t testing.TB, method, query, extraHeaders, body string) (*http.Response, string) {
	t.Helper()
	req := method + " /socket.io/?" + query + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extraHeaders
	if body != "" || method == "POST" {
		req += fmt.Sprintf("Content-Length: %d\r\n", len(body))
	}
	req += "\r\n" + body
	raw, err := h.exchange(t, []byte(req), ioTimeout)
	if err != nil {
		t.Fatalf("%s %s: connection not closed after the answer (%v): %q", method, query, err, trunc(string(raw)))
	}
	br := bufio.NewReader(bytes.NewReader(raw))
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: no HTTP response (%v): %q", method, query, err, trunc(string(raw)))
	}
	b, _ := io.ReadAll(resp.Body)
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Fatalf("%s %s: bytes after the response: %q", method, query, trunc(string(rest)))
	}
	return resp, string(b)
}

func expectAnswer(t testing.TB, resp *http.Response, body string, status int, ctype, wantBody string) {
	t.Helper()
	if resp.StatusCode != status || body != wantBody {
		t.Fatalf("got %d %q, want %d %q", resp.StatusCode, trunc(body), status, wantBody)
	}
	if ctype != "" && resp.Header.Get("Content-Type") != ctype {
		t.Fatalf("status %d: Content-Type %q, want %q", status, resp.Header.Get("Content-Type"), ctype)
	}
}

// pollSocket opens a polling session and connects "/"; it returns the
// Engine.IO sid and the namespace socket id.
func (h *server) pollSocket(t testing.TB) (sid, id string) {
	t.Helper()
	sid = h.pollOpen(t)
	h.post(t, sid, "40", 200, "ok")
	got := h.poll(t, sid)
	id, ok := strings.CutPrefix(got, `40{"sid":"`)
	if !ok || len(id) != 22 {
		t.Fatalf("CONNECT answered %q", got)
	}
	return sid, id[:20]
}

// TestPollingAbuse: requests a polling client must not send get the
// reference's exact answers (PROTOCOL.md §5, §6).
func TestPollingAbuse(t *testing.T) {
	cfg := baseConfig()
	cfg.MaxHTTPBufferSize = pollLimit
	h := startServer(t, cfg)

	for _, sid := range []string{"nope", "", "AAAAAAAAAAAAAAAAAAAA", strings.Repeat("s", 4000), "%00%ff", "a%20b"} {
		for _, method := range []string{"GET", "POST"} {
			t.Run(fmt.Sprintf("unknown sid %q %s", trunc(sid), method), func(t *testing.T) {
				body := ""
				if method == "POST" {
					body = `42["echo"]`
				}
				resp, got := h.rawDo(t, method, "EIO=4&transport=polling&sid="+sid, "", body)
				expectAnswer(t, resp, got, 400, "application/json", unknownSID)
				h.check(t)
			})
		}
	}
	t.Run("upgrade with an unknown sid", func(t *testing.T) {
		resp, got := h.rawDo(t, "GET", "EIO=4&transport=websocket&sid=nope",
			"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", "")
		expectAnswer(t, resp, got, 400, "text/html", "Session ID unknown")
		h.check(t)
	})
	t.Run("polling with a WebSocket session's sid", func(t *testing.T) {
		w := h.dialWS(t, "EIO=4&transport=websocket")
		open := w.nextText()
		sid := open[9:29]
		resp, got := h.rawDo(t, "GET", sidQuery(sid), "", "")
		expectAnswer(t, resp, got, 400, "application/json", `{"code":3,"message":"Bad request"}`)
		resp, got = h.rawDo(t, "POST", sidQuery(sid), "", "40")
		expectAnswer(t, resp, got, 400, "application/json", `{"code":3,"message":"Bad request"}`)
		w.Close()
		h.check(t)
	})
	t.Run("Origin with control characters", func(t *testing.T) {
		// Refused by the HTTP parser (empty 400) or by the Origin check
		// (code 3): both are the reference's answers for such a byte.
		resp, got := h.rawDo(t, "GET", "EIO=4&transport=polling", "Origin: http://a\x01b\r\n", "")
		if resp.StatusCode != 400 || (got != "" && got != `{"code":3,"message":"Bad request"}`) {
			t.Fatalf("got %d %q, want 400", resp.StatusCode, got)
		}
		h.check(t)
	})

	t.Run("overlapping GETs", func(t *testing.T) {
		sid, id := h.pollSocket(t)
		type answer struct {
			status int
			body   string
		}
		answers := make(chan answer, 2)
		for i := 0; i < 2; i++ {
			go func() {
				req, _ := http.NewRequest("GET", h.url(sidQuery(sid)), nil)
				resp, err := h.client.Do(req)
				if err != nil {
					answers <- answer{-1, err.Error()}
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				answers <- answer{resp.StatusCode, string(b)}
			}()
			time.Sleep(50 * time.Millisecond) // usually lets the first one park
		}
		a, b := <-answers, <-answers
		if a.status == 400 {
			a, b = b, a
		}
		if a != (answer{200, "1"}) || b != (answer{400, ""}) {
			t.Fatalf("overlapping GETs answered %v and %v, want {200 1} (the pending one) and {400 } (E35)", a, b)
		}
		if r := h.reason(t, id); r != "transport error" {
			t.Errorf("server-side disconnect reason %q, want %q", r, "transport error")
		}
		h.expectGone(t, sid)
		h.check(t)
	})
	t.Run("pending GET dropped by the client", func(t *testing.T) {
		sid, id := h.pollSocket(t)
		c := h.dial(t)
		io.WriteString(c, "GET /socket.io/?"+sidQuery(sid)+" HTTP/1.1\r\nHost: x\r\n\r\n")
		time.Sleep(300 * time.Millisecond) // let it park

		c.Close()
		if r := h.reason(t, id); r != "transport error" {
			t.Errorf("server-side disconnect reason %q, want %q (Node: poll connection closed prematurely)", r, "transport error")
		}
		h.expectGone(t, sid)
		h.check(t)
	})

	// Bad payloads: "ok" (E25: the reference answers before parsing), then
	// the session is gone and the socket disconnected with "parse error".
	for _, body := range []string{"", "x", "9", "2", "b!!!!", "bAQIDBA=", "b", `42["echo"]` + "\x1eb%%%", `42["echo"]` + "\x1e\x1e" + `42["echo"]`, `42["echo"]` + "\x1e"} {
		t.Run(fmt.Sprintf("bad payload %q", body), func(t *testing.T) {
			sid, id := h.pollSocket(t)
			h.post(t, sid, body, 200, "ok")
			if r := h.reason(t, id); r != "parse error" {
				t.Errorf("server-side disconnect reason %q, want %q", r, "parse error")
			}
			h.expectGone(t, sid)
			h.check(t)
		})
	}
	t.Run("valid base64 binary packet", func(t *testing.T) {
		sid, id := h.pollSocket(t)
		h.post(t, sid, `451-7["echo",{"_placeholder":true,"num":0}]`+"\x1ebAQIDBA==", 200, "ok")
		if got := h.poll(t, sid); got != `461-7[{"_placeholder":true,"num":0}]`+"\x1ebAQIDBA==" {
			t.Fatalf("binary ack over polling: %q", got)
		}
		h.post(t, sid, "1", 200, "ok")
		if r := h.reason(t, id); r != "transport close" {
			t.Errorf("reason %q", r)
		}
	})

	t.Run("POST body over MaxHTTPBufferSize", func(t *testing.T) {
		sid, id := h.pollSocket(t)
		big := `42["echo","` + strings.Repeat("a", pollLimit) + `"]`
		resp, got := h.rawDo(t, "POST", sidQuery(sid), "Content-Type: text/plain\r\n", big)
		expectAnswer(t, resp, got, 413, "", "")
		// E23: the session is kept; exactly the limit is accepted (E24).
		exact := `421["echo","` + strings.Repeat("b", pollLimit-len(`421["echo",""]`)) + `"]`
		if len(exact) != pollLimit {
			t.Fatalf("test bug: %d bytes", len(exact))
		}
		h.post(t, sid, exact, 200, "ok")
		if got := h.poll(t, sid); got != `431["`+strings.Repeat("b", pollLimit-len(`421["echo",""]`))+`"]` {
			t.Fatalf("ack of a body of exactly the limit: %q", trunc(got))
		}
		h.post(t, sid, "1", 200, "ok")
		if r := h.reason(t, id); r != "transport close" {
			t.Errorf("reason %q", r)
		}
		h.check(t)
	})
	t.Run("Content-Length of 1 PB, no body sent", func(t *testing.T) {
		sid := h.pollOpen(t)
		raw, err := h.exchange(t, []byte("POST /socket.io/?"+sidQuery(sid)+" HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000000000000000\r\n\r\n42"), ioTimeout)
		expectHTTPError(t, raw, err, 413)
		h.post(t, sid, "1", 200, "ok") // session kept (E23)
		h.check(t)
	})
	t.Run("octet-stream POST", func(t *testing.T) {
		sid, id := h.pollSocket(t)
		resp, got := h.rawDo(t, "POST", sidQuery(sid), "Content-Type: application/octet-stream\r\n", "\x04\x01\x02")
		expectAnswer(t, resp, got, 400, "", "")
		if r := h.reason(t, id); r != "transport error" {
			t.Errorf("server-side disconnect reason %q, want %q", r, "transport error")
		}
		h.expectGone(t, sid)
		h.check(t)
	})
	for _, method := range []string{"PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "BREW"} {
		t.Run(method+" with a sid", func(t *testing.T) {
			sid, id := h.pollSocket(t)
			resp, got := h.rawDo(t, method, sidQuery(sid), "", "")
			expectAnswer(t, resp, got, 500, "", "")
			// The session is not affected (the reference only answers 500).
			h.post(t, sid, `421["echo","kept"]`, 200, "ok")
			if got := h.poll(t, sid); got != `431["kept"]` {
				t.Fatalf("session after %s: %q", method, got)
			}
			h.post(t, sid, "1", 200, "ok")
			if r := h.reason(t, id); r != "transport close" {
				t.Errorf("reason %q", r)
			}
			h.check(t)
		})
	}
	t.Run("handshake with POST", func(t *testing.T) {
		resp, got := h.rawDo(t, "POST", "EIO=4&transport=polling", "", "40")
		expectAnswer(t, resp, got, 400, "application/json", `{"code":2,"message":"Bad handshake method"}`)
		h.check(t)
	})
	h.finish(t)
}
