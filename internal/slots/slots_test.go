package slots

import (
	"sync"
	"testing"
)

// TestTable: entries land in pages of 1<<PageBits, read back from any slot
// number (none past the end), and Each visits them in slot order.
func TestTable(t *testing.T) {
	var tab Table[int]
	if tab.Get(0) != nil || tab.Get(1<<31) != nil {
		t.Fatal("an empty table has an entry")
	}
	tab.Set(5, nil) // emptying past the end adds nothing
	if tab.dir.Load() != nil {
		t.Fatal("Set(nil) past the end grew the table")
	}
	vals := make([]int, 3<<PageBits+5)
	for i := range vals {
		vals[i] = i
		tab.Set(uint32(i), &vals[i])
	}
	if got := len(*tab.dir.Load()); got != 4 {
		t.Fatalf("%d pages for %d entries, want 4", got, len(vals))
	}
	for i := range vals {
		if p := tab.Get(uint32(i)); p != &vals[i] {
			t.Fatalf("slot %d: wrong entry", i)
		}
	}
	if tab.Get(uint32(len(vals))) != nil || tab.Get(4<<PageBits) != nil {
		t.Fatal("an entry past the end")
	}
	tab.Set(3, nil)
	var seen []uint32
	tab.Each(func(slot uint32, v *int) bool {
		if *v != int(slot) {
			t.Fatalf("Each: slot %d holds %d", slot, *v)
		}
		seen = append(seen, slot)
		return len(seen) < 10
	})
	if len(seen) != 10 || seen[2] != 2 || seen[3] != 4 {
		t.Fatalf("Each visited %v, want 0..10 without 3, stopping at 10", seen)
	}
	// A far slot adds the pages before it (empty).
	far := 9<<PageBits + 1
	x := 42
	tab.Set(uint32(far), &x)
	if tab.Get(uint32(far)) != &x || tab.Get(uint32(far-1)) != nil || len(*tab.dir.Load()) != 10 {
		t.Fatal("a far Set")
	}
}

// TestTableConcurrentReaders: readers on other goroutines see every entry
// published before they look, while the writer grows the table (the race
// detector checks the rest).
func TestTableConcurrentReaders(t *testing.T) {
	var tab Table[int]
	const n = 20 << PageBits
	vals := make([]int, n)
	var published sync.WaitGroup
	published.Add(1)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := uint32(0); i < n; i += 97 {
				if p := tab.Get(i); p != nil && *p != int(i) {
					t.Errorf("slot %d holds %d", i, *p)
					return
				}
			}
			published.Wait()
			for i := uint32(0); i < n; i++ {
				if p := tab.Get(i); p == nil || *p != int(i) {
					t.Errorf("slot %d missing after publication", i)
					return
				}
			}
		})
	}
	for i := range vals {
		vals[i] = i
		tab.Set(uint32(i), &vals[i])
	}
	published.Done()
	wg.Wait()
}

// BenchmarkGet is the cost of finding a connection by slot (a broadcast
// does it once per recipient).
func BenchmarkGet(b *testing.B) {
	var tab Table[int]
	vals := make([]int, 10000)
	for i := range vals {
		tab.Set(uint32(i), &vals[i])
	}
	b.ReportAllocs()
	var sink *int
	for i := 0; b.Loop(); i++ {
		sink = tab.Get(uint32(i % len(vals)))
	}
	_ = sink
}

// TestSetAllocatesOnlyPages: filling a page allocates nothing after the
// page itself (a directory header per Set would cost 24 bytes a slot).
func TestSetAllocatesOnlyPages(t *testing.T) {
	var tab Table[int]
	x := 1
	tab.Set(0, &x)
	i := uint32(1)
	if a := testing.AllocsPerRun(100, func() { tab.Set(i, &x); i++ }); a != 0 {
		t.Fatalf("Set within a page: %.2f allocations, want 0", a)
	}
}
