package engine

import (
	"net"
	"slices"
	"testing"
	"time"
)

// TestPaceBackpressure: a goroutine posting to a loop that cannot keep up
// waits (bounded: the loop here is blocked and the posts still complete);
// the loop's own posts never wait; everything posted runs, in order.
func TestPaceBackpressure(t *testing.T) {
	srv, base := startServer(t, Config{Path: "/engine.io/"}, newEcho(), func(s *Server) { s.NumLoops = 1 })
	// A connection makes the loop exist (and learn its thread).
	c, err := net.Dial("tcp", base[len("http://"):])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for (len(srv.Loops()) == 0 || srv.Loops()[0].tid.Load() == 0) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if len(srv.Loops()) == 0 {
		t.Fatal("no loop")
	}
	l := srv.Loops()[0]

	// Block the loop, then post more than inboxHigh from this goroutine.
	blocked, release := make(chan struct{}), make(chan struct{})
	l.Post(func() { close(blocked); <-release })
	<-blocked
	const extra = 20
	var ran []int // loop-only
	before := srv.PacedPosts()
	for i := range inboxHigh + extra {
		l.Post(func() { ran = append(ran, i) })
	}
	if got := srv.PacedPosts() - before; got < extra {
		t.Errorf("%d posts over the mark waited %d times, want at least %d", extra, got, extra)
	}
	close(release)
	drained := make(chan struct{})
	l.Post(func() { close(drained) })
	<-drained

	// The loop posting to itself past the mark never waits.
	done := make(chan struct{})
	before = srv.PacedPosts()
	l.Post(func() {
		for range 2 * inboxHigh {
			l.Post(func() {})
		}
		l.Post(func() { close(done) })
	})
	<-done
	if got := srv.PacedPosts() - before; got != 0 {
		t.Errorf("the loop's own posts waited %d times, want 0", got)
	}
	check := make(chan []int)
	l.Post(func() { check <- slices.Clone(ran) })
	got := <-check
	if len(got) != inboxHigh+extra || !slices.IsSorted(got) {
		t.Fatalf("ran %d tasks (in order: %v), want %d in order", len(got), slices.IsSorted(got), inboxHigh+extra)
	}

	// Out of work, the loop gives the burst's queue arrays back.
	deadline = time.Now().Add(5 * time.Second)
	for {
		// spare is the loop's own: read it only while the loop is out of
		// its callbacks (enter takes mu before leave touches it again).
		l.mu.Lock()
		idle := !l.inCallback && len(l.inbox) == 0
		inboxCap, spareCap := -1, -1
		if idle {
			inboxCap, spareCap = cap(l.inbox), cap(l.spare)
		}
		l.mu.Unlock()
		if idle && inboxCap <= inboxKeep && spareCap <= inboxKeep {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("idle loop kept queue arrays of %d and %d ops (idle %v), want at most %d", inboxCap, spareCap, idle, inboxKeep)
		}
		time.Sleep(time.Millisecond)
	}
}
