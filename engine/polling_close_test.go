package engine

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestClientCloseGrace: a polling session closed by the client's "1" with
// no GET pending answers the next GET within clientCloseGrace with the
// noop a pending GET would have got, then 400 "Session ID unknown"; past
// the grace it is gone. (The suite's "forcefully closes the session" sends
// the GET and the "1" at once, on two connections that may be read by two
// loops in either order.)
func TestClientCloseGrace(t *testing.T) {
	r, ep := newPollingRig(t)
	post := func(body string) string {
		t.Helper()
		fc := r.open()
		r.traffic(fc, "POST /socket.io/?EIO=4&transport=polling&sid="+r.s.ID()+" HTTP/1.1\r\nHost: x\r\n"+
			"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
		return r.answer(fc)
	}
	wantUnknown := func(got string) {
		t.Helper()
		if !strings.HasPrefix(got, "HTTP/1.1 400") || !strings.Contains(got, `"code":1`) {
			t.Fatalf("got %q, want 400 Session ID unknown", got)
		}
	}

	wantResponse(t, post("1"), "200", "ok")
	if n := ep.Count(); n != 1 {
		t.Errorf("%d sessions while the closed one waits for a GET, want 1 (it is counted until it ends)", n)
	}
	wantUnknown(post("4x")) // closed: no more messages
	wantResponse(t, r.answer(r.get()), "200", "6")
	wantUnknown(r.answer(r.get()))
	if n := ep.Count(); n != 0 {
		t.Errorf("%d sessions after the GET, want 0", n)
	}

	r.handshake(ep)
	wantResponse(t, post("1"), "200", "ok")
	r.advance(clientCloseGrace + 10*tickInterval)
	if n := ep.Count(); n != 0 {
		t.Errorf("%d sessions after the grace, want 0", n)
	}
	wantUnknown(r.answer(r.get()))
}

// TestDuplicateGetsInReadOrder: of two GETs of one session, the one read
// first is the pending one (E35: it gets the "1", the other 400), whatever
// the order they reach the session's loop in. Two loops that read them
// may hand them over in the other order; here the pending GET's read time
// is moved after the second's to play that.
func TestDuplicateGetsInReadOrder(t *testing.T) {
	r, _ := newPollingRig(t)
	late := r.get() // reaches the session first...
	if got := r.answer(late); got != "" {
		t.Fatalf("a lone GET was answered: %q", got)
	}
	r.s.poll.pendingGet.aux.readAt = monoNow() + int64(time.Second) // ...but was read second
	early := r.get()
	wantResponse(t, r.answer(early), "200", "1")
	if got := r.answer(late); !strings.HasPrefix(got, "HTTP/1.1 400") {
		t.Fatalf("the GET read second: %q, want 400", got)
	}
}
