package engine

import (
	"testing"
	"time"
)

// TestFreeTimer: a timer freed by another timer's callback in the same
// wheel step does not fire (and does not crash), and NewTimer reuses it
// only once the callback is over.
func TestFreeTimer(t *testing.T) {
	l := NewDetachedLoop()
	var fired []*Timer
	var a, b *Timer
	freeOther := func(self *Timer, other **Timer) func() {
		return func() {
			fired = append(fired, self)
			l.FreeTimer(*other) // due in this same step
			if c := l.NewTimer(func() {}); c == *other {
				t.Error("NewTimer reused a timer freed during the same callback")
			}
		}
	}
	l.Run(func() {
		a = l.NewTimer(nil)
		b = l.NewTimer(nil)
		a.ownerFunc().fn = freeOther(a, &b)
		b.ownerFunc().fn = freeOther(b, &a)
		a.Reset(5 * time.Millisecond)
		b.Reset(5 * time.Millisecond)
	})
	l.Run(func() { l.wheel.advance(time.Now().Add(time.Second)) })
	if len(fired) != 1 {
		t.Fatalf("%d timers fired, want 1 (the first frees the other before its turn)", len(fired))
	}
	freed := a
	if fired[0] == a {
		freed = b
	}
	var reused *Timer
	ran := false
	l.Run(func() { reused = l.NewTimer(func() { ran = true }) })
	if reused != freed {
		t.Error("the freed timer was not reused once the callback ended")
	}
	l.Run(func() { reused.Reset(time.Millisecond) })
	l.Run(func() { l.wheel.advance(time.Now().Add(2 * time.Second)) })
	if !ran {
		t.Fatal("the reused timer did not fire with its new func")
	}
}
