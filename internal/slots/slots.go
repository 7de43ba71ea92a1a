// Package slots is a table of pointers indexed by slot number (the small,
// dense, reused integers an event loop gives its connections), that one
// writer fills and any goroutine reads without a lock.
//
// The entries live in fixed pages of 256 that never move: a reader makes
// two atomic loads (the directory, then the entry), and growth copies only
// the directory (8 bytes per page), never the entries. A slice regrown by
// doubling leaves as much garbage as it keeps, and in a Go server with a
// small heap garbage is resident memory until the GC runs, which it does
// not below 4 MB (a few thousand idle connections).
package slots

import "sync/atomic"

// PageBits sets the page size: 1<<PageBits entries (2 KiB of pointers).
const PageBits = 8

const pageMask = 1<<PageBits - 1

type page[T any] [1 << PageBits]atomic.Pointer[T]

// Table maps slot numbers to *T. The zero value is an empty table. Get and
// Each are goroutine-safe; Set must not run concurrently with another Set.
type Table[T any] struct {
	dir atomic.Pointer[[]*page[T]]
}

// Get returns the entry at slot, nil when none.
func (t *Table[T]) Get(slot uint32) *T {
	dir := t.dir.Load()
	if dir == nil || int(slot>>PageBits) >= len(*dir) {
		return nil
	}
	return (*dir)[slot>>PageBits][slot&pageMask].Load()
}

// Set puts v at slot (nil empties it), adding the pages up to slot's.
func (t *Table[T]) Set(slot uint32, v *T) {
	p := int(slot >> PageBits)
	var pages []*page[T]
	if dir := t.dir.Load(); dir != nil {
		pages = *dir
	}
	if p >= len(pages) {
		if v == nil {
			return // nothing there to empty
		}
		pages = t.grow(pages, p)
	}
	pages[p][slot&pageMask].Store(v)
}

// grow adds pages up to index p and publishes the longer directory. Apart
// from Set so that only growth moves a directory header to the heap.
func (t *Table[T]) grow(pages []*page[T], p int) []*page[T] {
	// A reader holds its own header, so it never looks past its length
	// into the array this append may share.
	for p >= len(pages) {
		pages = append(pages, new(page[T]))
	}
	grown := pages
	t.dir.Store(&grown)
	return pages
}

// Each calls fn for every non-nil entry, in slot order, until fn returns
// false. An entry Set during Each may or may not be seen.
func (t *Table[T]) Each(fn func(slot uint32, v *T) bool) {
	dir := t.dir.Load()
	if dir == nil {
		return
	}
	for i, p := range *dir {
		for j := range p {
			if v := p[j].Load(); v != nil && !fn(uint32(i<<PageBits|j), v) {
				return
			}
		}
	}
}
