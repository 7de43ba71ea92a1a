package engine

import "github.com/riptide-io/riptide/internal/slots"

// slotTable maps a loop's slot numbers to its sessions, and hands the
// numbers out (dense, reused after close: the Socket.IO layer's room
// bitmaps are indexed by them). Only the loop writes it; any goroutine may
// read it: Endpoint.lookup finds the session a sid names without a lock,
// since a sid carries its loop and slot (appendSID).
type slotTable struct {
	tab  slots.Table[Session]
	used uint32   // slots handed out so far (the high-water mark)
	free []uint32 // slots given back, reused first
}

// get returns the session at slot, or nil. Goroutine-safe.
func (t *slotTable) get(slot uint32) *Session { return t.tab.Get(slot) }

// reserve returns a free slot number; publish puts a session there.
// Loop-only.
func (t *slotTable) reserve() uint32 {
	if n := len(t.free); n > 0 {
		slot := t.free[n-1]
		t.free = t.free[:n-1]
		return slot
	}
	t.used++
	return t.used - 1
}

// publish makes s visible at slot, once s's identity is set. Loop-only.
func (t *slotTable) publish(slot uint32, s *Session) { t.tab.Set(slot, s) }

// release empties slot and keeps it for reuse. Loop-only.
func (t *slotTable) release(slot uint32) {
	t.tab.Set(slot, nil)
	t.free = append(t.free, slot)
}

// each calls fn for every session in the table until fn returns false.
// Goroutine-safe; on the loop, fn may release slots.
func (t *slotTable) each(fn func(*Session) bool) {
	t.tab.Each(func(_ uint32, s *Session) bool { return fn(s) })
}
