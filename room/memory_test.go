//go:build !race

package room

import (
	"fmt"
	"runtime"
	"testing"
)

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// footprint builds a shard of sockets sockets, each in its own private room
// plus shared rooms chosen by shared (nil: none), and returns the live bytes
// the shard holds. Names are built per call and dropped, so only Join's
// copies are counted.
func footprint(sockets int, shared func(slot int) []int) (bytes uint64, memberships int) {
	before := heapInUse()
	s := NewShard()
	for i := range sockets {
		s.Join(uint32(i), fmt.Sprintf("user:%08d", i))
		memberships++
		if shared != nil {
			for _, r := range shared(i) {
				s.Join(uint32(i), fmt.Sprintf("shared:%03d", r))
				memberships++
			}
		}
	}
	after := heapInUse()
	runtime.KeepAlive(s)
	return after - before, memberships
}

// TestMemoryFootprint measures the representation chosen in set.go, with the
// scenario of the design brief: 10k sockets each in a private room, plus 100
// shared rooms. The bounds are loose (2x what was measured) so a regression
// to a flat bitset per room (~625 bytes a private room here) fails.
func TestMemoryFootprint(t *testing.T) {
	const n = 10000
	cases := []struct {
		name   string
		shared func(int) []int
		max    float64 // bytes per membership
	}{
		{"private only", nil, 250},
		{"private + 1 of 100 shared, strided", func(i int) []int { return []int{i % 100} }, 150},
		{"private + 1 of 100 shared, contiguous", func(i int) []int { return []int{i / 100} }, 150},
		{"private + 3 of 100 shared", func(i int) []int { return []int{i % 100, (i/100 + 7) % 100, (i * 7) % 100} }, 100},
	}
	for _, c := range cases {
		bytes, m := footprint(n, c.shared)
		per := float64(bytes) / float64(m)
		t.Logf("%-40s %8d B total, %6.1f B/socket, %6.1f B/membership", c.name, bytes, float64(bytes)/n, per)
		if per > c.max {
			t.Errorf("%s: %.1f B/membership, want <= %.0f", c.name, per, c.max)
		}
	}
}
