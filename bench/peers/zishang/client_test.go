// Copied from bench/server/client_test.go (a minimal Socket.IO-over-WebSocket
// test client). The only change: dial waits, after the CONNECT reply, until
// the server has registered the socket (awaitRegistered, main_test.go), to
// step around a race of zishang520/socket.io v3.0.6 (see README.md).

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// callTimeout bounds every wait of the test client.
const callTimeout = 15 * time.Second

// event is a Socket.IO EVENT the server sent: its name and its arguments,
// decoded as encoding/json decodes into any (numbers are float64), binary
// attachments as []byte.
type event struct {
	name string
	args []any
}

// sioClient is a minimal Socket.IO v5 client over a raw Engine.IO v4
// WebSocket (no polling, namespace "/" only). A reader goroutine answers
// pings, routes ACKs to the waiting call and queues EVENTs in order.
type sioClient struct {
	t    testing.TB
	conn net.Conn
	r    io.Reader

	// sid is the Socket.IO socket id from the CONNECT reply.
	sid string

	wmu sync.Mutex // one frame at a time on conn

	mu     sync.Mutex
	nextID int
	acks   map[int]chan []any

	events chan event
	done   chan struct{} // closed when the reader stops
	err    error         // why the reader stopped; read after done
}

// dial connects to a server at addr (host:port): the WebSocket handshake
// on /socket.io/?EIO=4&transport=websocket, the Engine.IO OPEN, then the
// Socket.IO CONNECT to "/". The connection is closed at the test's end.
func dial(t testing.TB, addr string) *sioClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, "ws://"+addr+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c := &sioClient{
		t:      t,
		conn:   conn,
		r:      conn,
		acks:   map[int]chan []any{},
		events: make(chan event, 1<<16),
		done:   make(chan struct{}),
	}
	if br != nil {
		c.r = io.MultiReader(br, conn)
	}
	t.Cleanup(c.close)

	_ = conn.SetReadDeadline(time.Now().Add(callTimeout))
	open, err := c.readText()
	if err != nil || !strings.HasPrefix(open, "0{") {
		t.Fatalf("engine.io open: %q, %v", open, err)
	}
	var hs struct {
		SID          string `json:"sid"`
		PingInterval int    `json:"pingInterval"`
	}
	if err := json.Unmarshal([]byte(open[1:]), &hs); err != nil || hs.SID == "" || hs.PingInterval <= 0 {
		t.Fatalf("engine.io open %q: %v", open, err)
	}
	c.send("40")
	for {
		m, err := c.readText()
		if err != nil {
			t.Fatalf("socket.io connect: %v", err)
		}
		if m == "2" { // a ping before the CONNECT reply
			c.send("3")
			continue
		}
		if !strings.HasPrefix(m, "40{") {
			t.Fatalf("socket.io connect: got %q, want 40{...}", m)
		}
		var con struct {
			SID string `json:"sid"`
		}
		if err := json.Unmarshal([]byte(m[2:]), &con); err != nil || con.SID == "" {
			t.Fatalf("socket.io connect %q: %v", m, err)
		}
		c.sid = con.SID
		break
	}
	awaitRegistered(t, addr, c.sid)
	_ = conn.SetReadDeadline(time.Time{})
	go c.readLoop()
	return c
}

// close closes the connection and waits for the reader.
func (c *sioClient) close() {
	_ = c.conn.Close()
	<-c.done
}

// readFrame reads one complete WebSocket message (reassembling fragments,
// answering WebSocket pings), returning its opcode and payload.
func (c *sioClient) readFrame() (ws.OpCode, []byte, error) {
	var (
		op  ws.OpCode
		buf []byte
	)
	for {
		f, err := ws.ReadFrame(c.r)
		if err != nil {
			return 0, nil, err
		}
		if f.Header.Masked {
			ws.Cipher(f.Payload, f.Header.Mask, 0)
		}
		switch f.Header.OpCode {
		case ws.OpPing:
			c.writeFrame(ws.OpPong, f.Payload)
			continue
		case ws.OpPong:
			continue
		case ws.OpClose:
			return 0, nil, fmt.Errorf("websocket closed by the server: %q", f.Payload)
		case ws.OpContinuation:
			buf = append(buf, f.Payload...)
		default:
			op, buf = f.Header.OpCode, append(buf[:0], f.Payload...)
		}
		if f.Header.Fin {
			return op, buf, nil
		}
	}
}

// readText reads one text message (used before the reader starts).
func (c *sioClient) readText() (string, error) {
	op, p, err := c.readFrame()
	if err != nil {
		return "", err
	}
	if op != ws.OpText {
		return "", fmt.Errorf("got a binary message %q, want text", p)
	}
	return string(p), nil
}

// writeFrame writes one masked client frame, whole, under the write lock.
func (c *sioClient) writeFrame(op ws.OpCode, p []byte) {
	var b bytes.Buffer
	if err := wsutil.WriteClientMessage(&b, op, p); err != nil {
		c.t.Errorf("encode frame: %v", err)
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, _ = c.conn.Write(b.Bytes())
}

// send writes one Engine.IO text message ("40", "3", "42[...]").
func (c *sioClient) send(msg string) { c.writeFrame(ws.OpText, []byte(msg)) }

// pendingBinary is a BINARY_EVENT or BINARY_ACK waiting for its attachments.
type pendingBinary struct {
	ack  bool
	id   int
	data []byte
	n    int
	atts [][]byte
}

// readLoop reads until the connection ends: it answers Engine.IO pings,
// hands ACKs to their call and queues EVENTs.
func (c *sioClient) readLoop() {
	defer close(c.done)
	var pend *pendingBinary
	for {
		op, p, err := c.readFrame()
		if err != nil {
			c.err = err
			return
		}
		if op == ws.OpBinary {
			if pend == nil {
				c.err = fmt.Errorf("binary message without a pending binary packet")
				return
			}
			pend.atts = append(pend.atts, p)
			if len(pend.atts) == pend.n {
				if err := c.dispatch(pend.ack, pend.id, pend.data, pend.atts); err != nil {
					c.err = err
					return
				}
				pend = nil
			}
			continue
		}
		if err := c.onText(p, &pend); err != nil {
			c.err = err
			return
		}
	}
}

// onText handles one Engine.IO text message.
func (c *sioClient) onText(p []byte, pend **pendingBinary) error {
	if len(p) == 0 {
		return fmt.Errorf("empty engine.io packet")
	}
	switch p[0] {
	case '2': // ping
		c.send("3")
		return nil
	case '6': // noop
		return nil
	case '1':
		return fmt.Errorf("engine.io close")
	case '4':
	default:
		return fmt.Errorf("unexpected engine.io packet %q", p)
	}
	pkt := p[1:]
	if len(pkt) == 0 {
		return fmt.Errorf("empty socket.io packet")
	}
	typ, rest := pkt[0], pkt[1:]
	n := 0
	if typ == '5' || typ == '6' {
		dash := bytes.IndexByte(rest, '-')
		if dash < 0 {
			return fmt.Errorf("binary packet without count: %q", pkt)
		}
		var err error
		if n, err = strconv.Atoi(string(rest[:dash])); err != nil || n < 1 {
			return fmt.Errorf("bad attachment count in %q", pkt)
		}
		rest = rest[dash+1:]
	}
	if len(rest) > 0 && rest[0] == '/' {
		return fmt.Errorf("packet for another namespace: %q", pkt)
	}
	id := -1
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i > 0 {
		id, _ = strconv.Atoi(string(rest[:i]))
	}
	data := rest[i:]
	switch typ {
	case '1':
		return fmt.Errorf("disconnected by the server")
	case '2', '3':
		return c.dispatch(typ == '3', id, data, nil)
	case '5', '6':
		*pend = &pendingBinary{ack: typ == '6', id: id, data: append([]byte(nil), data...), n: n}
		return nil
	default:
		return fmt.Errorf("unexpected socket.io packet %q", pkt)
	}
}

// dispatch decodes an EVENT or ACK's JSON array (placeholders replaced by
// the attachments) and delivers it.
func (c *sioClient) dispatch(ack bool, id int, data []byte, atts [][]byte) error {
	var arr []any
	if err := json.Unmarshal(data, &arr); err != nil {
		return fmt.Errorf("packet data %q: %v", data, err)
	}
	for i := range arr {
		arr[i] = resolve(arr[i], atts)
	}
	if ack {
		c.mu.Lock()
		ch := c.acks[id]
		delete(c.acks, id)
		c.mu.Unlock()
		if ch == nil {
			return fmt.Errorf("ack for unknown id %d", id)
		}
		ch <- arr
		return nil
	}
	if id >= 0 {
		return fmt.Errorf("the server asked for an ack (id %d): not in the contract", id)
	}
	if len(arr) == 0 {
		return fmt.Errorf("event without a name: %q", data)
	}
	name, ok := arr[0].(string)
	if !ok {
		return fmt.Errorf("event name not a string: %q", data)
	}
	c.events <- event{name: name, args: arr[1:]}
	return nil
}

// resolve replaces binary placeholders in v by their attachments.
func resolve(v any, atts [][]byte) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = resolve(x[i], atts)
		}
	case map[string]any:
		if ph, _ := x["_placeholder"].(bool); ph {
			if num, ok := x["num"].(float64); ok && int(num) >= 0 && int(num) < len(atts) {
				return atts[int(num)]
			}
		}
		for k, e := range x {
			x[k] = resolve(e, atts)
		}
	}
	return v
}

// encode builds the Socket.IO packet for `event` with args and ack id
// (-1: none), replacing []byte values by placeholders: it returns the text
// message and the attachments.
func encode(event string, id int, args []any) (string, [][]byte) {
	var atts [][]byte
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case []byte:
			atts = append(atts, x)
			return map[string]any{"_placeholder": true, "num": len(atts) - 1}
		case []any:
			out := make([]any, len(x))
			for i := range x {
				out[i] = walk(x[i])
			}
			return out
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, e := range x {
				out[k] = walk(e)
			}
			return out
		}
		return v
	}
	arr := []any{event}
	for _, a := range args {
		arr = append(arr, walk(a))
	}
	data, err := json.Marshal(arr)
	if err != nil {
		panic(err)
	}
	var b strings.Builder
	b.WriteByte('4') // engine.io message
	if len(atts) > 0 {
		fmt.Fprintf(&b, "5%d-", len(atts))
	} else {
		b.WriteByte('2')
	}
	if id >= 0 {
		b.WriteString(strconv.Itoa(id))
	}
	b.Write(data)
	return b.String(), atts
}

// write sends a packet and its attachments.
func (c *sioClient) write(msg string, atts [][]byte) {
	c.wmu.Lock() // keep the attachments right after their packet
	defer c.wmu.Unlock()
	var b bytes.Buffer
	_ = wsutil.WriteClientMessage(&b, ws.OpText, []byte(msg))
	for _, a := range atts {
		_ = wsutil.WriteClientMessage(&b, ws.OpBinary, a)
	}
	if _, err := c.conn.Write(b.Bytes()); err != nil {
		c.t.Errorf("write: %v", err)
	}
}

// emit sends event with args, asking for no ack.
func (c *sioClient) emit(event string, args ...any) {
	c.write(encode(event, -1, args))
}

// call sends event with args and an ack id, and returns the ack's
// arguments; it fails the test after callTimeout.
func (c *sioClient) call(event string, args ...any) []any {
	c.t.Helper()
	c.mu.Lock()
	id := c.nextID
	c.nextID++
	ch := make(chan []any, 1)
	c.acks[id] = ch
	c.mu.Unlock()
	c.write(encode(event, id, args))
	select {
	case reply := <-ch:
		return reply
	case <-c.done:
		c.t.Fatalf("%s: connection ended before the ack: %v", event, c.err)
	case <-time.After(callTimeout):
		c.t.Fatalf("%s: no ack within %v", event, callTimeout)
	}
	return nil
}

// next returns the next event the server sent; it fails the test after
// callTimeout.
func (c *sioClient) next() event {
	c.t.Helper()
	select {
	case e := <-c.events:
		return e
	default:
	}
	select {
	case e := <-c.events:
		return e
	case <-c.done:
		select {
		case e := <-c.events:
			return e
		default:
		}
		c.t.Fatalf("connection ended while waiting for an event: %v", c.err)
	case <-time.After(callTimeout):
		c.t.Fatalf("no event within %v", callTimeout)
	}
	return event{}
}

// expect returns the next event, failing the test unless it is named name.
func (c *sioClient) expect(name string) event {
	c.t.Helper()
	e := c.next()
	if e.name != name {
		c.t.Fatalf("got event %q %v, want %q", e.name, e.args, name)
	}
	return e
}

// barrier proves that nothing is queued for the client: it sends echo
// without an ack and checks that the very next event is the echo reply.
// On both servers every message already emitted towards this client is
// written before that reply (Node: one thread; Riptide: the loop's queue
// is FIFO and the emits were handed to it before the reply's request).
func (c *sioClient) barrier() {
	c.t.Helper()
	tok := fmt.Sprintf("barrier-%d", time.Now().UnixNano())
	c.emit("echo", tok)
	e := c.next()
	if e.name != "echo" || len(e.args) != 1 || e.args[0] != tok {
		c.t.Fatalf("got event %q %v before the barrier echo: the client received something it should not have", e.name, e.args)
	}
}
