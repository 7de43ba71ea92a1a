package room

import "slices"

// Storage of one room's members on one shard.
//
// A room is a sorted []uint32 of slots while that is smaller than a bitset
// spanning the room's highest slot, and a [Bitset] once it is not:
//
//   - The common Socket.IO room is tiny (a user's private room, a chat of a
//     few people) and may sit at any slot. A lone member at slot 19,000
//     costs 2,376 bytes as a flat bitset, 512 as a 4096-bit chunk of a
//     two-level sparse bitset, and 4 as a one-slot list.
//   - A big room over dense slots is cheapest as a bitset (1 bit per slot
//     of its span) and ORs 64 members per instruction in Select.
//
// The switch is by bytes: a list of n slots costs 4n bytes, a bitset spanning
// w words 8w, so a list is promoted when n > 2w (and always past sparseMax,
// which caps the memmove of a sorted insert at 16 KiB) but never at or below
// sparseMin (a 16-slot list is 64 bytes, less than a dense header). A bitset
// is demoted when n falls under a quarter of that limit, on Leave or when a
// far Join stretches its span, so a bitset costs at most 16 bytes a member
// (past sparseMax/4 members, at most the shard's own member bitset). The
// factor-4 gap means a join/leave pair at any size never flips the
// representation: Join/Leave on an existing room stay allocation-free.
//
// Measured (TestMemoryFootprint, go1.26 linux/amd64), 10k sockets each in a
// private room, whole shard including map, names and per-slot lists:
//
//	                          private only    + 1 of 100 shared rooms
//	this hybrid                  1.58 MB          1.72 MB   (158 / 172 B per socket)
//	flat bitset per room         8.36 MB          8.64 MB
//	4096-bit chunks per room     6.70 MB          6.94 MB
//
// Of the ~158 bytes a private room costs here, about 54 are the map entry,
// 48 the roomEntry, 16 the name copy, 32 the slot's room list and a few the
// one-slot list: the representation of members is no longer what dominates.
const (
	// sparseMin is the member count up to which a room is always a list.
	sparseMin = 16
	// sparseMax is the member count past which a room is always a bitset.
	sparseMax = 4096
)

// sparseLimit is the largest member count at which a room whose highest slot
// lies in word w-1 is kept as a list.
func sparseLimit(w int) int {
	return min(sparseMax, max(sparseMin, 2*w))
}

// roomEntry is one room on one shard. Exactly one of sparse and dense holds
// the members; a roomEntry with no member is deleted by the shard.
type roomEntry struct {
	name   string    // the shard's own copy, also the key in Shard.rooms
	sparse []uint32  // sorted member slots while the room is small
	dense  *denseSet // members once the room is big; nil while sparse
}

// denseSet is a promoted room: a bitset kept trimmed (its last word is
// non-zero) so that its length is the room's span, plus a member count.
type denseSet struct {
	bits Bitset
	n    int
}

func (r *roomEntry) size() int {
	if r.dense != nil {
		return r.dense.n
	}
	return len(r.sparse)
}

func (r *roomEntry) has(slot uint32) bool {
	if r.dense != nil {
		return r.dense.bits.Has(slot)
	}
	_, ok := slices.BinarySearch(r.sparse, slot)
	return ok
}

// add adds slot and reports whether it was not already a member.
func (r *roomEntry) add(slot uint32) bool {
	if d := r.dense; d != nil {
		if d.bits.Has(slot) {
			return false
		}
		grew := int(slot>>6) >= len(d.bits.words)
		d.bits.Set(slot)
		d.n++
		// A far slot can stretch the span past what the members pay for:
		// keep a bitset at most 16 bytes per member, or go back to a list.
		if grew && d.n < sparseLimit(len(d.bits.words))/4 {
			r.demote()
		}
		return true
	}
	i, ok := slices.BinarySearch(r.sparse, slot)
	if ok {
		return false
	}
	r.sparse = slices.Insert(r.sparse, i, slot)
	if n := len(r.sparse); n > sparseLimit(int(r.sparse[n-1]>>6)+1) {
		r.promote()
	}
	return true
}

// remove removes slot and reports whether it was a member.
func (r *roomEntry) remove(slot uint32) bool {
	if d := r.dense; d != nil {
		if !d.bits.Has(slot) {
			return false
		}
		d.bits.Clear(slot)
		d.n--
		w := d.bits.words
		for len(w) > 0 && w[len(w)-1] == 0 {
			w = w[:len(w)-1] // the dropped words are zero, as Bitset wants
		}
		d.bits.words, d.bits.lo = w, min(d.bits.lo, len(w))
		if d.n > 0 && d.n < sparseLimit(len(w))/4 {
			r.demote()
		}
		return true
	}
	i, ok := slices.BinarySearch(r.sparse, slot)
	if !ok {
		return false
	}
	r.sparse = slices.Delete(r.sparse, i, i+1)
	// Give back a list that shrank to a quarter of its capacity (memory
	// stays proportional to members); the 4x gap keeps join/leave at a
	// steady size allocation-free.
	if n := len(r.sparse); cap(r.sparse) > sparseMin && n < cap(r.sparse)/4 {
		r.sparse = append(make([]uint32, 0, 2*n), r.sparse...)
	}
	return true
}

func (r *roomEntry) promote() {
	last := r.sparse[len(r.sparse)-1]
	d := &denseSet{
		bits: Bitset{words: make([]uint64, last>>6+1), lo: int(r.sparse[0] >> 6)},
		n:    len(r.sparse),
	}
	for _, s := range r.sparse {
		d.bits.words[s>>6] |= 1 << (s & 63)
	}
	r.dense, r.sparse = d, nil
}

func (r *roomEntry) demote() {
	d := r.dense
	s := make([]uint32, 0, d.n)
	d.bits.ForEach(func(slot uint32) bool {
		s = append(s, slot)
		return true
	})
	r.sparse, r.dense = s, nil
}

// orInto sets dst to dst ∪ r. r is not empty (empty rooms are dropped).
func (r *roomEntry) orInto(dst *Bitset) {
	if r.dense != nil {
		dst.Or(&r.dense.bits)
		return
	}
	dst.grow(int(r.sparse[len(r.sparse)-1]>>6) + 1)
	w := dst.words
	for _, s := range r.sparse {
		w[s>>6] |= 1 << (s & 63)
	}
	dst.lo = min(dst.lo, int(r.sparse[0]>>6))
}

// andNotFrom sets dst to dst \ r.
func (r *roomEntry) andNotFrom(dst *Bitset) {
	if r.dense != nil {
		dst.AndNot(&r.dense.bits)
		return
	}
	w := dst.words
	for _, s := range r.sparse {
		i := int(s >> 6)
		if i >= len(w) {
			return // sorted: every later slot is past dst too
		}
		w[i] &^= 1 << (s & 63)
	}
}
