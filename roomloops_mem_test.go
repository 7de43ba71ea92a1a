package riptide

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/riptide-io/riptide/engine"
)

// TestRoomLoopsMemory pins what a room's loop mask costs: its entry in the
// namespace's map (sync.Map: reads without locks) and the mask, ~150 bytes
// measured for 100k rooms, beside the ~150 a private room costs each shard
// it has members on (room/memory_test.go). A socket id's room has no entry
// (a broadcast to it takes the socket's loop).
func TestRoomLoopsMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's shadow memory skews heap figures")
	}
	l := engine.NewDetachedLoop()
	var rl roomLoops
	const n = 100_000
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("user:%08d", i)
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	for _, r := range names {
		rl.joining(l, r)
		rl.joined(l, r, 1)
	}
	after := heap()
	per := float64(int64(after)-int64(before)) / n
	t.Logf("%.0f bytes per room", per)
	if per > 250 {
		t.Errorf("%.0f bytes per room's loop mask, want <= 250", per)
	}
	for _, r := range names {
		if rl.mask(r) != 1 {
			t.Fatalf("room %s: mask %b, want 1", r, rl.mask(r))
		}
		rl.emptied(l, r)
	}
	empty := true
	rl.rooms.Range(func(any, any) bool { empty = false; return false })
	if !empty {
		t.Error("masks left after every room emptied")
	}
	runtime.KeepAlive(names)
}
