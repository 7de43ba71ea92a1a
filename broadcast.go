package riptide

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
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
// encoded once and shared by every recipient; each event loop that may have
// recipients is reached once, whatever their number: for a broadcast to
// rooms, the loops where the rooms have members (and the loops of the socket
// ids among them); for one to the whole namespace, the loops that have
// sockets of it. In a cluster the adapter publishes it to the other nodes
// too (unless Local).
func (b BroadcastOperator) Emit(event string, args ...any) error {
	if codec.IsReservedEvent(event) {
		return ErrReservedEvent
	}
	t := newDeliverTask(b)
	msgs, err := encodeEvent(t.one[:0], b.nsp.name, codec.NoAckID, event, args)
	if err != nil {
		t.free()
		return err
	}
	if b.clustered() {
		b.nsp.adapter.Broadcast(clusterPacket(msgs), b.options())
	}
	t.deliver(msgs)
	return nil
}

// clustered reports whether operations go to other nodes too.
func (b BroadcastOperator) clustered() bool {
	return !b.local && !isMemory(b.nsp.adapter)
}

// clusterPacket views encoded messages as a ClusterPacket: the event's
// data array (after the packet header) and the attachments. Borrowed.
func clusterPacket(msgs []*engine.Prepared) ClusterPacket {
	pkt := msgs[0].Packet()[1:] // without the Engine.IO message type
	var p ClusterPacket
	p.Data = eventData(pkt)
	if len(msgs) > 1 {
		p.Attachments = make([][]byte, 0, len(msgs)-1)
		for _, m := range msgs[1:] {
			p.Attachments = append(p.Attachments, m.Packet())
		}
	}
	return p
}

// eventData returns the data array of an encoded EVENT packet: what
// follows the header `2`/`5<n>-`, `<nsp>,` and the ack id (our own
// encoding: a namespace name never holds a ',').
func eventData(pkt []byte) []byte {
	i := 1
	if len(pkt) > 0 && pkt[0] == '0'+byte(codec.PacketBinaryEvent) {
		for i < len(pkt) && pkt[i] != '-' {
			i++
		}
		i++
	}
	if i < len(pkt) && pkt[i] == '/' {
		for i < len(pkt) && pkt[i] != ',' {
			i++
		}
		i++
	}
	for i < len(pkt) && pkt[i] >= '0' && pkt[i] <= '9' {
		i++
	}
	if i > len(pkt) {
		i = len(pkt)
	}
	return pkt[i:]
}

// EmitPacket delivers an event another node published to the selected
// local sockets: for adapters. The data array is validated; the event is
// never published again, whatever the operator's flags.
func (b BroadcastOperator) EmitPacket(p ClusterPacket) error {
	b.local = true
	t := newDeliverTask(b)
	msgs, err := encodeClusterPacket(t.one[:0], b.nsp.name, codec.NoAckID, p)
	if err != nil {
		t.free()
		return err
	}
	t.deliver(msgs)
	return nil
}

// encodeClusterPacket checks a ClusterPacket and encodes it as an EVENT
// with ack id id.
func encodeClusterPacket(dst []*engine.Prepared, nsp string, id int64, p ClusterPacket) ([]*engine.Prepared, error) {
	name, isString, err := codec.EventName(p.Data)
	if err != nil || !isString || len(name) < 2 {
		return nil, ErrInvalidClusterPacket
	}
	if err := codec.ValidateData(p.Data, len(p.Attachments)); err != nil {
		return nil, ErrInvalidClusterPacket
	}
	m := engine.NewPrepared()
	buf := append(m.B(), byte(codec.EngineMessage))
	m.SetB(codec.AppendEventData(buf, nsp, id, p.Data, len(p.Attachments)))
	m.Seal(false)
	return withAttachments(dst, m, p.Attachments), nil
}

// deliver counts the broadcast and hands msgs once to every loop that may
// have recipients (loopMask, and sockets of the namespace); each loop
// selects its recipients with set algebra and queues the shared bytes for
// them, and the task. It takes over the caller's references to msgs.
func (t *deliverTask) deliver(msgs []*engine.Prepared) {
	t.msgs = msgs
	t.refs.Store(1) // the poster's, until it has posted to every loop
	t.b.nsp.srv.stats.broadcasts.Add(1)
	mask := t.b.loopMask()
	var buf [maxCountedLoops]*engine.Loop // on the stack: no allocation up to 64 loops
	targets := buf[:0]
	for _, l := range t.b.nsp.srv.eng.Loops() {
		if t.b.visits(l, mask) {
			targets = append(targets, l)
		}
	}
	n := len(targets)
	if n == 1 {
		// One loop: the references pass to it as they are, and the task
		// may join the one queued before it there (JoinTo).
		t.holders, t.joinable = 1, true
		if targets[0].PostOrJoin(t) {
			t.release() // its message was copied into the queued task
		}
		return
	}
	if n > 1 && n <= maxJoinLoops && len(msgs) == 1 {
		t.holders, t.joinable = int32(n), true
		if engine.PostOrJoinAll(targets, t) {
			t.release()
			return
		}
	}
	// One task for every loop that may have recipients: a closure per loop
	// would be an allocation each, per broadcast.
	for _, l := range targets {
		for _, p := range t.msgs {
			p.Retain()
		}
		t.refs.Add(1)
		l.PostTask(t)
	}
	t.release()
}

// maxJoinLoops is the most loops a broadcast may visit and still join
// the one before it (JoinTo): it locks them all at once.
const maxJoinLoops = 16

// JoinTo folds t into prev when prev is a broadcast to the same sockets
// queued, and not started, on the same loops, whose references are all
// its loops' (the poster of a broadcast to several loops drops its own
// once it has posted to all), and both carry one text message: t's
// message is appended to prev's (engine.Prepared.Join), so each loop
// selects the recipients once and queues one entry per recipient for
// both. Nothing can run on a loop between two tasks queued one after the
// other, so the recipients are the same as if each had run. A volatile
// pair is written or dropped together. Called with the loops' queues
// locked (engine.Joiner).
func (t *deliverTask) JoinTo(prev engine.Task) bool {
	q, ok := prev.(*deliverTask)
	return ok && q.joinable && q.holders == t.holders && len(q.msgs) == 1 && len(t.msgs) == 1 &&
		q.b.sameTargets(t.b) && q.msgs[0].Join(t.msgs[0], int(q.holders))
}

// sameTargets reports whether b and o select the same sockets the same way.
func (b BroadcastOperator) sameTargets(o BroadcastOperator) bool {
	return b.nsp == o.nsp && b.volatile == o.volatile &&
		slices.Equal(b.rooms, o.rooms) && slices.Equal(b.except, o.except)
}

// allLoops is loopMask's answer for a broadcast with no room: every loop
// (with sockets of the namespace) may have recipients.
const allLoops = ^uint64(0)

// loopMask returns the loops (bits by Index) that may have sockets in the
// target rooms: the rooms' masks, and the loops of the sockets whose ids
// are among them. Except only removes recipients: it changes nothing here.
// Loops beyond maxCountedLoops are not in any mask; deliver always visits
// them.
func (b BroadcastOperator) loopMask() uint64 {
	if len(b.rooms) == 0 {
		return allLoops
	}
	var mask uint64
	for _, r := range b.rooms {
		mask |= b.nsp.roomLoops.mask(r)
		if len(r) == socketIDLen {
			if s := b.nsp.Socket(r); s != nil {
				mask |= loopBit(s.loop())
			}
		}
	}
	return mask
}

// visits reports whether a broadcast whose loopMask is mask must visit l:
// l has sockets of the namespace, and the target rooms may have members
// there (loops beyond the masks are always visited).
func (b BroadcastOperator) visits(l *engine.Loop, mask uint64) bool {
	return b.nsp.mayHaveSockets(l) &&
		(mask == allLoops || mask&loopBit(l) != 0 || l.Index() >= maxCountedLoops)
}

// targetLoops lists the loops a broadcast must visit (see visits).
func (b BroadcastOperator) targetLoops() []*engine.Loop {
	mask := b.loopMask()
	var out []*engine.Loop
	for _, l := range b.nsp.srv.eng.Loops() {
		if b.visits(l, mask) {
			out = append(out, l)
		}
	}
	return out
}

// deliverTask is a broadcast's work on each loop: deliver, then drop the
// loop's references to the messages. The task holds the broadcast's
// message (one is the usual number), and tasks are pooled: a broadcast
// allocates nothing (a task per Emit was ~110 B of garbage each: at
// hundreds of thousands of emits a second, a GC cycle every few ms).
type deliverTask struct {
	b    BroadcastOperator
	msgs []*engine.Prepared
	one  [1]*engine.Prepared
	// refs counts the loops that have yet to run the task, plus one for
	// the poster until it has posted to all: the last one out pools it.
	refs atomic.Int32
	// joinable: a later broadcast may join the task while it waits in
	// its loops' queues (JoinTo); holders is the number of loops it went
	// to, each with one reference to its messages.
	joinable bool
	holders  int32
}

var deliverTasks = sync.Pool{New: func() any { return new(deliverTask) }}

// newDeliverTask returns a task for b from the pool.
func newDeliverTask(b BroadcastOperator) *deliverTask {
	t := deliverTasks.Get().(*deliverTask)
	t.b = b
	return t
}

// unref drops one reference; the last returns the task to the pool (a
// task posted to a loop that never runs it, the engine closing, is left
// to the GC).
func (t *deliverTask) unref() {
	if t.refs.Add(-1) == 0 {
		t.free()
	}
}

// release drops the poster's references: to the messages, and to t.
func (t *deliverTask) release() {
	for _, p := range t.msgs {
		p.Release()
	}
	t.unref()
}

// free forgets the broadcast (its rooms, its messages) and pools t.
func (t *deliverTask) free() {
	t.b = BroadcastOperator{}
	t.joinable, t.holders = false, 0
	t.msgs = nil
	t.one[0] = nil
	deliverTasks.Put(t)
}

func (t *deliverTask) RunOn(l *engine.Loop) {
	t.b.deliverOnLoop(l, t.msgs, nil)
	for _, p := range t.msgs {
		p.Release()
	}
	t.unref() // t may be reused from here on
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
	// One atomic add per loop and broadcast, not per recipient; joined
	// broadcasts count one for each message (JoinTo).
	n := uint64(msgs[0].Messages())
	stats := b.nsp.srv.stats.perLoop(l)
	stats.recipients.Add(sent * n)
	if dropped > 0 {
		stats.volatileDrops.Add(dropped * n)
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
	// Only a name of a socket id's length is looked up (under the
	// namespace's lock, shared by every loop and emitter): a broadcast to
	// named rooms does not touch the socket table.
	for _, r := range b.rooms {
		if len(r) != socketIDLen {
			continue
		}
		if s := b.nsp.Socket(r); s != nil && s.loop() == l {
			ls.toSlots = append(ls.toSlots, s.slot())
		}
	}
	for _, r := range b.except {
		if len(r) != socketIDLen {
			continue
		}
		if s := b.nsp.Socket(r); s != nil && s.loop() == l {
			ls.exSlots = append(ls.exSlots, s.slot())
		}
	}
	return room.Selector{To: b.rooms, Except: b.except, ToSlots: ls.toSlots, ExceptSlots: ls.exSlots}
}

// BroadcastAckCallback receives one reply per recipient that answered
// (each reply's decoded arguments), and an error if some did not:
// ErrAckTimeout if the Timeout expired first, ErrDisconnected if every
// recipient answered or disconnected before it and some disconnected.
type BroadcastAckCallback func(replies [][]any, err error)

// EmitWithAck emits to every selected socket and calls cb once with every
// acknowledgement, when all have arrived or the Timeout expires (with
// ErrAckTimeout and the replies so far). A recipient that disconnects
// before it answers will never answer: once the others have, cb runs
// with their replies and ErrDisconnected, without waiting for the
// Timeout (Node's server waits and reports a timeout). cb may run on any
// goroutine.
//
// In a cluster, every node reports how many clients it reached and then
// their replies; a reply from another node holds the first argument of
// the acknowledgement (Node's protocol carries one). Without a Timeout a
// cluster-wide call waits at most Config.AckTimeout.
func (b BroadcastOperator) EmitWithAck(event string, cb BroadcastAckCallback, args ...any) error {
	if codec.IsReservedEvent(event) {
		return ErrReservedEvent
	}
	id := b.nsp.ackIDs.Add(1) - 1
	msgs, err := encodeEvent(nil, b.nsp.name, id, event, args)
	if err != nil {
		return err
	}
	loops := b.targetLoops()
	agg := &ackAggregator{cb: cb, loopsLeft: len(loops)}
	timeout := b.timeout
	if b.clustered() {
		if timeout <= 0 {
			timeout = b.nsp.srv.cfg.AckTimeout
		}
		agg.remoteExpected = -1 // until the server count is known
		opts := b.options()
		opts.Flags.Timeout = timeout
		b.nsp.adapter.BroadcastWithAck(clusterPacket(msgs), opts,
			func(n int) { agg.remoteDone(n) },
			func(v any) { agg.reply([]any{v}, true) })
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			n, err := b.nsp.adapter.ServerCount(ctx)
			cancel()
			if err != nil {
				b.nsp.srv.cfg.Logger.Warn("riptide: server count for a broadcast with acks", "namespace", b.nsp.name, "err", err)
				n = 1 // only this node can be counted on
			}
			agg.setRemote(n - 1)
		}()
	}
	if timeout > 0 {
		agg.mu.Lock()
		agg.timer = time.AfterFunc(timeout, func() { agg.finish(ErrAckTimeout) })
		agg.mu.Unlock()
	}
	if agg.loopsLeft == 0 {
		for _, p := range msgs {
			p.Release()
		}
		agg.check()
		return nil
	}
	b.deliverWithAck(loops, msgs, id, timeout, func(v []any) { agg.reply(v, true) }, func() { agg.reply(nil, false) }, agg.loopDone)
	return nil
}

// EmitPacketWithAck delivers an event another node published with acks
// to the selected local sockets: for adapters. onCount runs once, with the
// number of sockets it was sent to, then onAck with each reply's first
// argument (nil for none) — or nothing for those that time out.
func (b BroadcastOperator) EmitPacketWithAck(p ClusterPacket, onCount func(clients int), onAck func(reply any)) error {
	id := b.nsp.ackIDs.Add(1) - 1
	msgs, err := encodeClusterPacket(nil, b.nsp.name, id, p)
	if err != nil {
		return err
	}
	loops := b.targetLoops()
	var (
		mu    sync.Mutex
		left  = len(loops)
		total int
	)
	if left == 0 {
		for _, m := range msgs {
			m.Release()
		}
		onCount(0)
		return nil
	}
	first := func(v []any) {
		if len(v) == 0 {
			onAck(nil)
			return
		}
		onAck(v[0])
	}
	b.deliverWithAck(loops, msgs, id, b.timeout, first, nil, func(n int) {
		mu.Lock()
		left--
		total += n
		done := left == 0
		mu.Unlock()
		if done {
			onCount(total)
		}
	})
	return nil
}

// deliverWithAck sends msgs (ack id id) to the selected sockets of loops
// (targetLoops), registering a pending ack on each; loopDone reports each
// loop's count. onErr (may be nil) runs for a socket whose ack failed.
func (b BroadcastOperator) deliverWithAck(loops []*engine.Loop, msgs []*engine.Prepared, id int64, timeout time.Duration, onReply func([]any), onErr func(), loopDone func(n int)) {
	for _, l := range loops {
		for _, p := range msgs {
			p.Retain()
		}
		l.Post(func() {
			n := 0
			b.deliverOnLoop(l, msgs, func(l *engine.Loop, sess *engine.Session) {
				s := clientOf(sess).socket(b.nsp.name)
				if s == nil {
					return
				}
				n++
				pa := &pendingAck{cb: func(reply Args, err error) {
					if err != nil {
						if onErr != nil {
							onErr()
						}
						return
					}
					v, _ := reply.Values()
					onReply(v)
				}}
				if timeout > 0 {
					// Forget the pending ack when the requester stops
					// waiting: a client that never answers leaks nothing.
					pa.timer = l.NewTimer(func() {
						if acks := s.pendingAcks(); acks[id] == pa {
							delete(acks, id)
						}
					})
					pa.timer.Reset(timeout)
				}
				s.addPendingAck(id, pa)
			})
			for _, p := range msgs {
				p.Release()
			}
			loopDone(n)
		})
	}
	for _, p := range msgs {
		p.Release()
	}
}

type ackAggregator struct {
	mu             sync.Mutex
	cb             BroadcastAckCallback
	timer          *time.Timer
	loopsLeft      int
	remoteExpected int // other nodes to hear from; -1 until known
	remoteSeen     int
	expected       int
	got            int // replies and failures
	failed         int // recipients that disconnected before answering
	replies        [][]any
	done           bool
}

func (a *ackAggregator) loopDone(n int) {
	a.mu.Lock()
	a.loopsLeft--
	a.expected += n
	a.mu.Unlock()
	a.check()
}

func (a *ackAggregator) remoteDone(n int) {
	a.mu.Lock()
	a.remoteSeen++
	a.expected += n
	a.mu.Unlock()
	a.check()
}

func (a *ackAggregator) setRemote(n int) {
	a.mu.Lock()
	a.remoteExpected = n
	a.mu.Unlock()
	a.check()
}

func (a *ackAggregator) reply(v []any, ok bool) {
	a.mu.Lock()
	a.got++
	if ok {
		a.replies = append(a.replies, v)
	} else {
		a.failed++
	}
	a.mu.Unlock()
	a.check()
}

// check finishes once every loop and every other node has reported and
// every recipient they announced has answered or disconnected.
func (a *ackAggregator) check() {
	a.mu.Lock()
	ready := a.loopsLeft == 0 && a.remoteExpected >= 0 && a.remoteSeen >= a.remoteExpected && a.got >= a.expected
	var err error
	if a.failed > 0 {
		err = ErrDisconnected
	}
	a.mu.Unlock()
	if ready {
		a.finish(err)
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
// cluster (none with the default MemoryAdapter). Their methods act through
// the cluster.
func (b BroadcastOperator) FetchRemoteSockets(ctx context.Context) ([]RemoteSocket, error) {
	if !b.clustered() {
		return nil, nil
	}
	opts := b.options()
	if dl, ok := ctx.Deadline(); ok && opts.Flags.Timeout == 0 {
		opts.Flags.Timeout = time.Until(dl)
	}
	list, err := b.nsp.adapter.FetchSockets(ctx, opts)
	for i := range list {
		list[i].nsp = b.nsp
	}
	return list, err
}

// FetchAllSockets returns the selected sockets of the whole cluster, this
// node's first, all described as RemoteSockets (Node's fetchSockets).
func (b BroadcastOperator) FetchAllSockets(ctx context.Context) ([]RemoteSocket, error) {
	var out []RemoteSocket
	for _, s := range b.FetchSockets() {
		out = append(out, s.Info())
	}
	remote, err := b.FetchRemoteSockets(ctx)
	return append(out, remote...), err
}

// SocketsJoin makes the selected sockets join rooms, cluster-wide.
func (b BroadcastOperator) SocketsJoin(rooms ...string) {
	for _, s := range b.FetchSockets() {
		s.Join(rooms...)
	}
	if b.clustered() {
		b.nsp.adapter.AddSockets(b.options(), rooms)
	}
}

// SocketsLeave makes the selected sockets leave rooms, cluster-wide.
func (b BroadcastOperator) SocketsLeave(rooms ...string) {
	for _, s := range b.FetchSockets() {
		for _, r := range rooms {
			s.Leave(r)
		}
	}
	if b.clustered() {
		b.nsp.adapter.DelSockets(b.options(), rooms)
	}
}

// DisconnectSockets disconnects the selected sockets, cluster-wide; close
// also closes their connections.
func (b BroadcastOperator) DisconnectSockets(close bool) {
	for _, s := range b.FetchSockets() {
		s.Disconnect(close)
	}
	if b.clustered() {
		b.nsp.adapter.DisconnectSockets(b.options(), close)
	}
}
