package engine

import (
	"math"
	"sync/atomic"
	"time"
	"unsafe"
)

// A hashed timer wheel per event loop (STYLE.md §5: a loop owns its timers).
// One goroutine per loop ticks it through Execute, only when a slot holds
// timers (see wheel.nextWake); arming, re-arming and stopping a timer is O(1)
// and allocation-free because the timer is embedded in its owner and linked
// intrusively.

const (
	wheelSlots = 512
	// tickInterval is the wheel's resolution: a timer fires within one
	// interval of its deadline. The suites' 200 ms pong timeouts are checked
	// by clients a few milliseconds after the deadline, so it must be small;
	// an idle wheel (no armed timer) is not ticked at all.
	tickInterval = 2 * time.Millisecond

	// A timer of slackMin or more fires on a grid of slackGrid ticks (64
	// ms: at most 1.6% late). The heartbeats of an idle server's sessions
	// (25 s pings, 20 s pong deadlines) then share 16 slots of the wheel,
	// and the ticker wakes each loop at most 16 times a second instead of
	// 500: idle CPU, and the garbage gnet makes for each wake-up (~60 B),
	// fall by as much.
	slackMin  = 4 * time.Second
	slackGrid = 32
)

// Timer is a one-shot timer owned by a loop. Its methods are loop-only.
//
// It is 24 bytes and holds no closure and no interface: the engine's own
// timers (a session's heartbeat and upgrade, a connection's head/idle
// timeout) are fields of their owner, and kind says which field, so the
// wheel gets from the Timer back to its owner by subtracting the field's
// offset (ownerOf*; the container_of of C kernels). An idle connection
// carries one Timer: an owner interface would cost it 16 bytes more.
// Loop.NewTimer wraps a func for the layer above.
type Timer struct {
	prev, next *Timer
	rounds     int32 // whole turns of the wheel still to wait
	armed      bool
	kind       timerKind
}

// timerKind is the struct a Timer is a field of.
type timerKind uint8

const (
	timerUnset       timerKind = iota
	timerHeartbeat             // Session.hb
	timerUpgrade               // pollState.upTimer
	timerUpgradeHold           // pollState.holdTimer
	timerConn                  // connAux.timer
	timerFunc                  // funcTimer.t (Loop.NewTimer)
)

// The owners of each kind of Timer, from its address. Valid only for a
// Timer of that kind (it is a field of that struct, so the result points
// to the start of the same allocation).
func (t *Timer) ownerSession() *Session {
	return (*Session)(unsafe.Add(unsafe.Pointer(t), -int(unsafe.Offsetof(Session{}.hb))))
}
func (t *Timer) ownerPoll() *pollState {
	off := unsafe.Offsetof(pollState{}.upTimer)
	if t.kind == timerUpgradeHold {
		off = unsafe.Offsetof(pollState{}.holdTimer)
	}
	return (*pollState)(unsafe.Add(unsafe.Pointer(t), -int(off)))
}
func (t *Timer) ownerAux() *connAux {
	return (*connAux)(unsafe.Add(unsafe.Pointer(t), -int(unsafe.Offsetof(connAux{}.timer))))
}
func (t *Timer) ownerFunc() *funcTimer { return (*funcTimer)(unsafe.Pointer(t)) } // t is its first field

// fire runs the timer's callback in its owner.
func (t *Timer) fire() {
	switch t.kind {
	case timerHeartbeat:
		t.ownerSession().onHBTimer()
	case timerUpgrade:
		t.ownerPoll().s.onUpgradeTimeout()
	case timerUpgradeHold:
		t.ownerPoll().s.onGetHoldEnd()
	case timerConn:
		t.ownerAux().cn.onTimer()
	case timerFunc:
		if f := t.ownerFunc(); f.fn != nil { // nil: freed (Loop.FreeTimer) while due in this step
			f.fn.OnTimer()
		}
	}
}

// wheel is the wheel of the owner's loop.
func (t *Timer) wheel() *wheel {
	switch t.kind {
	case timerHeartbeat:
		return &t.ownerSession().loop.wheel
	case timerUpgrade, timerUpgradeHold:
		return &t.ownerPoll().s.loop.wheel
	case timerConn:
		return &t.ownerAux().cn.loop.wheel
	case timerFunc:
		return t.ownerFunc().w
	}
	panic("engine: Timer used before its owner set its kind")
}

// funcTimer is a Timer that calls a func (Loop.NewTimer): one allocation,
// the Timer first so that a *Timer to it keeps the whole alive.
type funcTimer struct {
	t  Timer
	fn TimerTarget // nil once freed
	w  *wheel
}

type wheel struct {
	slots [wheelSlots]Timer // sentinels of circular lists
	tick  int64             // ticks since start, processed up to here
	start time.Time
	// nextWake is the tick at which the ticker should next run the wheel:
	// the first slot after tick that holds timers, 0 when none does (an
	// idle wheel is not ticked at all). Written by the loop, read by the
	// ticker goroutine, which kick wakes when it moved earlier or was
	// recomputed after a tick.
	nextWake atomic.Int64
	kick     chan struct{}
}

// ticksAt is the tick whose slot holds deadlines at time t.
func (w *wheel) ticksAt(t time.Time) int64 { return int64(t.Sub(w.start) / tickInterval) }

func (w *wheel) init() {
	w.start = time.Now()
	w.kick = make(chan struct{}, 1)
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
	if d >= slackMin {
		target = (target + slackGrid - 1) / slackGrid * slackGrid
	}
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
	if nw := w.nextWake.Load(); nw == 0 || target < nw {
		w.nextWake.Store(target)
		w.poke()
	}
}

// poke tells the ticker that nextWake changed.
func (w *wheel) poke() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// findNext sets nextWake to the first slot after tick that holds timers
// (a timer still some turns away counts: its slot's visit counts the
// turns down).
func (w *wheel) findNext() {
	for i := int64(1); i <= wheelSlots; i++ {
		if s := &w.slots[(w.tick+i)%wheelSlots]; s.next != s {
			w.nextWake.Store(w.tick + i)
			return
		}
	}
	w.nextWake.Store(0)
}

func (t *Timer) unlink() {
	t.prev.next = t.next
	t.next.prev = t.prev
	t.prev, t.next = nil, nil
	t.armed = false
}

// advance catches the wheel up with the clock, firing due timers, and
// sets nextWake.
func (w *wheel) advance(now time.Time) {
	for target := w.ticksAt(now); w.tick < target; {
		w.step()
	}
	w.findNext()
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
		t.fire()
	}
}

// Reset arms the timer to fire once after d. Loop-only.
func (t *Timer) Reset(d time.Duration) { t.wheel().arm(t, d) }

// Stop disarms the timer; it reports whether it was armed. Loop-only.
func (t *Timer) Stop() bool {
	if !t.armed {
		return false
	}
	t.unlink()
	return true
}
