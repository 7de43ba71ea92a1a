package room

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// model is the naive reference: namespace members and room -> member set.
type model struct {
	members map[uint32]bool
	rooms   map[string]map[uint32]bool
}

func newModel() *model {
	return &model{members: map[uint32]bool{}, rooms: map[string]map[uint32]bool{}}
}

func (m *model) join(slot uint32, room string) (created bool) {
	m.members[slot] = true
	r := m.rooms[room]
	if r == nil {
		r = map[uint32]bool{}
		m.rooms[room] = r
		created = true
	}
	r[slot] = true
	return created
}

func (m *model) leave(slot uint32, room string) (deleted bool) {
	r := m.rooms[room]
	if !r[slot] {
		return false
	}
	delete(r, slot)
	if len(r) == 0 {
		delete(m.rooms, room)
		return true
	}
	return false
}

func (m *model) remove(slot uint32) (deleted []string) {
	for name, r := range m.rooms {
		if r[slot] && m.leave(slot, name) {
			deleted = append(deleted, name)
		}
	}
	delete(m.members, slot)
	slices.Sort(deleted)
	return deleted
}

// selectSlots returns the sorted slots of universe that sel reaches, by the
// definition: (no To and no ToSlots ? members : ∪To ∪ ToSlots) \ ∪Except \ ExceptSlots.
func (m *model) selectSlots(sel Selector, universe []uint32) []uint32 {
	all := len(sel.To) == 0 && len(sel.ToSlots) == 0
	var out []uint32
	for _, s := range universe {
		in := all && m.members[s]
		for _, name := range sel.To {
			in = in || m.rooms[name][s]
		}
		in = in || (slices.Contains(sel.ToSlots, s) && m.members[s])
		for _, name := range sel.Except {
			in = in && !m.rooms[name][s]
		}
		if in && !slices.Contains(sel.ExceptSlots, s) {
			out = append(out, s)
		}
	}
	return out
}

// checkInvariants checks the shard's internal representation.
func checkInvariants(t *testing.T, s *Shard) {
	t.Helper()
	checkBitsetInvariants(t, &s.members)
	if s.size != s.members.Count() {
		t.Fatalf("size %d, members.Count %d", s.size, s.members.Count())
	}
	memberships := 0
	for name, r := range s.rooms {
		if r.name != name {
			t.Fatalf("room %q stored under %q", r.name, name)
		}
		if (r.dense == nil) == (r.sparse == nil) {
			t.Fatalf("room %q: sparse %v, dense %v", name, r.sparse, r.dense)
		}
		var slots []uint32
		if d := r.dense; d != nil {
			checkBitsetInvariants(t, &d.bits)
			w := d.bits.words
			if len(w) == 0 || w[len(w)-1] == 0 {
				t.Fatalf("room %q: dense words not trimmed", name)
			}
			if d.n != d.bits.Count() {
				t.Fatalf("room %q: n %d, count %d", name, d.n, d.bits.Count())
			}
			if d.n < sparseLimit(len(w))/4 {
				t.Fatalf("room %q: dense with %d members, limit %d", name, d.n, sparseLimit(len(w)))
			}
			slots = slotsOf(&d.bits)
		} else {
			slots = r.sparse
			if len(slots) == 0 {
				t.Fatalf("room %q: empty but stored", name)
			}
			if !slices.IsSorted(slots) || len(slices.Compact(slices.Clone(slots))) != len(slots) {
				t.Fatalf("room %q: list %v not strictly sorted", name, slots)
			}
			// Leave does not promote (a list costs 4 bytes a member
			// whatever its span), so only the absolute cap holds.
			if len(slots) > sparseMax {
				t.Fatalf("room %q: list of %d not promoted", name, len(slots))
			}
		}
		for _, slot := range slots {
			if !s.members.Has(slot) {
				t.Fatalf("room %q has non-member %d", name, slot)
			}
			if n := count(s.bySlot[slot], r); n != 1 {
				t.Fatalf("slot %d lists room %q %d times", slot, name, n)
			}
		}
		memberships += len(slots)
	}
	listed := 0
	for _, l := range s.bySlot {
		listed += len(l)
	}
	if listed != memberships {
		t.Fatalf("bySlot lists %d memberships, rooms hold %d", listed, memberships)
	}
}

func count(l []*roomEntry, r *roomEntry) (n int) {
	for _, e := range l {
		if e == r {
			n++
		}
	}
	return n
}

func checkAgainstModel(t *testing.T, s *Shard, m *model, slots []uint32, names []string) {
	t.Helper()
	checkInvariants(t, s)
	if s.Size() != len(m.members) {
		t.Fatalf("Size = %d, want %d", s.Size(), len(m.members))
	}
	if len(s.rooms) != len(m.rooms) {
		t.Fatalf("%d rooms, want %d", len(s.rooms), len(m.rooms))
	}
	var got []string
	s.RoomNames(func(n string) bool { got = append(got, n); return true })
	slices.Sort(got)
	if want := slices.Sorted(maps.Keys(m.rooms)); !slices.Equal(got, want) {
		t.Fatalf("RoomNames = %v, want %v", got, want)
	}
	for _, name := range names {
		if s.RoomSize(name) != len(m.rooms[name]) {
			t.Fatalf("RoomSize(%q) = %d, want %d", name, s.RoomSize(name), len(m.rooms[name]))
		}
	}
	for _, slot := range slots {
		var rooms []string
		s.RoomsOf(slot, func(r string) bool { rooms = append(rooms, r); return true })
		slices.Sort(rooms)
		var want []string
		for name, r := range m.rooms {
			if r[slot] {
				want = append(want, name)
			}
		}
		slices.Sort(want)
		if !slices.Equal(rooms, want) {
			t.Fatalf("RoomsOf(%d) = %v, want %v", slot, rooms, want)
		}
		for _, name := range names {
			if s.Has(slot, name) != m.rooms[name][slot] {
				t.Fatalf("Has(%d, %q) = %v", slot, name, s.Has(slot, name))
			}
		}
	}
}

// TestShardProperty runs random Add/Remove/Join/Leave/Select against the
// model. Join-heavy and leave-heavy phases alternate so rooms grow past the
// promotion limit and shrink back under the demotion one.
func TestShardProperty(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			names := []string{"a", "b", "c", "d", "e", "f", "g", "h", "big1", "big2", "unknown"}
			var slots []uint32
			for i := uint32(0); i < 400; i++ {
				slots = append(slots, i)
			}
			slots = append(slots, 1000, 1001, 4095, 4096, 19000, 70000)
			pickSlot := func() uint32 { return slots[rng.IntN(len(slots))] }
			pickRoom := func() string { return names[rng.IntN(len(names)-1)] } // "unknown" never joined
			pickNames := func(max int) []string {
				out := make([]string, rng.IntN(max+1))
				for i := range out {
					out[i] = names[rng.IntN(len(names))]
				}
				return out
			}
			pickSlots := func(max int) []uint32 {
				out := make([]uint32, rng.IntN(max+1))
				for i := range out {
					out[i] = pickSlot()
				}
				return out
			}

			s := NewShard()
			m := newModel()
			var dst Bitset
			dst.Set(80000) // stale bits in dst must never leak into a selection
			joinBias := 0
			for i := 0; i < 20000; i++ {
				if i%2000 == 0 {
					joinBias = rng.IntN(100)
				}
				switch op := rng.IntN(100); {
				case op < 2:
					slot := pickSlot()
					var gotDel []string
					s.Remove(slot, func(r string) { gotDel = append(gotDel, r) })
					slices.Sort(gotDel)
					if wantDel := m.remove(slot); !slices.Equal(gotDel, wantDel) {
						t.Fatalf("op %d Remove(%d) deleted %v, want %v", i, slot, gotDel, wantDel)
					}
				case op < 4:
					slot := pickSlot()
					s.Add(slot)
					m.members[slot] = true
				case op < 85:
					slot, room := pickSlot(), pickRoom()
					if rng.IntN(100) < joinBias {
						if got, want := s.Join(slot, room), m.join(slot, room); got != want {
							t.Fatalf("op %d Join(%d, %q) = %v, want %v", i, slot, room, got, want)
						}
					} else {
						if got, want := s.Leave(slot, room), m.leave(slot, room); got != want {
							t.Fatalf("op %d Leave(%d, %q) = %v, want %v", i, slot, room, got, want)
						}
					}
				default:
					sel := Selector{To: pickNames(4), Except: pickNames(2)}
					if rng.IntN(4) == 0 {
						sel.ToSlots = pickSlots(2)
					}
					if rng.IntN(4) == 0 {
						sel.ExceptSlots = pickSlots(2)
					}
					s.Select(&dst, sel)
					checkBitsetInvariants(t, &dst)
					want := m.selectSlots(sel, slots)
					if got := slotsOf(&dst); !slices.Equal(got, want) {
						t.Fatalf("op %d Select(%+v) = %v, want %v", i, sel, got, want)
					}
					if dst.Count() != len(want) {
						t.Fatalf("op %d Count = %d, want %d", i, dst.Count(), len(want))
					}
				}
				if i%500 == 0 {
					checkAgainstModel(t, s, m, slots, names)
				}
			}
			checkAgainstModel(t, s, m, slots, names)
		})
	}
}

// TestRepresentationSwitch walks one room up past the promotion limit and
// back down, checking membership at each step.
func TestRepresentationSwitch(t *testing.T) {
	s := NewShard()
	const n = 300
	for i := uint32(0); i < n; i++ {
		s.Join(i, "r")
	}
	r := s.rooms["r"]
	if r.dense == nil {
		t.Fatalf("%d members over 5 words still a list", n)
	}
	for i := uint32(0); i < n-1; i++ {
		if s.Leave(i, "r") {
			t.Fatalf("Leave(%d) deleted a room with members", i)
		}
		checkInvariants(t, s)
	}
	if r.dense != nil || !slices.Equal(r.sparse, []uint32{n - 1}) {
		t.Fatalf("not demoted: sparse %v dense %v", r.sparse, r.dense != nil)
	}
	if !s.Leave(n-1, "r") || len(s.rooms) != 0 {
		t.Fatal("last Leave did not delete the room")
	}

	// A wide, sparse room stays a list; when it empties out its capacity
	// is given back.
	for i := uint32(0); i < 200; i++ {
		s.Join(i*1000, "wide")
	}
	w := s.rooms["wide"]
	if w.dense != nil {
		t.Fatal("200 members over 200k slots promoted")
	}
	for i := uint32(0); i < 190; i++ {
		s.Leave(i*1000, "wide")
	}
	if len(w.sparse) != 10 || cap(w.sparse) > 4*10 {
		t.Fatalf("wide room: len %d cap %d", len(w.sparse), cap(w.sparse))
	}
	// A far join stretches a bitset's span past what its members pay for:
	// back to a list.
	for i := uint32(0); i < 40; i++ {
		s.Join(i, "stretch")
	}
	if s.rooms["stretch"].dense == nil {
		t.Fatal("40 members over 1 word not promoted")
	}
	s.Join(1<<20, "stretch")
	if r := s.rooms["stretch"]; r.dense != nil || len(r.sparse) != 41 {
		t.Fatalf("stretched room not demoted: %d", r.size())
	}
	checkInvariants(t, s)

	// A lone member at a high slot stays a one-slot list.
	s.Join(19000, "private")
	if r := s.rooms["private"]; r.dense != nil || len(r.sparse) != 1 {
		t.Fatalf("private room: %+v", r)
	}
}

func TestSlotReuse(t *testing.T) {
	s := NewShard()
	s.Add(5)
	s.Join(5, "a")
	s.Join(5, "b")
	s.Join(6, "b")
	var deleted []string
	s.Remove(5, func(r string) { deleted = append(deleted, r) })
	if !slices.Equal(deleted, []string{"a"}) {
		t.Fatalf("deleted %v, want [a]", deleted)
	}
	if s.Size() != 1 || s.RoomSize("b") != 1 || s.RoomSize("a") != 0 {
		t.Fatalf("after Remove: size %d, b %d, a %d", s.Size(), s.RoomSize("b"), s.RoomSize("a"))
	}
	// Slot 5 now belongs to a new socket: nothing of the old one may show.
	s.Add(5)
	s.RoomsOf(5, func(r string) bool { t.Fatalf("new socket at slot 5 is in %q", r); return false })
	if s.Has(5, "b") {
		t.Fatal("new socket at slot 5 is in b")
	}
	var dst Bitset
	s.Select(&dst, Selector{To: []string{"a", "b"}})
	if got := slotsOf(&dst); !slices.Equal(got, []uint32{6}) {
		t.Fatalf("To(a, b) = %v, want [6]", got)
	}
	s.Select(&dst, Selector{})
	if got := slotsOf(&dst); !slices.Equal(got, []uint32{5, 6}) {
		t.Fatalf("all = %v, want [5 6]", got)
	}
	if s.Join(5, "a") != true {
		t.Fatal("rejoining a deleted room did not create it")
	}
	s.Remove(5, nil)
	s.Remove(5, nil) // removing twice is a no-op
	s.Remove(99, nil)
	checkInvariants(t, s)
}

// TestJoinCopiesName joins with a name aliasing a buffer that is then
// overwritten, as a name decoded in place from a gnet read buffer would be.
func TestJoinCopiesName(t *testing.T) {
	buf := []byte("room-1")
	name := unsafe.String(&buf[0], len(buf))
	s := NewShard()
	if !s.Join(1, name) {
		t.Fatal("not created")
	}
	copy(buf, "XXXXXX")
	if !s.Has(1, "room-1") || s.RoomSize("XXXXXX") != 0 {
		t.Fatal("room name aliases the caller's buffer")
	}
	s.Join(1, "room-2")
	var got []string
	s.RoomsOf(1, func(r string) bool { got = append(got, r); return false })
	if !slices.Equal(got, []string{"room-1"}) {
		t.Fatalf("RoomsOf stopping after one = %v", got)
	}
}

// TestChurn joins and leaves unique room names, as private or per-request
// rooms do: every room is freed and the map ends empty; after a spike the
// map is rebuilt at its live size.
func TestChurn(t *testing.T) {
	s := NewShard()
	const live = 50
	for i := 0; i < 200000; i++ {
		slot := uint32(i % 500)
		if !s.Join(slot, fmt.Sprint("u", i)) {
			t.Fatalf("room u%d not created", i)
		}
		if i >= live {
			j := i - live
			if !s.Leave(uint32(j%500), fmt.Sprint("u", j)) {
				t.Fatalf("room u%d not deleted", j)
			}
		}
	}
	for j := 200000 - live; j < 200000; j++ {
		s.Leave(uint32(j%500), fmt.Sprint("u", j))
	}
	if len(s.rooms) != 0 {
		t.Fatalf("%d rooms left", len(s.rooms))
	}
	for slot, l := range s.bySlot {
		if len(l) != 0 {
			t.Fatalf("slot %d still lists %d rooms", slot, len(l))
		}
	}

	// Spike: 100k rooms at once, then all but a few go.
	for i := 0; i < 100000; i++ {
		s.Join(uint32(i%1000), fmt.Sprint("s", i))
	}
	for i := 0; i < 100000; i++ {
		s.Remove(uint32(i%1000), nil)
	}
	if len(s.rooms) != 0 || s.peak >= rebuildMin {
		t.Fatalf("after spike: %d rooms, peak %d (map not rebuilt)", len(s.rooms), s.peak)
	}
	checkInvariants(t, s)
}

func TestZeroShard(t *testing.T) {
	var s Shard
	var dst Bitset
	s.Select(&dst, Selector{To: []string{"x"}})
	if !dst.IsEmpty() || s.Has(0, "x") || s.RoomSize("x") != 0 || s.Leave(0, "x") {
		t.Fatal("zero shard not empty")
	}
	s.Remove(3, nil)
	s.RoomsOf(3, func(string) bool { t.Fatal("rooms on zero shard"); return false })
	if !s.Join(3, "x") || s.Join(3, "x") || !s.Has(3, "x") {
		t.Fatal("Join on zero shard")
	}
}

// FuzzShard drives a shard and the model with ops decoded from the input,
// two bytes each: op and slot (slots over a small and a far range, rooms from
// a small pool), checking every Select and the full state at the end.
func FuzzShard(f *testing.F) {
	f.Add([]byte{0, 1, 1, 2, 2, 1, 3, 9, 4, 200, 5, 7})
	f.Add([]byte("join leave remove select, again and again and again"))
	names := []string{"a", "b", "c", "d"}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4096 {
			in = in[:4096]
		}
		s, m := NewShard(), newModel()
		universe := []uint32{}
		for i := uint32(0); i < 128; i++ {
			universe = append(universe, i, 5000+i)
		}
		slices.Sort(universe)
		var dst Bitset
		for i := 0; i+1 < len(in); i += 2 {
			op, arg := in[i], in[i+1]
			slot := uint32(arg & 127)
			if arg&128 != 0 {
				slot += 5000
			}
			room := names[op>>4&3]
			switch op & 7 {
			case 0, 1, 2:
				if s.Join(slot, room) != m.join(slot, room) {
					t.Fatalf("Join(%d, %q)", slot, room)
				}
			case 3, 4:
				if s.Leave(slot, room) != m.leave(slot, room) {
					t.Fatalf("Leave(%d, %q)", slot, room)
				}
			case 5:
				s.Remove(slot, nil)
				m.remove(slot)
			default:
				sel := Selector{To: names[:op>>4&3], Except: names[3-op>>6&1:][:op>>6&1]}
				if op&1 != 0 {
					sel.ExceptSlots = []uint32{slot}
				}
				s.Select(&dst, sel)
				if got, want := slotsOf(&dst), m.selectSlots(sel, universe); !slices.Equal(got, want) {
					t.Fatalf("Select(%+v) = %v, want %v", sel, got, want)
				}
			}
		}
		checkAgainstModel(t, s, m, universe, names)
	})
}
