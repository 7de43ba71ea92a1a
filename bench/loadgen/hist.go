package loadgen

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"sync/atomic"
)

// Histogram layout: log-linear, as HDR histograms are. Values below
// 2^histSubBits are exact; above, every power of two is split into
// histHalf linear buckets, so a bucket's width is at most 1/64 of its lower
// bound (a relative error under 1.6%, reported at the bucket's midpoint:
// under 0.8%). Values are nanoseconds; the last bucket holds everything
// from about 2^42 ns (73 minutes) up.
const (
	histSubBits = 7
	histSub     = 1 << histSubBits // 128 exact buckets
	histHalf    = histSub / 2      // 64 buckets per power of two above
	histMaxExp  = 42
	histBuckets = histSub + (histMaxExp-histSubBits)*histHalf
)

// bucketOf returns the bucket index of v (negative values count as 0).
func bucketOf(v int64) int {
	if v < histSub {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - histSubBits // v>>shift is in [64, 128)
	idx := histSub + (shift-1)*histHalf + int(v>>shift) - histHalf
	if idx >= histBuckets {
		return histBuckets - 1
	}
	return idx
}

// bucketRange returns the smallest and largest value of bucket idx.
func bucketRange(idx int) (lo, hi int64) {
	if idx < histSub {
		return int64(idx), int64(idx)
	}
	shift := (idx-histSub)/histHalf + 1
	m := int64((idx-histSub)%histHalf + histHalf)
	return m << shift, (m+1)<<shift - 1
}

// Histogram counts values (latencies in nanoseconds) in log-linear buckets.
// Record is safe for concurrent use (atomic adds, no lock), so one histogram
// can take samples from many connection goroutines; on 2 cores the
// contention is small, and Sharded spreads it further. The zero value is
// not usable: call NewHistogram.
type Histogram struct {
	counts []atomic.Uint64
	sum    atomic.Int64 // nanoseconds, for the mean
	max    atomic.Int64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]atomic.Uint64, histBuckets)}
}

// Record counts one value.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)].Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
}

// Count is the number of recorded values (a sum over the buckets: Record
// keeps no separate total, one atomic add fewer per sample).
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// Merge adds o's counts to h (o must not be recorded into meanwhile).
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if n := o.counts[i].Load(); n > 0 {
			h.counts[i].Add(n)
		}
	}
	h.sum.Add(o.sum.Load())
	if m := o.max.Load(); m > h.max.Load() {
		h.max.Store(m)
	}
}

// Reset empties h (not concurrently with Record).
func (h *Histogram) Reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.sum.Store(0)
	h.max.Store(0)
}

// Quantile returns the value at quantile q in [0, 1] (the midpoint of its
// bucket, capped by the maximum seen), 0 when h is empty.
func (h *Histogram) Quantile(q float64) int64 {
	total := h.Count()
	if total == 0 {
		return 0
	}
	// The rank of the q-th value, 1-based: the smallest value with at least
	// ceil(q*total) values at or below it.
	rank := uint64(math.Ceil(q * float64(total)))
	if rank < 1 {
		rank = 1
	}
	if rank >= total {
		return h.max.Load() // the largest value is known exactly
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			lo, hi := bucketRange(i)
			v := lo + (hi-lo)/2
			return min(v, h.max.Load())
		}
	}
	return h.max.Load()
}

// Summary is a histogram's digest, in milliseconds.
type Summary struct {
	Count  uint64  `json:"count"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// Summary digests h (values in nanoseconds) into milliseconds.
func (h *Histogram) Summary() *Summary {
	n := h.Count()
	if n == 0 {
		return &Summary{}
	}
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	return &Summary{
		Count:  n,
		MeanMs: float64(h.sum.Load()) / float64(n) / 1e6,
		P50Ms:  ms(h.Quantile(0.50)),
		P90Ms:  ms(h.Quantile(0.90)),
		P99Ms:  ms(h.Quantile(0.99)),
		P999Ms: ms(h.Quantile(0.999)),
		MaxMs:  ms(h.max.Load()),
	}
}

// histJSON is the wire form of a Histogram: the non-empty buckets as
// [index, count] pairs, so that generator processes can ship theirs to the
// parent, which merges them.
type histJSON struct {
	Buckets [][2]uint64 `json:"buckets"`
	Sum     int64       `json:"sum"`
	Max     int64       `json:"max"`
}

// MarshalJSON encodes the non-empty buckets.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	var j histJSON
	for i := range h.counts {
		if n := h.counts[i].Load(); n > 0 {
			j.Buckets = append(j.Buckets, [2]uint64{uint64(i), n})
		}
	}
	j.Sum, j.Max = h.sum.Load(), h.max.Load()
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON wrote into an empty histogram.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var j histJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if h.counts == nil {
		h.counts = make([]atomic.Uint64, histBuckets)
	}
	h.Reset()
	for _, bc := range j.Buckets {
		if bc[0] >= histBuckets {
			return fmt.Errorf("histogram bucket %d out of range", bc[0])
		}
		h.counts[bc[0]].Add(bc[1])
	}
	h.sum.Store(j.Sum)
	h.max.Store(j.Max)
	return nil
}

// Sharded is a set of histograms recorded into by key (a connection's
// index): connections running on different cores then rarely touch the
// same cache lines. Merged returns their union.
type Sharded struct {
	shards []*Histogram
}

// NewSharded returns n shards.
func NewSharded(n int) *Sharded {
	s := &Sharded{shards: make([]*Histogram, n)}
	for i := range s.shards {
		s.shards[i] = NewHistogram()
	}
	return s
}

// Shard returns the histogram for key.
func (s *Sharded) Shard(key int) *Histogram { return s.shards[key%len(s.shards)] }

// Merged returns the union of the shards, as one new histogram.
func (s *Sharded) Merged() *Histogram {
	h := NewHistogram()
	for _, sh := range s.shards {
		h.Merge(sh)
	}
	return h
}

// Reset empties every shard.
func (s *Sharded) Reset() {
	for _, sh := range s.shards {
		sh.Reset()
	}
}
