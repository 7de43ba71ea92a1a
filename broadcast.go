package riptide

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/riptide-io/riptide/codec"
	"github.com/riptide-io/riptide/engine"
	"github.com/riptide-io/riptide/room"
)

// BroadcastOperator selects sockets of a namespace and acts on them (Node's
// io.to(...).except(...)). It is a small value: each modifier returns a
// modified copy, so chains can be kept and reused. Goroutine-safe.
//
//	srv.To("room1", "room2").Except("room3").Emit("hello", "world")
type BroadcastOperator struct {
	nsp      *Namespace
	rooms    []string
	except   []string
	volatile bool
	local    bool
	timeout  time.Duration
}

// To adds rooms (or socket ids) to the target: the union of all of them.
func (b BroadcastOperator) To(rooms ...string) BroadcastOperator {
	b.rooms = append(slices.Clip(b.rooms), rooms...)
	return b
}

// In is To.
func (b BroadcastOperator) In(rooms ...string) BroadcastOperator { return b.To(rooms...) }

// Except removes the members of rooms (or socket ids) from the target.
func (b BroadcastOperator) Except(rooms ...string) BroadcastOperator {
	b.except = append(slices.Clip(b.except), rooms...)
	return b
}

// Volatile drops the packet for a socket that cannot take it now: a
// WebSocket with data already waiting, a polling client with no poll
// pending (Node's volatile).
func (b BroadcastOperator) Volatile() BroadcastOperator { b.volatile = true; return b }

// Local keeps the broadcast on this node (no adapter fan-out). With the
// default in-memory adapter every broadcast is local.
func (b BroadcastOperator) Local() BroadcastOperator { b.local = true; return b }

// Compress is accepted for compatibility with Node's API and does nothing:
// Riptide does not implement permessage-deflate or polling compression yet.
func (b BroadcastOperator) Compress(bool) BroadcastOperator { return b }

// Timeout sets how long EmitWithAck waits for every acknowledgement.
func (b BroadcastOperator) Timeout(d time.Duration) BroadcastOperator { b.timeout = d; return b }

// volatileLimit is how much may already wait on a socket for a volatile
// packet to still be sent to it.
const volatileLimit = 64 << 10

// Emit sends event to every selected socket. The packet and its frame are
// encoded once and shared by every recipient; each event loop is reached
// once, whatever the number of recipients.
func (b BroadcastOperator) Emit(event string, args ...any) error {
	if codec.IsReservedEvent(event) {
		return ErrReservedEvent
	}
	msgs, err := encodeEvent(b.nsp.name, codec.NoAckID, event, args)
	if err != nil {
		return err
	}
	if !b.local {
		if _, mem := b.nsp.srv.cfg.Adapter.(MemoryAdapter); !mem {
			b.publish(msgs)
		}
	}
	b.nsp.srv.stats.broadcasts.Add(1)
	b.deliver(msgs, nil)
	return nil
}

// publish hands the encoded packet to the adapter for the other nodes.
func (b BroadcastOperator) publish(msgs []*engine.Prepared) {
	packet := msgs[0].Packet()[1:] // without the Engine.IO message type
	var att [][]byte
	for _, p := range msgs[1:] {
		att = append(att, p.Packet())
	}
	b.nsp.srv.cfg.Adapter.Broadcast(b.nsp.name, packet, att, b.options())
}

// deliver hands the encoded messages to every loop once; each loop selects
// its recipients with set algebra and queues the shared bytes for them.
// It takes over the caller's references.
func (b BroadcastOperator) deliver(msgs []*engine.Prepared, onLoop func(l *engine.Loop, s *engine.Session)) {
	loops := b.nsp.srv.eng.Loops()
	for _, l := range loops {
		for _, p := range msgs {
			p.Retain()
		}
		l.Post(func() {
			b.deliverOnLoop(l, msgs, onLoop)
			for _, p := range msgs {
				p.Release()
			}
		})
	}
	for _, p := range msgs {
		p.Release()
	}
}

// deliverOnLoop writes msgs to the selected sessions of one loop. It
// allocates nothing per recipient. Loop-only.
func (b BroadcastOperator) deliverOnLoop(l *engine.Loop, msgs []*engine.Prepared, onLoop func(*engine.Loop, *engine.Session)) {
	ls := loopStateOf(l)
	sh := ls.shards[b.nsp]
	if sh == nil {
		return
	}
	sel := b.selector(l, ls)
	sh.Select(&ls.sel, sel)
	var sent, dropped uint64
	for slot, ok := ls.sel.Next(0); ok; slot, ok = ls.sel.Next(slot + 1) {
		s := l.Session(slot)
		if s == nil {
			continue
		}
		if b.volatile && !writable(s) {
			dropped++
			continue
		}
		sent++
		if onLoop != nil {
			onLoop(l, s)
		}
		for _, p := range msgs {
			s.Write(p)
		}
	}
	// One atomic add per loop and broadcast, not per recipient.
	stats := &b.nsp.srv.stats
	stats.recipients.Add(sent)
	if dropped > 0 {
		stats.volatileDrops.Add(dropped)
	}
}

func writable(s *engine.Session) bool {
	return s.Buffered() < volatileLimit && s.Writable()
}

// selector builds the room selection for one loop: socket ids among the
// rooms become slots on the loop that owns them.
func (b BroadcastOperator) selector(l *engine.Loop, ls *loopState) room.Selector {
	ls.toSlots = ls.toSlots[:0]
	ls.exSlots = ls.exSlots[:0]
	for _, r := range b.rooms {
		if s := b.nsp.Socket(r); s != nil && s.loop == l {
			ls.toSlots = append(ls.toSlots, s.slot)
		}
	}
	for _, r := range b.except {
		if s := b.nsp.Socket(r); s != nil && s.loop == l {
			ls.exSlots = append(ls.exSlots, s.slot)
		}
	}
	return room.Selector{To: b.rooms, Except: b.except, ToSlots: ls.toSlots, ExceptSlots: ls.exSlots}
}

// BroadcastAckCallback receives one reply per recipient that answered
// (each reply's decoded arguments), and ErrAckTimeout if some did not answer
// in time.
type BroadcastAckCallback func(replies [][]any, err error)

// EmitWithAck emits to every selected socket and calls cb once with every
// acknowledgement, when all have arrived or the Timeout expires (with
// ErrAckTimeout and the replies so far). cb may run on any goroutine.
func (b BroadcastOperator) EmitWithAck(event string, cb BroadcastAckCallback, args ...any) error {
	if codec.IsReservedEvent(event) {
		return ErrReservedEvent
	}
	id := b.nsp.ackIDs.Add(1) - 1
	msgs, err := encodeEvent(b.nsp.name, id, event, args)
	if err != nil {
		return err
	}
	agg := &ackAggregator{cb: cb, loopsLeft: len(b.nsp.srv.eng.Loops())}
	if b.timeout > 0 {
		agg.timer = time.AfterFunc(b.timeout, func() { agg.finish(ErrAckTimeout) })
	}
	if agg.loopsLeft == 0 {
		for _, p := range msgs {
			p.Release()
		}
		agg.finish(nil)
		return nil
	}
	b.deliverWithAck(msgs, id, agg)
	return nil
}

func (b BroadcastOperator) deliverWithAck(msgs []*engine.Prepared, id int64, agg *ackAggregator) {
	for _, l := range b.nsp.srv.eng.Loops() {
		for _, p := range msgs {
			p.Retain()
		}
		l.Post(func() {
			n := 0
			b.deliverOnLoop(l, msgs, func(l *engine.Loop, sess *engine.Session) {
				c, ok := sess.Data.(*client)
				if !ok {
					return
				}
				s := c.socket(b.nsp.name)
				if s == nil {
					return
				}
				n++
				if s.acks == nil {
					s.acks = map[int64]*pendingAck{}
				}
				s.acks[id] = &pendingAck{cb: func(reply Args, err error) {
					if err != nil {
						agg.reply(nil, false)
						return
					}
					v, _ := reply.Values()
					agg.reply(v, true)
				}}
			})
			for _, p := range msgs {
				p.Release()
			}
			agg.loopDone(n)
		})
	}
	for _, p := range msgs {
		p.Release()
	}
}

type ackAggregator struct {
	mu        sync.Mutex
	cb        BroadcastAckCallback
	timer     *time.Timer
	loopsLeft int
	expected  int
	got       int
	replies   [][]any
	done      bool
}

func (a *ackAggregator) loopDone(n int) {
	a.mu.Lock()
	a.loopsLeft--
	a.expected += n
	ready := a.loopsLeft == 0 && a.got >= a.expected
	a.mu.Unlock()
	if ready {
		a.finish(nil)
	}
}

func (a *ackAggregator) reply(v []any, ok bool) {
	a.mu.Lock()
	a.got++
	if ok {
		a.replies = append(a.replies, v)
	}
	ready := a.loopsLeft == 0 && a.got >= a.expected
	a.mu.Unlock()
	if ready {
		a.finish(nil)
	}
}

func (a *ackAggregator) finish(err error) {
	a.mu.Lock()
	if a.done {
		a.mu.Unlock()
		return
	}
	a.done = true
	if a.timer != nil {
		a.timer.Stop()
	}
	replies := a.replies
	a.mu.Unlock()
	a.cb(replies, err)
}

// match reports whether s is selected by the operator's rooms.
func (b BroadcastOperator) match(s *Socket) bool {
	if len(b.rooms) > 0 && !slices.ContainsFunc(b.rooms, s.inRoom) {
		return false
	}
	return !slices.ContainsFunc(b.except, s.inRoom)
}

// FetchSockets returns the selected sockets (a snapshot).
func (b BroadcastOperator) FetchSockets() []*Socket {
	var out []*Socket
	b.nsp.forEachSocket(func(s *Socket) {
		if b.match(s) {
			out = append(out, s)
		}
	})
	return out
}

// FetchRemoteSockets returns the selected sockets of the other nodes of a
// cluster (none with the default MemoryAdapter).
func (b BroadcastOperator) FetchRemoteSockets(ctx context.Context) ([]RemoteSocket, error) {
	if b.local {
		return nil, nil
	}
	return b.nsp.srv.cfg.Adapter.FetchSockets(ctx, b.nsp.name, b.options())
}

// SocketsJoin makes the selected sockets join rooms, cluster-wide.
func (b BroadcastOperator) SocketsJoin(rooms ...string) {
	for _, s := range b.FetchSockets() {
		s.Join(rooms...)
	}
	if !b.local {
		b.nsp.srv.cfg.Adapter.AddSockets(b.nsp.name, b.options(), rooms)
	}
}

// SocketsLeave makes the selected sockets leave rooms, cluster-wide.
func (b BroadcastOperator) SocketsLeave(rooms ...string) {
	for _, s := range b.FetchSockets() {
		for _, r := range rooms {
			s.Leave(r)
		}
	}
	if !b.local {
		b.nsp.srv.cfg.Adapter.DelSockets(b.nsp.name, b.options(), rooms)
	}
}

// DisconnectSockets disconnects the selected sockets, cluster-wide; close
// also closes their connections.
func (b BroadcastOperator) DisconnectSockets(close bool) {
	for _, s := range b.FetchSockets() {
		s.Disconnect(close)
	}
	if !b.local {
		b.nsp.srv.cfg.Adapter.DisconnectSockets(b.nsp.name, b.options(), close)
	}
}
