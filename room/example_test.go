package room_test

import (
	"fmt"

	"github.com/riptide-io/riptide/room"
)

// To("a", "b").Except("c") is (a ∪ b) \ c over the loop's slots.
func ExampleShard_Select() {
	sh := room.NewShard()
	for slot := uint32(0); slot < 6; slot++ {
		sh.Add(slot)
	}
	sh.Join(0, "a")
	sh.Join(1, "a")
	sh.Join(2, "b")
	sh.Join(3, "b")
	sh.Join(1, "c")
	sh.Join(3, "c")
	sh.Join(4, "c")

	var sel room.Bitset // kept per loop and reused: Select does not allocate once warm
	show := func(what string, s room.Selector) {
		sh.Select(&sel, s)
		fmt.Printf("%s:", what)
		for slot, ok := sel.Next(0); ok; slot, ok = sel.Next(slot + 1) {
			fmt.Print(" ", slot)
		}
		fmt.Println()
	}
	show(`To("a", "b")`, room.Selector{To: []string{"a", "b"}})
	show(`To("a", "b").Except("c")`, room.Selector{To: []string{"a", "b"}, Except: []string{"c"}})
	show(`Except("c") (whole namespace)`, room.Selector{Except: []string{"c"}})
	show(`To("nobody")`, room.Selector{To: []string{"nobody"}})
	show(`socket 5: broadcast (not self)`, room.Selector{ExceptSlots: []uint32{5}})
	show(`To("a", socket at slot 5)`, room.Selector{To: []string{"a"}, ToSlots: []uint32{5}})
	// Output:
	// To("a", "b"): 0 1 2 3
	// To("a", "b").Except("c"): 0 2
	// Except("c") (whole namespace): 0 2 5
	// To("nobody"):
	// socket 5: broadcast (not self): 0 1 2 3 4
	// To("a", socket at slot 5): 0 1 5
}

// Join reports the first member of a room on the shard and Leave the last,
// which is when an adapter would subscribe to or drop the room elsewhere.
// Remove reports the rooms a disconnecting socket was the last member of.
func ExampleShard_Join() {
	sh := room.NewShard()
	fmt.Println(sh.Join(7, "chat"), sh.Join(8, "chat"), sh.Join(8, "chat"))
	fmt.Println(sh.Leave(7, "chat"), sh.RoomSize("chat"))
	sh.Join(8, "user:42")
	sh.RoomsOf(8, func(r string) bool { fmt.Println("slot 8 in", r); return true })
	sh.Remove(8, func(r string) { fmt.Println("deleted", r) })
	fmt.Println("members:", sh.Size(), "chat:", sh.RoomSize("chat")) // slot 7 is still in the namespace
	// Output:
	// true false false
	// false 1
	// slot 8 in chat
	// slot 8 in user:42
	// deleted chat
	// deleted user:42
	// members: 1 chat: 0
}

func ExampleBitset_ForEach() {
	var b room.Bitset
	for _, s := range []uint32{3, 64, 19000} {
		b.Set(s)
	}
	b.ForEach(func(slot uint32) bool {
		fmt.Println(slot)
		return slot < 64 // stop after 64
	})
	fmt.Println(b.Count(), b.Has(19000))
	// Output:
	// 3
	// 64
	// 3 true
}
