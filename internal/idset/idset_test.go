package idset

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

type elem struct{ id string }

func newSet() *Set[elem] { return New(func(e *elem) string { return e.id }) }

// check compares s with the model, and the table's invariant: every
// element is reachable from its home slot without crossing an empty one.
func check(t testing.TB, s *Set[elem], model map[string]*elem) {
	t.Helper()
	if s.Len() != len(model) {
		t.Fatalf("Len %d, want %d", s.Len(), len(model))
	}
	for k, e := range model {
		if got := s.Get(k); got != e {
			t.Fatalf("Get(%q) = %v, want %v", k, got, e)
		}
	}
	seen := 0
	s.All(func(e *elem) bool {
		if model[e.id] != e {
			t.Fatalf("All yields %q, not in the model", e.id)
		}
		seen++
		return true
	})
	if seen != len(model) {
		t.Fatalf("All yields %d elements, want %d", seen, len(model))
	}
	mask := len(s.slots) - 1
	for i, e := range s.slots {
		if e == nil {
			continue
		}
		for j := s.home(e.id); j != i; j = (j + 1) & mask {
			if s.slots[j] == nil {
				t.Fatalf("%q at slot %d is cut off from its home %d by an empty slot %d", e.id, i, s.home(e.id), j)
			}
		}
	}
	if len(s.slots) > 0 && s.n*4 > len(s.slots)*3 {
		t.Fatalf("load %d/%d over 3/4", s.n, len(s.slots))
	}
}

// apply runs one operation on both the set and the model.
func apply(s *Set[elem], model map[string]*elem, op byte, k string) {
	switch op % 3 {
	case 0, 1:
		e := &elem{id: k}
		s.Add(e)
		model[k] = e
	case 2:
		want := model[k] != nil
		if got := s.Delete(k, nil); got != want {
			panic(fmt.Sprintf("Delete(%q) = %v, want %v", k, got, want))
		}
		delete(model, k)
	}
}

func TestSetAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	s, model := newSet(), map[string]*elem{}
	for i := range 200_000 {
		// A small key space: many replacements and deletions of present
		// keys, probe runs that wrap around, growth and shrinking.
		k := fmt.Sprint(r.IntN(3000))
		if i > 100_000 {
			k = fmt.Sprint(r.IntN(40)) // shrink back down
		}
		apply(s, model, byte(r.IntN(3)), k)
		if i%5000 == 0 {
			check(t, s, model)
		}
	}
	check(t, s, model)
	for k := range model {
		if !s.Delete(k, model[k]) {
			t.Fatalf("Delete(%q) of its element failed", k)
		}
		delete(model, k)
	}
	check(t, s, model)
	if s.slots != nil {
		t.Errorf("an empty set keeps %d slots", len(s.slots))
	}
}

func TestDeleteOnlyThatElement(t *testing.T) {
	s := newSet()
	a, b := &elem{"x"}, &elem{"x"}
	s.Add(a)
	if s.Delete("x", b) || s.Get("x") != a {
		t.Fatal("Delete removed an element other than the one named")
	}
	if !s.Delete("x", a) || s.Get("x") != nil || s.Len() != 0 {
		t.Fatal("Delete did not remove the element named")
	}
}

// FuzzSet runs a byte-coded operation sequence on the set and a map.
func FuzzSet(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 2, 1, 1, 3, 5, 2})
	f.Add([]byte("the quick brown fox jumps over the lazy dog"))
	f.Fuzz(func(t *testing.T, ops []byte) {
		s, model := newSet(), map[string]*elem{}
		for i := 0; i+1 < len(ops); i += 2 {
			apply(s, model, ops[i], string(rune('a'+ops[i+1]%64)))
		}
		check(t, s, model)
	})
}

func BenchmarkGet(b *testing.B) {
	s := newSet()
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("%020d", rand.Uint64())
		s.Add(&elem{keys[i]})
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if s.Get(keys[i%len(keys)]) == nil {
			b.Fatal("missing")
		}
		i++
	}
}
