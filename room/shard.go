package room

import (
	"slices"
	"strings"
)

// Shard is the room membership of one namespace on one event loop: which of
// the loop's slots belong to the namespace, and which of those are in each
// room. The zero value is an empty shard ready to use.
//
// A Shard is loop-only: every method must be called from the goroutine of the
// event loop that owns it, and none is goroutine-safe. Other goroutines hop in
// with one Execute per loop, as for the loop's connections.
//
// Slots are the loop's small connection numbers (0..N-1, reused after a
// close). Membership costs one bit per slot of the namespace, 8 bytes per
// (slot, room) pair in the slot's room list, and per room its storage (see
// set.go: a sorted slot list while small, a bitset once big) plus one map
// entry and the room name. A room that loses its last member is freed.
type Shard struct {
	members Bitset // every slot of the namespace on this loop
	size    int    // members.Count(), kept current
	rooms   map[string]*roomEntry
	// peak is the largest len(rooms) since rooms was (re)built. Go maps
	// never shrink, so after a spike of unique rooms drains, the map is
	// rebuilt at its live size (see drop).
	peak int
	// bySlot[slot] lists the rooms slot is in, in join order: 8 bytes per
	// membership behind a 24-byte header per slot. A socket is usually in
	// 1-3 rooms besides its own, so a linear scan on Leave beats a map.
	bySlot [][]*roomEntry
}

// rebuildMin is the map peak below which drop never rebuilds the map.
const rebuildMin = 1024

// NewShard returns an empty Shard. It is equivalent to new(Shard).
func NewShard() *Shard { return new(Shard) }

// Size returns the number of slots in the namespace on this loop. Loop-only.
func (s *Shard) Size() int { return s.size }

// Add records that slot joined the namespace on this loop. Adding a member
// again is a no-op. Loop-only.
func (s *Shard) Add(slot uint32) {
	if !s.members.Has(slot) {
		s.members.Set(slot)
		s.size++
	}
}

// Remove takes slot out of every room and out of the namespace, as when its
// socket disconnects, so the slot can be reused. For each room this leaves
// empty, Remove frees it and then calls onDeleted (if not nil) with its name;
// onDeleted must not modify the shard. The name is the shard's own copy and
// may be kept. Removing a slot that is not a member is a no-op. Loop-only.
func (s *Shard) Remove(slot uint32, onDeleted func(room string)) {
	if int(slot) < len(s.bySlot) {
		list := s.bySlot[slot]
		for _, r := range list {
			r.remove(slot)
			if r.size() == 0 {
				s.drop(r)
				if onDeleted != nil {
					onDeleted(r.name)
				}
			}
		}
		clear(list)
		if cap(list) > 4 {
			list = nil // an outlier's room list is not kept for the next socket
		}
		s.bySlot[slot] = list[:0]
	}
	if s.members.Has(slot) {
		s.members.Clear(slot)
		s.size--
	}
}

// Join adds slot to room, adding slot to the namespace if it is not yet a
// member, and reports whether this created the room on this shard (slot is
// its first member here; an adapter may, for instance, subscribe to the room
// across nodes). Joining a room twice is a no-op.
//
// room is borrowed: it may alias a buffer the caller reuses. Join copies it
// once, when it creates the room; joining an existing room does not allocate
// (beyond growing the room's storage). Loop-only.
func (s *Shard) Join(slot uint32, room string) (created bool) {
	s.Add(slot)
	r := s.rooms[room]
	if r == nil {
		if s.rooms == nil {
			s.rooms = make(map[string]*roomEntry)
		}
		r = &roomEntry{name: strings.Clone(room)}
		s.rooms[r.name] = r
		s.peak = max(s.peak, len(s.rooms))
		created = true
	}
	if r.add(slot) {
		if n := int(slot) + 1; n > len(s.bySlot) {
			// Elements past len are zero: bySlot is never truncated.
			s.bySlot = slices.Grow(s.bySlot, n-len(s.bySlot))[:n]
		}
		s.bySlot[slot] = append(s.bySlot[slot], r)
	}
	return created
}

// Leave removes slot from room and reports whether this left the room empty,
// in which case its storage is freed. Leaving a room slot is not in, or an
// unknown room, is a no-op that returns false. Leave does not remove slot from
// the namespace. room is only read. Loop-only.
func (s *Shard) Leave(slot uint32, room string) (deleted bool) {
	r := s.rooms[room]
	if r == nil || !r.remove(slot) {
		return false
	}
	list := s.bySlot[slot]
	for i, e := range list {
		if e == r {
			s.bySlot[slot] = slices.Delete(list, i, i+1)
			break
		}
	}
	if r.size() == 0 {
		s.drop(r)
		return true
	}
	return false
}

// drop deletes the empty room r.
func (s *Shard) drop(r *roomEntry) {
	delete(s.rooms, r.name)
	r.sparse, r.dense = nil, nil
	// A Go map keeps the buckets of its largest size. Under churn of unique
	// names the live count stays small and the map is reused; after a spike
	// (say 100k rooms) drains to a quarter, copy the survivors into a map of
	// their size. The copy is O(live) and follows at least 3*live deletes.
	if n := len(s.rooms); s.peak >= rebuildMin && n < s.peak/4 {
		m := make(map[string]*roomEntry, n)
		for k, v := range s.rooms {
			m[k] = v
		}
		s.rooms, s.peak = m, n
	}
}

// Has reports whether slot is in room. Loop-only.
func (s *Shard) Has(slot uint32, room string) bool {
	r := s.rooms[room]
	return r != nil && r.has(slot)
}

// RoomSize returns the number of slots in room on this shard, 0 for an unknown
// room. Loop-only.
func (s *Shard) RoomSize(room string) int {
	if r := s.rooms[room]; r != nil {
		return r.size()
	}
	return 0
}

// RoomsOf calls fn with each room slot is in, in join order, until fn returns
// false. The own-id room of the socket is not among them (it is not stored
// here). Names are the shard's copies and may be kept; fn must not modify the
// shard. It does not allocate. Loop-only.
func (s *Shard) RoomsOf(slot uint32, fn func(room string) bool) {
	if int(slot) >= len(s.bySlot) {
		return
	}
	for _, r := range s.bySlot[slot] {
		if !fn(r.name) {
			return
		}
	}
}

// RoomNames calls fn with the name of every non-empty room on this shard, in
// no particular order, until fn returns false. Names are the shard's copies
// and may be kept; fn must not modify the shard. Loop-only.
func (s *Shard) RoomNames(fn func(room string) bool) {
	for name := range s.rooms {
		if !fn(name) {
			return
		}
	}
}

// Selector says which members of a namespace a broadcast reaches on one shard:
// Socket.IO's To/In and Except over rooms, plus explicit slots for the rooms
// this package does not store (a socket's own id room, resolved to a slot by
// the caller).
//
// The target is base \ (∪ Except ∪ ExceptSlots), where base is every member
// when To and ToSlots are both empty (Socket.IO: no rooms means the whole
// namespace), and ∪ To ∪ ToSlots otherwise. Unknown rooms are empty, and
// ToSlots that are not members are ignored.
//
// A socket id the caller resolves to a slot on another loop must still make
// To non-empty on this one, or this loop would select everybody: keep the id
// in To (an unknown room here) and put the slot in ToSlots only on the loop
// that owns it. Typical selectors:
//
//	Selector{}                                        // io.emit: every member
//	Selector{To: []string{"a", "b"}, Except: []string{"c"}}
//	Selector{ExceptSlots: []uint32{self}}             // socket.broadcast.emit
//	Selector{To: []string{id}, ToSlots: []uint32{slot}} // io.to(socketID), on the owning loop
//
// The slices are only read during Select.
type Selector struct {
	To          []string // rooms whose members are included
	Except      []string // rooms whose members are excluded
	ToSlots     []uint32 // slots included as if they were rooms of one
	ExceptSlots []uint32 // slots excluded
}

// Select sets dst to the slots sel reaches (see [Selector]) and leaves the
// walk to the caller ([Bitset.Next], [Bitset.ForEach]). dst's words are reused:
// with a dst kept per loop, Select does not allocate once dst has grown to the
// highest slot. It costs one map lookup per named room, plus per room its
// member count (list) or span/64 (bitset) word operations, plus zeroing the
// span of dst. Loop-only.
func (s *Shard) Select(dst *Bitset, sel Selector) {
	if len(sel.To) == 0 && len(sel.ToSlots) == 0 {
		dst.CopyFrom(&s.members)
	} else {
		dst.Reset()
		for _, name := range sel.To {
			if r := s.rooms[name]; r != nil {
				r.orInto(dst)
			}
		}
		for _, slot := range sel.ToSlots {
			if s.members.Has(slot) {
				dst.Set(slot)
			}
		}
	}
	for _, name := range sel.Except {
		if r := s.rooms[name]; r != nil {
			r.andNotFrom(dst)
		}
	}
	for _, slot := range sel.ExceptSlots {
		dst.Clear(slot)
	}
}
