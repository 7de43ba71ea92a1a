package riptide

import (
	"fmt"
	"sync"
)

// Internals for the external tests (package riptide_test).

// LoopIndex is the index of the event loop s lives on.
func LoopIndex(s *Socket) int { return s.loop().Index() }

// RoomLoopMask is the loops a broadcast to room visits, by the namespace's
// room masks (0 when it has no entry).
func RoomLoopMask(n *Namespace, room string) uint64 { return n.roomLoops.mask(room) }

// CheckRoomLoops compares every room's loop mask with the loops whose
// shards have members of it, and reports the first difference. Call it
// when no join, leave or disconnect is in flight: a mask may then hold
// neither a stale bit nor an entry for a room with no member.
func CheckRoomLoops(n *Namespace) error {
	actual := map[string]uint64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, l := range n.srv.eng.Loops() {
		wg.Add(1)
		// Behind everything already queued on the loop, rechecks included.
		l.Post(func() {
			defer wg.Done()
			sh := loopStateOf(l).shards[n]
			if sh == nil {
				return
			}
			sh.RoomNames(func(r string) bool {
				mu.Lock()
				actual[r] |= loopBit(l)
				mu.Unlock()
				return true
			})
		})
	}
	wg.Wait()
	var err error
	n.roomLoops.rooms.Range(func(k, v any) bool {
		r, e := k.(string), v.(*roomMask)
		n.roomLoops.mu.Lock()
		bits, pending, stale := e.bits.Load(), e.pending, e.stale
		n.roomLoops.mu.Unlock()
		if bits != actual[r] || pending != 0 || stale != 0 {
			err = fmt.Errorf("room %q: mask %b, pending %d, stale %b; members on loops %b", r, bits, pending, stale, actual[r])
			return false
		}
		delete(actual, r)
		return true
	})
	if err == nil && len(actual) > 0 {
		err = fmt.Errorf("rooms with members and no mask: %v", actual)
	}
	return err
}

// BlockLoop holds event loop i inside a task until release is called:
// work posted to it meanwhile waits, in order.
func BlockLoop(srv *Server, i int) (release func()) {
	hold, started := make(chan struct{}), make(chan struct{})
	srv.eng.Loops()[i].Post(func() {
		close(started)
		<-hold
	})
	<-started
	return func() { close(hold) }
}

// SyncLoop waits until event loop i has run everything posted to it so far.
func SyncLoop(srv *Server, i int) {
	done := make(chan struct{})
	srv.eng.Loops()[i].Post(func() { close(done) })
	<-done
}
