package riptide

import (
	"context"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riptide-io/riptide/codec"
	"github.com/riptide-io/riptide/engine"
	"github.com/riptide-io/riptide/internal/slots"
	"github.com/riptide-io/riptide/room"
)

// Middleware runs for every socket connecting to a namespace, in the order
// added, before the connection handlers. It calls next exactly once: with
// nil to go on, with an error to refuse (the client's connect_error; use
// *ConnectError to attach data). next may be called later, from any
// goroutine. The middleware itself runs on the connection's loop: it must
// not block.
type Middleware func(s *Socket, next func(err error))

// Namespace is a communication channel multiplexed over connections (Node's
// io.of(name)). Its methods are goroutine-safe.
type Namespace struct {
	name   string
	srv    *Server
	parent *ParentNamespace

	mu          sync.RWMutex
	middlewares []Middleware
	onConn      []func(*Socket)
	// sockets has the connected sockets by loop index, then by their
	// session's slot: the place a socket id names (newSocketID), so that
	// Socket finds one without a lock or a hash, at 8 bytes a socket and
	// no garbage as it grows. Grown and written under mu (a loop writes
	// only its own table); read without a lock.
	sockets    atomic.Pointer[[]*slots.Table[Socket]]
	nSockets   int // under mu
	serverSide map[string][]ServerSideHandler
	// events is OnEvent's table, copied on write so that a dispatch reads
	// it with one atomic load.
	events atomic.Pointer[eventTable]

	ackIDs  atomic.Int64
	adapter NamespaceAdapter // the cluster; MemoryAdapter on a single node

	// onLoop counts the namespace's connected sockets per event loop (by
	// Loop.Index, the first maxCountedLoops loops), each written only by
	// its loop, when a socket connects (before its connection handlers run)
	// and when it disconnects. A broadcast skips the loops where the count
	// is 0: on a many-core machine with few connections, a message would
	// otherwise wake every idle loop to find nobody there.
	onLoop [maxCountedLoops]atomic.Int32
	// roomLoops has, per room, the loops that may have members of it: a
	// broadcast to rooms visits only those.
	roomLoops roomLoops
}

// maxCountedLoops is how many loops Namespace.onLoop counts; a broadcast
// always reaches the loops beyond.
const maxCountedLoops = 64

// countOnLoop adds d to the number of the namespace's sockets on l.
// Loop-only (l's).
func (n *Namespace) countOnLoop(l *engine.Loop, d int32) {
	if i := l.Index(); i < maxCountedLoops {
		n.onLoop[i].Add(d)
	}
}

// mayHaveSockets reports whether a broadcast must visit l: false only when
// l has no connected socket of the namespace. A socket whose connection
// handlers have run is counted, so a broadcast that follows anything they
// did (or anything the client sent since) reaches it.
func (n *Namespace) mayHaveSockets(l *engine.Loop) bool {
	i := l.Index()
	return i >= maxCountedLoops || n.onLoop[i].Load() != 0
}

// newNamespace makes a namespace and its adapter. Called with srv.mu or
// the parent's lock held: Adapter.ForNamespace must not block.
func newNamespace(srv *Server, name string, parent *ParentNamespace) *Namespace {
	n := &Namespace{name: name, srv: srv, parent: parent}
	n.roomLoops.nsp = n
	n.adapter = srv.cfg.Adapter.ForNamespace(n)
	if n.adapter == nil {
		n.adapter = MemoryAdapter{}
	}
	return n
}

// Adapter is the namespace's cluster adapter.
func (n *Namespace) Adapter() NamespaceAdapter { return n.adapter }

// Name is the namespace's name ("/", "/chat").
func (n *Namespace) Name() string { return n.name }

// Server is the namespace's server.
func (n *Namespace) Server() *Server { return n.srv }

// Use adds a middleware (see Middleware).
func (n *Namespace) Use(mw Middleware) {
	n.mu.Lock()
	n.middlewares = append(n.middlewares, mw)
	n.mu.Unlock()
}

// OnConnection adds a handler called for every socket that connects, after
// the CONNECT reply has been sent (PROTOCOL.md §15.9). It runs on the
// socket's loop: register the socket's event handlers here.
func (n *Namespace) OnConnection(fn func(s *Socket)) {
	n.mu.Lock()
	n.onConn = append(n.onConn, fn)
	n.mu.Unlock()
}

// OnEvent adds a handler for event on every socket of the namespace, those
// connected now and later. It is the memory-lean alternative to calling
// Socket.On in a connection handler: the handler is stored once for the
// namespace, not once per socket (on an idle connection the per-socket
// closures would be a good part of its cost). Handlers added with OnEvent
// run before the socket's own, in the order added, on the socket's loop.
func (n *Namespace) OnEvent(event string, fn SocketEventHandler) {
	n.mu.Lock()
	n.events.Store(n.events.Load().with(event, fn))
	n.mu.Unlock()
}

// eachEventHandler calls fn with the parent's OnEvent handlers for event,
// then the namespace's own, without building a combined list per event.
func (n *Namespace) eachEventHandler(event string, fn func(SocketEventHandler)) {
	if n.parent != nil {
		for _, h := range n.parent.events.Load().get(event) {
			fn(h)
		}
	}
	for _, h := range n.events.Load().get(event) {
		fn(h)
	}
}

// Socket returns the connected socket with that id, or nil. Lock-free:
// the id names the socket's loop and slot.
func (n *Namespace) Socket(id string) *Socket {
	li, slot, ok := slots.Place(id)
	if !ok {
		return nil
	}
	tabs := n.sockets.Load()
	if tabs == nil || li >= len(*tabs) {
		return nil
	}
	if s := (*tabs)[li].Get(slot); s != nil && s.ID() == id {
		return s
	}
	return nil
}

// Len is the number of connected sockets.
func (n *Namespace) Len() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.nSockets
}

// middlewareChain is the parent's middlewares, then the namespace's own.
func (n *Namespace) middlewareChain() []Middleware {
	var out []Middleware
	if n.parent != nil {
		n.parent.mu.RLock()
		out = append(out, n.parent.middlewares...)
		n.parent.mu.RUnlock()
	}
	n.mu.RLock()
	out = append(out, n.middlewares...)
	n.mu.RUnlock()
	return out
}

func (n *Namespace) connectionHandlers() []func(*Socket) {
	var out []func(*Socket)
	if n.parent != nil {
		n.parent.mu.RLock()
		out = append(out, n.parent.onConn...)
		n.parent.mu.RUnlock()
	}
	n.mu.RLock()
	out = append(out, n.onConn...)
	n.mu.RUnlock()
	return out
}

// hasMiddlewares reports whether a socket connecting to n passes through
// any middleware (its own or its parent's).
func (n *Namespace) hasMiddlewares() bool {
	if n.parent != nil {
		n.parent.mu.RLock()
		k := len(n.parent.middlewares)
		n.parent.mu.RUnlock()
		if k > 0 {
			return true
		}
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.middlewares) > 0
}

// runMiddlewares runs the chain, then done with the first error or nil.
// done runs on the socket's loop.
func (n *Namespace) runMiddlewares(s *Socket, done func(error)) {
	chain := n.middlewareChain()
	var step func(i int)
	step = func(i int) {
		if i == len(chain) {
			done(nil)
			return
		}
		var (
			mu         sync.Mutex
			inCall     = true
			called     bool
			syncErr    error
			syncCalled bool
		)
		next := func(err error) {
			mu.Lock()
			if called {
				mu.Unlock()
				return
			}
			called = true
			if inCall {
				syncErr, syncCalled = err, true
				mu.Unlock()
				return
			}
			mu.Unlock()
			s.loop().Post(func() {
				if err != nil {
					done(err)
				} else {
					step(i + 1)
				}
			})
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					if !called {
						called, syncCalled = true, true
						syncErr = &ConnectError{Message: "middleware panic"}
					}
					mu.Unlock()
					n.srv.cfg.Logger.Error("riptide: middleware panic", "namespace", n.name, "panic", r)
				}
			}()
			chain[i](s, next)
		}()
		mu.Lock()
		inCall = false
		sc, se := syncCalled, syncErr
		mu.Unlock()
		if sc {
			if se != nil {
				done(se)
			} else {
				step(i + 1)
			}
		}
	}
	step(0)
}

// add makes a connected socket visible. Loop-only (the socket's).
func (n *Namespace) add(s *Socket) {
	li := s.loop().Index()
	n.mu.Lock()
	tabs := n.sockets.Load()
	if tabs == nil || li >= len(*tabs) {
		tabs = n.growSockets(li)
	}
	(*tabs)[li].Set(s.slot(), s)
	n.nSockets++
	n.mu.Unlock()
}

// growSockets adds tables up to loop index li. Under mu; apart from add so
// that only growth allocates a header.
func (n *Namespace) growSockets(li int) *[]*slots.Table[Socket] {
	var tabs []*slots.Table[Socket]
	if p := n.sockets.Load(); p != nil {
		tabs = *p
	}
	grown := make([]*slots.Table[Socket], li+1)
	copy(grown, tabs)
	for i := len(tabs); i <= li; i++ {
		grown[i] = new(slots.Table[Socket])
	}
	n.sockets.Store(&grown)
	return &grown
}

// remove forgets a socket added before. Loop-only (the socket's).
func (n *Namespace) remove(s *Socket) {
	n.mu.Lock()
	if tabs := n.sockets.Load(); tabs != nil {
		if li := s.loop().Index(); li < len(*tabs) && (*tabs)[li].Get(s.slot()) == s {
			(*tabs)[li].Set(s.slot(), nil)
			n.nSockets--
		}
	}
	empty := n.nSockets == 0
	n.mu.Unlock()
	if empty && n.parent != nil && !n.srv.cfg.KeepEmptyChildNamespaces {
		n.parent.removeChild(n)
	}
}

// forEachSocket calls fn for every connected socket (a snapshot).
func (n *Namespace) forEachSocket(fn func(*Socket)) {
	n.mu.RLock()
	list := make([]*Socket, 0, n.nSockets)
	if tabs := n.sockets.Load(); tabs != nil {
		for _, tab := range *tabs {
			tab.Each(func(_ uint32, s *Socket) bool {
				list = append(list, s)
				return true
			})
		}
	}
	n.mu.RUnlock()
	for _, s := range list {
		fn(s)
	}
}

// shard returns the namespace's room shard on a loop, creating it.
// Loop-only.
func (n *Namespace) shard(l *engine.Loop) *room.Shard {
	ls := loopStateOf(l)
	sh := ls.shards[n]
	if sh == nil {
		sh = room.NewShard()
		ls.shards[n] = sh
	}
	return sh
}

// roomSize is the number of members room has on l's shard (0 without a
// shard). Loop-only.
func (n *Namespace) roomSize(l *engine.Loop, room string) int {
	if sh := loopStateOf(l).shards[n]; sh != nil {
		return sh.RoomSize(room)
	}
	return 0
}

// loopState is the Socket.IO layer's per-loop state: a room shard per
// namespace and scratch space for broadcasts. Loop-only.
type loopState struct {
	shards  map[*Namespace]*room.Shard
	sel     room.Bitset
	toSlots []uint32
	exSlots []uint32
	// args is the scratch an incoming event's arguments are split into:
	// one per loop, not one per connection (Args are borrowed until the
	// handler returns).
	args [][]byte
	// names interns incoming event names (a handful per application), so
	// that dispatching an event does not allocate its name; nameBuf is the
	// scratch a name is unquoted into.
	names   map[string]string
	nameBuf []byte
}

// maxInternedNames and maxInternedLen bound loopState.names (to ~100 KB a
// loop): a client sending endless distinct or huge names gets them
// allocated, not remembered.
const (
	maxInternedNames = 1024
	maxInternedLen   = 64
)

// eventName returns the string for an unquoted event name, interned.
func (ls *loopState) eventName(b []byte) string {
	if name, ok := ls.names[string(b)]; ok {
		return name
	}
	name := string(b)
	if len(ls.names) < maxInternedNames && len(name) <= maxInternedLen {
		if ls.names == nil {
			ls.names = make(map[string]string)
		}
		ls.names[name] = name
	}
	return name
}

// takeArgs lends the loop's argument scratch, empty. A dispatch nested in
// a handler (none is expected) would find none and allocate its own.
func (ls *loopState) takeArgs() [][]byte {
	a := ls.args[:0]
	ls.args = nil
	return a
}

// putArgs gives the scratch back once the handlers returned, unless a
// message with very many arguments grew it.
func (ls *loopState) putArgs(a [][]byte) {
	if cap(a) <= 256 {
		clear(a[:cap(a)])
		ls.args = a[:0]
	}
}

func loopStateOf(l *engine.Loop) *loopState {
	if ls, ok := l.Data.(*loopState); ok {
		return ls
	}
	ls := &loopState{shards: map[*Namespace]*room.Shard{}}
	l.Data = ls
	return ls
}

// Broadcast operator shortcuts: see BroadcastOperator.

// Emit emits to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error { return n.op().Emit(event, args...) }

// Send emits a "message" event to every socket of the namespace.
func (n *Namespace) Send(args ...any) error { return n.op().Emit("message", args...) }

// To targets rooms (or socket ids).
func (n *Namespace) To(rooms ...string) BroadcastOperator { return n.op().To(rooms...) }

// In is To.
func (n *Namespace) In(rooms ...string) BroadcastOperator { return n.op().To(rooms...) }

// Except excludes rooms (or socket ids).
func (n *Namespace) Except(rooms ...string) BroadcastOperator { return n.op().Except(rooms...) }

// Volatile drops the packet for sockets that cannot take it now.
func (n *Namespace) Volatile() BroadcastOperator { return n.op().Volatile() }

// Local restricts the broadcast to this node.
func (n *Namespace) Local() BroadcastOperator { return n.op().Local() }

// Compress is accepted for Node compatibility (see BroadcastOperator).
func (n *Namespace) Compress(c bool) BroadcastOperator { return n.op().Compress(c) }

// Timeout sets the acknowledgement timeout of EmitWithAck.
func (n *Namespace) Timeout(d time.Duration) BroadcastOperator { return n.op().Timeout(d) }

// FetchSockets returns the namespace's sockets.
func (n *Namespace) FetchSockets() []*Socket { return n.op().FetchSockets() }

// SocketsJoin makes every socket join rooms.
func (n *Namespace) SocketsJoin(rooms ...string) { n.op().SocketsJoin(rooms...) }

// SocketsLeave makes every socket leave rooms.
func (n *Namespace) SocketsLeave(rooms ...string) { n.op().SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket; close also closes their
// connections.
func (n *Namespace) DisconnectSockets(close bool) { n.op().DisconnectSockets(close) }

// FetchAllSockets returns every socket of the namespace, cluster-wide.
func (n *Namespace) FetchAllSockets(ctx context.Context) ([]RemoteSocket, error) {
	return n.op().FetchAllSockets(ctx)
}

func (n *Namespace) op() BroadcastOperator { return BroadcastOperator{nsp: n} }

// ParentNamespace creates child namespaces on demand for the names its
// matcher accepts (Node's io.of(/regex/) or io.of(fn)). Middlewares and
// connection handlers added to it apply to every child. A broadcast on the
// parent reaches every child.
type ParentNamespace struct {
	srv   *Server
	match func(name string, auth Args) bool

	mu          sync.RWMutex
	middlewares []Middleware
	onConn      []func(*Socket)
	events      atomic.Pointer[eventTable]
	children    map[string]*Namespace
}

// SocketEventHandler handles an event received by any socket of a namespace
// (Namespace.OnEvent): s is the socket that received it; args and ack are
// as for EventHandler.
type SocketEventHandler func(s *Socket, args Args, ack Ack)

// eventTable maps event names to their namespace-wide handlers. It is
// immutable once published: with returns a modified copy.
type eventTable map[string][]SocketEventHandler

// with returns a copy of t (nil is empty) with fn added to event's handlers.
func (t *eventTable) with(event string, fn SocketEventHandler) *eventTable {
	out := eventTable{}
	if t != nil {
		maps.Copy(out, *t)
	}
	out[event] = append(slices.Clip(out[event]), fn)
	return &out
}

// get returns event's handlers; t may be nil.
func (t *eventTable) get(event string) []SocketEventHandler {
	if t == nil {
		return nil
	}
	return (*t)[event]
}

func newParentNamespace(srv *Server, fn func(string, Args) bool) *ParentNamespace {
	return &ParentNamespace{srv: srv, match: fn, children: map[string]*Namespace{}}
}

// Use adds a middleware for every child namespace.
func (p *ParentNamespace) Use(mw Middleware) {
	p.mu.Lock()
	p.middlewares = append(p.middlewares, mw)
	p.mu.Unlock()
}

// OnEvent adds a handler for event on every socket of every child
// namespace (see Namespace.OnEvent); they run before the child's own.
func (p *ParentNamespace) OnEvent(event string, fn SocketEventHandler) {
	p.mu.Lock()
	p.events.Store(p.events.Load().with(event, fn))
	p.mu.Unlock()
}

// OnConnection adds a connection handler for every child namespace.
func (p *ParentNamespace) OnConnection(fn func(*Socket)) {
	p.mu.Lock()
	p.onConn = append(p.onConn, fn)
	p.mu.Unlock()
}

// Emit emits to every socket of every child namespace.
func (p *ParentNamespace) Emit(event string, args ...any) error {
	for _, c := range p.Children() {
		if err := c.Emit(event, args...); err != nil {
			return err
		}
	}
	return nil
}

// Children returns the child namespaces created so far.
func (p *ParentNamespace) Children() []*Namespace {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]*Namespace, 0, len(p.children))
	for _, c := range p.children {
		out = append(out, c)
	}
	return out
}

func (p *ParentNamespace) child(name string) *Namespace {
	p.mu.Lock()
	c := p.children[name]
	if c == nil {
		c = newNamespace(p.srv, name, p)
		p.children[name] = c
	}
	p.mu.Unlock()
	p.srv.mu.Lock()
	if p.srv.nsps[name] == nil {
		p.srv.nsps[name] = c
	}
	p.srv.mu.Unlock()
	return c
}

func (p *ParentNamespace) removeChild(n *Namespace) {
	p.mu.Lock()
	if p.children[n.name] == n {
		delete(p.children, n.name)
	}
	p.mu.Unlock()
	p.srv.removeNamespace(n)
	_ = n.adapter.Close()
}

// ServerSideHandler receives an event another node's server sent with
// ServerSideEmit. ack answers a ServerSideEmitWithAck (the first call
// counts; it does nothing when the sender wants no answer).
type ServerSideHandler func(args []any, ack func(reply any))

// ServerSideEmit sends an event to the other nodes of the cluster (Node's
// io.serverSideEmit); they receive it through OnServerSideEmit. With the
// default MemoryAdapter there are no other nodes.
func (n *Namespace) ServerSideEmit(event string, args ...any) error {
	if codec.IsReservedEvent(event) {
		return ErrReservedEvent
	}
	return n.adapter.ServerSideEmit(event, args)
}

// ServerSideEmitWithAck sends an event to the other nodes and waits for
// one reply from each (Node's io.serverSideEmitWithAck). When ctx ends
// first it returns the replies so far and ErrAckTimeout.
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]any, error) {
	if codec.IsReservedEvent(event) {
		return nil, ErrReservedEvent
	}
	return n.adapter.ServerSideEmitWithAck(ctx, event, args)
}

// ServerCount is the number of nodes serving the namespace, this one
// included (1 without a cluster).
func (n *Namespace) ServerCount(ctx context.Context) (int, error) {
	return n.adapter.ServerCount(ctx)
}

// OnServerSideEmit registers a handler of the events other nodes send with
// ServerSideEmit. It runs on the adapter's goroutine: do not block.
func (n *Namespace) OnServerSideEmit(event string, fn ServerSideHandler) {
	n.mu.Lock()
	if n.serverSide == nil {
		n.serverSide = map[string][]ServerSideHandler{}
	}
	n.serverSide[event] = append(n.serverSide[event], fn)
	n.mu.Unlock()
}

// HandleServerSideEmit delivers an event another node sent: for adapters.
// ack may be nil when the sender wants no answer; only its first call
// counts.
func (n *Namespace) HandleServerSideEmit(event string, args []any, ack func(reply any)) {
	n.mu.RLock()
	fns := n.serverSide[event]
	n.mu.RUnlock()
	var once sync.Once
	reply := func(v any) {
		if ack != nil {
			once.Do(func() { ack(v) })
		}
	}
	for _, fn := range fns {
		n.srv.safely("server-side emit "+event, func() { fn(args, reply) })
	}
}
