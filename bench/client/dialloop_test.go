package client

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// runHandshakes runs h until stopAt says so (checked after every result),
// failing the test when Run does not return within 10 s of that.
func runHandshakes(t *testing.T, h *HandshakeLoop, stopAt func(ok, failed int) bool) (ok int, errs []error) {
	t.Helper()
	var stopped bool
	check := func() {
		if !stopped && stopAt(ok, len(errs)) {
			stopped = true
			h.Stop()
		}
	}
	h.OnHandshake = func(lat time.Duration) {
		if lat <= 0 {
			errs = append(errs, errors.New("latency <= 0"))
		}
		ok++
		check()
	}
	h.OnError = func(err error) {
		errs = append(errs, err)
		check()
	}
	done := make(chan error, 1)
	go func() { done <- h.Run() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		h.Stop()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after Stop")
		}
		t.Fatalf("no stop after 20 s: %d handshakes, %d errors", ok, len(errs))
	}
	return ok, errs
}

// serverConns asks the in-process server for its connection count (the
// asking connection included) until it is want.
func serverConns(t *testing.T, url string, want int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var st struct {
		Connections int `json:"connections"`
	}
	for ctx.Err() == nil {
		raw, err := c.Call(ctx, "stats")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatalf("stats %s: %v", raw, err)
		}
		if st.Connections == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the server has %d connections, want %d", st.Connections, want)
}

// TestHandshakeLoop completes 500 handshakes against Riptide on 8 slots:
// no error, and the server is left with no connection of them.
func TestHandshakeLoop(t *testing.T) {
	url := startServer(t)
	h, err := NewHandshakeLoop(url, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ok, errs := runHandshakes(t, h, func(ok, failed int) bool { return ok >= 500 || failed > 0 })
	if len(errs) > 0 || ok < 500 {
		t.Fatalf("%d handshakes, errors %v", ok, errs)
	}
	// The handshakes in flight at Stop completed too.
	if ok > 500+8 {
		t.Errorf("%d handshakes after a stop at 500 on 8 slots", ok)
	}
	serverConns(t, url, 1)
}

// TestHandshakeLoopRefused: a closed port gives errors, promptly, and Stop
// still ends Run.
func TestHandshakeLoopRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	h, err := NewHandshakeLoop("http://"+addr, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ok, errs := runHandshakes(t, h, func(ok, failed int) bool { return ok+failed >= 40 })
	if ok != 0 || len(errs) < 40 {
		t.Fatalf("%d handshakes, %d errors", ok, len(errs))
	}
	for _, err := range errs {
		if !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("error %v", err)
		}
	}
}

// TestHandshakeLoopTimeout: a server that accepts and says nothing makes
// the handshakes time out.
func TestHandshakeLoopTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held sync.WaitGroup
	held.Add(1)
	go func() {
		defer held.Done()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	h, err := NewHandshakeLoop("http://"+ln.Addr().String(), 3)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	h.Timeout = 100 * time.Millisecond
	start := time.Now()
	ok, errs := runHandshakes(t, h, func(ok, failed int) bool { return failed >= 6 })
	if ok != 0 || len(errs) < 6 {
		t.Fatalf("%d handshakes, errors %v", ok, errs)
	}
	for _, err := range errs {
		if !errors.Is(err, ErrHandshakeTimeout) || !strings.Contains(err.Error(), "waiting for the upgrade") {
			t.Fatalf("error %v", err)
		}
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("6 timeouts of 100 ms on 3 slots in %v", d)
	}
	_ = ln.Close()
	held.Wait()
}

// TestHandshakeLoopPings: a server that pings (WebSocket and Engine.IO)
// between the OPEN and the CONNECT gets its pong and its "3", and the
// handshake completes; a wrong Sec-WebSocket-Accept fails one.
func TestHandshakeLoopPings(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var n atomic.Int32
	serverErr := make(chan error, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if n.Add(1) == 1 {
					// The first gets a bad accept.
					buf := make([]byte, 1024)
					_, _ = c.Read(buf)
					_, _ = c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
						"Connection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n"))
					_, _ = c.Read(buf)
					return
				}
				if _, err := ws.Upgrade(c); err != nil {
					serverErr <- err
					return
				}
				send := func(op ws.OpCode, p string) {
					_ = ws.WriteFrame(c, ws.NewFrame(op, true, []byte(p)))
				}
				send(ws.OpText, `0{"sid":"e1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
				send(ws.OpPing, "hi")
				send(ws.OpText, "2")
				var got []string
				for len(got) < 3 {
					f, err := ws.ReadFrame(c)
					if err != nil {
						serverErr <- err
						return
					}
					if f.Header.Masked {
						ws.Cipher(f.Payload, f.Header.Mask, 0)
					}
					op := map[ws.OpCode]string{ws.OpText: "text", ws.OpPong: "pong"}[f.Header.OpCode]
					got = append(got, op+":"+string(f.Payload))
				}
				if strings.Join(got, " ") != "text:40 pong:hi text:3" {
					serverErr <- errors.New("client sent " + strings.Join(got, " "))
					return
				}
				send(ws.OpText, `40{"sid":"s1"}`)
				buf := make([]byte, 64)
				if k, err := c.Read(buf); k != 0 || err == nil {
					serverErr <- errors.New("the client did not close")
				}
			}()
		}
	}()
	h, err := NewHandshakeLoop("ws://"+ln.Addr().String(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ok, errs := runHandshakes(t, h, func(ok, failed int) bool { return ok >= 3 })
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "Sec-WebSocket-Accept") {
		t.Errorf("errors %v", errs)
	}
	if ok != 3 {
		t.Errorf("%d handshakes", ok)
	}
	select {
	case err := <-serverErr:
		t.Fatal(err)
	default:
	}
}

// TestHandshakeLoopSYNDropped: a listener whose accept queue is full drops
// the SYNs, so connect(2) does not complete and the request waits for
// EPOLLOUT: those handshakes time out while connecting.
func TestHandshakeLoopSYNDropped(t *testing.T) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil { // never accepted
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandshakeLoop("http://127.0.0.1:"+strconv.Itoa(sa.(*unix.SockaddrInet4).Port), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	h.Timeout = 100 * time.Millisecond
	connecting := 0
	ok, errs := runHandshakes(t, h, func(ok, failed int) bool { return failed >= 8 })
	for _, err := range errs {
		if !errors.Is(err, ErrHandshakeTimeout) {
			t.Fatalf("error %v", err)
		}
		if strings.Contains(err.Error(), "waiting for the connect") {
			connecting++
		}
	}
	if ok != 0 || connecting == 0 {
		t.Fatalf("%d handshakes, errors %v", ok, errs)
	}
}
