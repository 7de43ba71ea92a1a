//go:build !race

package room

import (
	"fmt"
	"testing"
)

// allocShard builds n members: slot i is in "r<i%4>", in "ex" when i%10 == 9,
// in "all", and in its private room "p<i>".
func allocShard(n int) *Shard {
	s := NewShard()
	for i := range n {
		slot := uint32(i)
		s.Add(slot)
		s.Join(slot, fmt.Sprint("r", i%4))
		if i%10 == 9 {
			s.Join(slot, "ex")
		}
		s.Join(slot, "all")
		s.Join(slot, fmt.Sprint("p", i))
	}
	return s
}

// TestAllocs pins the loop's per-message paths to zero allocations, as
// fasthttp's allocation_test.go does. Each case runs once to warm its
// buffers, then must not allocate.
func TestAllocs(t *testing.T) {
	s := allocShard(1000)
	var dst Bitset
	var visited int
	roomsTo := Selector{To: []string{"r0", "r1", "r2"}, Except: []string{"ex"}}
	private := Selector{To: []string{"p7", "sid-elsewhere"}, ToSlots: []uint32{3}, ExceptSlots: []uint32{7}}
	broadcast := Selector{ExceptSlots: []uint32{5}}
	walk := func() {
		for slot, ok := dst.Next(0); ok; slot, ok = dst.Next(slot + 1) {
			visited++
		}
	}
	cases := []struct {
		name string
		fn   func()
	}{
		{"Select all", func() { s.Select(&dst, Selector{}) }},
		{"Select to(r0,r1,r2).except(ex)", func() { s.Select(&dst, roomsTo) }},
		{"Select to(dense all).except(sparse p5)", func() {
			s.Select(&dst, Selector{To: []string{"all"}, Except: []string{"p5"}})
		}},
		{"Select private+slots", func() { s.Select(&dst, private) }},
		{"Select broadcast", func() { s.Select(&dst, broadcast) }},
		{"Select+Next walk", func() { s.Select(&dst, roomsTo); walk() }},
		{"Select+ForEach", func() {
			s.Select(&dst, roomsTo)
			dst.ForEach(func(uint32) bool { visited++; return true })
		}},
		{"Join/Leave sparse room", func() { s.Join(2, "p1"); s.Leave(2, "p1") }},
		{"Join/Leave dense room", func() { s.Leave(2, "all"); s.Join(2, "all") }},
		{"Join again", func() { s.Join(2, "r2") }},
		{"Leave unknown", func() { s.Leave(2, "nope") }},
		{"Remove+rejoin shared rooms", func() {
			// A socket leaves and a new one takes its slot and shared
			// rooms: the slot's room list and room storage are reused.
			s.Remove(3, nil)
			s.Add(3)
			s.Join(3, "r3")
			s.Join(3, "all")
		}},
		{"RoomsOf", func() { s.RoomsOf(9, func(string) bool { visited++; return true }) }},
		{"RoomNames", func() { s.RoomNames(func(string) bool { visited++; return false }) }},
		{"Has/RoomSize", func() { _, _ = s.Has(9, "ex"), s.RoomSize("r1") }},
	}
	for _, c := range cases {
		c.fn()
		if a := testing.AllocsPerRun(100, c.fn); a != 0 {
			t.Errorf("%s: %v allocs/op, want 0", c.name, a)
		}
	}
	if visited == 0 {
		t.Fatal("nothing visited")
	}
}

// TestAllocsScaling pins that a broadcast to 10 and to 10,000 members
// allocates the same (nothing), as STYLE §8 asks of every fan-out path.
func TestAllocsScaling(t *testing.T) {
	for _, n := range []int{10, 10000} {
		s := allocShard(n)
		var dst Bitset
		sel := Selector{To: []string{"r0", "r1"}, Except: []string{"ex"}}
		visited := 0
		fn := func() {
			s.Select(&dst, sel)
			for slot, ok := dst.Next(0); ok; slot, ok = dst.Next(slot + 1) {
				visited++
			}
		}
		fn()
		if a := testing.AllocsPerRun(50, fn); a != 0 {
			t.Errorf("%d members: %v allocs/op, want 0", n, a)
		}
	}
}
