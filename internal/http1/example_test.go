package http1_test

import (
	"errors"
	"fmt"

	"github.com/riptide-io/riptide/internal/http1"
)

func ExampleParse() {
	buf := []byte("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" +
		"Host: localhost:3000\r\n" +
		"Connection: Upgrade\r\n" +
		"Upgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"\r\n")

	var req http1.Request
	// The head arrives in pieces: until it is whole, Parse asks for more.
	fmt.Println(http1.Parse(buf[:40], &req, 0) == http1.ErrNeedMore)

	if err := http1.Parse(buf, &req, 0); err != nil {
		panic(err)
	}
	eio, _ := http1.QueryValue(req.RawQuery, "EIO")
	transport, _ := http1.QueryValue(req.RawQuery, "transport")
	fmt.Printf("%s %s EIO=%s transport=%s upgrade=%v\n", req.Method, req.Path, eio, transport, req.IsUpgrade)
	if http1.ValidWebSocketKey(req.SecWebSocketKey) {
		accept := http1.AppendAcceptKey(nil, req.SecWebSocketKey)
		fmt.Printf("Sec-WebSocket-Accept: %s\n", accept)
	}
	// Output:
	// true
	// GET /socket.io/ EIO=4 transport=websocket upgrade=true
	// Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
}

func ExampleError() {
	var req http1.Request
	err := http1.Parse([]byte("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"), &req, 0)

	var he *http1.Error
	if errors.As(err, &he) {
		fmt.Println(he.Status, he.Reason, errors.Is(err, http1.ErrBadRequest))
		fmt.Printf("%q\n", he.Response())
	}
	// Output:
	// 400 both Transfer-Encoding and Content-Length true
	// "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
}

func ExampleDecodeChunked() {
	body := []byte("6\r\n4hello\r\n8\r\n\x1e42[\"a\"]\r\n0\r\n\r\nGET /next HTTP/1.1\r\n")
	payload, n, err := http1.DecodeChunked(body, nil, 1_000_000)
	fmt.Printf("%q %d %v\n", payload, n, err)
	fmt.Printf("%q\n", body[n:])
	// Output:
	// "4hello\x1e42[\"a\"]" 29 <nil>
	// "GET /next HTTP/1.1\r\n"
}

func ExampleQueryValue() {
	q := []byte("EIO=4&transport=polling&t=P1a2b3c&name=J%C3%BCrgen+M")
	v, ok := http1.QueryValue(q, "name")
	name, err := http1.Unescape(nil, v)
	fmt.Printf("%s %v %s %v\n", v, ok, name, err)
	// Output:
	// J%C3%BCrgen+M true Jürgen M <nil>
}
