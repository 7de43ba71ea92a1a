package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// sioConn is a minimal Socket.IO v5 client over Engine.IO v4 WebSocket: the
// default namespace, text packets, events and acknowledgements. It is what
// the client mode needs and a readable account of the wire protocol:
//
//	ws://host/socket.io/?EIO=4&transport=websocket
//	<- 0{"sid":...,"pingInterval":...}    Engine.IO OPEN
//	-> 40                                   Socket.IO CONNECT to "/"
//	<- 40{"sid":...}                        connected
//	<- 2 / -> 3                             Engine.IO ping / pong
//	-> 42["event",args...]                  an EVENT
//	-> 4212["event",args...]                an EVENT asking for ack 12
//	<- 4312[reply...]                       the ACK of 12
type sioConn struct {
	nc  net.Conn
	br  *bufio.Reader
	sid string

	wmu sync.Mutex // one frame at a time

	amu     sync.Mutex
	nextAck uint64
	acks    map[uint64]func(args []json.RawMessage, err error)

	onEvent func(name string, args []json.RawMessage) // reader goroutine
	done    chan struct{}
	err     error // why the reader stopped; read after done
}

var errConnClosed = errors.New("connection closed")

// dialSocketIO connects to base ("http://127.0.0.1:8081"), joins the default
// namespace and starts reading; onEvent receives every event on the reader
// goroutine (args are the event's arguments as raw JSON, the caller's to keep).
func dialSocketIO(ctx context.Context, base string, onEvent func(name string, args []json.RawMessage)) (*sioConn, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return nil, fmt.Errorf("url %q: want http://host:port", base)
	}
	u.Path, u.RawQuery = "/socket.io/", "EIO=4&transport=websocket"
	nc, hbr, _, err := ws.Dial(ctx, u.String())
	if err != nil {
		return nil, err
	}
	var r io.Reader = nc
	if hbr != nil { // the server's first frame arrived with the 101 response
		r = io.MultiReader(hbr, nc)
	}
	c := &sioConn{
		nc:      nc,
		br:      bufio.NewReaderSize(r, 32<<10),
		acks:    map[uint64]func([]json.RawMessage, error){},
		onEvent: onEvent,
		done:    make(chan struct{}),
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	if err := c.handshake(); err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	go c.readLoop()
	return c, nil
}

func (c *sioConn) handshake() error {
	p, err := c.readPacket()
	if err != nil {
		return fmt.Errorf("engine.io open: %w", err)
	}
	if !strings.HasPrefix(p, "0{") {
		return fmt.Errorf("engine.io open: got %.60q", p)
	}
	if err := c.write("40"); err != nil {
		return err
	}
	for {
		p, err := c.readPacket()
		if err != nil {
			return fmt.Errorf("socket.io connect: %w", err)
		}
		switch {
		case p == "2":
			_ = c.write("3")
		case strings.HasPrefix(p, "40"):
			var ok struct {
				SID string `json:"sid"`
			}
			if err := json.Unmarshal([]byte(p[2:]), &ok); err != nil || ok.SID == "" {
				return fmt.Errorf("socket.io connect: got %.60q", p)
			}
			c.sid = ok.SID
			return nil
		case strings.HasPrefix(p, "44"):
			return fmt.Errorf("socket.io connect refused: %s", p[2:])
		default:
			return fmt.Errorf("socket.io connect: unexpected %.60q", p)
		}
	}
}

// readPacket reads one WebSocket data message: one Engine.IO packet. It
// answers WebSocket control frames (ping, close) on the way.
func (c *sioConn) readPacket() (string, error) {
	b, op, err := wsutil.ReadServerData(struct {
		io.Reader
		io.Writer
	}{c.br, lockedWriter{c}})
	if err != nil {
		return "", err
	}
	if op != ws.OpText {
		return "", fmt.Errorf("unexpected binary frame (%d bytes)", len(b))
	}
	return string(b), nil
}

type lockedWriter struct{ c *sioConn }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.c.wmu.Lock()
	defer w.c.wmu.Unlock()
	return w.c.nc.Write(p)
}

func (c *sioConn) write(pkt string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return wsutil.WriteClientText(c.nc, []byte(pkt))
}

func (c *sioConn) readLoop() {
	defer close(c.done)
	defer c.failAcks()
	for {
		p, err := c.readPacket()
		if err != nil {
			c.err = err
			return
		}
		if err := c.handle(p); err != nil {
			c.err = err
			c.nc.Close()
			return
		}
	}
}

func (c *sioConn) handle(p string) error {
	switch {
	case p == "2": // Engine.IO ping
		return c.write("3")
	case p == "1": // Engine.IO close
		return errConnClosed
	case strings.HasPrefix(p, "42"): // EVENT, maybe with an ack id we ignore
		arr, err := splitArray(skipDigits(p[2:]))
		if err != nil || len(arr) == 0 {
			return fmt.Errorf("bad event %.80q", p)
		}
		name, err := eventName(arr[0])
		if err != nil {
			return fmt.Errorf("bad event name %.80q", p)
		}
		if c.onEvent != nil {
			c.onEvent(name, arr[1:])
		}
	case strings.HasPrefix(p, "43"): // ACK
		rest := p[2:]
		data := skipDigits(rest)
		id, err := strconv.ParseUint(rest[:len(rest)-len(data)], 10, 64)
		if err != nil {
			return fmt.Errorf("bad ack %.80q", p)
		}
		arr, err := splitArray(data)
		if err != nil {
			return fmt.Errorf("bad ack %.80q", p)
		}
		c.amu.Lock()
		cb := c.acks[id]
		delete(c.acks, id)
		c.amu.Unlock()
		if cb != nil {
			cb(arr, nil)
		}
	case strings.HasPrefix(p, "41"): // DISCONNECT from the server
		return errors.New("disconnected by the server")
	}
	return nil
}

// splitArray splits a JSON array into its elements' raw JSON, in one pass
// and without decoding them (the client mode reads tens of thousands of
// events a second). Elements are checked by whoever decodes them.
func splitArray(s string) ([]json.RawMessage, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, errors.New("not a JSON array")
	}
	var out []json.RawMessage
	depth, inStr, esc, start := 0, false, false, 1
	for i := 1; i < len(s)-1; i++ {
		ch := s[i]
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case ch == '\\':
				esc = true
			case ch == '"':
				inStr = false
			}
		case ch == '"':
			inStr = true
		case ch == '[' || ch == '{':
			depth++
		case ch == ']' || ch == '}':
			depth--
		case ch == ',' && depth == 0:
			out = append(out, json.RawMessage(strings.TrimSpace(s[start:i])))
			start = i + 1
		}
	}
	if inStr || depth != 0 {
		return nil, errors.New("unbalanced JSON array")
	}
	if last := strings.TrimSpace(s[start : len(s)-1]); last != "" {
		out = append(out, json.RawMessage(last))
	} else if len(out) > 0 {
		return nil, errors.New("trailing comma")
	}
	return out, nil
}

// eventName decodes an event name, without a JSON decoder when it has no
// escapes.
func eventName(raw json.RawMessage) (string, error) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && !bytes.ContainsAny(raw[1:len(raw)-1], `"\\`) {
		return string(raw[1 : len(raw)-1]), nil
	}
	var name string
	err := json.Unmarshal(raw, &name)
	return name, err
}

func skipDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[i:]
}

func (c *sioConn) failAcks() {
	c.amu.Lock()
	acks := c.acks
	c.acks = nil
	c.amu.Unlock()
	for _, cb := range acks {
		cb(nil, errConnClosed)
	}
}

func encodeEvent(prefix, event string, args []any) (string, error) {
	arr := append([]any{event}, args...)
	b, err := json.Marshal(arr)
	if err != nil {
		return "", err
	}
	return prefix + string(b), nil
}

// emitAck sends an event; cb receives the acknowledgement's arguments on the
// reader goroutine, or errConnClosed.
func (c *sioConn) emitAck(event string, cb func(args []json.RawMessage, err error), args ...any) error {
	c.amu.Lock()
	if c.acks == nil {
		c.amu.Unlock()
		return errConnClosed
	}
	c.nextAck++
	id := c.nextAck
	c.acks[id] = cb
	c.amu.Unlock()
	pkt, err := encodeEvent("42"+strconv.FormatUint(id, 10), event, args)
	if err == nil {
		err = c.write(pkt)
	}
	if err != nil {
		c.amu.Lock()
		delete(c.acks, id)
		c.amu.Unlock()
	}
	return err
}

// call sends an event and waits for its acknowledgement, decoding the
// acknowledgement's first argument into reply.
func (c *sioConn) call(ctx context.Context, event string, reply any, args ...any) error {
	type result struct {
		args []json.RawMessage
		err  error
	}
	ch := make(chan result, 1)
	err := c.emitAck(event, func(args []json.RawMessage, err error) { ch <- result{args, err} }, args...)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return fmt.Errorf("%s: no acknowledgement: %w", event, ctx.Err())
	case r := <-ch:
		if r.err != nil {
			return r.err
		}
		if len(r.args) == 0 {
			return fmt.Errorf("%s: empty acknowledgement", event)
		}
		if reply != nil {
			return json.Unmarshal(r.args[0], reply)
		}
		return nil
	}
}

// close closes the connection and waits for the reader to stop.
func (c *sioConn) close() {
	c.nc.Close()
	<-c.done
}
