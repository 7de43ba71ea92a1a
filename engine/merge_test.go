package engine

import (
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// countTask records the values merged into it; the loop appends them to
// *out when it runs the task.
type countTask struct {
	vals []int
	out  *[]int
	mu   *sync.Mutex
}

func (t *countTask) RunOn(*Loop) {
	t.mu.Lock()
	*t.out = append(*t.out, t.vals...)
	t.mu.Unlock()
}

// startLoops starts a server of n loops and waits until every loop exists
// (a connection each).
func startLoops(t *testing.T, n int) *Server {
	t.Helper()
	srv, base := startServer(t, Config{Path: "/engine.io/"}, newEcho(), func(s *Server) { s.NumLoops = n })
	for range n {
		c, err := net.Dial("tcp", base[len("http://"):])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ready := len(srv.Loops()) == n
		for _, l := range srv.Loops() {
			ready = ready && l.tid.Load() != 0
		}
		if ready {
			return srv
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d loops did not start", n)
	return nil
}

// block holds every loop in loops in a task until the returned func is
// called.
func block(loops []*Loop) (release func()) {
	ch := make(chan struct{})
	var started sync.WaitGroup
	for _, l := range loops {
		started.Add(1)
		l.Post(func() { started.Done(); <-ch })
	}
	started.Wait()
	return func() { close(ch) }
}

// TestMergeIntoTail: work merges into the task queued last on every loop
// given, never into one that another post has followed, one that is
// queued on some of the loops only, or one a loop has taken; merges count
// towards pace like posts; what merged runs in order, once per loop.
func TestMergeIntoTail(t *testing.T) {
	srv := startLoops(t, 2)
	loops := srv.Loops()
	var mu sync.Mutex
	var ran []int
	add := func(v int) func(Task) bool {
		return func(tail Task) bool {
			ct, ok := tail.(*countTask)
			if !ok {
				return false
			}
			ct.vals = append(ct.vals, v)
			return true
		}
	}
	wait := func(l *Loop) {
		done := make(chan struct{})
		l.Post(func() { close(done) })
		<-done
	}

	release := block(loops)
	if MergeIntoTail(loops, add(0)) {
		t.Fatal("merged into a queue whose last item is not a task")
	}
	task := &countTask{vals: []int{1}, out: &ran, mu: &mu}
	for _, l := range loops {
		l.PostTask(task)
	}
	for v := 2; v <= 4; v++ {
		if !MergeIntoTail(loops, add(v)) {
			t.Fatalf("value %d not merged into the last task of both loops", v)
		}
	}
	if MergeIntoTail([]*Loop{loops[1], loops[0]}, add(99)) {
		t.Fatal("merged with the loops out of Index order")
	}
	if MergeIntoTail(loops, func(Task) bool { return false }) {
		t.Fatal("reported merged when merge refused")
	}
	loops[1].Post(func() {})
	if MergeIntoTail(loops, add(99)) {
		t.Fatal("merged into a task another post follows on one loop")
	}
	release()
	wait(loops[0])
	wait(loops[1])
	mu.Lock()
	got := slices.Clone(ran)
	mu.Unlock()
	// Each loop ran the one task, with everything merged into it, in order.
	if want := []int{1, 2, 3, 4, 1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
	if MergeIntoTail(loops[:1], add(6)) {
		t.Fatal("merged into a task the loop has taken")
	}

	// Merges weigh in pace: past inboxHigh queued items a poster waits.
	release = block(loops[:1])
	loops[0].PostTask(&countTask{out: &ran, mu: &mu})
	before := srv.PacedPosts()
	const extra = 10
	for i := range inboxHigh + extra {
		if !MergeIntoTail(loops[:1], add(i)) {
			t.Fatalf("merge %d refused", i)
		}
	}
	if got := srv.PacedPosts() - before; got < extra {
		t.Errorf("%d merges over the mark waited %d times, want at least %d", extra, got, extra)
	}
	release()
	wait(loops[0])
}
