// Package idset is a hash set of pointers to elements that carry their own
// string key (a session or socket id), for the tables a server keeps one
// entry of per connection.
//
// A Go map[string]*T spends a 24-byte slot per entry (the key's string
// header and the value) plus control bytes and growth headroom: about 40
// bytes per connection at the sizes this package is used at, twice if a
// connection sits in two tables. A Set stores only the pointer, in an
// open-addressed table (linear probing, backward-shift deletion, so no
// tombstones), and reads the key from the element: 8 bytes per slot at a
// load factor between 3/8 and 3/4 after growth.
//
// A Set is not safe for concurrent use: callers hold their own lock.
package idset

import "hash/maphash"

// Set is a set of *T keyed by key(e). The zero value is not usable: use
// New. Keys must be unique: Add replaces an element with the same key.
type Set[T any] struct {
	slots []*T // nil when empty; len is a power of two, or 0
	n     int
	key   func(*T) string
	seed  maphash.Seed
}

// minSlots is the smallest table a non-empty set has.
const minSlots = 8

// New returns an empty set whose elements are keyed by key.
func New[T any](key func(*T) string) *Set[T] {
	return &Set[T]{key: key, seed: maphash.MakeSeed()}
}

// Len is the number of elements.
func (s *Set[T]) Len() int { return s.n }

// home is the slot where the probe for key k starts.
func (s *Set[T]) home(k string) int {
	return int(maphash.String(s.seed, k) & uint64(len(s.slots)-1))
}

// Get returns the element with key k, or nil.
func (s *Set[T]) Get(k string) *T {
	if s.n == 0 {
		return nil
	}
	mask := len(s.slots) - 1
	for i := s.home(k); ; i = (i + 1) & mask {
		e := s.slots[i]
		if e == nil {
			return nil
		}
		if s.key(e) == k {
			return e
		}
	}
}

// Add inserts e, replacing the element with the same key if there is one.
func (s *Set[T]) Add(e *T) {
	if (s.n+1)*4 > len(s.slots)*3 {
		s.resize(max(minSlots, len(s.slots)*2))
	}
	k := s.key(e)
	mask := len(s.slots) - 1
	for i := s.home(k); ; i = (i + 1) & mask {
		cur := s.slots[i]
		if cur == nil {
			s.slots[i] = e
			s.n++
			return
		}
		if s.key(cur) == k {
			s.slots[i] = e
			return
		}
	}
}

// Delete removes the element with key k if it is e (nil: whatever it is),
// and reports whether it removed one.
func (s *Set[T]) Delete(k string, e *T) bool {
	if s.n == 0 {
		return false
	}
	mask := len(s.slots) - 1
	i := s.home(k)
	for {
		cur := s.slots[i]
		if cur == nil {
			return false
		}
		if s.key(cur) == k {
			if e != nil && cur != e {
				return false
			}
			break
		}
		i = (i + 1) & mask
	}
	// Backward shift: move later members of the probe run into the hole
	// when their home slot does not lie (cyclically) between the hole and
	// them, so that every element stays reachable from its home.
	for j := (i + 1) & mask; s.slots[j] != nil; j = (j + 1) & mask {
		h := s.home(s.key(s.slots[j]))
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = nil
	s.n--
	if s.n == 0 {
		s.slots = nil
	} else if len(s.slots) > minSlots && s.n*8 < len(s.slots) {
		s.resize(len(s.slots) / 2) // give memory back after a crowd left
	}
	return true
}

// All calls fn for every element until fn returns false. fn must not
// change the set.
func (s *Set[T]) All(fn func(*T) bool) {
	for _, e := range s.slots {
		if e != nil && !fn(e) {
			return
		}
	}
}

// resize moves the elements into a table of n slots.
func (s *Set[T]) resize(n int) {
	old := s.slots
	s.slots = make([]*T, n)
	mask := n - 1
	for _, e := range old {
		if e == nil {
			continue
		}
		i := s.home(s.key(e))
		for s.slots[i] != nil {
			i = (i + 1) & mask
		}
		s.slots[i] = e
	}
}
