package riptide_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/riptide-io/riptide"
)

// TestSocketLookupByID: Namespace.Socket finds a connected socket by its
// id, on whichever loop it lives (the id names the loop and its session's
// slot), and finds nothing for an id altered in any character, of another
// length, of another namespace, or of a socket that left: also when a new
// socket of the same connection took its slot.
func TestSocketLookupByID(t *testing.T) {
	srv := roomServer(t, 2, nil)
	other := srv.Of("/other")
	nsp := srv.Sockets()
	var cls []*wsClient
	var ids []string
	loops := map[int]bool{}
	for range 6 {
		cl := dial(srv, "")
		cls = append(cls, cl)
		id := whoami(t, cl)
		ids = append(ids, id)
		s := nsp.Socket(id)
		if s == nil || s.ID() != id {
			t.Fatalf("id %s: found %v", id, s)
		}
		loops[riptide.LoopIndex(s)] = true
	}
	if len(loops) != 2 {
		t.Fatalf("sockets on loops %v, want both", loops)
	}
	if nsp.Len() != 6 {
		t.Fatalf("Len %d, want 6", nsp.Len())
	}
	id := ids[0]
	for i := range id {
		b := []byte(id)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		if s := nsp.Socket(string(b)); s != nil {
			t.Errorf("id with character %d changed (%s) found %s", i, b, s.ID())
		}
	}
	for _, bad := range []string{"", id[:19], id + "A", id[:19] + "*", strings.Repeat("A", 20)} {
		if s := nsp.Socket(bad); s != nil {
			t.Errorf("%q found %s", bad, s.ID())
		}
	}
	if other.Socket(id) != nil {
		t.Error("another namespace finds the socket")
	}

	// Leave the namespace and join it again on the same connection: the new
	// socket has the old one's slot and a new id.
	cl := cls[0]
	cl.send("41")
	cl.send("40")
	got := cl.read()
	var open struct{ SID string }
	if !strings.HasPrefix(got, "40") || json.Unmarshal([]byte(got[2:]), &open) != nil || open.SID == "" {
		t.Fatalf("reconnect: %q", got)
	}
	if open.SID == id {
		t.Fatal("the new socket has the old id")
	}
	if nsp.Socket(id) != nil {
		t.Fatal("the id of a socket that left still finds it")
	}
	if s := nsp.Socket(open.SID); s == nil || s.ID() != open.SID {
		t.Fatalf("the new socket %s is not found", open.SID)
	}
	if nsp.Len() != 6 {
		t.Fatalf("Len %d after reconnecting, want 6", nsp.Len())
	}

	// Closing a connection removes its socket.
	_ = cls[1].c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for nsp.Socket(ids[1]) != nil || nsp.Len() != 5 {
		if time.Now().After(deadline) {
			t.Fatalf("closed connection: socket still found (Len %d)", nsp.Len())
		}
		time.Sleep(time.Millisecond)
	}
	for _, id := range append(ids[2:], open.SID) {
		if nsp.Socket(id) == nil {
			t.Fatalf("socket %s lost", id)
		}
	}
}

// whoami returns the id of cl's socket in the main namespace.
func whoami(t *testing.T, cl *wsClient) string {
	t.Helper()
	ack := cl.call(t, "whoami", "")
	return strings.TrimSuffix(strings.TrimPrefix(ack, `431["`), `"]`)
}
