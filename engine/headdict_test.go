package engine

import (
	"net"
	"reflect"
	"testing"

	"github.com/riptide-io/riptide/internal/http1"
)

// Heads that clients really send (captured from each client's code or a
// capture), plus edge cases.
var sampleHeads = map[string]string{
	"gobwas": wsHandshakeHead,
	"node-ws": "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Connection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nHost: localhost:3000\r\n\r\n",
	"chrome-upgrade": "GET /socket.io/?EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\n" +
		"Host: localhost:3000\r\nConnection: Upgrade\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
		"Upgrade: websocket\r\nOrigin: http://localhost:3000\r\nSec-WebSocket-Version: 13\r\n" +
		"Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n" +
		"Cookie: io=AAAAAAAAAAAAAAAAAAAA\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
	"chrome-polling": "GET /socket.io/?EIO=4&transport=polling&t=PAbc123 HTTP/1.1\r\n" +
		"Host: localhost:3000\r\nConnection: keep-alive\r\nAccept: */*\r\n" +
		"Sec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\n" +
		"Referer: http://localhost:3000/\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n\r\n",
	"other path": "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n\r\n",
	"lower case": "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n",
	// Keys that are not the canonical base64 of 16 bytes stay as sent.
	"odd keys": "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25j\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\nSec-WebSocket-Key:  dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
	"no space": "GET /socket.io/?EIO=4 HTTP/1.1\r\nHost:x\r\nX-Empty:\r\nX-Tab: \ta\r\nX: \xff\xfe obs-text\r\n\r\n",
	"post":     "POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 0\r\n\r\n",
}

// wsHandshake is the upgrade request of bench/client (gobwas/ws): what
// the bench "conns" scenario sends.
const wsHandshake = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" +
	"Host: 127.0.0.1:3000\r\n" +
	"Upgrade: websocket\r\n" +
	"Connection: Upgrade\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"

const wsHandshakeHead = wsHandshake

// TestHeadDictRoundTrip: compaction is lossless, and it pays on the heads
// clients send.
func TestHeadDictRoundTrip(t *testing.T) {
	d := newHeadDict("/socket.io/")
	for name, head := range sampleHeads {
		c, ok := d.compact(nil, []byte(head))
		if !ok {
			t.Fatalf("%s: not compacted", name)
		}
		if got := string(d.expand(nil, string(c))); got != head {
			t.Fatalf("%s: round trip\n got %q\nwant %q", name, got, head)
		}
		t.Logf("%-14s %4d -> %4d bytes", name, len(head), len(c))
	}
	// With its Host learned (the first head an endpoint sees), the bench
	// client's head takes 22 bytes: with the 20-byte sid and a 6-byte IPv4
	// address, a session's string fits the 48-byte size class.
	fresh := newHeadDict("/socket.io/")
	if c, _ := fresh.compact(nil, []byte(wsHandshakeHead)); len(c) > 22 {
		t.Errorf("the bench client's head compacts to %d bytes, want at most 22", len(c))
	}
	// A head with a token byte (never from internal/http1) is refused.
	if _, ok := d.compact(nil, []byte("GET / HTTP/1.1\r\nX: \x01\r\n\r\n")); ok {
		t.Error("a head with a control byte was compacted")
	}
}

// FuzzHeadDict: for every head internal/http1 accepts, expand(compact(h))
// is h.
func FuzzHeadDict(f *testing.F) {
	for _, h := range sampleHeads {
		f.Add([]byte(h))
	}
	d := newHeadDict("/socket.io/")
	f.Fuzz(func(t *testing.T, head []byte) {
		if len(head) > 8192 {
			return
		}
		var req http1.Request
		if http1.Parse(head, &req, len(head)+1) != nil {
			return
		}
		head = head[:req.HeadLen]
		c, ok := d.compact(nil, head)
		if !ok {
			t.Fatalf("an accepted head was not compacted: %q", head)
		}
		if got := d.expand(nil, string(c)); string(got) != string(head) {
			t.Fatalf("round trip\n got %q\nwant %q", got, head)
		}
	})
}

// TestSessionRequest: a session's Request, rebuilt from its stored head on
// each call, is the one the head gives, and the remote address is
// net.Addr's String.
func TestSessionRequest(t *testing.T) {
	srv := NewServer()
	ep := srv.Handle(Config{}, &nopHandler{})
	for name, head := range sampleHeads {
		for _, addr := range []net.Addr{
			&net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 5555},
			&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 443},
			&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 1, Zone: "eth0"},
			&net.TCPAddr{},
			&net.UnixAddr{Name: "/tmp/s", Net: "unix"},
		} {
			l := &Loop{srv: srv}
			l.wheel.init()
			l.rng = newTestRNG()
			cn := &conn{gc: &fakeConn{addr: addr}, loop: l}
			s := ep.newSession(cn, []byte(head), transportWebSocket)
			if len(s.ID()) != 20 {
				t.Fatalf("sid %q", s.ID())
			}
			want := parseRequestHead([]byte(head), addr.String())
			got := s.Request()
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s %v: Request\n got %+v\nwant %+v", name, addr, got, want)
			}
			// Parsed on each call (a session keeps no header map): equal,
			// and not shared, so that a caller's changes stay its own.
			if again := s.Request(); again == got || !reflect.DeepEqual(again, want) {
				t.Fatal("a second Request is not a fresh, equal parse")
			}
		}
	}
}

// TestHeadDictLearnsHost: the first Host line becomes a token; heads that
// name another host keep theirs; both expand back exactly.
func TestHeadDictLearnsHost(t *testing.T) {
	d := newHeadDict("/socket.io/")
	head := func(host string) []byte {
		return []byte("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\n\r\n")
	}
	first, _ := d.compact(nil, head("chat.example.com"))
	second, _ := d.compact(nil, head("chat.example.com"))
	other, _ := d.compact(nil, head("other.example.com"))
	if want := len(first); len(second) != want || want != 3 {
		t.Errorf("compacted sizes %d and %d, want 3 (request line, learned Host and Upgrade tokens; the blank line is implied)", len(first), len(second))
	}
	if len(other) <= len(second)+len("other.example.com")-1 {
		t.Errorf("a head naming another host compacted to %d bytes: it cannot use the learned line", len(other))
	}
	for _, c := range []struct {
		host string
		b    []byte
	}{{"chat.example.com", first}, {"chat.example.com", second}, {"other.example.com", other}} {
		if got := string(d.expand(nil, string(c.b))); got != string(head(c.host)) {
			t.Errorf("expand: %q, want %q", got, head(c.host))
		}
	}
}
