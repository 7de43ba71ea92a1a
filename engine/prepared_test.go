package engine

import "testing"

// BenchmarkPreparedParallel is a broadcast's message life on every core
// at once: take a message, append a 100-byte packet, frame it, release it.
func BenchmarkPreparedParallel(b *testing.B) {
	data := make([]byte, 100)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p := NewPrepared()
			p.SetB(append(append(p.B(), '4'), data...))
			p.Seal(false)
			p.Retain()
			p.Release()
			p.Release()
		}
	})
}

// TestLivePreparedCounts: with tracking on, a message counts from
// NewPrepared to its last Release; a message taken before tracking was on
// is not counted, and its release does not make the count go negative.
// Off, the count is -1.
func TestLivePreparedCounts(t *testing.T) {
	defer TrackPrepared(false)
	before := NewPrepared()
	TrackPrepared(true)
	n0 := LivePrepared()
	p := NewPrepared()
	p.Retain()
	if got := LivePrepared(); got != n0+1 {
		t.Errorf("with one message referenced: %d, want %d", got, n0+1)
	}
	p.Release()
	before.Release()
	if got := LivePrepared(); got != n0+1 {
		t.Errorf("after a first Release and an untracked one: %d, want %d", got, n0+1)
	}
	p.Release()
	if got := LivePrepared(); got != n0 {
		t.Errorf("after the last Release: %d, want %d", got, n0)
	}
	TrackPrepared(false)
	if got := LivePrepared(); got != -1 {
		t.Errorf("untracked: %d, want -1", got)
	}
}
