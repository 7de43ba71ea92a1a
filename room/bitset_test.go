package room

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// slotsOf walks b with Next and returns its slots.
func slotsOf(b *Bitset) []uint32 {
	var out []uint32
	for s, ok := b.Next(0); ok; s, ok = b.Next(s + 1) {
		out = append(out, s)
	}
	return out
}

func sortedKeys(m map[uint32]bool) []uint32 {
	out := make([]uint32, 0, len(m))
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// checkBitsetInvariants checks that words[:lo] and words[len:cap] are zero.
func checkBitsetInvariants(t *testing.T, b *Bitset) {
	t.Helper()
	if b.lo < 0 || b.lo > len(b.words) {
		t.Fatalf("lo %d outside [0, %d]", b.lo, len(b.words))
	}
	for i, w := range b.words[:b.lo] {
		if w != 0 {
			t.Fatalf("word %d below lo %d is %#x", i, b.lo, w)
		}
	}
	for i, w := range b.words[len(b.words):cap(b.words)] {
		if w != 0 {
			t.Fatalf("word %d past len %d is %#x", len(b.words)+i, len(b.words), w)
		}
	}
}

func checkBitset(t *testing.T, b *Bitset, want map[uint32]bool) {
	t.Helper()
	checkBitsetInvariants(t, b)
	w := sortedKeys(want)
	if got := slotsOf(b); !slices.Equal(got, w) {
		t.Fatalf("Next walk = %v, want %v", got, w)
	}
	var each []uint32
	b.ForEach(func(s uint32) bool { each = append(each, s); return true })
	if !slices.Equal(each, w) {
		t.Fatalf("ForEach = %v, want %v", each, w)
	}
	if b.Count() != len(w) || b.IsEmpty() != (len(w) == 0) {
		t.Fatalf("Count = %d, IsEmpty = %v, want %d", b.Count(), b.IsEmpty(), len(w))
	}
	for _, s := range w {
		if !b.Has(s) {
			t.Fatalf("Has(%d) = false", s)
		}
	}
}

func TestBitsetBasics(t *testing.T) {
	var b Bitset
	checkBitset(t, &b, nil)
	if _, ok := b.Next(0); ok {
		t.Fatal("Next on empty set found a slot")
	}
	b.Clear(1000) // beyond the end: no-op, no growth
	if len(b.words) != 0 {
		t.Fatal("Clear grew the set")
	}
	for _, s := range []uint32{0, 63, 64, 127, 128, 4095, 19000} {
		b.Set(s)
	}
	checkBitset(t, &b, map[uint32]bool{0: true, 63: true, 64: true, 127: true, 128: true, 4095: true, 19000: true})
	if s, ok := b.Next(129); !ok || s != 4095 {
		t.Fatalf("Next(129) = %d, %v", s, ok)
	}
	if s, ok := b.Next(63); !ok || s != 63 {
		t.Fatalf("Next(63) = %d, %v", s, ok)
	}
	if _, ok := b.Next(19001); ok {
		t.Fatal("Next past the last slot found one")
	}
	if _, ok := b.Next(1 << 30); ok {
		t.Fatal("Next far past the end found one")
	}
	n := 0
	b.ForEach(func(uint32) bool { n++; return n < 3 })
	if n != 3 {
		t.Fatalf("ForEach did not stop: %d calls", n)
	}
	// Reset keeps capacity, and bits left in it must not come back.
	b.Reset()
	checkBitset(t, &b, nil)
	b.Set(19001)
	checkBitset(t, &b, map[uint32]bool{19001: true})
}

// TestBitsetRandom checks Set/Clear/Or/AndNot/CopyFrom/Reset against a map,
// reusing the same Bitsets so stale capacity is exercised.
func TestBitsetRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var a, b Bitset
	ma, mb := map[uint32]bool{}, map[uint32]bool{}
	slot := func() uint32 {
		if rng.IntN(10) == 0 {
			return rng.Uint32N(5000)
		}
		return rng.Uint32N(300)
	}
	for i := 0; i < 20000; i++ {
		switch rng.IntN(20) {
		case 0:
			a.Or(&b)
			for k, v := range mb {
				if v {
					ma[k] = true
				}
			}
		case 1:
			a.AndNot(&b)
			for k, v := range mb {
				if v {
					delete(ma, k)
				}
			}
		case 2:
			a.CopyFrom(&b)
			ma = map[uint32]bool{}
			for k, v := range mb {
				ma[k] = v
			}
		case 3:
			b.Reset()
			mb = map[uint32]bool{}
		case 4:
			a, b, ma, mb = b, a, mb, ma
		default:
			s := slot()
			if rng.IntN(2) == 0 {
				a.Set(s)
				ma[s] = true
			} else {
				a.Clear(s)
				delete(ma, s)
			}
			s = slot()
			if rng.IntN(3) != 0 {
				b.Set(s)
				mb[s] = true
			} else {
				b.Clear(s)
				delete(mb, s)
			}
		}
		if i%97 == 0 {
			checkBitset(t, &a, ma)
			checkBitset(t, &b, mb)
		}
	}
}

// TestBitsetLowWater checks that emptying and walking skip the zero prefix:
// after a wide set is reset, one high slot costs a word, not the span.
func TestBitsetLowWater(t *testing.T) {
	var b Bitset
	for s := uint32(0); s < 100000; s += 3 {
		b.Set(s)
	}
	b.Reset()
	b.Set(99999)
	checkBitsetInvariants(t, &b)
	if b.lo != 99999>>6 {
		t.Fatalf("lo = %d, want %d", b.lo, 99999>>6)
	}
	if s, ok := b.Next(0); !ok || s != 99999 {
		t.Fatalf("Next(0) = %d, %v", s, ok)
	}
	var c Bitset
	c.CopyFrom(&b)
	if c.lo != b.lo || !slices.Equal(slotsOf(&c), []uint32{99999}) {
		t.Fatalf("CopyFrom: lo %d, slots %v", c.lo, slotsOf(&c))
	}
	c.Set(5)
	b.Or(&c)
	checkBitset(t, &b, map[uint32]bool{5: true, 99999: true})
	var empty Bitset
	empty.grow(10)
	b.Or(&empty)
	b.AndNot(&empty)
	checkBitset(t, &b, map[uint32]bool{5: true, 99999: true})
	b.CopyFrom(&empty)
	checkBitset(t, &b, nil)
}
