package engine

import (
	"math"
	"sync/atomic"
	"time"
)

// A hashed timer wheel per event loop (STYLE.md §5: a loop owns its timers).
// One goroutine per loop ticks it through Execute; arming, re-arming and
// stopping a timer is O(1) and allocation-free because the timer is embedded
// in its owner and linked intrusively.

const (
	wheelSlots = 512
	// tickInterval is the wheel's resolution: a timer fires within one
	// interval of its deadline. The suites' 200 ms pong timeouts are checked
	// by clients a few milliseconds after the deadline, so it must be small;
	// an idle wheel (no armed timer) is not ticked at all.
	tickInterval = 2 * time.Millisecond
)

// Timer is a one-shot timer owned by a loop. Its methods are loop-only.
//
// It is 40 bytes and holds no closure: the engine's own timers (a session's
// heartbeat, a connection's head/idle timeout) are fields of their owner,
// which the wheel calls back through owner; an idle connection pays for no
// separate allocation. Loop.NewTimer wraps a func for the layer above.
type Timer struct {
	prev, next *Timer
	owner      timerOwner
	rounds     int32 // whole turns of the wheel still to wait
	armed      bool
}

// timerOwner is what a Timer fires into, and where its wheel is.
type timerOwner interface {
	fireTimer(t *Timer)
	timerWheel() *wheel
}

// funcTimer is a Timer that calls a func (Loop.NewTimer): one allocation,
// the Timer first so that a *Timer to it keeps the whole alive.
type funcTimer struct {
	t  Timer
	fn func()
	w  *wheel
}

func (f *funcTimer) fireTimer(*Timer) {
	if f.fn != nil { // nil: freed (Loop.FreeTimer) while due in this step
		f.fn()
	}
}
func (f *funcTimer) timerWheel() *wheel { return f.w }

type wheel struct {
	slots [wheelSlots]Timer // sentinels of circular lists
	tick  int64             // ticks since start, processed up to here
	start time.Time
	armed atomic.Int64 // read by the ticker goroutine to skip idle ticks
}

// ticksAt is the tick whose slot holds deadlines at time t.
func (w *wheel) ticksAt(t time.Time) int64 { return int64(t.Sub(w.start) / tickInterval) }

func (w *wheel) init() {
	w.start = time.Now()
	for i := range w.slots {
		s := &w.slots[i]
		s.prev, s.next = s, s
	}
}

func (w *wheel) arm(t *Timer, d time.Duration) {
	if t.armed {
		t.unlink()
	}
	target := w.ticksAt(time.Now().Add(d))
	if target <= w.tick {
		target = w.tick + 1
	}
	ticks := target - w.tick
	// A deadline more than 2^31 turns (~136 years) away fires then.
	t.rounds = int32(min((ticks-1)/wheelSlots, math.MaxInt32))
	s := &w.slots[target%wheelSlots]
	t.prev, t.next = s.prev, s
	s.prev.next = t
	s.prev = t
	t.armed = true
	w.armed.Add(1)
}

func (t *Timer) unlink() {
	t.prev.next = t.next
	t.next.prev = t.prev
	t.prev, t.next = nil, nil
	t.armed = false
	t.owner.timerWheel().armed.Add(-1)
}

// advance catches the wheel up with the clock, firing due timers.
func (w *wheel) advance(now time.Time) {
	for target := w.ticksAt(now); w.tick < target; {
		w.step()
	}
}

func (w *wheel) step() {
	w.tick++
	s := &w.slots[w.tick%wheelSlots]
	// Detach due timers first so callbacks may re-arm freely.
	var due *Timer
	for t := s.next; t != s; {
		next := t.next
		if t.rounds > 0 {
			t.rounds--
		} else {
			t.unlink()
			t.next = due
			due = t
		}
		t = next
	}
	for due != nil {
		t := due
		due = t.next
		t.next = nil
		t.owner.fireTimer(t)
	}
}

// Reset arms the timer to fire once after d. Loop-only.
func (t *Timer) Reset(d time.Duration) { t.owner.timerWheel().arm(t, d) }

// Stop disarms the timer; it reports whether it was armed. Loop-only.
func (t *Timer) Stop() bool {
	if !t.armed {
		return false
	}
	t.unlink()
	return true
}
