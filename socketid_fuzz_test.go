package riptide

import (
	"testing"

	"github.com/riptide-io/riptide/engine"
	"github.com/riptide-io/riptide/internal/slots"
)

// FuzzSocketByID: any string as a socket id (a room name, untrusted)
// finds either nothing or the socket whose id it is, without a panic; an
// id's place reads back as its socket's loop and slot.
func FuzzSocketByID(f *testing.F) {
	srv := New(Config{})
	l := engine.NewDetachedLoop()
	socks := detachedSockets(f, srv, srv.root, l, 3)
	for _, s := range socks {
		li, slot, ok := slots.Place(s.ID())
		if !ok || li != s.loop().Index() || slot != s.slot() {
			f.Fatalf("id %s: place %d/%d %v, socket at %d/%d", s.ID(), li, slot, ok, s.loop().Index(), s.slot())
		}
		f.Add(s.ID())
	}
	f.Add("AAAAAAAAAAAAAAAAAAAA")
	f.Add("room")
	f.Add("________________////")
	f.Fuzz(func(t *testing.T, id string) {
		s := srv.root.Socket(id)
		if s != nil && s.ID() != id {
			t.Fatalf("%q found socket %q", id, s.ID())
		}
		for _, x := range socks {
			if x.ID() == id && s != x {
				t.Fatalf("%q: its socket is not found", id)
			}
		}
	})
}
