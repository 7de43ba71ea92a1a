package room

import (
	"fmt"
	"testing"
)

// benchShards caches one shard per size across sub-benchmarks: slot i is in
// room "r<i%4>" and, when i%10 == 9, in "ex"; the last slot is alone in
// "private".
var benchShards = map[int]*Shard{}

func benchShard(n int) *Shard {
	if s := benchShards[n]; s != nil {
		return s
	}
	s := NewShard()
	for i := range n {
		slot := uint32(i)
		s.Join(slot, roomNames[i%4])
		if i%10 == 9 {
			s.Join(slot, "ex")
		}
	}
	s.Join(uint32(n-1), "private")
	benchShards[n] = s
	return s
}

var roomNames = []string{"r0", "r1", "r2", "r3"}

// BenchmarkSelect selects and walks (Next) a broadcast on shards of 1 to 1M
// members: To 1-4 rooms Except "ex", every member Except "ex", and a private
// room at the highest slot. ns/member is the time per slot visited.
func BenchmarkSelect(b *testing.B) {
	for _, n := range []int{1, 100, 10_000, 1_000_000} {
		s := benchShard(n)
		cases := []struct {
			name string
			sel  Selector
		}{
			{"to1", Selector{To: roomNames[:1], Except: []string{"ex"}}},
			{"to2", Selector{To: roomNames[:2], Except: []string{"ex"}}},
			{"to3", Selector{To: roomNames[:3], Except: []string{"ex"}}},
			{"to4", Selector{To: roomNames[:4], Except: []string{"ex"}}},
			{"all", Selector{Except: []string{"ex"}}},
			{"private", Selector{To: []string{"private"}}},
		}
		for _, c := range cases {
			b.Run(fmt.Sprintf("members=%d/%s", n, c.name), func(b *testing.B) {
				var dst Bitset
				s.Select(&dst, Selector{}) // warm: dst grown to the shard's span
				visited, iters := 0, 0
				b.ReportAllocs()
				for b.Loop() {
					s.Select(&dst, c.sel)
					for slot, ok := dst.Next(0); ok; slot, ok = dst.Next(slot + 1) {
						visited++
					}
					iters++
				}
				if visited > 0 {
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(visited), "ns/member")
					b.ReportMetric(float64(visited)/float64(iters), "members/op")
				}
			})
		}
	}
}

// BenchmarkWalk compares the two ways to walk a selection of 10k members.
func BenchmarkWalk(b *testing.B) {
	s := benchShard(10_000)
	var dst Bitset
	s.Select(&dst, Selector{})
	b.Run("Next", func(b *testing.B) {
		b.ReportAllocs()
		sum := uint32(0)
		for b.Loop() {
			for slot, ok := dst.Next(0); ok; slot, ok = dst.Next(slot + 1) {
				sum += slot
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*10_000), "ns/member")
	})
	b.Run("ForEach", func(b *testing.B) {
		b.ReportAllocs()
		sum := uint32(0)
		for b.Loop() {
			dst.ForEach(func(slot uint32) bool { sum += slot; return true })
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*10_000), "ns/member")
	})
}

// BenchmarkJoinLeave measures one Join plus one Leave: on an existing small
// (list) room, on an existing big (bitset) room, and creating then deleting a
// private room, which allocates its entry and name.
func BenchmarkJoinLeave(b *testing.B) {
	s := benchShard(10_000)
	s.Join(100, "small")
	b.Run("existing-list", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Join(5000, "small")
			s.Leave(5000, "small")
		}
	})
	b.Run("existing-bitset", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Leave(5000, "r0")
			s.Join(5000, "r0")
		}
	})
	b.Run("create-delete", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Join(5000, "user:5000")
			s.Leave(5000, "user:5000")
		}
	})
	b.Run("remove-rejoin", func(b *testing.B) {
		s.Join(5001, "r1")
		b.ReportAllocs()
		for b.Loop() {
			s.Remove(5001, nil)
			s.Join(5001, "r1")
		}
	})
}
