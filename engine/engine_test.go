package engine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// echoHandler sends every message back and records what happened.
type echoHandler struct {
	mu      sync.Mutex
	opened  []*Session
	closed  map[string]chan string
	closeCh chan string
}

func newEcho() *echoHandler {
	return &echoHandler{closed: map[string]chan string{}, closeCh: make(chan string, 1000)}
}

func (h *echoHandler) closedCh(sid string) chan string {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := h.closed[sid]
	if ch == nil {
		ch = make(chan string, 1)
		h.closed[sid] = ch
	}
	return ch
}

// waitCloseOf waits for the OnClose of one session and returns its reason.
func (h *echoHandler) waitCloseOf(t *testing.T, sid string) string {
	t.Helper()
	select {
	case r := <-h.closedCh(sid):
		return r
	case <-time.After(5 * time.Second):
		t.Fatalf("no OnClose for %s", sid)
		return ""
	}
}

func (h *echoHandler) OnOpen(s *Session) {
	h.mu.Lock()
	h.opened = append(h.opened, s)
	h.mu.Unlock()
}

func (h *echoHandler) OnMessage(s *Session, data []byte, binary bool) {
	switch {
	case binary:
		s.SendBinary(data)
	case string(data) == "close-me":
		s.Close()
	default:
		s.Send(data)
	}
}

func (h *echoHandler) OnClose(s *Session, reason string) {
	h.closedCh(s.ID()) <- reason
	h.closeCh <- reason
}

func (h *echoHandler) waitClose(t *testing.T) string {
	t.Helper()
	select {
	case r := <-h.closeCh:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no OnClose")
		return ""
	}
}

// testConfig is the conformance suites' configuration.
func testConfig() Config {
	return Config{
		Path:              "/engine.io/",
		PingInterval:      300 * time.Millisecond,
		PingTimeout:       200 * time.Millisecond,
		MaxHTTPBufferSize: 1e6,
	}
}

// quietConfig is testConfig with heartbeats too slow to fire during a test
// that is not about them: on a loaded machine (CI runs packages in
// parallel under -race) a 300 ms ping can land between a test's request
// and the answer it reads, or a 200 ms pong deadline pass while the test
// waits.
func quietConfig() Config {
	c := testConfig()
	c.PingInterval, c.PingTimeout = 25*time.Second, 20*time.Second
	return c
}

func startServer(t testing.TB, cfg Config, h Handler, setup ...func(*Server)) (*Server, string) {
	t.Helper()
	srv := NewServer()
	srv.NumLoops = 2
	srv.Handle(cfg, h)
	for _, f := range setup {
		f(srv)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv, "http://" + srv.Addr().String()
}

// rawRequest sends raw bytes on a fresh TCP connection and returns the
// response status, headers and body.
func rawRequest(t *testing.T, addr, req string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading response to %q: %v", req, err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func post(t *testing.T, url, ctype, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, ctype, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func handshake(t *testing.T, base string) string {
	t.Helper()
	code, body, hdr := get(t, base+"/engine.io/?EIO=4&transport=polling")
	if code != 200 {
		t.Fatalf("handshake: %d %s", code, body)
	}
	if ct := hdr.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Fatalf("content-type %q", ct)
	}
	var sid string
	if _, err := fmt.Sscanf(body, `0{"sid":"%20s`, &sid); err != nil {
		t.Fatalf("handshake body %q: %v", body, err)
	}
	if !strings.HasPrefix(body, `0{"sid":"`+sid+`","upgrades":["websocket"],"pingInterval":`) {
		t.Fatalf("handshake: %s", body)
	}
	return sid
}

func TestHandshakePolling(t *testing.T) {
	_, base := startServer(t, testConfig(), newEcho())
	sid := handshake(t, base)
	if len(sid) != 20 {
		t.Fatalf("sid %q", sid)
	}
	// The exact handshake of the suites' configuration (PROTOCOL.md §4).
	code, body, _ := get(t, base+"/engine.io/?EIO=4&transport=polling")
	want := `0{"sid":"` + body[9:29] + `","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`
	if code != 200 || body != want {
		t.Fatalf("handshake\n got %s\nwant %s", body, want)
	}
	// Text, UTF-8 and binary echo in one payload (E32: byte lengths).
	code, body = post(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid, "text/plain;charset=UTF-8", "4héllo €\x1e4🎉\x1ebAQIDBA==")
	if code != 200 || body != "ok" {
		t.Fatalf("post: %d %q", code, body)
	}
	code, body, _ = get(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid)
	if code != 200 || body != "4héllo €\x1e4🎉\x1ebAQIDBA==" {
		t.Fatalf("poll: %d %q", code, body)
	}
}

// TestErrorAnswers pins the reference's exact error answers (PROTOCOL.md §6).
func TestErrorAnswers(t *testing.T) {
	_, base := startServer(t, testConfig(), newEcho())
	addr := strings.TrimPrefix(base, "http://")
	cases := []struct {
		name   string
		method string
		query  string
		status int
		body   string
	}{
		{"no transport", "GET", "EIO=4", 400, `{"code":0,"message":"Transport unknown"}`},
		{"bad transport", "GET", "EIO=4&transport=tobi", 400, `{"code":0,"message":"Transport unknown"}`},
		{"transport beats EIO", "GET", "EIO=abc&transport=tobi", 400, `{"code":0,"message":"Transport unknown"}`},
		{"unknown sid", "GET", "EIO=4&transport=polling&sid=nope", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"post handshake", "POST", "EIO=4&transport=polling", 400, `{"code":2,"message":"Bad handshake method"}`},
		{"put handshake", "PUT", "EIO=4&transport=polling", 400, `{"code":2,"message":"Bad handshake method"}`},
		{"websocket on plain GET", "GET", "EIO=4&transport=websocket", 400, `{"code":3,"message":"Bad request"}`},
		{"missing EIO", "GET", "transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"EIO 3", "GET", "EIO=3&transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"EIO abc", "GET", "EIO=abc&transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawRequest(t, addr, tc.method+" /engine.io/?"+tc.query+" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
			if resp.StatusCode != tc.status || body != tc.body {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, tc.status, tc.body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("content-type %q", ct)
			}
		})
	}
}

func TestPollingSessionRules(t *testing.T) {
	h := newEcho()
	cfg := testConfig()
	cfg.PingInterval, cfg.PingTimeout = 5*time.Second, 5*time.Second
	_, base := startServer(t, cfg, h)
	addr := strings.TrimPrefix(base, "http://")

	t.Run("413 over maxHttpBufferSize, session kept", func(t *testing.T) {
		sid := handshake(t, base)
		big := "4" + strings.Repeat("a", 1e6) // 1e6+1 bytes
		code, _ := post(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid, "text/plain", big)
		if code != 413 {
			t.Fatalf("got %d", code)
		}
		exact := "4" + strings.Repeat("a", 1e6-1) // exactly the limit (E24)
		if code, body := post(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid, "text/plain", exact); code != 200 || body != "ok" {
			t.Fatalf("exact limit: %d %q", code, body)
		}
		code, body, _ := get(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid)
		if code != 200 || body != exact {
			t.Fatalf("poll after 413: %d, %d bytes", code, len(body))
		}
	})
	t.Run("octet-stream POST closes the session", func(t *testing.T) {
		sid := handshake(t, base)
		code, body := post(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid, "application/octet-stream", "4x")
		if code != 400 || body != "" {
			t.Fatalf("got %d %q", code, body)
		}
		if r := h.waitCloseOf(t, sid); r != "transport error" {
			t.Fatalf("reason %q", r)
		}
		code, body, _ = get(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid)
		if code != 400 || body != `{"code":1,"message":"Session ID unknown"}` {
			t.Fatalf("after: %d %s", code, body)
		}
	})
	t.Run("other method with sid gets 500", func(t *testing.T) {
		sid := handshake(t, base)
		resp, body := rawRequest(t, addr, "DELETE /engine.io/?EIO=4&transport=polling&sid="+sid+" HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 500 || body != "" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
	})
	t.Run("client ping is a parse error", func(t *testing.T) {
		sid := handshake(t, base)
		post(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid, "text/plain", "2")
		if r := h.waitCloseOf(t, sid); r != "parse error" {
			t.Fatalf("reason %q", r)
		}
	})
	t.Run("close packet mid-payload", func(t *testing.T) {
		sid := handshake(t, base)
		code, _ := post(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid, "text/plain", "4a\x1e1\x1e4b")
		if code != 200 {
			t.Fatalf("got %d", code)
		}
		if r := h.waitCloseOf(t, sid); r != "transport close" {
			t.Fatalf("reason %q", r)
		}
	})
	t.Run("duplicate GET", func(t *testing.T) {
		sid := handshake(t, base)
		type result struct {
			code int
			body string
		}
		results := make(chan result, 2)
		for i := 0; i < 2; i++ {
			go func() {
				code, body, _ := get(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid)
				results <- result{code, body}
			}()
		}
		a, b := <-results, <-results
		if a.code == 400 {
			a, b = b, a
		}
		if a != (result{200, "1"}) || b != (result{400, ""}) {
			t.Fatalf("duplicate GETs got %v and %v", a, b)
		}
		if r := h.waitCloseOf(t, sid); r != "transport error" {
			t.Fatalf("reason %q", r)
		}
	})
	t.Run("server close reaches the next GET", func(t *testing.T) {
		sid := handshake(t, base)
		post(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid, "text/plain", "4close-me")
		if r := h.waitCloseOf(t, sid); r != "forced close" {
			t.Fatalf("reason %q", r)
		}
		if code, body, _ := get(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid); code != 200 || body != "1" {
			t.Fatalf("GET after close: %d %q", code, body)
		}
		if code, _, _ := get(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid); code != 400 {
			t.Fatalf("GET after the close packet: %d", code)
		}
	})
}

func TestKeepAliveAndPipelining(t *testing.T) {
	_, base := startServer(t, testConfig(), newEcho())
	addr := strings.TrimPrefix(base, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	// Three requests in one write: two errors and a handshake.
	req := "GET /engine.io/?EIO=4 HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /engine.io/?transport=polling HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"
	// Split the write in odd places too.
	for i := 0; i < len(req); i += 7 {
		end := min(i+7, len(req))
		if _, err := io.WriteString(c, req[i:end]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	br := bufio.NewReader(c)
	wantStatus := []int{400, 400, 200}
	for i, w := range wantStatus {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != w {
			t.Fatalf("response %d: %d %s", i, resp.StatusCode, b)
		}
	}
}

func TestHeadTooLarge(t *testing.T) {
	cfg := testConfig()
	cfg.MaxHeaderBytes = 1024
	_, base := startServer(t, cfg, newEcho())
	addr := strings.TrimPrefix(base, "http://")
	resp, _ := rawRequest(t, addr, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 2000)+"\r\n\r\n")
	if resp.StatusCode != 431 {
		t.Fatalf("got %d", resp.StatusCode)
	}
}

func TestCORSAndCookieAndAllowRequest(t *testing.T) {
	cfg := testConfig()
	cfg.CORS = &CORS{Origins: []string{"https://good.example"}, Credentials: true}
	cfg.Cookie = &Cookie{HTTPOnly: true}
	cfg.AllowRequest = func(r *Request) error {
		if r.Header.Get("X-Deny") != "" {
			return fmt.Errorf("denied by test")
		}
		return nil
	}
	_, base := startServer(t, cfg, newEcho())
	addr := strings.TrimPrefix(base, "http://")

	resp, _ := rawRequest(t, addr, "OPTIONS /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nOrigin: https://good.example\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://good.example" ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" || resp.Header.Get("Access-Control-Allow-Headers") != "content-type" ||
		resp.Header.Get("Access-Control-Allow-Methods") == "" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body := rawRequest(t, addr, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nOrigin: https://good.example\r\n\r\n")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://good.example" {
		t.Fatalf("handshake CORS: %d %v", resp.StatusCode, resp.Header)
	}
	ck := resp.Header.Get("Set-Cookie")
	if !strings.HasPrefix(ck, "io=") || !strings.Contains(body, ck[3:23]) || !strings.Contains(ck, "HttpOnly") {
		t.Fatalf("cookie %q for %s", ck, body)
	}
	resp, _ = rawRequest(t, addr, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n\r\n")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin allowed: %v", resp.Header)
	}
	resp, body = rawRequest(t, addr, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-Deny: 1\r\n\r\n")
	if resp.StatusCode != 403 || body != `{"code":4,"message":"denied by test"}` {
		t.Fatalf("allowRequest: %d %s", resp.StatusCode, body)
	}
}

func TestFallbackHandler(t *testing.T) {
	_, base := startServer(t, testConfig(), newEcho(), func(s *Server) {
		s.Fallback = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/hello" {
				http.NotFound(w, r)
				return
			}
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "hello %s %s", r.URL.Query().Get("name"), b)
		})
	})
	resp, err := http.Post(base+"/hello?name=go", "text/plain", strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hello go body" {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}
	if code, _, _ := get(t, base+"/nope"); code != 404 {
		t.Fatalf("got %d", code)
	}
}

func TestDefaultNotFound(t *testing.T) {
	_, base := startServer(t, testConfig(), newEcho())
	// "/engine.io" without the slash is not routed (PROTOCOL.md §1, E16).
	if code, _, _ := get(t, base+"/engine.io?EIO=4&transport=polling"); code != 404 {
		t.Fatalf("got %d", code)
	}
}

// TestFallbackHeadKeepsLength: a HEAD answer carries the length of the GET
// answer, as the handler declared it.
func TestFallbackHeadKeepsLength(t *testing.T) {
	_, base := startServer(t, testConfig(), newEcho(), func(s *Server) {
		s.Fallback = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.ServeContent(w, r, "page.html", time.Unix(1e9, 0), strings.NewReader("<html>hello</html>"))
		})
	})
	resp, err := http.Head(base + "/page.html")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ContentLength != int64(len("<html>hello</html>")) {
		t.Fatalf("HEAD Content-Length %d", resp.ContentLength)
	}
}
