package riptide

import (
	"testing"

	"github.com/riptide-io/riptide/engine"
)

// TestClientStateForms walks a connection's Socket.IO state through its
// forms in the session's Data: the connect timeout's timer, then the one
// socket (no allocation beside it), the full form while there is more (a
// second namespace, middlewares running under the timeout), back to the
// socket, and the closed mark.
func TestClientStateForms(t *testing.T) {
	srv := New(Config{})
	srv.Of("/admin")
	gate := srv.Of("/gated")
	var release func(error)
	gate.Use(func(_ *Socket, next func(error)) { release = next })
	l := engine.NewDetachedLoop()
	var sess *engine.Session
	form := func() string {
		var f string
		l.Run(func() {
			switch d := sess.Data.(type) {
			case nil:
				f = "nil"
			case *engine.Timer:
				f = "timer"
			case *Socket:
				f = "socket " + d.nsp.name
			case *clientState:
				if d == clientClosed {
					f = "closed"
				} else {
					f = "full"
				}
			default:
				f = "unknown"
			}
		})
		return f
	}
	msg := func(p string) { l.Run(func() { clientOf(sess).onMessage([]byte(p), false) }) }
	expect := func(step, want string) {
		t.Helper()
		if got := form(); got != want {
			t.Fatalf("%s: Data holds %s, want %s", step, got, want)
		}
	}
	l.Run(func() {
		sess = l.NewDetachedSession((*engineHandler)(srv))
		openClient(srv, sess)
	})
	expect("open", "timer")
	msg("0")
	expect("CONNECT /", "socket /")
	msg("0/admin,")
	expect("CONNECT /admin", "full")
	msg("1/admin,")
	expect("DISCONNECT /admin", "socket /")
	msg("1")
	expect("DISCONNECT /", "nil")
	msg("0/admin,")
	expect("CONNECT /admin again", "socket /admin")
	l.Run(func() { clientOf(sess).onClose("transport close") })
	expect("close", "closed")

	// Middlewares run while the connect timeout does: the full form, until
	// they pass.
	l.Run(func() {
		sess = l.NewDetachedSession((*engineHandler)(srv))
		openClient(srv, sess)
	})
	msg("0/gated,")
	expect("CONNECT /gated, middleware pending", "full")
	l.Run(func() { release(nil) })
	expect("middleware passed", "socket /gated")
	if s := clientOf(sess).first(); s == nil || !s.Connected() {
		t.Fatalf("the /gated socket is not connected")
	}

	// A refused CONNECT leaves the timer running.
	l.Run(func() {
		sess = l.NewDetachedSession((*engineHandler)(srv))
		openClient(srv, sess)
	})
	msg("0/gated,")
	l.Run(func() { release(&ConnectError{Message: "no"}) })
	expect("middleware refused", "timer")
}

// TestIdleClientAllocatesNothing: opening a connection's Socket.IO state
// and connecting a namespace without middlewares allocates the Socket, its
// id and the CONNECT reply's buffer, and nothing for the client (its
// connect timeout's timer is pooled by the loop).
func TestIdleClientAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	srv := New(Config{})
	l := engine.NewDetachedLoop()
	sessions := make([]*engine.Session, 0, 200)
	l.Run(func() {
		for range cap(sessions) {
			sessions = append(sessions, l.NewDetachedSession((*engineHandler)(srv)))
		}
	})
	i := 0
	open := func() {
		openClient(srv, sessions[i])
		clientOf(sessions[i]).onMessage([]byte("0"), false)
		i++
	}
	l.Run(open) // warm up the namespace's tables and the loop's state
	// A run per connection, as a loop turn: the loop recycles the freed
	// timer as the turn ends.
	allocs := testing.AllocsPerRun(100, func() { l.Run(open) })
	t.Logf("%.2f allocations to open and CONNECT", allocs)
	// The reply's buffer is pooled, but a detached session does not write,
	// so it never returns to the pool: it counts here.
	if allocs > 3 {
		t.Errorf("%.2f allocations to open and CONNECT, want 3 (the Socket, its id, the reply's buffer)", allocs)
	}
	l.Run(func() {
		if _, ok := sessions[1].Data.(*Socket); !ok {
			t.Errorf("a connected session's Data is %T, want *Socket", sessions[1].Data)
		}
	})
}
