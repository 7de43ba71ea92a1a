package engine

import "testing"

// TestMessagesOutCounted checks that every message queued to a session is
// counted, with its framed bytes, once the turn that queued it ends (the
// loop counts in plain fields and publishes per turn), and that a turn
// writing to sessions of two endpoints credits each its own.
func TestMessagesOutCounted(t *testing.T) {
	l := NewDetachedLoop()
	var a, b []*Session
	l.Run(func() {
		for range 3 {
			a = append(a, l.NewDetachedSession(&nopHandler{}))
		}
	})
	other := newEndpoint(l.srv, Config{}, &nopHandler{})
	l.Run(func() {
		for range 2 {
			s := l.NewDetachedSession(&nopHandler{})
			s.ep = other
			b = append(b, s)
		}
	})
	p := NewPrepared()
	p.SetB(append(p.B(), "4hello"...))
	p.Seal(false)
	frameLen := uint64(len(p.Frame()))
	for turn := 1; turn <= 4; turn++ {
		l.Run(func() {
			for range 5 {
				for _, s := range a {
					s.Write(p)
				}
				for _, s := range b { // interleaved: the pending counts switch endpoints
					s.Write(p)
				}
			}
		})
		ma, mb := l.detachedEP.Metrics(), other.Metrics()
		if want := uint64(turn * 5 * len(a)); ma.MessagesOut != want || ma.BytesOut != want*frameLen {
			t.Fatalf("turn %d: endpoint a counted %d messages / %d bytes, want %d / %d", turn, ma.MessagesOut, ma.BytesOut, want, want*frameLen)
		}
		if want := uint64(turn * 5 * len(b)); mb.MessagesOut != want || mb.BytesOut != want*frameLen {
			t.Fatalf("turn %d: endpoint b counted %d messages / %d bytes, want %d / %d", turn, mb.MessagesOut, mb.BytesOut, want, want*frameLen)
		}
	}
	p.Release()
}
