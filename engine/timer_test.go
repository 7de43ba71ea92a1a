package engine

import (
	"math"
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
		a.ownerFunc().fn = funcTarget(freeOther(a, &b))
		b.ownerFunc().fn = funcTarget(freeOther(b, &a))
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

// TestWheelSlack: a timer of slackMin or more lands on the 32-tick grid, at
// most one grid step late and never early; shorter ones keep the tick's
// precision; many heartbeats share at most wheelSlots/slackGrid slots.
func TestWheelSlack(t *testing.T) {
	l := NewDetachedLoop()
	w := &l.wheel
	slots := map[int64]bool{}
	var timers []*Timer
	for i := range 2000 {
		d := 5*time.Second + time.Duration(i)*10*time.Millisecond // 5 s .. 25 s
		exact := w.ticksAt(time.Now().Add(d))
		tm := l.NewTimer(func() {})
		tm.Reset(d)
		timers = append(timers, tm)
		// Find the slot the timer is in: it is due at the slot's first
		// visit after the current tick, plus its rounds.
		slot := int64(-1)
		for i := range w.slots {
			for x := w.slots[i].next; x != &w.slots[i]; x = x.next {
				if x == tm {
					slot = int64(i)
				}
			}
		}
		if slot < 0 {
			t.Fatal("armed timer in no slot")
		}
		if slot%slackGrid != 0 {
			t.Fatalf("a %v timer is in slot %d, off the %d-tick grid", d, slot, slackGrid)
		}
		first := w.tick + 1 + ((slot-(w.tick+1))%wheelSlots+wheelSlots)%wheelSlots
		got := first + int64(tm.rounds)*wheelSlots
		if got < exact || got >= exact+slackGrid+1 {
			t.Fatalf("a %v timer is due at tick %d, want %d..%d", d, got, exact, exact+slackGrid)
		}
		slots[slot] = true
	}
	if len(slots) > wheelSlots/slackGrid {
		t.Errorf("2000 heartbeats use %d slots, want at most %d", len(slots), wheelSlots/slackGrid)
	}
	short := l.NewTimer(func() {})
	short.Reset(300 * time.Millisecond)
	want := w.ticksAt(time.Now().Add(300*time.Millisecond)) % wheelSlots
	if s := &w.slots[want]; s.prev != short && s.prev.prev != short {
		t.Errorf("a 300 ms timer is not in slot %d: short timers keep the tick's precision", want)
	}
	for _, tm := range timers {
		tm.Stop()
	}
	short.Stop()
	w.findNext()
	if w.nextWake.Load() != 0 {
		t.Errorf("nextWake %d with no timer armed, want 0", w.nextWake.Load())
	}
}

// TestIdleLoopTicksRarely: a loop whose sessions are idle (long heartbeats)
// is woken by its ticker at most 16 times a second plus the odd extra, not
// every 2 ms tick; with no session it is not woken at all.
func TestIdleLoopTicksRarely(t *testing.T) {
	srv, base := startServer(t, quietConfig(), newEcho())
	ticks := func() (n int64) {
		for _, l := range srv.Loops() {
			n += l.ticks.Load()
		}
		return n
	}
	time.Sleep(100 * time.Millisecond)
	before := ticks()
	time.Sleep(500 * time.Millisecond)
	if n := ticks() - before; n != 0 {
		t.Errorf("a server without sessions ticked %d times in 500 ms, want 0", n)
	}
	for range 200 {
		c := dialWS(t, base, "EIO=4&transport=websocket")
		readText(t, c)
	}
	time.Sleep(200 * time.Millisecond)
	before = ticks()
	time.Sleep(time.Second)
	n := ticks() - before
	t.Logf("200 idle sessions on %d loops: %d ticks in 1 s", len(srv.Loops()), n)
	if max := int64(len(srv.Loops())) * (wheelSlots/slackGrid + 4); n > max {
		t.Errorf("%d ticks in 1 s with idle sessions, want at most %d (every 2 ms would be 500 a loop)", n, max)
	}
}

// TestLongTimerFires: on a real loop, a timer past slackMin fires on time
// give or take its slack, though the ticker sleeps until it is due and the
// loop catches the wheel up in one go.
func TestLongTimerFires(t *testing.T) {
	t.Parallel()
	srv, _ := startServer(t, quietConfig(), newEcho())
	l := srv.Loops()[0]
	const d = slackMin + 100*time.Millisecond
	fired := make(chan time.Time, 1)
	start := time.Now()
	l.Post(func() {
		tm := l.NewTimer(func() { fired <- time.Now() })
		tm.Reset(d)
	})
	select {
	case at := <-fired:
		late := at.Sub(start) - d
		t.Logf("a %v timer fired %v late", d, late)
		if late < -tickInterval || late > slackGrid*tickInterval+100*time.Millisecond {
			t.Errorf("a %v timer fired %v late, want within its slack (%v)", d, late, slackGrid*tickInterval)
		}
	case <-time.After(d + 2*time.Second):
		t.Fatal("a long timer did not fire")
	}
}

// TestTickerAfterHugeTimer: a timer centuries away (its deadline overflows
// a time.Duration of ticks) neither spins the ticker nor stops it: a short
// timer armed next still fires.
func TestTickerAfterHugeTimer(t *testing.T) {
	t.Parallel()
	srv, _ := startServer(t, quietConfig(), newEcho())
	l := srv.Loops()[0]
	fired := make(chan struct{})
	l.Post(func() {
		l.NewTimer(func() {}).Reset(time.Duration(math.MaxInt64))
	})
	time.Sleep(50 * time.Millisecond)
	l.Post(func() {
		l.NewTimer(func() { close(fired) }).Reset(100 * time.Millisecond)
	})
	select {
	case <-fired:
	case <-time.After(3 * time.Second):
		t.Fatal("a 100 ms timer armed after a centuries-long one did not fire")
	}
	before := l.ticks.Load()
	time.Sleep(200 * time.Millisecond)
	if n := l.ticks.Load() - before; n > 2 {
		t.Errorf("%d ticks in 200 ms with only a centuries-long timer armed", n)
	}
}

type countTarget struct{ n int }

func (c *countTarget) OnTimer() { c.n++ }

// TestNewTimerForAllocatesNothing: a pointer target costs no allocation
// once the loop has free timers (a connect timeout per connection leaves no
// garbage), where NewTimer with a method value allocates the closure; and
// the target is called when the timer fires.
func TestNewTimerForAllocatesNothing(t *testing.T) {
	l := NewDetachedLoop()
	tgt := &countTarget{}
	const n = 100
	l.Run(func() {
		var ts [n + 1]*Timer
		for i := range ts {
			ts[i] = l.NewTimer(func() {})
		}
		for _, tm := range ts {
			l.FreeTimer(tm)
		}
	}) // leave recycles them
	l.Run(func() {
		var got []*Timer
		if a := testing.AllocsPerRun(n, func() { got = append(got[:0], l.NewTimerFor(tgt)) }); a != 0 {
			t.Errorf("NewTimerFor: %.1f allocations, want 0", a)
		}
		if a := testing.AllocsPerRun(n/2, func() { l.NewTimer(tgt.OnTimer) }); a < 1 {
			t.Errorf("NewTimer(method value): %.1f allocations; the comparison no longer shows the closure", a)
		}
		tm := l.NewTimerFor(tgt)
		tm.Reset(5 * time.Millisecond)
	})
	l.Run(func() { l.wheel.advance(time.Now().Add(time.Second)) })
	if tgt.n != 1 {
		t.Fatalf("target called %d times, want 1", tgt.n)
	}
}
