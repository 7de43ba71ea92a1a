package riptide

import (
	"sync"
	"sync/atomic"

	"github.com/riptide-io/riptide/engine"
)

// roomLoops knows, for each room of a namespace, which event loops may have
// members of it: a broadcast to a room posts its message only to those, so
// a message to a two-member room costs two loops' work, not every loop's,
// however many loops the machine has.
//
// Each room's mask is read by emitters with one map load and one atomic
// load; it may hold more loops than have members (a stale bit costs a
// wasted visit), never fewer (a missing bit would lose messages). So a bit
// is set before anything can make the loop's shard hold a member of the
// room (Socket.Join sets it before it posts the join to the loop), and it
// is cleared only by the loop itself, when its shard of the room is empty
// and no join is on its way to any loop. A join in flight keeps every bit:
// a loop whose shard empties meanwhile marks itself stale, and is asked to
// look again once the last pending join has landed.
//
// Loops beyond maxCountedLoops have no bit: a broadcast always visits them.
type roomLoops struct {
	nsp *Namespace
	// mu orders every change of masks, pending counts and the map's
	// entries; emitters read without it.
	mu    sync.Mutex
	rooms sync.Map // room name → *roomMask
}

// roomMask is one room's loops.
type roomMask struct {
	bits atomic.Uint64 // loops (by Index) that may have members
	// pending counts the joins posted to any loop and not yet applied;
	// stale holds the loops whose shard emptied while some were. Under mu.
	pending int32
	stale   uint64
}

// loopBit is l's bit in a room mask, 0 for a loop beyond the mask.
func loopBit(l *engine.Loop) uint64 {
	if i := l.Index(); i < maxCountedLoops {
		return 1 << i
	}
	return 0
}

// joining records that a join of room is about to be posted to l: l's bit
// is set from now on, and stays until the join has been applied.
// Goroutine-safe; call it before posting the join.
func (rl *roomLoops) joining(l *engine.Loop, room string) {
	bit := loopBit(l)
	if bit == 0 {
		return
	}
	rl.mu.Lock()
	m, _ := rl.rooms.Load(room)
	e, _ := m.(*roomMask)
	if e == nil {
		e = new(roomMask)
		rl.rooms.Store(room, e)
	}
	e.bits.Or(bit)
	e.pending++
	rl.mu.Unlock()
}

// joined records that a join announced by joining has run on l (applied,
// or skipped because the socket had gone): if l's shard now has no member
// of room, l's bit may go. size is the room's member count on l's shard.
// Loop-only (l's).
func (rl *roomLoops) joined(l *engine.Loop, room string, size int) {
	bit := loopBit(l)
	if bit == 0 {
		return
	}
	rl.mu.Lock()
	e := rl.entry(room)
	if e == nil { // cannot happen: joining made it and pending keeps it
		rl.mu.Unlock()
		return
	}
	e.pending--
	e.stale &^= bit // looked at just now
	if size == 0 {
		e.stale |= bit
	}
	var recheck uint64
	if e.pending == 0 {
		recheck, e.stale = e.stale, 0
		if recheck&bit != 0 {
			e.bits.And(^bit)
			recheck &^= bit
		}
		rl.dropIfEmpty(room, e)
	}
	rl.mu.Unlock()
	if recheck != 0 {
		rl.postRechecks(room, recheck)
	}
}

// emptied records that l's shard lost its last member of room (a leave, a
// disconnect). Loop-only (l's).
func (rl *roomLoops) emptied(l *engine.Loop, room string) {
	bit := loopBit(l)
	if bit == 0 {
		return
	}
	rl.mu.Lock()
	if e := rl.entry(room); e != nil {
		if e.pending > 0 {
			e.stale |= bit
		} else {
			e.bits.And(^bit)
			rl.dropIfEmpty(room, e)
		}
	}
	rl.mu.Unlock()
}

// postRechecks asks the loops in mask to look at their shard of room
// again: each that still has no member of it is emptied.
func (rl *roomLoops) postRechecks(room string, mask uint64) {
	nsp := rl.nsp
	for _, l := range nsp.srv.eng.Loops() {
		if mask&loopBit(l) == 0 {
			continue
		}
		l.Post(func() {
			if nsp.roomSize(l, room) == 0 {
				rl.emptied(l, room)
			}
		})
	}
}

// entry returns room's mask, nil if it has none. Under mu.
func (rl *roomLoops) entry(room string) *roomMask {
	m, _ := rl.rooms.Load(room)
	e, _ := m.(*roomMask)
	return e
}

// dropIfEmpty forgets room once no loop may have members and no join is
// pending: rooms come and go, and their masks must go with them. Under mu.
func (rl *roomLoops) dropIfEmpty(room string, e *roomMask) {
	if e.bits.Load() == 0 && e.pending == 0 {
		rl.rooms.Delete(room)
	}
}

// mask returns the loops that may have members of room.
// Goroutine-safe, without locks.
func (rl *roomLoops) mask(room string) uint64 {
	if m, ok := rl.rooms.Load(room); ok {
		return m.(*roomMask).bits.Load()
	}
	return 0
}
