package http1

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Requests as real clients send them.
const (
	// Chrome 126 opening the Socket.IO WebSocket transport.
	reqChromeUpgrade = "GET /socket.io/?EIO=4&transport=websocket&sid=Lbo5JLzTotvW3g2LAAAA HTTP/1.1\r\n" +
		"Host: localhost:3000\r\n" +
		"Connection: Upgrade\r\n" +
		"Pragma: no-cache\r\n" +
		"Cache-Control: no-cache\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36\r\n" +
		"Upgrade: websocket\r\n" +
		"Origin: http://localhost:3000\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
		"Accept-Language: en-US,en;q=0.9\r\n" +
		"Cookie: io=Lbo5JLzTotvW3g2LAAAA\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
		"\r\n"
	// Node's ws client (socket.io-client in Node).
	reqNodeWSUpgrade = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n" +
		"Connection: Upgrade\r\n" +
		"Upgrade: websocket\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
		"Host: localhost:3000\r\n" +
		"\r\n"
	// A browser's long-polling GET (engine.io-client XHR).
	reqPollingGET = "GET /socket.io/?EIO=4&transport=polling&t=P1a2b3c HTTP/1.1\r\n" +
		"Host: localhost:3000\r\n" +
		"Connection: keep-alive\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36\r\n" +
		"Accept: */*\r\n" +
		"Origin: http://localhost:8080\r\n" +
		"Referer: http://localhost:8080/\r\n" +
		"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
		"Accept-Language: en-US,en;q=0.9\r\n" +
		"\r\n"
	// A polling POST carrying two packets.
	reqPollingPOSTHead = "POST /socket.io/?EIO=4&transport=polling&t=P1a2b3d&sid=Lbo5JLzTotvW3g2LAAAA HTTP/1.1\r\n" +
		"Host: localhost:3000\r\n" +
		"Connection: keep-alive\r\n" +
		"Content-Length: 14\r\n" +
		"Content-Type: text/plain;charset=UTF-8\r\n" +
		"Accept: */*\r\n" +
		"Origin: http://localhost:8080\r\n" +
		"\r\n"
	reqPollingPOSTBody = "4hello\x1e42[\"a\"]"
	// A chunked POST (Node http client without Content-Length).
	reqChunkedPOSTHead = "POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\n" +
		"Host: localhost:3000\r\n" +
		"Transfer-Encoding: chunked\r\n" +
		"Content-Type: text/plain;charset=UTF-8\r\n" +
		"\r\n"
	reqChunkedPOSTBody = "6\r\n4hello\r\n8;ext=1\r\n\x1e42[\"a\"]\r\n0\r\n\r\n"
)

// view renders every exported field of r, nil and empty kept apart, so that
// two parses can be compared and a failure shows what differs.
func view(r *Request) string {
	var sb strings.Builder
	v := reflect.ValueOf(r).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fmt.Fprintf(&sb, "%s=", f.Name)
		switch x := v.Field(i).Interface().(type) {
		case []byte:
			if x == nil {
				sb.WriteString("<nil>")
			} else {
				fmt.Fprintf(&sb, "%q", x)
			}
		case []Header:
			for _, h := range x {
				fmt.Fprintf(&sb, "[%q: %q]", h.Name, h.Value)
			}
		default:
			fmt.Fprintf(&sb, "%v", x)
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

type want struct {
	method, uri, path, query string
	minor                    int
	host                     string
	cl                       int64
	chunked, keepAlive, upg  bool
	fields                   map[string]string // Request field name -> value ("<nil>" for nil)
	nHeaders                 int
}

func parseOK(t *testing.T, in string) *Request {
	t.Helper()
	r := new(Request)
	if err := Parse([]byte(in), r, 0); err != nil {
		t.Fatalf("Parse(%q) = %v", in, err)
	}
	return r
}

func field(r *Request, name string) string {
	v := reflect.ValueOf(r).Elem().FieldByName(name)
	if !v.IsValid() {
		panic("no field " + name)
	}
	b := v.Interface().([]byte)
	if b == nil {
		return "<nil>"
	}
	return string(b)
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want want
	}{
		{"chrome upgrade", reqChromeUpgrade, want{
			method: "GET", uri: "/socket.io/?EIO=4&transport=websocket&sid=Lbo5JLzTotvW3g2LAAAA",
			path: "/socket.io/", query: "EIO=4&transport=websocket&sid=Lbo5JLzTotvW3g2LAAAA",
			minor: 1, host: "localhost:3000", cl: -1, keepAlive: true, upg: true, nHeaders: 13,
			fields: map[string]string{
				"Origin":                 "http://localhost:3000",
				"Upgrade":                "websocket",
				"Connection":             "Upgrade",
				"SecWebSocketKey":        "dGhlIHNhbXBsZSBub25jZQ==",
				"SecWebSocketVersion":    "13",
				"SecWebSocketExtensions": "permessage-deflate; client_max_window_bits",
				"SecWebSocketProtocol":   "<nil>",
				"Cookie":                 "io=Lbo5JLzTotvW3g2LAAAA",
				"AcceptEncoding":         "gzip, deflate, br, zstd",
				"UserAgent":              "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
				"ContentType":            "<nil>",
			},
		}},
		{"node ws upgrade", reqNodeWSUpgrade, want{
			method: "GET", uri: "/socket.io/?EIO=4&transport=websocket", path: "/socket.io/",
			query: "EIO=4&transport=websocket", minor: 1, host: "localhost:3000", cl: -1,
			keepAlive: true, upg: true, nHeaders: 6,
			fields: map[string]string{
				"SecWebSocketKey": "x3JJHMbDL1EzLkh9GBhXDw==",
				"Origin":          "<nil>",
				"UserAgent":       "<nil>",
			},
		}},
		{"polling GET", reqPollingGET, want{
			method: "GET", uri: "/socket.io/?EIO=4&transport=polling&t=P1a2b3c", path: "/socket.io/",
			query: "EIO=4&transport=polling&t=P1a2b3c", minor: 1, host: "localhost:3000", cl: -1,
			keepAlive: true, nHeaders: 8,
			fields: map[string]string{"Origin": "http://localhost:8080", "Connection": "keep-alive", "Upgrade": "<nil>"},
		}},
		{"polling POST", reqPollingPOSTHead, want{
			method: "POST", uri: "/socket.io/?EIO=4&transport=polling&t=P1a2b3d&sid=Lbo5JLzTotvW3g2LAAAA",
			path: "/socket.io/", query: "EIO=4&transport=polling&t=P1a2b3d&sid=Lbo5JLzTotvW3g2LAAAA",
			minor: 1, host: "localhost:3000", cl: 14, keepAlive: true, nHeaders: 6,
			fields: map[string]string{"ContentType": "text/plain;charset=UTF-8"},
		}},
		{"chunked POST", reqChunkedPOSTHead, want{
			method: "POST", uri: "/socket.io/?EIO=4&transport=polling&sid=x", path: "/socket.io/",
			query: "EIO=4&transport=polling&sid=x", minor: 1, host: "localhost:3000", cl: -1,
			chunked: true, keepAlive: true, nHeaders: 3,
		}},
		{"HTTP/1.0 no host", "GET / HTTP/1.0\r\n\r\n", want{
			method: "GET", uri: "/", path: "/", minor: 0, cl: -1,
			fields: map[string]string{"Host": "<nil>", "RawQuery": "<nil>"},
		}},
		{"empty host, empty query", "GET /a? HTTP/1.1\r\nHost:\r\n\r\n", want{
			method: "GET", uri: "/a?", path: "/a", minor: 1, keepAlive: true, cl: -1, nHeaders: 1,
			fields: map[string]string{"Host": "", "RawQuery": ""},
		}},
		{"OWS trimmed, tabs", "GET / HTTP/1.1\r\nHost: \t a.b \t\r\nOrigin:x\r\nCookie:  a=1; b=2  \r\n\r\n", want{
			method: "GET", uri: "/", path: "/", minor: 1, host: "a.b", cl: -1, keepAlive: true, nHeaders: 3,
			fields: map[string]string{"Origin": "x", "Cookie": "a=1; b=2"},
		}},
		{"case-insensitive names", "POST /x HTTP/1.1\r\nhOsT: h\r\nCONTENT-LENGTH: 0\r\ncontent-type: a/b\r\nsec-websocket-key: k\r\nSEC-WEBSOCKET-VERSION: 13\r\nx-FORWARDED-for: 1.2.3.4\r\nUSER-agent: u\r\nACCESS-CONTROL-REQUEST-METHOD: POST\r\naccess-control-request-headers: x-a\r\nexpect: 100-continue\r\nSec-Websocket-Protocol: p\r\n\r\n", want{
			method: "POST", uri: "/x", path: "/x", minor: 1, host: "h", cl: 0, keepAlive: true, nHeaders: 11,
			fields: map[string]string{
				"ContentType": "a/b", "SecWebSocketKey": "k", "SecWebSocketVersion": "13",
				"XForwardedFor": "1.2.3.4", "UserAgent": "u", "AccessControlRequestMethod": "POST",
				"AccessControlRequestHeaders": "x-a", "Expect": "100-continue", "SecWebSocketProtocol": "p",
			},
		}},
		{"first value wins", "GET / HTTP/1.1\r\nHost: h\r\nOrigin: a\r\nOrigin: b\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n\r\n", want{
			method: "GET", uri: "/", path: "/", minor: 1, host: "h", cl: -1, keepAlive: true, nHeaders: 5,
			fields: map[string]string{"Origin": "a", "XForwardedFor": "1.1.1.1"},
		}},
		{"identical duplicate Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 42\r\ncontent-length:42 \r\n\r\n", want{
			method: "POST", uri: "/", path: "/", minor: 1, host: "h", cl: 42, keepAlive: true, nHeaders: 3,
		}},
		{"max Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775807\r\n\r\n", want{
			method: "POST", uri: "/", path: "/", minor: 1, host: "h", cl: 9223372036854775807, keepAlive: true, nHeaders: 2,
		}},
		{"leading zeros Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n", want{
			method: "POST", uri: "/", path: "/", minor: 1, host: "h", cl: 7, keepAlive: true, nHeaders: 2,
		}},
		{"chunked any case", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ChUnKeD\r\n\r\n", want{
			method: "POST", uri: "/", path: "/", minor: 1, host: "h", cl: -1, chunked: true, keepAlive: true, nHeaders: 2,
		}},
		{"trailer ok when not chunked", "GET / HTTP/1.1\r\nHost: h\r\nTrailer: Content-Length\r\n\r\n", want{
			method: "GET", uri: "/", path: "/", minor: 1, host: "h", cl: -1, keepAlive: true, nHeaders: 2,
		}},
		{"chunked with harmless trailer", "POST / HTTP/1.1\r\nHost: h\r\nTrailer: X-Checksum\r\nTransfer-Encoding: chunked\r\n\r\n", want{
			method: "POST", uri: "/", path: "/", minor: 1, host: "h", cl: -1, chunked: true, keepAlive: true, nHeaders: 3,
		}},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", want{
			method: "OPTIONS", uri: "*", path: "*", minor: 1, host: "h", cl: -1, keepAlive: true, nHeaders: 1,
		}},
		{"absolute-form", "GET http://example.com:8080/socket.io/?EIO=4 HTTP/1.1\r\nHost: ignored\r\n\r\n", want{
			method: "GET", uri: "http://example.com:8080/socket.io/?EIO=4", path: "/socket.io/", query: "EIO=4",
			minor: 1, host: "example.com:8080", cl: -1, keepAlive: true, nHeaders: 1,
		}},
		{"absolute-form https no path", "GET HTTPS://a.b?x=1 HTTP/1.1\r\nHost: a.b\r\n\r\n", want{
			method: "GET", uri: "HTTPS://a.b?x=1", path: "", query: "x=1", minor: 1, host: "a.b", cl: -1, keepAlive: true, nHeaders: 1,
		}},
		{"absolute-form IPv6", "GET http://[::1]:80/ HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", want{
			method: "GET", uri: "http://[::1]:80/", path: "/", minor: 1, host: "[::1]:80", cl: -1, keepAlive: true, nHeaders: 1,
		}},
		{"extension method, odd but legal bytes", "M-SEARCH /%41%e2%82%ac/?q=%zz#frag HTTP/1.1\r\nHost: h\r\nX-Obs: caf\xc3\xa9\r\nX!#$%&'*+-.^_`|~1: v\r\n\r\n", want{
			method: "M-SEARCH", uri: "/%41%e2%82%ac/?q=%zz#frag", path: "/%41%e2%82%ac/", query: "q=%zz#frag",
			minor: 1, host: "h", cl: -1, keepAlive: true, nHeaders: 3,
		}},
		{"firefox upgrade", "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: WebSocket\r\n\r\n", want{
			method: "GET", uri: "/socket.io/?EIO=4&transport=websocket", path: "/socket.io/", query: "EIO=4&transport=websocket",
			minor: 1, host: "h", cl: -1, keepAlive: true, upg: true, nHeaders: 3,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := parseOK(t, tt.in)
			w := tt.want
			check := func(name, got, want string) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			check("Method", string(r.Method), w.method)
			check("URI", string(r.URI), w.uri)
			check("Path", string(r.Path), w.path)
			check("RawQuery", string(r.RawQuery), w.query)
			check("Host", string(r.Host), w.host)
			if r.ProtoMinor != w.minor || r.ContentLength != w.cl || r.Chunked != w.chunked ||
				r.KeepAlive != w.keepAlive || r.IsUpgrade != w.upg {
				t.Errorf("minor=%d cl=%d chunked=%v keepAlive=%v upgrade=%v, want %d %d %v %v %v",
					r.ProtoMinor, r.ContentLength, r.Chunked, r.KeepAlive, r.IsUpgrade,
					w.minor, w.cl, w.chunked, w.keepAlive, w.upg)
			}
			if len(r.Headers) != w.nHeaders {
				t.Errorf("len(Headers) = %d, want %d", len(r.Headers), w.nHeaders)
			}
			if r.HeadLen != len(tt.in) {
				t.Errorf("HeadLen = %d, want %d", r.HeadLen, len(tt.in))
			}
			for name, v := range w.fields {
				check(name, field(r, name), v)
			}
		})
	}
}

// TestParseHeadersInOrder checks Headers keeps every line, as sent.
func TestParseHeadersInOrder(t *testing.T) {
	r := parseOK(t, reqNodeWSUpgrade)
	want := [][2]string{
		{"Sec-WebSocket-Version", "13"},
		{"Sec-WebSocket-Key", "x3JJHMbDL1EzLkh9GBhXDw=="},
		{"Connection", "Upgrade"},
		{"Upgrade", "websocket"},
		{"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"},
		{"Host", "localhost:3000"},
	}
	for i, h := range r.Headers {
		if string(h.Name) != want[i][0] || string(h.Value) != want[i][1] {
			t.Errorf("Headers[%d] = %q: %q, want %q: %q", i, h.Name, h.Value, want[i][0], want[i][1])
		}
	}
	if got := string(r.Get("SEC-websocket-KEY")); got != "x3JJHMbDL1EzLkh9GBhXDw==" {
		t.Errorf("Get = %q", got)
	}
	if r.Get("Accept") != nil {
		t.Error("Get of an absent header is not nil")
	}
}

// TestParseSplit feeds each request cut at every byte: every proper prefix is
// ErrNeedMore, and the whole gives the same result as a one-shot parse.
func TestParseSplit(t *testing.T) {
	for _, in := range []string{
		reqChromeUpgrade, reqNodeWSUpgrade, reqPollingGET, reqPollingPOSTHead, reqChunkedPOSTHead,
		"GET / HTTP/1.0\r\n\r\n",
		"GET http://[::1]:80/ HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
	} {
		whole := parseOK(t, in)
		want := view(whole)
		r := new(Request)
		for k := 0; k < len(in); k++ {
			// A fresh copy of the prefix, so reads past it would be caught by the race/ASan-free bounds check.
			if err := Parse([]byte(in[:k]), r, 0); err != ErrNeedMore {
				t.Fatalf("Parse(%q) = %v, want ErrNeedMore", in[:k], err)
			}
		}
		// Parse into a Request that holds stale state from the prefixes.
		if err := Parse([]byte(in), r, 0); err != nil {
			t.Fatal(err)
		}
		if got := view(r); got != want {
			t.Errorf("after split parses:\n%s\nwant:\n%s", got, want)
		}
		// Bytes after the head do not change the result.
		if err := Parse([]byte(in+"GET / HTTP/1.1\r\n"), r, 0); err != nil {
			t.Fatal(err)
		}
		if got := view(r); got != want {
			t.Errorf("with trailing bytes:\n%s\nwant:\n%s", got, want)
		}
	}
}

func TestParsePipelined(t *testing.T) {
	stream := reqPollingPOSTHead + reqPollingPOSTBody + reqPollingGET + reqChunkedPOSTHead + reqChunkedPOSTBody + reqNodeWSUpgrade
	b := []byte(stream)
	r := new(Request)
	var got []string
	for len(b) > 0 {
		if err := Parse(b, r, 0); err != nil {
			t.Fatalf("Parse at %q: %v", b, err)
		}
		got = append(got, string(r.Method)+" "+string(r.Path))
		b = b[r.HeadLen:]
		switch {
		case r.Chunked:
			body, n, err := DecodeChunked(b, nil, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != reqPollingPOSTBody {
				t.Errorf("chunked body = %q", body)
			}
			b = b[n:]
		case r.ContentLength > 0:
			if string(b[:r.ContentLength]) != reqPollingPOSTBody {
				t.Errorf("body = %q", b[:r.ContentLength])
			}
			b = b[r.ContentLength:]
		}
	}
	want := []string{"POST /socket.io/", "GET /socket.io/", "POST /socket.io/", "GET /socket.io/"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if !r.IsUpgrade {
		t.Error("last request is not an upgrade")
	}
}

func TestKeepAlive(t *testing.T) {
	tests := []struct {
		proto, conn string
		keep        bool
	}{
		{"HTTP/1.1", "", true},
		{"HTTP/1.1", "Connection: keep-alive\r\n", true},
		{"HTTP/1.1", "Connection: close\r\n", false},
		{"HTTP/1.1", "Connection: CLOSE\r\n", false},
		{"HTTP/1.1", "Connection: keep-alive, close\r\n", false},
		{"HTTP/1.1", "Connection: keep-alive\r\nConnection: close\r\n", false},
		{"HTTP/1.1", "Connection: closed\r\n", true},
		{"HTTP/1.1", "Connection: Upgrade\r\n", true},
		{"HTTP/1.0", "", false},
		{"HTTP/1.0", "Connection: keep-alive\r\n", true},
		{"HTTP/1.0", "Connection: Keep-Alive\r\n", true},
		{"HTTP/1.0", "Connection: foo ,\t keep-alive \r\n", true},
		{"HTTP/1.0", "Connection: keep-alive, close\r\n", false},
		{"HTTP/1.0", "Connection: close\r\nConnection: keep-alive\r\n", false},
		{"HTTP/1.0", "Connection: keepalive\r\n", false},
	}
	for _, tt := range tests {
		in := "GET / " + tt.proto + "\r\nHost: h\r\n" + tt.conn + "\r\n"
		r := parseOK(t, in)
		if r.KeepAlive != tt.keep {
			t.Errorf("%q: KeepAlive = %v, want %v", in, r.KeepAlive, tt.keep)
		}
	}
}

func TestIsUpgrade(t *testing.T) {
	tests := []struct {
		hdrs string
		upg  bool
	}{
		{"Connection: Upgrade\r\nUpgrade: websocket\r\n", true},
		{"connection: upgrade\r\nupgrade: WEBSOCKET\r\n", true},
		{"Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n", true},
		{"Connection: keep-alive\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n", true},
		{"Connection: Upgrade\r\nUpgrade: h2c, websocket\r\n", true},
		{"Connection: Upgrade\r\nUpgrade: h2c\r\n", false},
		{"Upgrade: websocket\r\n", false},
		{"Connection: Upgrade\r\n", false},
		{"Connection: Upgraded\r\nUpgrade: websocket\r\n", false},
		{"Connection: Upgrade\r\nUpgrade: websocket2\r\n", false},
	}
	for _, tt := range tests {
		in := "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: h\r\n" + tt.hdrs + "\r\n"
		if r := parseOK(t, in); r.IsUpgrade != tt.upg {
			t.Errorf("%q: IsUpgrade = %v, want %v", tt.hdrs, r.IsUpgrade, tt.upg)
		}
	}
}

func TestParseErrors(t *testing.T) {
	const h = "Host: h\r\n"
	tests := []struct {
		name string
		in   string
		err  *Error
	}{
		// Request line.
		{"empty method", " / HTTP/1.1\r\n" + h + "\r\n", errMethod},
		{"method not a token", "G(T / HTTP/1.1\r\n" + h + "\r\n", errMethod},
		{"NUL in method", "GE\x00T / HTTP/1.1\r\n" + h + "\r\n", errMethod},
		{"TLS ClientHello, before any line end", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", errMethod},
		{"leading empty line", "\r\nGET / HTTP/1.1\r\n" + h + "\r\n", errMethod},
		{"HTTP/0.9 request line", "GET /\r\n\r\n", errTarget},
		{"empty target", "GET  / HTTP/1.1\r\n" + h + "\r\n", errTarget},
		{"NUL in target", "GET /a\x00b HTTP/1.1\r\n" + h + "\r\n", errTarget},
		{"DEL in target", "GET /a\x7fb HTTP/1.1\r\n" + h + "\r\n", errTarget},
		{"tab in target", "GET /a\tb HTTP/1.1\r\n" + h + "\r\n", errTarget},
		{"relative target", "GET socket.io HTTP/1.1\r\n" + h + "\r\n", errTarget},
		{"authority-form", "CONNECT example.com:443 HTTP/1.1\r\n" + h + "\r\n", errTarget},
		{"absolute-form other scheme", "GET ws://a/ HTTP/1.1\r\n" + h + "\r\n", errTarget},
		{"absolute-form userinfo", "GET http://u@a/ HTTP/1.1\r\n" + h + "\r\n", errTarget},
		{"absolute-form empty host", "GET http:///a HTTP/1.1\r\n" + h + "\r\n", errTarget},
		{"absolute-form bad port", "GET http://a:b/ HTTP/1.1\r\n" + h + "\r\n", errTarget},
		{"absolute-form two colons", "GET http://a:1:2/ HTTP/1.1\r\n" + h + "\r\n", errTarget},
		{"absolute-form IPv4 literal", "GET http://[1.2.3.4]/ HTTP/1.1\r\n" + h + "\r\n", errTarget},
		{"bad escape in path", "GET /a%zz HTTP/1.1\r\n" + h + "\r\n", errEscape},
		{"truncated escape in path", "GET /a%4?x HTTP/1.1\r\n" + h + "\r\n", errEscape},
		{"lowercase version", "GET / http/1.1\r\n" + h + "\r\n", errVersionSyntax},
		{"version without minor", "GET / HTTP/1\r\n" + h + "\r\n", errVersionSyntax},
		{"version two digits", "GET / HTTP/1.10\r\n" + h + "\r\n", errVersionSyntax},
		{"space after version", "GET / HTTP/1.1 \r\n" + h + "\r\n", errVersionSyntax},
		{"extra field", "GET / HTTP/1.1 x\r\n" + h + "\r\n", errVersionSyntax},
		{"HTTP/2.0", "GET / HTTP/2.0\r\n" + h + "\r\n", ErrVersion},
		{"HTTP/0.9", "GET / HTTP/0.9\r\n" + h + "\r\n", ErrVersion},
		{"HTTP/1.2", "GET / HTTP/1.2\r\n" + h + "\r\n", ErrVersion},
		{"h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", ErrVersion},
		// Line endings.
		{"LF-only lines", "GET / HTTP/1.1\nHost: h\n\n", errBareLF},
		{"LF-only header line", "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", errBareLF},
		{"LF-only end of head", "GET / HTTP/1.1\r\nHost: h\r\n\n", errBareLF},
		{"bare CR in request line", "GET / HTTP/1.1\rHost: h\r\n\r\n", errBareCR},
		{"bare CR in value", "GET / HTTP/1.1\r\n" + h + "X: a\rb\r\n\r\n", errBareCR},
		{"bare CR at end of head", "GET / HTTP/1.1\r\n" + h + "\rX\r\n", errBareCR},
		// Header lines.
		{"obs-fold", "GET / HTTP/1.1\r\n" + h + "X: a\r\n b\r\n\r\n", errObsFold},
		{"obs-fold tab", "GET / HTTP/1.1\r\n" + h + "X: a\r\n\tb\r\n\r\n", errObsFold},
		{"leading whitespace on first field", "GET / HTTP/1.1\r\n " + h + "\r\n", errObsFold},
		{"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", errSpaceBeforeColn},
		{"tab before colon", "GET / HTTP/1.1\r\n" + h + "Content-Length\t: 5\r\n\r\n", errSpaceBeforeColn},
		{"no colon", "GET / HTTP/1.1\r\n" + h + "Xy\r\n\r\n", errNoColon},
		{"empty name", "GET / HTTP/1.1\r\n" + h + ": v\r\n\r\n", errFieldName},
		{"NUL in name", "GET / HTTP/1.1\r\n" + h + "X\x00: v\r\n\r\n", errFieldName},
		{"non-ASCII name", "GET / HTTP/1.1\r\n" + h + "X\xc3\xa9: v\r\n\r\n", errFieldName},
		{"separator in name", "GET / HTTP/1.1\r\n" + h + "X(y): v\r\n\r\n", errFieldName},
		{"NUL in value", "GET / HTTP/1.1\r\n" + h + "X: a\x00b\r\n\r\n", errFieldValue},
		{"DEL in value", "GET / HTTP/1.1\r\n" + h + "X: a\x7fb\r\n\r\n", errFieldValue},
		{"ESC in value", "GET / HTTP/1.1\r\n" + h + "X: a\x1bb\r\n\r\n", errFieldValue},
		{"too many fields", "GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", MaxHeaders) + h + "\r\n", errTooManyFields},
		// Host.
		{"missing Host", "GET / HTTP/1.1\r\n\r\n", errMissingHost},
		{"duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", errDuplicateHost},
		{"bad byte in Host", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", errHost},
		{"space in Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", errHost},
		{"non-ASCII Host", "GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n", errHost},
		// Content-Length.
		{"CL empty", "POST / HTTP/1.1\r\n" + h + "Content-Length:\r\n\r\n", errContentLength},
		{"CL negative", "POST / HTTP/1.1\r\n" + h + "Content-Length: -1\r\n\r\n", errContentLength},
		{"CL plus sign", "POST / HTTP/1.1\r\n" + h + "Content-Length: +1\r\n\r\n", errContentLength},
		{"CL hex", "POST / HTTP/1.1\r\n" + h + "Content-Length: 0x10\r\n\r\n", errContentLength},
		{"CL list", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5, 5\r\n\r\n", errContentLength},
		{"CL inner space", "POST / HTTP/1.1\r\n" + h + "Content-Length: 1 2\r\n\r\n", errContentLength},
		{"CL overflow 2^63", "POST / HTTP/1.1\r\n" + h + "Content-Length: 9223372036854775808\r\n\r\n", errContentLength},
		{"CL overflow 2^64", "POST / HTTP/1.1\r\n" + h + "Content-Length: 18446744073709551616\r\n\r\n", errContentLength},
		{"CL conflict", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", errCLConflict},
		{"CL conflict leading zero", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 05\r\n\r\n", errCLConflict},
		// Transfer-Encoding.
		{"CL and TE", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", errCLAndTE},
		{"TE and CL", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", errCLAndTE},
		{"CL and bad TE", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\n", errCLAndTE},
		{"TE on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", errTEOn10},
		{"TE chunked, identity", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, identity\r\n\r\n", errTransferCoding},
		{"TE gzip, chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\n\r\n", errTransferCoding},
		{"TE identity", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: identity\r\n\r\n", errTransferCoding},
		{"TE empty", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding:\r\n\r\n", errTransferCoding},
		{"TE chunked twice", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", errTECount},
		{"TE xchunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: xchunked\r\n\r\n", errTransferCoding},
		{"trailer names Content-Length", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTrailer: X, content-length\r\n\r\n", errTrailerKey},
		{"trailer names Transfer-Encoding", "POST / HTTP/1.1\r\n" + h + "Trailer: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n", errTrailerKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := new(Request)
			err := Parse([]byte(tt.in), r, 0)
			if err != tt.err {
				t.Fatalf("Parse(%q) = %v, want %v", tt.in, err, tt.err)
			}
			var he *Error
			if !errors.As(err, &he) || he.Status != tt.err.Status {
				t.Fatalf("not an *Error with status %d: %v", tt.err.Status, err)
			}
			class := map[int]error{400: ErrBadRequest, 431: ErrHeadTooLarge, 501: ErrNotImplemented, 505: ErrVersion}[he.Status]
			if !errors.Is(err, class) {
				t.Errorf("errors.Is(%v, %v) = false", err, class)
			}
		})
	}
}

func TestParseTooManyFieldsBoundary(t *testing.T) {
	in := "GET / HTTP/1.1\r\n" + h64() + "\r\n"
	r := parseOK(t, in)
	if len(r.Headers) != MaxHeaders {
		t.Fatalf("len(Headers) = %d", len(r.Headers))
	}
}

func h64() string {
	return "Host: h\r\n" + strings.Repeat("X-A: b\r\n", MaxHeaders-1)
}

func TestParseMaxHead(t *testing.T) {
	head := "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: h\r\nCookie: " + strings.Repeat("c", 200) + "\r\n\r\n"
	n := len(head)
	r := new(Request)
	// Exactly maxHead fits, with or without bytes after it.
	for _, in := range []string{head, head + "GET / HTTP/1.1\r\n"} {
		if err := Parse([]byte(in), r, n); err != nil || r.HeadLen != n {
			t.Fatalf("maxHead = len(head): %v, HeadLen %d", err, r.HeadLen)
		}
	}
	// One byte less: 431 whether the terminator is there or not.
	if err := Parse([]byte(head), r, n-1); err != ErrHeadTooLarge {
		t.Errorf("complete head over maxHead: %v", err)
	}
	if err := Parse([]byte(head[:n-1]), r, n-1); err != ErrHeadTooLarge {
		t.Errorf("incomplete head reaching maxHead: %v", err)
	}
	// Slowloris: a head that never ends is refused as soon as maxHead bytes
	// are in, not buffered further; before that it is ErrNeedMore.
	endless := "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: " + strings.Repeat("a", 1000)
	if err := Parse([]byte(endless[:500]), r, 512); err != ErrNeedMore {
		t.Errorf("below maxHead: %v", err)
	}
	if err := Parse([]byte(endless[:512]), r, 512); err != ErrHeadTooLarge {
		t.Errorf("at maxHead: %v", err)
	}
	if err := Parse([]byte(endless), r, 512); err != ErrHeadTooLarge {
		t.Errorf("past maxHead: %v", err)
	}
	// A request line alone longer than maxHead.
	if err := Parse([]byte("GET /"+strings.Repeat("a", 100)), r, 64); err != ErrHeadTooLarge {
		t.Errorf("long request line: %v", err)
	}
	// maxHead <= 0 means DefaultMaxHead.
	big := "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", DefaultMaxHead) + "\r\n\r\n"
	if err := Parse([]byte(big), r, 0); err != ErrHeadTooLarge {
		t.Errorf("DefaultMaxHead: %v", err)
	}
	if err := Parse([]byte(big), r, len(big)); err != nil {
		t.Errorf("explicit larger maxHead: %v", err)
	}
	// Empty input.
	if err := Parse(nil, r, 0); err != ErrNeedMore {
		t.Errorf("nil: %v", err)
	}
}

// TestParseFailFast checks that bad bytes are refused before the head ends.
func TestParseFailFast(t *testing.T) {
	for _, in := range []string{
		"\x16\x03\x01",
		"GET /\x00",
		"GET / HTTX",
		"GET / HTTP/1.1\r\nHost: h\r\nX\x00",
		"GET / HTTP/1.1\r\nHost: h\r\nX: \x01",
		"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b",
		"GET / HTTP/1.1\r\nContent-Length: x\r\n",
	} {
		r := new(Request)
		err := Parse([]byte(in), r, 0)
		if !errors.Is(err, ErrBadRequest) {
			t.Errorf("Parse(%q) = %v, want a 400", in, err)
		}
	}
}

func TestReset(t *testing.T) {
	r := parseOK(t, reqChromeUpgrade)
	r.Reset()
	fresh := new(Request)
	fresh.Reset()
	if got, want := view(r), view(fresh); got != want {
		t.Errorf("Reset left state:\n%s\nwant:\n%s", got, want)
	}
	for i, h := range r.headers {
		if h.Name != nil || h.Value != nil {
			t.Fatalf("headers[%d] still references the input", i)
		}
	}
	if r.ContentLength != -1 {
		t.Errorf("ContentLength after Reset = %d", r.ContentLength)
	}
}

// TestAliasing checks fields alias the input and cannot be appended over it.
func TestAliasing(t *testing.T) {
	b := []byte(reqPollingGET)
	r := new(Request)
	if err := Parse(b, r, 0); err != nil {
		t.Fatal(err)
	}
	if &r.Method[0] != &b[0] {
		t.Error("Method does not alias the input")
	}
	_ = append(r.Method, 'X')
	_ = append(r.Host, 'X')
	_ = append(r.Headers[0].Name, 'X')
	if string(b) != reqPollingGET {
		t.Error("appending to a field overwrote the input")
	}
}

func TestErrorResponse(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{ErrBadRequest, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
		{errObsFold, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
		{ErrHeadTooLarge, "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
		{errTooManyFields, "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
		{ErrBodyTooLarge, "HTTP/1.1 413 Request Entity Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
		{ErrNotImplemented, "HTTP/1.1 501 Not Implemented\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
		{ErrVersion, "HTTP/1.1 505 HTTP Version Not Supported\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
	}
	for _, tt := range tests {
		if got := string(tt.err.Response()); got != tt.want {
			t.Errorf("%v: Response() = %q, want %q", tt.err, got, tt.want)
		}
	}
	if errors.Is(ErrBadRequest, errObsFold) {
		t.Error("a class sentinel matches a specific error")
	}
	if errors.Is(errObsFold, ErrHeadTooLarge) {
		t.Error("a 400 matches the 431 class")
	}
	if errors.Is(ErrNeedMore, ErrBadRequest) {
		t.Error("ErrNeedMore is a 400")
	}
	if got := errCLAndTE.Error(); got != "riptide: http1: both Transfer-Encoding and Content-Length" {
		t.Errorf("Error() = %q", got)
	}
}
