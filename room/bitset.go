package room

import "math/bits"

// Bitset is a set of slots, one bit per slot, stored in 64-bit words that grow
// on demand. The zero value is an empty set ready to use.
//
// A Bitset is loop-only, like the [Shard] it is used with: no method is
// goroutine-safe. It is the destination of [Shard.Select] and
// the shape of a shard's member set; as a Select destination it is meant to be
// kept per loop and reused, so that a warmed Bitset selects and walks without
// allocating. Memory is one bit per slot up to the highest slot ever set:
// slots are small loop-local integers, so this is 1.25 KiB per 10k sockets.
//
// Emptying, copying and walking a Bitset cost in proportion to the words from
// its lowest set word to its highest, not to its capacity: selecting one
// socket at slot 900,000 after a broadcast to a million costs one pass over
// the million (to empty it) and then a word or two.
//
// A Bitset must not be copied after first use: copies share words.
type Bitset struct {
	words []uint64
	// Invariants: every word in words[:lo] and in words[len:cap] is zero,
	// and lo <= len(words). lo lets emptying and walking skip the zero
	// prefix; the zero tail lets growing within capacity skip clearing.
	lo int
}

// grow makes b at least n words long. It allocates only when n exceeds the
// capacity b already has; the words it exposes are zero by the invariant.
func (b *Bitset) grow(n int) {
	if n <= len(b.words) {
		return
	}
	lo := b.lo
	if lo == len(b.words) {
		b.lo = n // b was empty and stays so: keep lo at the end
	}
	if n <= cap(b.words) {
		b.words = b.words[:n]
		return
	}
	w := make([]uint64, n, max(n, 2*cap(b.words)))
	copy(w[lo:], b.words[lo:])
	b.words = w
}

// Set adds slot to b, growing b to slot/8 bytes if needed. Set, Or and
// CopyFrom are the only methods that allocate, and only past the capacity b
// already has.
func (b *Bitset) Set(slot uint32) {
	i := int(slot >> 6)
	if i >= len(b.words) {
		b.grow(i + 1)
	}
	b.words[i] |= 1 << (slot & 63)
	if i < b.lo {
		b.lo = i
	}
}

// Clear removes slot from b. Clearing a slot b does not hold is a no-op.
func (b *Bitset) Clear(slot uint32) {
	if i := int(slot >> 6); i < len(b.words) {
		b.words[i] &^= 1 << (slot & 63)
	}
}

// Has reports whether slot is in b.
func (b *Bitset) Has(slot uint32) bool {
	i := int(slot >> 6)
	return i < len(b.words) && b.words[i]&(1<<(slot&63)) != 0
}

// Count returns the number of slots in b. It costs one popcount per word.
func (b *Bitset) Count() int {
	n := 0
	for _, w := range b.words[b.lo:] {
		n += bits.OnesCount64(w)
	}
	return n
}

// IsEmpty reports whether b holds no slot.
func (b *Bitset) IsEmpty() bool {
	for _, w := range b.words[b.lo:] {
		if w != 0 {
			return false
		}
	}
	return true
}

// Or sets b to b ∪ o.
func (b *Bitset) Or(o *Bitset) {
	if o.lo >= len(o.words) {
		return
	}
	b.grow(len(o.words))
	dst := b.words[o.lo:len(o.words)]
	for i, w := range o.words[o.lo:] {
		dst[i] |= w
	}
	b.lo = min(b.lo, o.lo)
}

// AndNot sets b to b \ o.
func (b *Bitset) AndNot(o *Bitset) {
	lo, hi := max(b.lo, o.lo), min(len(b.words), len(o.words))
	if lo >= hi {
		return
	}
	dst := b.words[lo:hi]
	for i, w := range o.words[lo:hi] {
		dst[i] &^= w
	}
}

// CopyFrom sets b to a copy of o, reusing b's words.
func (b *Bitset) CopyFrom(o *Bitset) {
	b.Reset()
	b.grow(len(o.words))
	b.words = b.words[:len(o.words)] // zero past len: Reset cleared it
	copy(b.words[o.lo:], o.words[o.lo:])
	b.lo = o.lo
}

// Reset empties b, keeping its capacity for reuse. It costs the span b held.
func (b *Bitset) Reset() {
	clear(b.words[b.lo:])
	b.words = b.words[:0]
	b.lo = 0
}

// ForEach calls fn for each slot in b in increasing order until fn returns
// false. fn must not modify b. A closure passed here that does not otherwise
// escape is stack-allocated: ForEach does not allocate.
func (b *Bitset) ForEach(fn func(slot uint32) bool) {
	for i := b.lo; i < len(b.words); i++ {
		for w := b.words[i]; w != 0; w &= w - 1 {
			if !fn(uint32(i<<6 | bits.TrailingZeros64(w))) {
				return
			}
		}
	}
}

// Next returns the smallest slot in b that is >= from, and false if there is
// none. It is the closure-free way to walk a set:
//
//	for s, ok := b.Next(0); ok; s, ok = b.Next(s + 1) {
//		...
//	}
//
// Walking a set this way costs one word load per 64 slots scanned plus one
// call per slot found. (slot + 1 wraps at math.MaxUint32, far above any
// real slot.)
func (b *Bitset) Next(from uint32) (uint32, bool) {
	if i := from >> 6; uint64(i) < uint64(len(b.words)) {
		if w := b.words[i] >> (from & 63); w != 0 {
			return from + uint32(bits.TrailingZeros64(w)), true
		}
	}
	return b.nextWord(int(from>>6) + 1)
}

// nextWord returns the lowest slot in words[i:], and false if there is none.
func (b *Bitset) nextWord(i int) (uint32, bool) {
	for i = max(i, b.lo); i < len(b.words); i++ {
		if w := b.words[i]; w != 0 {
			return uint32(i<<6 | bits.TrailingZeros64(w)), true
		}
	}
	return 0, false
}
