package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// waitLoop waits up to 10 s for the Run of l started with done to return;
// past that it stops l and fails with why().
func waitLoop(t *testing.T, l *Loop, done <-chan error, why func() string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		l.Stop()
		<-done
		t.Fatal(why())
	}
}

// dialLoop dials n detached connections and adds them to a new loop.
func dialLoop(t *testing.T, url string, n int) *Loop {
	t.Helper()
	l, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range n {
		c, err := Dial(ctx, url, Options{Detached: true})
		if err != nil {
			t.Fatal(err)
		}
		lc, err := l.Add(c)
		if err != nil {
			t.Fatal(err)
		}
		if lc.Index != i || lc.Handshake().SID == "" {
			t.Fatalf("conn %d: index %d, handshake %+v", i, lc.Index, lc.Handshake())
		}
		// c is done: the loop owns the socket.
		select {
		case <-c.Done():
		default:
			t.Fatal("Add left the Conn open")
		}
		if _, err := l.Add(c); !errors.Is(err, ErrNotDetached) {
			t.Fatalf("second Add: %v", err)
		}
		_ = c.Close()
	}
	return l
}

// TestLoopEcho runs closed loops of echoes on 20 connections for longer
// than several heartbeats: every reply must match, none may be lost, and no
// connection may end (the loop answers the pings).
func TestLoopEcho(t *testing.T) {
	url := startServer(t)
	const conns = 20
	l := dialLoop(t, url, conns)
	type state struct {
		want    []byte
		id      int64
		replies int
	}
	st := make([]state, conns)
	var (
		failures []string
		stopping = make(chan struct{})
		stopped  bool
	)
	payload := func(c *LoopConn, n int) []byte {
		// Sizes on both sides of the 125- and 65535-byte frame limits (the
		// largest on one connection only: a server under -race falls
		// behind its own heartbeat when all send them).
		size := []int{1, 100, 200, 3000}[(c.Index+n)%4]
		if c.Index == 0 && n%4 == 3 {
			size = 70000
		}
		return []byte(`"` + strconv.Itoa(c.Index) + ":" + strings.Repeat("x", size) + `"`)
	}
	fire := func(c *LoopConn) {
		s := &st[c.Index]
		s.want = payload(c, s.replies)
		var err error
		if s.id, err = c.EmitAck("echo", s.want); err != nil {
			failures = append(failures, err.Error())
		}
	}
	l.OnAck = func(c *LoopConn, id int64, args []byte) {
		s := &st[c.Index]
		if id != s.id || !bytes.Equal(args, s.want) {
			failures = append(failures, "conn "+strconv.Itoa(c.Index)+": ack "+strconv.FormatInt(id, 10)+" "+string(trim(args)))
		}
		s.replies++
		select {
		case <-stopping:
			if !stopped {
				stopped = true
				l.Stop()
			}
		default:
			fire(c)
		}
	}
	l.OnClose = func(c *LoopConn, err error) {
		failures = append(failures, "conn "+strconv.Itoa(c.Index)+" closed: "+err.Error())
	}
	for _, c := range l.Conns() {
		fire(c)
	}
	done := make(chan error, 1)
	go func() { done <- l.Run() }()
	time.Sleep(500 * time.Millisecond) // five ping intervals
	close(stopping)
	waitLoop(t, l, done, func() string { return "no ack after stopping" })
	if len(failures) > 0 {
		t.Fatalf("%d failures: %v", len(failures), failures[:min(25, len(failures))])
	}
	total := 0
	for i, s := range st {
		if s.replies < 4 {
			t.Errorf("conn %d: %d replies", i, s.replies)
		}
		total += s.replies
	}
	for _, c := range l.Conns() {
		if c.Closed() {
			t.Errorf("conn %d closed", c.Index)
		}
	}
	t.Logf("%d echoes", total)
}

// TestLoopEventsAndClose checks events, a write that the socket does not
// take at once (a small send buffer: the rest waits for EPOLLOUT), and
// OnClose when the server disconnects.
func TestLoopEventsAndClose(t *testing.T) {
	url := startServer(t)
	l := dialLoop(t, url, 2)
	a, b := l.Conns()[0], l.Conns()[1]
	if err := unix.SetsockoptInt(a.fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4096); err != nil {
		t.Fatal(err)
	}
	big := []byte(`"` + strings.Repeat("y", 300_000) + `"`)
	var (
		events []string
		acks   int
		closed []string
	)
	l.OnEvent = func(c *LoopConn, ev *Event) {
		events = append(events, strconv.Itoa(c.Index)+" "+string(ev.Name)+" "+strconv.Itoa(len(ev.Args)))
	}
	l.OnAck = func(c *LoopConn, id int64, args []byte) {
		acks++
		if c != a || id != 0 || len(args) != 0 {
			t.Errorf("ack on %d: %d %q", c.Index, id, trim(args))
		}
		// Now b says bye: the server closes it.
		if err := b.Emit("bye"); err != nil {
			t.Error(err)
		}
	}
	l.OnClose = func(c *LoopConn, err error) {
		closed = append(closed, strconv.Itoa(c.Index)+": "+err.Error())
		if !errors.Is(err, ErrClosed) {
			t.Errorf("close error %v", err)
		}
		l.Stop()
	}
	if _, err := a.EmitAck("push", big); err != nil {
		t.Fatal(err)
	}
	if len(a.out) == 0 {
		t.Error("the socket took the whole frame at once: EPOLLOUT not exercised")
	}
	done := make(chan error, 1)
	go func() { done <- l.Run() }()
	waitLoop(t, l, done, func() string { return fmt.Sprintf("timeout: events %v, acks %d, closed %v", events, acks, closed) })
	if len(events) != 1 || events[0] != "0 msg "+strconv.Itoa(len(big)) || acks != 1 {
		t.Fatalf("events %v, acks %d", events, acks)
	}
	if len(closed) != 1 || !strings.HasPrefix(closed[0], "1: ") || !b.Closed() || a.Closed() {
		t.Fatalf("closed %v", closed)
	}
	if err := b.Emit("x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("emit on a closed conn: %v", err)
	}
}

// runTicks runs an empty loop with Tick every and OnTick onTick for d and
// returns how many ticks it ran.
func runTicks(t *testing.T, every, d time.Duration, onTick func(n int)) int {
	t.Helper()
	l, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	ticks := 0
	l.Tick = every
	l.OnTick = func() {
		ticks++
		if onTick != nil {
			onTick(ticks)
		}
	}
	done := make(chan error, 1)
	go func() { done <- l.Run() }()
	time.Sleep(d)
	l.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	l.Close()
	return ticks
}

// TestLoopTick: with Tick set, OnTick runs on the loop about every Tick,
// with no connection and nothing to read.
func TestLoopTick(t *testing.T) {
	// 40 in theory; a loaded machine delays some, never adds any.
	if n := runTicks(t, 5*time.Millisecond, 200*time.Millisecond, nil); n < 10 || n > 42 {
		t.Fatalf("%d ticks in 200 ms at one per 5 ms", n)
	}
}

// TestLoopSlowTick: a tick that outlasts several periods leaves the next
// one in the past; the loop must go on ticking (a negative epoll_wait
// timeout would block it until something else woke it).
func TestLoopSlowTick(t *testing.T) {
	n := runTicks(t, time.Millisecond, 200*time.Millisecond, func(n int) {
		if n == 1 {
			time.Sleep(5 * time.Millisecond)
		}
	})
	if n < 10 {
		t.Fatalf("%d ticks in 200 ms after a slow first one: the loop stopped ticking", n)
	}
}
