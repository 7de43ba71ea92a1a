package engine

import (
	"bufio"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riptide-io/riptide/internal/slots"
)

// TestSlotTable: slots are handed out densely, reused after release
// (newest first), and read back from any slot number without a panic.
func TestSlotTable(t *testing.T) {
	var tab slotTable
	if tab.get(0) != nil || tab.get(1<<30) != nil {
		t.Fatal("an empty table has a session")
	}
	const n = 1000
	sessions := make([]*Session, n)
	for i := range sessions {
		sessions[i] = &Session{}
		slot := tab.reserve()
		if slot != uint32(i) {
			t.Fatalf("slot %d handed out as #%d", slot, i)
		}
		tab.publish(slot, sessions[i])
	}
	for i, s := range sessions {
		if tab.get(uint32(i)) != s {
			t.Fatalf("slot %d holds the wrong session", i)
		}
	}
	if tab.get(n) != nil || tab.get(1<<20) != nil {
		t.Fatal("a slot past the end has a session")
	}
	tab.release(7)
	tab.release(300)
	if tab.get(7) != nil {
		t.Fatal("a released slot still has its session")
	}
	count := 0
	tab.each(func(*Session) bool { count++; return true })
	if count != n-2 {
		t.Fatalf("each visited %d sessions, want %d", count, n-2)
	}
	if a, b := tab.reserve(), tab.reserve(); a != 300 || b != 7 {
		t.Fatalf("released slots not reused first: got %d, %d", a, b)
	}
	if tab.reserve() != n {
		t.Fatal("after the reused slots, the next new one")
	}
}

// TestSIDLookup: a sid finds its session from any goroutine (it names the
// loop and slot), and nothing else does: a sid with one character changed,
// another loop, a wrong length, bad base64, a closed session's sid once
// its slot is reused.
func TestSIDLookup(t *testing.T) {
	srv, base := startServer(t, testConfig(), newEcho())
	ep := srv.endpoints[0]
	// Each handshake on a new connection held open, so that the loops
	// (least connections first) take turns.
	addr := srv.Addr().String()
	newSID := func() string {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || len(b) < 29 {
			t.Fatalf("handshake: %d %s", resp.StatusCode, b)
		}
		return string(b[9:29])
	}
	var sids []string
	for range 24 {
		sids = append(sids, newSID())
	}
	loopsSeen := map[int]bool{}
	for _, sid := range sids {
		s := ep.lookup([]byte(sid))
		if s == nil || s.ID() != sid {
			t.Fatalf("sid %s: found %v", sid, s)
		}
		loopsSeen[s.Loop().Index()] = true
	}
	if len(loopsSeen) != 2 {
		t.Fatalf("sessions on loops %v, want both", loopsSeen)
	}

	// Read concurrently with handshakes that publish new sessions (the race
	// detector watches the table).
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 200 {
			for _, sid := range sids {
				if ep.lookup([]byte(sid)) == nil {
					t.Error("lost", sid)
					return
				}
			}
		}
	})
	for range 8 {
		newSID()
	}
	wg.Wait()

	sid := sids[0]
	li, slot, _ := slots.Place(sid)
	if s := ep.lookup([]byte(sid)); s.Loop().Index() != li || s.slot != slot {
		t.Fatalf("sid says loop %d slot %d, session is at %d/%d", li, slot, s.Loop().Index(), s.slot)
	}
	flip := func(i int) string {
		b := []byte(sid)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	var raw [slots.IDRawLen]byte
	if _, err := base64.RawURLEncoding.Decode(raw[:], []byte(sid)); err != nil {
		t.Fatal(err)
	}
	raw[11] ^= 1
	otherLoop := base64.RawURLEncoding.EncodeToString(raw[:])
	for name, bad := range map[string]string{
		"random part changed": flip(3),
		"last random char":    flip(14),
		"other loop":          otherLoop,
		"short":               sid[:19],
		"long":                sid + "A",
		"not base64":          sid[:19] + "*",
		"empty":               "",
		"detached-style":      "detached-aaaaaaaaaaa",
	} {
		if s := ep.lookup([]byte(bad)); s != nil {
			t.Errorf("%s (%q) found session %s", name, bad, s.ID())
		}
	}

	// Close one session: its sid stops working, also once a new session
	// takes its slot.
	if code, body := post(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid, "text/plain;charset=UTF-8", "1"); code != 200 {
		t.Fatalf("close packet: %d %s", code, body)
	}
	for deadline := time.Now().Add(5 * time.Second); ep.lookup([]byte(sid)) != nil; {
		if time.Now().After(deadline) {
			t.Fatal("a closed session's sid still finds it")
		}
		time.Sleep(time.Millisecond)
	}
	reused := false
	for range 4 { // one new session per loop at least
		nsid := newSID()
		s := ep.lookup([]byte(nsid))
		if s == nil {
			t.Fatalf("new sid %s not found", nsid)
		}
		if s.Loop().Index() == li && s.slot == slot {
			reused = true
		}
	}
	if !reused {
		t.Fatal("the closed session's slot was not reused (the test no longer covers a stale sid)")
	}
	code, body, _ := get(t, base+"/engine.io/?EIO=4&transport=polling&sid="+sid)
	if code != 400 || !strings.Contains(body, "Session ID unknown") {
		t.Fatalf("stale sid: %d %s", code, body)
	}
}

// FuzzSIDLookup: any bytes as a sid (a query parameter, untrusted) find
// either nothing or the session whose id they are, without a panic.
func FuzzSIDLookup(f *testing.F) {
	_, ep, l := newFakeLoop()
	var ids []string
	l.enter()
	for range 3 {
		s := ep.newSession(fakeOpen(l, &fakeConn{}), []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), transportWebSocket)
		ids = append(ids, s.ID())
	}
	l.leave()
	for _, id := range ids {
		f.Add([]byte(id))
	}
	f.Add([]byte("detached-aaaaaaaaaaa"))
	f.Add([]byte("AAAAAAAAAAAAAAAAAAAA"))
	f.Add([]byte("________________////"))
	f.Fuzz(func(t *testing.T, sid []byte) {
		s := ep.lookup(sid)
		if s != nil && s.ID() != string(sid) {
			t.Fatalf("%q found session %q", sid, s.ID())
		}
		for _, id := range ids {
			if string(sid) == id && s == nil {
				t.Fatalf("%q: its session is not found", sid)
			}
		}
	})
}

// TestDetachedSessionCount: a detached session is counted while open and
// uncounted once closed (never below zero).
func TestDetachedSessionCount(t *testing.T) {
	l := NewDetachedLoop()
	var s *Session
	l.Run(func() { s = l.NewDetachedSession(&nopHandler{}) })
	if got := l.detachedEP.Count(); got != 1 {
		t.Fatalf("Count %d with one open detached session, want 1", got)
	}
	l.Run(func() { s.Close() })
	l.Run(func() {})
	if !s.Closed() {
		t.Fatal("the session did not close")
	}
	if got := l.detachedEP.Count(); got != 0 {
		t.Fatalf("Count %d after the close, want 0", got)
	}
}
