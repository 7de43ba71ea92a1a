package engine

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// textMessage is a sealed text message "4"+payload.
func textMessage(payload string) *Prepared {
	p := NewPrepared()
	p.SetB(append(append(p.B(), '4'), payload...))
	return p.Seal(false)
}

// TestPreparedJoin: a joined message is its messages' frames one after the
// other on a WebSocket, their packets separated as a payload's on polling,
// counts each message, and still gives the first packet; frames of every
// header size (a 200-byte payload takes the 4-byte one) split back exactly.
func TestPreparedJoin(t *testing.T) {
	long := strings.Repeat("L", 200)
	p := textMessage("a")
	for _, s := range []string{"bb", long, "ccc"} {
		q := textMessage(s)
		if !p.Join(q, 1) {
			t.Fatalf("Join(%.8q) refused", s)
		}
		q.Release()
	}
	defer p.Release()
	if !bytes.Equal(p.Frame(), textFrames("a", "bb", long, "ccc")) {
		t.Errorf("Frame: %q, want the four frames in order", p.Frame())
	}
	if p.Messages() != 4 {
		t.Errorf("Messages: %d, want 4", p.Messages())
	}
	if string(p.Packet()) != "4a" {
		t.Errorf("Packet: %q, want the first packet", p.Packet())
	}
	want := "4a\x1e4bb\x1e4" + long + "\x1e4ccc"
	if got := string(p.appendPolling([]byte("x"))); got != "x"+want {
		t.Errorf("polling form: %q, want %q", got, want)
	}
	if p.pollingLen() != len(want) {
		t.Errorf("pollingLen %d, want %d", p.pollingLen(), len(want))
	}
	if p.Len() != len(p.Frame()) {
		t.Errorf("Len %d, want %d", p.Len(), len(p.Frame()))
	}
}

// TestPreparedJoinRefuses: Join changes nothing unless both messages are
// sealed text and the receiver is its caller's alone, and never grows a
// message past what the pool keeps; a message reused from the pool counts
// one message again.
func TestPreparedJoinRefuses(t *testing.T) {
	bin := NewPrepared()
	bin.SetB(append(bin.B(), 1, 2, 3))
	bin.Seal(true)
	unsealed := NewPrepared()
	unsealed.SetB(append(unsealed.B(), "4x"...))
	shared := textMessage("s")
	shared.Retain()
	cases := []struct {
		name string
		p, q *Prepared
	}{
		{"binary receiver", bin, textMessage("q")},
		{"binary message", textMessage("p"), bin},
		{"unsealed receiver", unsealed, textMessage("q")},
		{"unsealed message", textMessage("p"), unsealed},
		{"shared receiver", shared, textMessage("q")},
	}
	for _, c := range cases {
		before := append([]byte(nil), c.p.b...)
		if c.p.Join(c.q, 1) {
			t.Errorf("%s: joined", c.name)
		}
		if !bytes.Equal(c.p.b, before) || c.p.Messages() != 1 {
			t.Errorf("%s: the receiver changed", c.name)
		}
	}

	// Joining until refused: never past maxJoined bytes, nor a buffer the
	// pool would not keep.
	p := textMessage("first")
	part := textMessage(strings.Repeat("x", 1000))
	n := 1
	for p.Join(part, 1) {
		n++
	}
	if len(p.b)+part.Len() <= maxJoined || len(p.b) > maxJoined || cap(p.b) > maxPooledPrepared {
		t.Errorf("refused at %d bytes (cap %d) after %d messages; the bound is %d", len(p.b), cap(p.b), n, maxJoined)
	}
	if p.Messages() != n {
		t.Errorf("Messages %d, want %d", p.Messages(), n)
	}
	p.Release()
	if r := NewPrepared(); r.Messages() != 1 {
		t.Errorf("a message from the pool counts %d messages", r.Messages())
	}
}

// joinTask is a Joiner for tests: it joins a joinTask of the same key,
// records what it ran, and counts the tasks it absorbed.
type joinTask struct {
	key  string
	ids  []int
	runs *[]int
}

func (j *joinTask) RunOn(*Loop) { *j.runs = append(*j.runs, j.ids...) }

func (j *joinTask) JoinTo(prev Task) bool {
	q, ok := prev.(*joinTask)
	if !ok || q.key != j.key {
		return false
	}
	q.ids = append(q.ids, j.ids...)
	return true
}

// TestPostOrJoin: a task joins only the task at the very end of the
// queue, so everything runs in the order it was posted; a joined task
// counts toward the queue's length for pace; taking the queue resets that
// count.
func TestPostOrJoin(t *testing.T) {
	_, _, l := newFakeLoop()
	var runs []int
	post := func(key string, id int) bool { return l.PostOrJoin(&joinTask{key: key, ids: []int{id}, runs: &runs}) }
	l.enter() // what is posted waits for leave
	var joined []bool
	joined = append(joined, post("a", 1), post("a", 2), post("a", 3), post("b", 4), post("a", 5))
	l.Post(func() { runs = append(runs, 6) })
	joined = append(joined, post("a", 7), post("a", 8))
	if want := []bool{false, true, true, false, false, false, true}; !slices.Equal(joined, want) {
		t.Errorf("joined %v, want %v", joined, want)
	}
	if len(l.inbox) != 5 || l.joined != 3 {
		t.Errorf("queue: %d tasks and %d joined, want 5 and 3", len(l.inbox), l.joined)
	}
	l.leave()
	if want := []int{1, 2, 3, 4, 5, 6, 7, 8}; !slices.Equal(runs, want) {
		t.Errorf("ran %v, want %v", runs, want)
	}
	if l.joined != 0 {
		t.Errorf("joined count %d after the queue was taken, want 0", l.joined)
	}
}

// TestJoinedMessageQueuedOnce: a joined message queued to a WebSocket
// session is one entry in the write log, counts all its messages in the
// loop's out count, and leaves as its frames, in one write.
func TestJoinedMessageQueuedOnce(t *testing.T) {
	l, fc, s := newFakeWebSocket(t)
	p := textMessage("a")
	for _, m := range []string{"b", "c"} {
		q := textMessage(m)
		p.Join(q, 1)
		q.Release()
	}
	l.enter()
	s.Write(p)
	p.Release()
	if len(l.wlog) != 1 || l.logMsgs != 3 || l.out.msgs != 3 {
		t.Errorf("log %d entries, %d messages, out count %d; want 1, 3, 3", len(l.wlog), l.logMsgs, l.out.msgs)
	}
	l.leave()
	if len(fc.calls) != 1 || !bytes.Equal(fc.calls[0].b, textFrames("a", "b", "c")) {
		t.Errorf("writes %+v, want the three frames in one", fc.calls)
	}
}

// TestSendPreparedJoins: messages sent to a session one after the other
// while they wait in the loop's queue join the one before when the queue
// alone holds it; one the sender still holds is never changed, and
// everything leaves in order.
func TestSendPreparedJoins(t *testing.T) {
	l, fc, s := newFakeWebSocket(t)
	l.enter()
	held := textMessage("a") // its sender keeps it a while
	s.SendPrepared(held)
	for _, m := range []string{"b", "c", "d"} {
		p := textMessage(m)
		s.SendPrepared(p)
		p.Release()
	}
	if len(l.inbox) != 2 || l.joined != 2 {
		t.Errorf("queue: %d sends and %d joined, want 2 and 2", len(l.inbox), l.joined)
	}
	if held.Messages() != 1 || !bytes.Equal(held.Frame(), textFrames("a")) {
		t.Errorf("a message its sender holds was changed: %q", held.Frame())
	}
	held.Release()
	l.leave()
	if len(fc.calls) != 1 || !bytes.Equal(fc.calls[0].b, textFrames("a", "b", "c", "d")) {
		t.Errorf("writes %+v, want the four frames in one, in order", fc.calls)
	}
}

// TestPostOrJoinAll: a task bound for several loops joins only a task that
// ends every one of their queues, and posts nothing when it does not.
func TestPostOrJoinAll(t *testing.T) {
	_, _, l0 := newFakeLoop()
	_, _, l1 := newFakeLoop()
	l1.index = 1
	var runs []int
	task := func(id int) *joinTask { return &joinTask{key: "a", ids: []int{id}, runs: &runs} }
	l0.enter()
	l1.enter()
	first := task(1)
	l0.PostTask(first)
	l1.PostTask(first)
	if !PostOrJoinAll([]*Loop{l1, l0}, task(2)) {
		t.Error("a task at the end of both queues: not joined")
	}
	if len(l0.inbox) != 1 || len(l1.inbox) != 1 || l0.joined != 1 || l1.joined != 1 {
		t.Errorf("queues %d and %d, joined %d and %d; want 1, 1, 1, 1", len(l0.inbox), len(l1.inbox), l0.joined, l1.joined)
	}
	l1.Post(func() {})
	if PostOrJoinAll([]*Loop{l0, l1}, task(3)) {
		t.Error("joined a task that no longer ends one of the queues")
	}
	if len(l0.inbox) != 1 || len(l1.inbox) != 2 {
		t.Errorf("a refused join posted: queues %d and %d, want 1 and 2", len(l0.inbox), len(l1.inbox))
	}
	l0.leave()
	l1.leave()
	// first ran on both loops, with the id joined into it.
	if want := []int{1, 2, 1, 2}; !slices.Equal(runs, want) {
		t.Errorf("ran %v, want %v", runs, want)
	}
}
