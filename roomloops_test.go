package riptide_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riptide-io/riptide"
)

// roomServer is a server with loops event loops whose sockets join and
// leave rooms on request: "join"/"leave" with the room, acknowledged once
// done, and "whoami", acknowledged with the socket's id.
func roomServer(t *testing.T, loops int, cfg func(*riptide.Server)) *riptide.Server {
	t.Helper()
	srv := riptide.New(riptide.Config{})
	srv.Engine().NumLoops = loops
	srv.OnEvent("join", func(s *riptide.Socket, args riptide.Args, ack riptide.Ack) {
		r, _ := riptide.Arg[string](args, 0)
		s.Join(r)
		ack()
	})
	srv.OnEvent("leave", func(s *riptide.Socket, args riptide.Args, ack riptide.Ack) {
		r, _ := riptide.Arg[string](args, 0)
		s.Leave(r)
		ack()
	})
	srv.OnEvent("whoami", func(s *riptide.Socket, _ riptide.Args, ack riptide.Ack) { ack(s.ID()) })
	if cfg != nil {
		cfg(srv)
	}
	serve(t, srv)
	return srv
}

// call sends event(arg) with an ack id and returns the acknowledgement.
func (cl *wsClient) call(t *testing.T, event, arg string) string {
	t.Helper()
	cl.send(fmt.Sprintf(`421[%q,%q]`, event, arg))
	got := cl.read()
	if !strings.HasPrefix(got, "431[") {
		t.Fatalf("%s(%s): got %q, want an ack", event, arg, got)
	}
	return got
}

// loopOf returns the index of the loop cl's socket lives on.
func loopOf(t *testing.T, srv *riptide.Server, cl *wsClient) int {
	t.Helper()
	ack := cl.call(t, "whoami", "")
	id := strings.TrimSuffix(strings.TrimPrefix(ack, `431["`), `"]`)
	s := srv.Sockets().Socket(id)
	if s == nil {
		t.Fatalf("no socket %q", id)
	}
	return riptide.LoopIndex(s)
}

// TestRoomLoopMask follows one room's loop mask through joins, a leave and
// a disconnect: it holds exactly the loops of the members, a broadcast
// reaches exactly the members, and the room's entry goes with its last
// member.
func TestRoomLoopMask(t *testing.T) {
	const loops = 4
	srv := roomServer(t, loops, nil)
	nsp := srv.Sockets()
	var cls []*wsClient
	for range 2 * loops { // dealt round-robin: two sockets on every loop
		cls = append(cls, dial(srv, ""))
	}
	a, b := cls[0], cls[1]
	la, lb := loopOf(t, srv, a), loopOf(t, srv, b)
	if la == lb {
		t.Fatalf("clients 0 and 1 on the same loop %d: the test wants two", la)
	}
	a.call(t, "join", "pair")
	b.call(t, "join", "pair")
	if got, want := riptide.RoomLoopMask(nsp, "pair"), uint64(1<<la|1<<lb); got != want {
		t.Fatalf("mask after two joins %b, want %b", got, want)
	}
	// Only the members get the room's message; everybody gets the next.
	expect := func(seq int, members ...*wsClient) {
		t.Helper()
		if err := srv.To("pair").Emit("m", seq); err != nil {
			t.Fatal(err)
		}
		if err := srv.Emit("all", seq); err != nil {
			t.Fatal(err)
		}
		for i, cl := range cls {
			for _, m := range members {
				if m == cl {
					if got, want := cl.read(), fmt.Sprintf(`42["m",%d]`, seq); got != want {
						t.Fatalf("member %d: got %q, want %q", i, got, want)
					}
				}
			}
			if got, want := cl.read(), fmt.Sprintf(`42["all",%d]`, seq); got != want {
				t.Fatalf("client %d: got %q, want %q", i, got, want)
			}
		}
	}
	expect(1, a, b)
	b.call(t, "leave", "pair")
	if got, want := riptide.RoomLoopMask(nsp, "pair"), uint64(1<<la); got != want {
		t.Fatalf("mask after a leave %b, want %b", got, want)
	}
	expect(2, a)
	if err := riptide.CheckRoomLoops(nsp); err != nil {
		t.Fatal(err)
	}
	_ = a.c.Close()
	cls = cls[1:]
	deadline := time.Now().Add(5 * time.Second)
	for riptide.RoomLoopMask(nsp, "pair") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("mask %b after the last member disconnected", riptide.RoomLoopMask(nsp, "pair"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := riptide.CheckRoomLoops(nsp); err != nil {
		t.Fatal(err) // also: no entry left for the empty room
	}
	expect(3)
}

// TestRoomLoopMaskEarlyJoin: a room joined in a middleware that lets the
// socket in later, from another goroutine, is joined when the connection
// completes; the join Socket.Join posted ran before that, found no
// connected socket and cleared the loop's bit. The broadcast must still
// reach the socket.
func TestRoomLoopMaskEarlyJoin(t *testing.T) {
	srv := roomServer(t, 2, func(srv *riptide.Server) {
		srv.Use(func(s *riptide.Socket, next func(error)) {
			s.Join("early")
			go func() {
				time.Sleep(20 * time.Millisecond)
				next(nil)
			}()
		})
	})
	cl := dial(srv, "")
	if err := srv.To("early").Emit("m", 1); err != nil {
		t.Fatal(err)
	}
	if got := cl.read(); got != `42["m",1]` {
		t.Fatalf("got %q, want the room's message", got)
	}
	if err := riptide.CheckRoomLoops(srv.Sockets()); err != nil {
		t.Fatal(err)
	}
}

// TestRoomLoopMaskChurn runs rounds of concurrent joins, leaves and
// reconnections over a few rooms on four loops, then, with nothing in
// flight, checks that every mask is exact and that a message to each room
// reaches exactly its members. Stale bits (a loop emptied while a join
// was on its way elsewhere) must have been cleared by then, and no bit a
// member needs may be missing.
func TestRoomLoopMaskChurn(t *testing.T) {
	const loops, clients, rooms, rounds, opsPerRound = 4, 12, 3, 8, 12
	srv := roomServer(t, loops, nil)
	nsp := srv.Sockets()
	type member struct {
		cl    *wsClient
		rooms map[string]bool
	}
	ms := make([]*member, clients)
	for i := range ms {
		ms[i] = &member{cl: dial(srv, ""), rooms: map[string]bool{}}
	}
	for round := range rounds {
		var wg sync.WaitGroup
		for i, m := range ms {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(round), uint64(i)))
				for range opsPerRound {
					r := fmt.Sprintf("r%d", rng.IntN(rooms))
					switch k := rng.IntN(10); {
					case k == 0: // a new connection: a new socket, in no room
						_ = m.cl.c.Close()
						m.cl, m.rooms = dial(srv, ""), map[string]bool{}
					case k < 6:
						m.cl.call(t, "join", r)
						m.rooms[r] = true
					default:
						m.cl.call(t, "leave", r)
						delete(m.rooms, r)
					}
				}
			}()
		}
		wg.Wait()
		// The closed connections' disconnects are in flight until the
		// server has counted them.
		deadline := time.Now().Add(5 * time.Second)
		for nsp.Len() != clients {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d sockets, want %d", round, nsp.Len(), clients)
			}
			time.Sleep(2 * time.Millisecond)
		}
		if err := riptide.CheckRoomLoops(nsp); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for k := range rooms {
			if err := srv.To(fmt.Sprintf("r%d", k)).Emit("m", k); err != nil {
				t.Fatal(err)
			}
		}
		if err := srv.Emit("end", round); err != nil {
			t.Fatal(err)
		}
		end := fmt.Sprintf(`42["end",%d]`, round)
		for i, m := range ms {
			got := map[string]bool{}
			for {
				p := m.cl.read()
				if p == end {
					break
				}
				var k int
				if _, err := fmt.Sscanf(p, `42["m",%d]`, &k); err != nil {
					t.Fatalf("round %d, client %d: got %q", round, i, p)
				}
				got[fmt.Sprintf("r%d", k)] = true
			}
			if fmt.Sprint(got) != fmt.Sprint(m.rooms) {
				t.Fatalf("round %d, client %d: messages of rooms %v, member of %v", round, i, got, m.rooms)
			}
		}
	}
}

// socketOf returns cl's socket and the index of its loop.
func socketOf(t *testing.T, srv *riptide.Server, cl *wsClient) (*riptide.Socket, int) {
	t.Helper()
	ack := cl.call(t, "whoami", "")
	s := srv.Sockets().Socket(strings.TrimSuffix(strings.TrimPrefix(ack, `431["`), `"]`))
	if s == nil {
		t.Fatalf("no socket for ack %q", ack)
	}
	return s, riptide.LoopIndex(s)
}

// TestRoomLoopMaskPendingJoins orders joins and leaves, by holding a loop,
// into the two cases a mask must survive: a loop's shard of a room empties
// while a join to that same loop is queued behind (its bit must stay), and
// while a join to another loop is in flight (its bit stays, stale, until
// that join lands; then it must go).
func TestRoomLoopMaskPendingJoins(t *testing.T) {
	srv := roomServer(t, 2, nil)
	nsp := srv.Sockets()
	var onLoop [2][]*riptide.Socket
	var clientOf = map[*riptide.Socket]*wsClient{}
	for range 4 {
		cl := dial(srv, "")
		s, i := socketOf(t, srv, cl)
		onLoop[i] = append(onLoop[i], s)
		clientOf[s] = cl
	}
	if len(onLoop[0]) != 2 || len(onLoop[1]) != 2 {
		t.Fatalf("sockets per loop %d/%d, want 2/2", len(onLoop[0]), len(onLoop[1]))
	}
	x, x2, y := onLoop[0][0], onLoop[0][1], onLoop[1][0]

	// Same loop: x leaves r (emptying loop 0's shard) after x2's join was
	// announced and before it is applied.
	x.Join("r")
	riptide.SyncLoop(srv, 0)
	release := riptide.BlockLoop(srv, 0)
	x.Leave("r")
	x2.Join("r")
	release()
	riptide.SyncLoop(srv, 0)
	if got := riptide.RoomLoopMask(nsp, "r"); got != 1 {
		t.Fatalf("room r: mask %b with x2 on loop 0, want 1", got)
	}
	if err := srv.To("r").Emit("m", "r"); err != nil {
		t.Fatal(err)
	}
	if got := clientOf[x2].read(); got != `42["m","r"]` {
		t.Fatalf("x2 got %q", got)
	}

	// Across loops: y (loop 1) leaves s while x's join to loop 0 is held.
	y.Join("s")
	riptide.SyncLoop(srv, 1)
	release = riptide.BlockLoop(srv, 0)
	x.Join("s")
	y.Leave("s")
	riptide.SyncLoop(srv, 1)
	if got := riptide.RoomLoopMask(nsp, "s"); got != 3 {
		t.Fatalf("room s: mask %b while x's join is held, want 11 (loop 1 stale, kept)", got)
	}
	release()
	riptide.SyncLoop(srv, 0) // x's join lands and asks loop 1 to look again
	riptide.SyncLoop(srv, 1)
	if got := riptide.RoomLoopMask(nsp, "s"); got != 1 {
		t.Fatalf("room s: mask %b once every join landed, want 1 (loop 1's stale bit cleared)", got)
	}
	if err := riptide.CheckRoomLoops(nsp); err != nil {
		t.Fatal(err)
	}
}

// TestRoomLoopMaskEmitWithAck: a broadcast with acks to a room visits only
// the loops where it has members, and waits for exactly their replies.
func TestRoomLoopMaskEmitWithAck(t *testing.T) {
	const loops = 4
	srv := roomServer(t, loops, nil)
	var cls []*wsClient
	for range 2 * loops {
		cls = append(cls, dial(srv, ""))
	}
	a, b := cls[0], cls[1]
	if loopOf(t, srv, a) == loopOf(t, srv, b) {
		t.Fatal("clients 0 and 1 on the same loop: the test wants two")
	}
	a.call(t, "join", "pair")
	b.call(t, "join", "pair")
	done := make(chan [][]any, 1)
	err := srv.To("pair").Timeout(5*time.Second).EmitWithAck("ask", func(replies [][]any, err error) {
		if err != nil {
			t.Errorf("EmitWithAck: %v", err)
		}
		done <- replies
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, cl := range []*wsClient{a, b} {
		p := cl.read() // 42<id>["ask"]
		id, ok := strings.CutSuffix(strings.TrimPrefix(p, "42"), `["ask"]`)
		if !ok || id == "" {
			t.Fatalf("member %d got %q", i, p)
		}
		cl.send(fmt.Sprintf(`43%s["ok %d"]`, id, i))
	}
	select {
	case replies := <-done:
		if len(replies) != 2 {
			t.Fatalf("replies %v, want the two members'", replies)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no callback")
	}
}

// TestConcurrentEmitsPooledTasks: broadcasts share pooled tasks, so a task
// reused while a loop still ran it would hand that loop another room's
// message. Four goroutines emit to four rooms at once on four loops; every
// member must get exactly its room's messages, in order.
func TestConcurrentEmitsPooledTasks(t *testing.T) {
	const rooms, perRoom, msgs = 4, 3, 300
	srv := roomServer(t, 4, nil)
	members := make([][]*wsClient, rooms)
	for r := range rooms {
		for range perRoom {
			cl := dial(srv, "")
			if got := cl.call(t, "join", fmt.Sprint("r", r)); got != "431[]" {
				t.Fatalf("join ack %q", got)
			}
			members[r] = append(members[r], cl)
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait() // no emitter outlives the test, even one that failed
	for r := range rooms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			op := srv.To(fmt.Sprint("r", r))
			for i := range msgs {
				if err := op.Emit("m", fmt.Sprintf("r%d-%d", r, i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for r, cls := range members {
		for _, cl := range cls {
			for i := range msgs {
				if got, want := cl.read(), fmt.Sprintf(`42["m","r%d-%d"]`, r, i); got != want {
					t.Fatalf("a member of r%d got %q, want %q", r, got, want)
				}
			}
		}
	}
}
