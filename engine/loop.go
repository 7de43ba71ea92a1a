package engine

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	crand "crypto/rand"

	"github.com/panjf2000/gnet/v2"

	"github.com/riptide-io/riptide/frame"
	"github.com/riptide-io/riptide/internal/http1"
)

// Loop is Riptide's state for one gnet event loop: the sessions whose home
// it is, their timers, and a queue through which other goroutines hand it
// work. Everything a loop owns is touched only on that loop's goroutine;
// the only lock is around the hand-off queue (Post).
type Loop struct {
	srv   *Server
	el    gnet.EventLoop
	index int

	// Data is free for the layer above (the Socket.IO layer keeps its
	// per-loop room shards here). Loop-only.
	Data any

	mu            sync.Mutex
	inbox         []op
	inCallback    bool
	depth         int // nesting of enter/leave; loop-only
	wakeScheduled bool
	spare         []op
	// joined counts the messages folded into queued work since the loop
	// last took its queue (PostOrJoin, PostOrJoinAll, SendPrepared): the
	// queue holds len(inbox) + joined messages (pace).
	joined int
	// taken, when not nil, is closed when the loop next takes its queue:
	// posters waiting in pace watch it.
	taken chan struct{}
	// tid is the thread the loop's goroutine is locked to (0 until its
	// first connection): how pace tells a loop from other goroutines.
	tid atomic.Int32

	wheel      wheel
	dirty      []*Session
	dirtySpare []*Session
	// The turn's WebSocket messages, chained per session (Session.wHead),
	// the list of a chain's frames handed to another loop (chainFrames),
	// and the buffer a chain is copied into for its writes (writeChain).
	wlog []wentry
	wtab []*Prepared // the turn's distinct messages, each retained once
	// logMsgs counts the Engine.IO messages the log's entries hold (more
	// than its entries when some are joined: Prepared.Join): when to
	// write is decided on messages per session (leave).
	logMsgs   int
	iov       [][]byte
	gather    []byte
	rng       *rand.ChaCha8
	sidCount  uint32
	slots     slotTable
	nSessions int
	// freeAux recycles the HTTP state WebSocket connections drop after
	// their 101 (conn.toFrameMode): every handshake would otherwise leave
	// one as garbage, and garbage is resident memory until the GC and the
	// scavenger catch up.
	freeAux []*connAux
	// lastFlush is monoNow at the last flushDirty (see leave).
	lastFlush int64
	// out counts the turn's queued messages (countOut).
	out outCount
	// freeTimers recycles NewTimer's timers (FreeTimer), through
	// freedTimers until the callback that freed them ends.
	freeTimers, freedTimers []*funcTimer
	// overSince holds, for the sessions over MaxBufferedBytes, since when
	// (monoNow): few at a time, so not a field of every Session.
	overSince map[*Session]int64
	// midMessage holds the Decoders of the loop's WebSockets that have a
	// fragmented message in progress (conn.midMessage): few at a time, so
	// not a field of every conn.
	midMessage map[*conn]frame.Decoder

	// Scratch space, loop-only: the request being parsed and buffers for
	// building answers.
	req     http1.Request
	scratch []byte
	body    []byte
	b64     []byte
	chunk   []byte
	headBuf []byte // a handshake head being compacted

	stopTick   chan struct{}
	ticks      atomic.Int64 // ticks the ticker posted (tests)
	detachedEP *Endpoint
}

// wentry is one queued message in a loop's write log. It holds no
// pointer: a broadcast to n sessions adds n entries naming one wtab slot,
// so the log is neither scanned by the GC nor copied with write barriers
// when it grows, and the message is retained once per turn, not once per
// recipient (no shared atomic counter per delivery).
type wentry struct {
	m    uint32 // 1-based index into the loop's wtab
	next int32  // 1-based index of the session's next entry, 0 = last
}

// turnMessage returns p's wtab slot (1-based), adding and retaining it on
// its first use this turn. A broadcast's recipients follow one another, so
// looking at the last few slots finds it.
func (l *Loop) turnMessage(p *Prepared) uint32 {
	n := len(l.wtab)
	for i := n - 1; i >= 0 && i >= n-4; i-- {
		if l.wtab[i] == p {
			return uint32(i + 1)
		}
	}
	p.Retain()
	l.wtab = append(l.wtab, p)
	return uint32(n + 1)
}

type opKind uint8

const (
	opTask opKind = iota + 1
	opSend
	opClose          // "forced close"
	opCloseTransport // "transport error"
	opPollGet
	opPollPost
	opWSMessage
	opConnClosed
	opTick
	opUpgradeStart
)

// op is one unit of work handed to a loop. It is a value in a slice, so
// posting one allocates nothing once the slice has grown; 72 bytes (a
// close's reason is its kind, not a string: TestSizes), written and read
// once per queued item, and a burst queues thousands.
type op struct {
	kind   opKind
	binary bool
	s      *Session
	p      *Prepared
	task   Task
	c      *conn
	body   []byte
}

func newLoop(srv *Server, el gnet.EventLoop, index int) *Loop {
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	l := &Loop{srv: srv, el: el, index: index, rng: rand.NewChaCha8(seed), stopTick: make(chan struct{})}
	l.wheel.init()
	go l.ticker()
	return l
}

// Index is the loop's position, 0..NumLoops-1. Goroutine-safe.
func (l *Loop) Index() int { return l.index }

// Post runs fn on the loop, after the work already queued. Goroutine-safe.
// From the loop itself, fn runs when the current callback ends.
func (l *Loop) Post(fn func()) { l.post(op{kind: opTask, task: funcTask(fn)}) }

// funcTask runs a plain function as a Task (a func is pointer-shaped: the
// conversion allocates nothing).
type funcTask func()

func (f funcTask) RunOn(*Loop) { f() }

// Task is work for a loop that carries its own state (PostTask): one value
// can be posted to every loop, where a closure per loop would each be an
// allocation.
type Task interface {
	// RunOn runs on loop l.
	RunOn(l *Loop)
}

// PostTask runs t.RunOn(l) on the loop, after the work already queued, as
// Post. Goroutine-safe.
func (l *Loop) PostTask(t Task) { l.post(op{kind: opTask, task: t}) }

// NewTimer returns a stopped timer that calls fn on the loop. Loop-only.
func (l *Loop) NewTimer(fn func()) *Timer {
	if fn == nil {
		return l.NewTimerFor(nil) // fires into nothing, as before
	}
	return l.NewTimerFor(funcTarget(fn))
}

// TimerTarget is what a timer of NewTimerFor calls when it fires.
type TimerTarget interface{ OnTimer() }

// funcTarget is NewTimer's func as a TimerTarget: a func value is one
// pointer, so it becomes an interface without an allocation.
type funcTarget func()

func (f funcTarget) OnTimer() { f() }

// NewTimerFor returns a stopped timer that calls tt.OnTimer on the loop.
// A pointer that implements TimerTarget costs nothing more, where
// NewTimer(x.method) allocates the method value: 16 bytes of garbage per
// connection for a connect timeout. Loop-only.
func (l *Loop) NewTimerFor(tt TimerTarget) *Timer {
	var f *funcTimer
	if k := len(l.freeTimers); k > 0 {
		f = l.freeTimers[k-1]
		l.freeTimers[k-1] = nil
		l.freeTimers = l.freeTimers[:k-1]
	} else {
		f = &funcTimer{w: &l.wheel}
	}
	f.fn = tt
	f.t.kind = timerFunc
	return &f.t
}

// FreeTimer stops t, a timer of this loop's NewTimer, and keeps it for a
// later NewTimer: a timer per connection (a connect timeout, say) need not
// be garbage once done. t must not be used afterwards. Loop-only.
func (l *Loop) FreeTimer(t *Timer) {
	t.Stop()
	if t.kind != timerFunc {
		return
	}
	f := t.ownerFunc()
	if f.w != &l.wheel || len(l.freeTimers) >= maxFreeTimers {
		return
	}
	// Not reusable before the callback ends: a wheel step may hold it in
	// its list of due timers (Timer.fire skips it: fn is nil).
	f.fn = nil
	l.freedTimers = append(l.freedTimers, f)
}

// recycleTimers makes the timers freed during the callback available to
// NewTimer. Called by the outermost leave, outside any wheel step.
func (l *Loop) recycleTimers() {
	for i, f := range l.freedTimers {
		if len(l.freeTimers) < maxFreeTimers {
			l.freeTimers = append(l.freeTimers, f)
		}
		l.freedTimers[i] = nil
	}
	l.freedTimers = l.freedTimers[:0]
}

// maxFreeTimers bounds a loop's free list of timers (64 B each).
const maxFreeTimers = 1024

type drainRunnable struct{ l *Loop }

func (d drainRunnable) Run(context.Context) error {
	l := d.l
	l.mu.Lock()
	l.wakeScheduled = false
	l.mu.Unlock()
	l.enter()
	l.leave()
	return nil
}

type tickRunnable struct{ l *Loop }

func (t tickRunnable) Run(context.Context) error {
	l := t.l
	l.enter()
	l.wheel.advance(time.Now())
	l.leave()
	l.wheel.poke() // the ticker waits for the next wake computed here
	return nil
}

func (l *Loop) post(o op) {
	l.mu.Lock()
	l.postLocked(o)
}

// postLocked queues o and unlocks l.mu, which the caller holds.
func (l *Loop) postLocked(o op) {
	l.inbox = append(l.inbox, o)
	n := l.queued()
	wake := !l.inCallback && !l.wakeScheduled && l.el != nil
	if wake {
		l.wakeScheduled = true
	}
	l.mu.Unlock()
	if wake {
		if err := l.el.Execute(context.Background(), drainRunnable{l}); err != nil {
			// The engine is shutting down: nothing will run the queue.
			l.mu.Lock()
			l.wakeScheduled = false
			l.mu.Unlock()
		}
	}
	if n >= inboxHigh {
		l.pace()
	}
}

// A Joiner is a Task that can fold itself into the task queued just
// before it on a loop (PostOrJoin).
type Joiner interface {
	Task
	// JoinTo folds the task into prev, the task at the end of the loop's
	// queue, when running prev so joined does what running prev then the
	// task would, and reports whether it did: the loop then never runs
	// the task. It is called under the queue's lock, where the loop cannot
	// have started prev: it must be quick, and must not post.
	JoinTo(prev Task) bool
}

// PostOrJoin queues t as PostTask does, unless the loop's queue ends with a
// task that t joins (Joiner.JoinTo): then it reports true, and t will not
// run. A burst of broadcasts to one room from one goroutine becomes a few
// tasks, each writing many messages with one queue entry per recipient,
// instead of a task and an entry per recipient for every message; the
// order of everything queued is the same either way. Goroutine-safe.
func (l *Loop) PostOrJoin(t Joiner) (joined bool) {
	l.mu.Lock()
	// No wake is needed for a join: a queue that is not empty is drained
	// before the loop leaves its callback (leave), or has a wake
	// scheduled.
	if n := len(l.inbox); n > 0 && l.inbox[n-1].kind == opTask && t.JoinTo(l.inbox[n-1].task) {
		l.joinedLocked()
		return true
	}
	l.postLocked(op{kind: opTask, task: t})
	return false
}

// PostOrJoinAll is PostOrJoin for a task bound for several loops: when the
// queue of every loop in loops ends with one same task, and t joins it
// (Joiner.JoinTo, called once, with every queue locked, so that no loop
// can start that task meanwhile), it reports true and t will not run.
// Otherwise it reports false having posted nothing: post t to each loop
// yourself (PostTask). loops holds each loop once; PostOrJoinAll sorts it
// by Index, the order it locks them in. Goroutine-safe.
func PostOrJoinAll(loops []*Loop, t Joiner) bool {
	if len(loops) == 0 {
		return false
	}
	// Insertion sort: a handful of loops, and no allocation.
	for i := 1; i < len(loops); i++ {
		for j := i; j > 0 && loops[j].index < loops[j-1].index; j-- {
			loops[j], loops[j-1] = loops[j-1], loops[j]
		}
	}
	// Lock loop by loop, giving up at the first queue that does not end
	// with the same task: an emit that cannot join costs one lock more.
	var prev Task
	for i, l := range loops {
		l.mu.Lock()
		n := len(l.inbox)
		if n == 0 || l.inbox[n-1].kind != opTask || (i > 0 && l.inbox[n-1].task != prev) {
			for _, u := range loops[:i+1] {
				u.mu.Unlock()
			}
			return false
		}
		prev = l.inbox[n-1].task
	}
	if !t.JoinTo(prev) {
		for _, l := range loops {
			l.mu.Unlock()
		}
		return false
	}
	var full []*Loop
	for _, l := range loops {
		if l.addJoined() {
			full = append(full, l)
		}
		l.mu.Unlock()
	}
	for _, l := range full {
		l.pace()
	}
	return true
}

// queued is the number of messages in the queue, joined ones included
// (pace). Under l.mu.
func (l *Loop) queued() int { return len(l.inbox) + l.joined }

// addJoined counts a message joined to the queue's last and reports
// whether the queue has reached the pacing mark. Under l.mu.
func (l *Loop) addJoined() bool {
	l.joined++
	return l.queued() >= inboxHigh
}

// joinedLocked counts a message joined to the queue's last and unlocks
// l.mu, which the caller holds; past the mark, the poster waits as post's
// do.
func (l *Loop) joinedLocked() {
	full := l.addJoined()
	l.mu.Unlock()
	if full {
		l.pace()
	}
}

// Backpressure on the loops' queues. A goroutine that posts faster than a
// loop can run its work (a broadcast burst from a ticker, say) would grow
// the loop's queue without bound: memory, GC work over a queue of pointers,
// and latency for everything queued behind. Past inboxHigh queued items (a
// task that others joined counts once for each: PostOrJoin), a poster
// that is not itself a loop waits until the loop takes its queue,
// for at most maxPace per post. Loops never wait (a loop waiting for
// another that waits for it would deadlock), and the wait is bounded so
// that a loop stuck on something the poster holds (a mutex of the
// application's) slows the poster down instead of deadlocking it.
//
// The mark also sets how much a connection gets per write under such a
// burst: a loop writes once per connection per queue it takes, so a burst
// of emits to small rooms gathers, per connection and write, what the
// queue's tasks hold for it. 16,384 (~1.2 MB of queue per loop in a
// burst, given back once the loop runs out of work: inboxKeep): fan-out
// of 100-byte messages to 1,000 receivers in 100 rooms, one loop, went
// from 1.6-2.3M to 2.3-2.9M deliveries/s with 2.5x fewer writes (p99 from
// the emit to receipt 56-69 to 103-152 ms; the bare batched server's is
// 202-225), and at 10,000 receivers from 2.7-3.1M to 3.6-3.7M (p99
// 0.6-0.75 to 1.2-1.3 s; the bare server's 2.0-2.5 s). 8,192 was in
// between; 32,768 no better. The latency is the queue's: the burst, paced
// less, ends sooner.
const (
	inboxHigh = 16384
	maxPace   = 5 * time.Millisecond
	// inboxKeep is the capacity a loop's queue arrays keep when the loop
	// runs out of work (72 KB each): steady traffic reuses them, a burst
	// grows them once and gives them back.
	inboxKeep = 1024
)

// pace is post's backpressure: see inboxHigh.
func (l *Loop) pace() {
	if l.el == nil || l.srv.onLoopThread() {
		return
	}
	l.srv.paced.Add(1)
	t := time.NewTimer(maxPace)
	defer t.Stop()
	for {
		l.mu.Lock()
		if l.queued() < inboxHigh {
			l.mu.Unlock()
			return
		}
		if l.taken == nil {
			l.taken = make(chan struct{})
		}
		ch := l.taken
		l.mu.Unlock()
		select {
		case <-ch:
		case <-t.C:
			return
		}
	}
}

// enter marks the start of a loop callback: work posted from now on is
// drained by leave instead of waking the loop. Callbacks nest: gnet calls
// OnClose synchronously when a write inside our flush fails, so only the
// outermost leave drains.
func (l *Loop) enter() {
	l.depth++
	if l.depth > 1 {
		return
	}
	l.mu.Lock()
	l.inCallback = true
	l.mu.Unlock()
}

// leave drains the queue and flushes every session written to during the
// callback: one write per connection per turn, however many messages.
func (l *Loop) leave() {
	if l.depth > 1 {
		l.depth--
		return
	}
	defer func() { l.depth-- }()
	for {
		l.mu.Lock()
		if len(l.inbox) == 0 {
			if len(l.dirty) == 0 {
				l.inCallback = false
				// Out of work: a burst's queue arrays (up to
				// inboxHigh and more) go back to the heap rather
				// than stay with an idle loop.
				l.inbox = keepUpTo(l.inbox, inboxKeep)
				l.spare = keepUpTo(l.spare, inboxKeep)
				l.wlog = keepUpTo(l.wlog, wlogKeep)
				l.mu.Unlock()
				l.recycleTimers()
				l.publishOut()
				return
			}
			l.mu.Unlock()
			l.flushDirty()
			continue
		}
		ops := l.inbox
		l.inbox = l.spare[:0]
		l.joined = 0
		if l.taken != nil {
			close(l.taken) // posters waiting in pace may go on
			l.taken = nil
		}
		l.mu.Unlock()
		for i := range ops {
			l.run(&ops[i])
			ops[i] = op{}
			// A batch can hold thousands of broadcasts to thousands
			// each: write once the log is full rather than at the
			// batch's end, so that it stays bounded (logLimit).
			if l.logMsgs >= l.logLimit() {
				l.flushDirty()
			}
		}
		l.spare = ops[:0]
		// With more work queued, write now only if this turn has gathered
		// enough: a producer that keeps posting (a burst from another
		// goroutine) must not hold every write back until it pauses, the
		// write log growing with the whole backlog; yet a write per
		// connection costs about the same for one message as for dozens,
		// so each connection should get several per write.
		// And never later than flushDelayMax after the last write: sessions
		// whose output is not in the write log (polling) or who got one
		// message while the log fills slowly must not wait for the queue
		// to empty under steady load.
		if l.logMsgs >= flushLogMax || l.logMsgs >= flushPerSession*len(l.dirty) ||
			(len(l.dirty) > 0 && monoNow()-l.lastFlush >= int64(flushDelayMax)) {
			l.flushDirty()
		}
	}
}

// A turn that has more work queued goes on gathering until its write log
// holds flushPerSession messages per session to write, or flushLogMax in
// all (see leave). 16 per session: fan-out of 1,000 receivers in 100 rooms
// went from 1.79M to 2.06M deliveries/s (medians of 3) against a flush
// after every batch; 64 was no better.
const (
	flushPerSession = 16
	flushLogMax     = 1 << 18
	flushDelayMax   = time.Millisecond
)

// Within a batch, the log is written once it holds flushPerSessionMax
// messages per session to write (at least flushLogMax, at most
// flushLogCap entries of 8 bytes): a batch of 1,000 broadcasts to a room
// of 10,000 used to grow it to 10M entries (80 MB, regrown by copying as
// it went) before the first byte left. With 256 per session (a write of
// ~28 KB per receiver for 100-byte messages), fan-out of 1,000 messages
// to 10,000 receivers in one room went from 3.5-3.9M to 5.9-6.1M
// deliveries/s and 19,000 from 3.5-3.8M to 5.1-5.7M (2 alternating
// pairs each, one loop; 128 and 512 did less well, 64 was no better
// than none); writes start while the burst is still being queued, so the
// receivers read while the server works. An idle loop keeps a log array
// of at most wlogKeep entries.
const (
	flushPerSessionMax = 256
	flushLogCap        = 1 << 23
	wlogKeep           = 1 << 16
)

// logLimit is the length at which a turn's write log is written out
// without waiting for the batch to end.
func (l *Loop) logLimit() int {
	return max(flushLogMax, min(flushPerSessionMax*len(l.dirty), flushLogCap))
}

func (l *Loop) run(o *op) {
	switch o.kind {
	case opTask:
		o.task.RunOn(l)
	case opSend:
		o.s.enqueue(o.p)
		o.p.Release()
	case opClose:
		o.s.closeWith("forced close", true)
	case opCloseTransport:
		o.s.closeWith("transport error", true)
	case opPollGet:
		o.s.onPollGet(o.c)
	case opPollPost:
		o.s.onPollPost(o.c, o.body)
	case opWSMessage:
		o.s.onWSMessage(o.c, o.body, o.binary)
		putBody(o.body)
	case opConnClosed:
		o.s.onConnClosed(o.c)
	case opUpgradeStart:
		o.s.onUpgradeStart(o.c)
	}
}

func (l *Loop) markDirty(s *Session) {
	if s.flags&flagDirty == 0 {
		s.flags |= flagDirty
		l.dirty = append(l.dirty, s)
	}
}

// logMsg is the message of write-log entry i (1-based).
func (l *Loop) logMsg(i int32) *Prepared { return l.wtab[l.wlog[i-1].m-1] }

func (l *Loop) flushDirty() {
	l.lastFlush = monoNow()
	keep := 2 * l.logLimit() // a busy loop reuses its log's array
	for len(l.dirty) > 0 {
		d := l.dirty
		l.dirty = l.dirtySpare[:0]
		for i, s := range d {
			s.flags &^= flagDirty
			s.flush()
			d[i] = nil
		}
		l.dirtySpare = d[:0]
	}
	// Every chain has been written or dropped: the log starts over, keeping
	// its array unless it outgrew the limit (an idle loop shrinks it:
	// leave), and the turn's messages are released (the write has copied
	// what the kernel did not take).
	l.wlog = keepUpTo(l.wlog, keep)
	l.logMsgs = 0
	for i, p := range l.wtab {
		p.Release()
		l.wtab[i] = nil
	}
	l.wtab = keepUpTo(l.wtab, 1<<16)
}

func (l *Loop) ticker() {
	w := &l.wheel
	t := time.NewTimer(time.Hour)
	t.Stop()
	r := tickRunnable{l}
	var posted int64 // the wake tick of the tick posted last
	for {
		next := w.nextWake.Load()
		if next == 0 || next <= posted {
			// Nothing armed, or the loop has not run the posted tick yet
			// (it pokes once it has).
			select {
			case <-l.stopTick:
				return
			case <-w.kick:
				continue
			}
		}
		if d := time.Until(w.start.Add(time.Duration(next) * tickInterval)); d > 0 {
			t.Reset(d)
			select {
			case <-l.stopTick:
				t.Stop()
				return
			case <-w.kick: // armed earlier: look again
				t.Stop()
				continue
			case <-t.C:
			}
		}
		posted = next
		l.ticks.Add(1)
		if err := l.el.Execute(context.Background(), r); err != nil {
			return
		}
	}
}

// allocSlot gives a session a loop-local slot number (reused after close),
// the index the Socket.IO layer's room bitmaps are built over.
func (l *Loop) allocSlot(s *Session) uint32 {
	slot := l.slots.reserve()
	l.slots.publish(slot, s)
	l.nSessions++
	return slot
}

func (l *Loop) freeSlot(slot uint32) {
	l.slots.release(slot)
	l.nSessions--
}

// Session returns the session at a slot, or nil. Loop-only.
func (l *Loop) Session(slot uint32) *Session { return l.slots.get(slot) }

// ForEachSession calls fn for every open session of the loop. fn may close
// sessions. Loop-only.
func (l *Loop) ForEachSession(fn func(*Session)) {
	l.slots.each(func(s *Session) bool { fn(s); return true })
}
