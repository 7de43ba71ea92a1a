package riptide

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/riptide-io/riptide/codec"
	"github.com/riptide-io/riptide/engine"
	"github.com/riptide-io/riptide/internal/slots"
)

// EventHandler handles one event: args are the client's arguments
// (borrowed until the handler returns), ack answers the client's callback
// (nil when it sent none). It runs on the socket's loop and must not block.
type EventHandler func(args Args, ack Ack)

// AnyHandler sees every incoming event (OnAny).
type AnyHandler func(event string, args Args)

// AnyOutgoingHandler sees every outgoing event (OnAnyOutgoing).
type AnyOutgoingHandler func(event string, args []any)

// AckCallback receives a client's acknowledgement (reply borrowed until it
// returns) or an error: ErrAckTimeout, ErrDisconnected.
type AckCallback func(reply Args, err error)

// Handshake is what the client sent to connect (Node's socket.handshake).
type Handshake struct {
	Headers http.Header
	Query   url.Values
	// Auth is the CONNECT payload as JSON ("{}" when none).
	Auth    []byte
	Address string
	Time    string
	Issued  int64 // Unix milliseconds
	URL     string
	Secure  bool
	XDomain bool
}

// Socket is one client's connection to one namespace (Node's socket). Its
// methods are goroutine-safe unless they say otherwise.
//
// An idle socket is most of what the layer above the engine costs a
// connection, so Socket is kept to 80 bytes, an allocator size class
// (TestSocketSize): id is a pointer to fixed-length bytes, the slot is its
// session's, and the connected flag shares a word with the creation time.
type Socket struct {
	// id points to the socket's id, socketIDLen immutable bytes: 8 bytes
	// where a string header takes 16 (ID makes the string in place). Not
	// inline (8 bytes less a connection): an id kept after the disconnect
	// (a map of users to socket ids) would pin the Socket and all it points
	// to, where now it pins 24 bytes.
	id   *[socketIDLen]byte
	nsp  *Namespace
	sess *engine.Session // its connection: its loop and slot are the socket's

	// state is the time the socket was made (Unix milliseconds, Node's
	// handshake.issued) shifted left by one, and in bit 0 whether it is
	// connected: one word where an atomic.Bool beside an int64 took two.
	state atomic.Int64

	// Data is free for the application (Node's socket.data).
	Data any

	mu sync.Mutex
	// rooms is a snapshot of the shard, for Rooms and FetchSockets: the
	// rooms but the socket's own, behind a pointer that is nil while there
	// are none (an idle socket should not carry a slice header). Use
	// joined and setJoined.
	rooms *[]string
	// handlers is appended to in place (a reader's shorter copy of the
	// header never sees the new element) and copied on removal, so a
	// dispatch iterates it without the lock. By value: few per socket, and
	// a slice beats a map and a pointer per listener in memory.
	//
	// Behind a pointer, nil until the first On: handlers added with
	// Namespace.OnEvent need no per-socket list, and an idle socket should
	// not carry an empty slice header.
	handlers *[]listener

	// x holds what many sockets never use, allocated on first use: an idle
	// socket is most of what a connection costs (TestSocketSize).
	x atomic.Pointer[socketExtra]
}

// socketExtra is a socket's rarely used state. Its handler lists are read
// and written under the socket's mu; acks is loop-only.
type socketExtra struct {
	auth      []byte // the CONNECT payload, nil when none
	hsOnce    sync.Once
	hs        *Handshake
	anyIn     []AnyHandler
	anyOut    []AnyOutgoingHandler
	packetMW  []func(event string, args Args) error
	onDisc    []func(reason string)
	onDiscing []func(reason string)
	onErr     []func(err error)
	acks      map[int64]*pendingAck // loop-only
}

// ext returns the socket's extra state, allocating it on first use.
func (s *Socket) ext() *socketExtra {
	if x := s.x.Load(); x != nil {
		return x
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.extLocked()
}

// extLocked is ext with s.mu held.
func (s *Socket) extLocked() *socketExtra {
	x := s.x.Load()
	if x == nil {
		x = &socketExtra{}
		s.x.Store(x)
	}
	return x
}

// pendingAcks returns the loop-only ack table, nil when none was made.
func (s *Socket) pendingAcks() map[int64]*pendingAck {
	if x := s.x.Load(); x != nil {
		return x.acks
	}
	return nil
}

type listener struct {
	event string
	fn    EventHandler
	// once is non-nil for a handler called at most once: a mark unique to
	// this listener, which removeListener finds it by.
	once *onceMark
}

// onceMark identifies a Once listener (a non-zero size: distinct
// allocations of a zero-size type may share an address).
type onceMark struct{ _ byte }

type pendingAck struct {
	cb    AckCallback
	timer *engine.Timer
}

// loop is the socket's loop, its session's.
func (s *Socket) loop() *engine.Loop { return s.sess.Loop() }

// conn is the socket's connection's Socket.IO state.
func (s *Socket) conn() client { return clientOf(s.sess) }

// slot is the socket's number in its loop's room shards: its session's.
func (s *Socket) slot() uint32 { return s.sess.Slot() }

// stateConnected is the connected bit of Socket.state.
const stateConnected = 1

// setConnected sets whether the socket is connected.
func (s *Socket) setConnected(on bool) {
	if on {
		s.state.Or(stateConnected)
	} else {
		s.state.And(^int64(stateConnected))
	}
}

// issued is when the socket was made, in Unix milliseconds.
func (s *Socket) issued() int64 { return s.state.Load() >> 1 }

func newSocket(nsp *Namespace, sess *engine.Session, auth []byte) *Socket {
	s := &Socket{
		id:   newSocketID(sess.Loop().Index(), sess.Slot()),
		nsp:  nsp,
		sess: sess,
	}
	s.state.Store(time.Now().UnixMilli() << 1)
	if auth != nil {
		s.ext().auth = append([]byte(nil), auth...)
	}
	return s
}

// socketIDLen is the length of every socket id (newSocketID): a room name
// of another length cannot be a socket's private room.
const socketIDLen = slots.IDLen

// newSocketID returns 20 URL-safe characters, unrelated to the Engine.IO
// sid (PROTOCOL.md §15.10: never leak the polling credential). Exactly 20,
// as Node's: Node's sharded Redis adapter tells a socket's private room
// from other rooms by that length (16 would save 8 bytes a connection and
// break a mixed cluster: TestRiptideCluster/sharded-dynamic).
//
// They name the socket's loop and its session's slot there
// (slots.AppendID), where Namespace.Socket finds the socket. 88 random
// bits keep an id unguessable (a socket id is a room anyone may be told;
// the reference's carry a counter too).
func newSocketID(loop int, slot uint32) *[socketIDLen]byte {
	var raw [slots.IDRawLen]byte
	_, _ = rand.Read(raw[:slots.IDRandomLen])
	id := new([socketIDLen]byte) // 24 bytes, as the string was
	slots.AppendID(id[:0], &raw, loop, slot)
	return id
}

// Info describes the socket as a RemoteSocket: what a cluster adapter
// sends other nodes that fetch it. Data is read as is: set it before the
// socket is visible (middleware, connection handler) or guard it yourself.
func (s *Socket) Info() RemoteSocket {
	return RemoteSocket{ID: s.ID(), Handshake: s.Handshake(), Rooms: s.Rooms(), Data: s.Data, nsp: s.nsp}
}

// ID is the socket's id, also the name of its own room.
// The string shares the socket's id bytes, which are never written after
// newSocketID: no copy, no allocation.
func (s *Socket) ID() string { return unsafe.String(&s.id[0], socketIDLen) }

// Namespace is the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Handshake is the connection's handshake. Do not modify it. It is built
// on first use: an idle socket holds only the raw request head.
func (s *Socket) Handshake() *Handshake {
	x := s.ext()
	x.hsOnce.Do(func() {
		req := s.sess.Request()
		a := x.auth
		if a == nil {
			a = []byte("{}")
		}
		issued := time.UnixMilli(s.issued())
		x.hs = &Handshake{
			Headers: req.Header,
			Query:   req.URL.Query(),
			Auth:    a,
			Address: req.RemoteAddr,
			Time:    issued.Format(time.RFC1123),
			Issued:  s.issued(),
			URL:     req.URL.String(),
			Secure:  req.Secure,
			XDomain: req.Header.Get("Origin") != "",
		}
	})
	return x.hs
}

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool { return s.state.Load()&stateConnected != 0 }

// Transport is the connection's current transport. Loop-only.
func (s *Socket) Transport() string { return s.sess.Transport() }

// On adds a handler for event.
func (s *Socket) On(event string, fn EventHandler) { s.addListener(event, fn, false) }

// Once adds a handler called at most once.
func (s *Socket) Once(event string, fn EventHandler) { s.addListener(event, fn, true) }

func (s *Socket) addListener(event string, fn EventHandler, once bool) {
	l := listener{event: event, fn: fn}
	if once {
		l.once = new(onceMark)
	}
	s.mu.Lock()
	if s.handlers == nil {
		s.handlers = new([]listener)
	}
	*s.handlers = append(*s.handlers, l) // in place: see Socket.handlers
	s.mu.Unlock()
}

// Off removes every handler of event.
func (s *Socket) Off(event string) {
	s.mu.Lock()
	if s.handlers != nil {
		*s.handlers = slices.DeleteFunc(slices.Clone(*s.handlers), func(l listener) bool { return l.event == event })
	}
	s.mu.Unlock()
}

// OnAny adds a handler for every incoming event, called before the event's
// own handlers.
func (s *Socket) OnAny(fn AnyHandler) {
	s.mu.Lock()
	x := s.extLocked()
	x.anyIn = append(slices.Clip(x.anyIn), fn)
	s.mu.Unlock()
}

// PrependAny adds a catch-all handler in front of the others.
func (s *Socket) PrependAny(fn AnyHandler) {
	s.mu.Lock()
	x := s.extLocked()
	x.anyIn = append([]AnyHandler{fn}, x.anyIn...)
	s.mu.Unlock()
}

// OffAny removes every catch-all handler.
func (s *Socket) OffAny() {
	s.mu.Lock()
	if x := s.x.Load(); x != nil {
		x.anyIn = nil
	}
	s.mu.Unlock()
}

// OnAnyOutgoing adds a handler for every event the socket emits.
func (s *Socket) OnAnyOutgoing(fn AnyOutgoingHandler) {
	s.mu.Lock()
	x := s.extLocked()
	x.anyOut = append(slices.Clip(x.anyOut), fn)
	s.mu.Unlock()
}

// PrependAnyOutgoing adds an outgoing catch-all in front of the others.
func (s *Socket) PrependAnyOutgoing(fn AnyOutgoingHandler) {
	s.mu.Lock()
	x := s.extLocked()
	x.anyOut = append([]AnyOutgoingHandler{fn}, x.anyOut...)
	s.mu.Unlock()
}

// OffAnyOutgoing removes every outgoing catch-all.
func (s *Socket) OffAnyOutgoing() {
	s.mu.Lock()
	if x := s.x.Load(); x != nil {
		x.anyOut = nil
	}
	s.mu.Unlock()
}

// Use adds a per-packet middleware: it sees every incoming event before
// the handlers; an error drops the event and reaches OnError.
func (s *Socket) Use(fn func(event string, args Args) error) {
	s.mu.Lock()
	x := s.extLocked()
	x.packetMW = append(slices.Clip(x.packetMW), fn)
	s.mu.Unlock()
}

// OnError adds a handler for errors of per-packet middlewares.
func (s *Socket) OnError(fn func(err error)) {
	s.mu.Lock()
	x := s.extLocked()
	x.onErr = append(slices.Clip(x.onErr), fn)
	s.mu.Unlock()
}

// OnDisconnecting adds a handler called when the socket is about to
// disconnect, while its rooms are still readable.
func (s *Socket) OnDisconnecting(fn func(reason string)) {
	s.mu.Lock()
	x := s.extLocked()
	x.onDiscing = append(slices.Clip(x.onDiscing), fn)
	s.mu.Unlock()
}

// OnDisconnect adds a handler called once the socket has disconnected,
// with the reason (ReasonTransportClose...).
func (s *Socket) OnDisconnect(fn func(reason string)) {
	s.mu.Lock()
	x := s.extLocked()
	x.onDisc = append(slices.Clip(x.onDisc), fn)
	s.mu.Unlock()
}

// Emit sends event with args to this socket. []byte values (at any depth
// of []any and map[string]any) travel as binary attachments.
func (s *Socket) Emit(event string, args ...any) error {
	if codec.IsReservedEvent(event) {
		return ErrReservedEvent
	}
	return s.emit(event, args, codec.NoAckID)
}

// Send emits a "message" event.
func (s *Socket) Send(args ...any) error { return s.Emit("message", args...) }

// Timeout returns an emitter whose EmitWithAck fails with ErrAckTimeout
// after d.
func (s *Socket) Timeout(d time.Duration) SocketEmitter { return SocketEmitter{s: s, timeout: d} }

// EmitWithAck emits event and calls cb with the client's acknowledgement,
// on the socket's loop. Without a Timeout, Config.AckTimeout applies.
func (s *Socket) EmitWithAck(event string, cb AckCallback, args ...any) error {
	return SocketEmitter{s: s}.EmitWithAck(event, cb, args...)
}

// SocketEmitter emits with an acknowledgement timeout (Socket.Timeout).
type SocketEmitter struct {
	s       *Socket
	timeout time.Duration
}

// EmitWithAck is Socket.EmitWithAck with the emitter's timeout.
func (e SocketEmitter) EmitWithAck(event string, cb AckCallback, args ...any) error {
	s := e.s
	if codec.IsReservedEvent(event) {
		return ErrReservedEvent
	}
	id := s.nsp.ackIDs.Add(1) - 1
	timeout := e.timeout
	if timeout <= 0 {
		timeout = s.nsp.srv.cfg.AckTimeout
	}
	s.loop().Post(func() {
		if !s.Connected() {
			cb(Args{}, ErrDisconnected)
			return
		}
		pa := &pendingAck{cb: cb}
		if timeout > 0 {
			pa.timer = s.loop().NewTimer(func() {
				if acks := s.pendingAcks(); acks[id] == pa {
					delete(acks, id)
					cb(Args{}, ErrAckTimeout)
				}
			})
			pa.timer.Reset(timeout)
		}
		s.addPendingAck(id, pa)
	})
	return s.emit(event, args, id)
}

// addPendingAck records an ack this socket waits for. Loop-only.
func (s *Socket) addPendingAck(id int64, pa *pendingAck) {
	x := s.ext()
	if x.acks == nil {
		x.acks = map[int64]*pendingAck{}
	}
	x.acks[id] = pa
}

func (s *Socket) emit(event string, args []any, id int64) error {
	var out []AnyOutgoingHandler
	if x := s.x.Load(); x != nil {
		s.mu.Lock()
		out = x.anyOut
		s.mu.Unlock()
	}
	for _, fn := range out {
		fn(event, args)
	}
	var buf [1]*engine.Prepared
	msgs, err := encodeEvent(buf[:0], s.nsp.name, id, event, args)
	if err != nil {
		return err
	}
	for _, p := range msgs {
		s.sess.SendPrepared(p)
		p.Release()
	}
	return nil
}

// encodeEvent encodes an EVENT once: the text packet, then one binary
// message per attachment. Each Prepared has one reference for the caller.
func encodeEvent(dst []*engine.Prepared, nsp string, id int64, event string, args []any) ([]*engine.Prepared, error) {
	p := engine.NewPrepared()
	b := append(p.B(), byte(codec.EngineMessage))
	out, att, err := codec.AppendEvent(b, nsp, id, event, args)
	if err != nil {
		p.Release()
		return nil, err
	}
	p.SetB(out)
	p.Seal(false)
	return withAttachments(dst, p, att), nil
}

func encodeAck(dst []*engine.Prepared, nsp string, id int64, args []any) ([]*engine.Prepared, error) {
	p := engine.NewPrepared()
	b := append(p.B(), byte(codec.EngineMessage))
	out, att, err := codec.AppendAck(b, nsp, id, args)
	if err != nil {
		p.Release()
		return nil, err
	}
	p.SetB(out)
	p.Seal(false)
	return withAttachments(dst, p, att), nil
}

// withAttachments appends p, then one binary message per attachment, to
// msgs: a caller that sends them at once passes a small array on its stack.
func withAttachments(msgs []*engine.Prepared, p *engine.Prepared, att [][]byte) []*engine.Prepared {
	msgs = append(msgs, p)
	for _, a := range att {
		bp := engine.NewPrepared()
		bp.SetB(append(bp.B(), a...))
		msgs = append(msgs, bp.Seal(true))
	}
	return msgs
}

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...string) {
	s.mu.Lock()
	var added []string
	joined := s.joined()
	for _, r := range rooms {
		if r != s.ID() && !slices.Contains(joined, r) {
			joined = append(joined, r)
			added = append(added, r)
		}
	}
	s.setJoined(joined)
	s.mu.Unlock()
	if len(added) == 0 {
		return
	}
	s.nsp.adapter.AddAll(s.ID(), added)
	l := s.loop()
	rl := &s.nsp.roomLoops
	for _, r := range added {
		rl.joining(l, r) // before the post: a broadcast after Join returns must visit l
	}
	l.Post(func() {
		if s.Connected() {
			sh := s.nsp.shard(l)
			for _, r := range added {
				if sh.Join(s.slot(), r) {
					s.nsp.srv.stats.rooms.Add(1)
				}
			}
		}
		// Every joining is matched, joined or not (the socket may be gone).
		for _, r := range added {
			rl.joined(l, r, s.nsp.roomSize(l, r))
		}
	})
}

// Leave removes the socket from a room.
func (s *Socket) Leave(room string) {
	s.mu.Lock()
	i := slices.Index(s.joined(), room)
	if i < 0 {
		s.mu.Unlock()
		return
	}
	s.setJoined(slices.Delete(s.joined(), i, i+1))
	s.mu.Unlock()
	s.nsp.adapter.Del(s.ID(), room)
	s.loop().Post(func() {
		if s.Connected() && s.nsp.shard(s.loop()).Leave(s.slot(), room) {
			s.nsp.srv.stats.rooms.Add(-1)
			s.nsp.roomLoops.emptied(s.loop(), room)
		}
	})
}

// Rooms returns the socket's rooms, its own id room first.
func (s *Socket) Rooms() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{s.ID()}, s.joined()...)
}

// joined is the socket's rooms but its own. Under mu.
func (s *Socket) joined() []string {
	if s.rooms == nil {
		return nil
	}
	return *s.rooms
}

// setJoined replaces the socket's rooms but its own. Under mu.
func (s *Socket) setJoined(r []string) {
	switch {
	case len(r) == 0:
		s.rooms = nil
	case s.rooms == nil:
		s.rooms = &r
	default:
		*s.rooms = r
	}
}

// inRoom reports membership, for FetchSockets and friends.
func (s *Socket) inRoom(r string) bool {
	if r == s.ID() {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.joined(), r)
}

// Disconnect disconnects the socket from its namespace: the client gets a
// DISCONNECT ("io server disconnect") and the socket's reason is "server
// namespace disconnect". With close, every namespace of the connection is
// disconnected that way and the connection itself is closed.
func (s *Socket) Disconnect(close bool) {
	s.loop().Post(func() {
		if !s.Connected() {
			return
		}
		if !close {
			s.onDisconnect(ReasonServerNamespaceDisconnect, true)
			return
		}
		var buf [4]*Socket
		for _, o := range s.conn().socketList(buf[:0]) {
			o.onDisconnect(ReasonServerNamespaceDisconnect, true)
		}
		s.conn().close(ReasonServerNamespaceDisconnect)
	})
}

// Conn is the Engine.IO session under the socket (Node's socket.conn):
// Close on it closes the connection without a Socket.IO DISCONNECT. Its
// Data holds the connection's Socket.IO state: leave it to Riptide (use
// Socket.Data for your own).
func (s *Socket) Conn() *engine.Session { return s.sess }

// To targets rooms, excluding this socket (Node's socket.to(room)).
func (s *Socket) To(rooms ...string) BroadcastOperator { return s.Broadcast().To(rooms...) }

// In is To.
func (s *Socket) In(rooms ...string) BroadcastOperator { return s.To(rooms...) }

// Except targets every other socket except rooms.
func (s *Socket) Except(rooms ...string) BroadcastOperator { return s.Broadcast().Except(rooms...) }

// Broadcast targets every other socket of the namespace.
func (s *Socket) Broadcast() BroadcastOperator {
	return BroadcastOperator{nsp: s.nsp}.Except(s.ID())
}

// Volatile returns an operator targeting only this socket, dropping the
// packet when the connection cannot take it now.
func (s *Socket) Volatile() BroadcastOperator {
	return BroadcastOperator{nsp: s.nsp}.To(s.ID()).Volatile()
}

// onConnect completes a namespace connection: reply, then handlers.
// Loop-only.
func (s *Socket) onConnect() {
	s.setConnected(true)
	s.nsp.add(s)
	sh := s.nsp.shard(s.loop())
	sh.Add(s.slot())
	s.nsp.countOnLoop(s.loop(), 1)
	// Rooms joined before the connection completed (in a middleware, as
	// Node allows): their Join found no shard membership yet.
	s.mu.Lock()
	early := slices.Clone(s.joined())
	s.mu.Unlock()
	for _, r := range early {
		// Join's own post may have run already and found the socket not
		// connected: the room's loop mask is set again around this join.
		s.nsp.roomLoops.joining(s.loop(), r)
		if sh.Join(s.slot(), r) {
			s.nsp.srv.stats.rooms.Add(1)
		}
		s.nsp.roomLoops.joined(s.loop(), r, sh.RoomSize(r))
	}
	if !isMemory(s.nsp.adapter) {
		s.nsp.adapter.AddAll(s.ID(), []string{s.ID()}) // its own room, as Node's socket.join(socket.id)
	}
	p := engine.NewPrepared()
	b := append(p.B(), byte(codec.EngineMessage))
	p.SetB(codec.AppendConnect(b, s.nsp.name, s.ID(), ""))
	p.Seal(false)
	s.sess.SendPrepared(p)
	p.Release()
	for _, fn := range s.nsp.connectionHandlers() {
		s.safely("connection", func() { fn(s) })
		if !s.Connected() {
			return
		}
	}
}

// onDisconnect ends the socket. Loop-only.
func (s *Socket) onDisconnect(reason string, sendPacket bool) {
	c := s.conn()
	c.remove(s)
	if !s.Connected() {
		return
	}
	var discing, disc []func(string)
	if x := s.x.Load(); x != nil {
		s.mu.Lock()
		discing, disc = x.onDiscing, x.onDisc
		s.mu.Unlock()
	}
	for _, fn := range discing {
		s.safely("disconnecting", func() { fn(reason) })
	}
	s.setConnected(false)
	ls := loopStateOf(s.loop())
	s.nsp.countOnLoop(s.loop(), -1)
	if sh := ls.shards[s.nsp]; sh != nil {
		l, nsp := s.loop(), s.nsp
		sh.Remove(s.slot(), func(r string) {
			nsp.srv.roomDeleted(r)
			nsp.roomLoops.emptied(l, r)
		})
		if sh.Size() == 0 {
			delete(ls.shards, s.nsp)
		}
	}
	if !isMemory(s.nsp.adapter) {
		s.mu.Lock()
		rooms := append([]string{s.ID()}, s.joined()...)
		s.mu.Unlock()
		s.nsp.adapter.DelAll(s.ID(), rooms)
	}
	s.nsp.remove(s)
	acks := s.pendingAcks()
	for id, pa := range acks {
		delete(acks, id)
		if pa.timer != nil {
			pa.timer.Stop()
		}
		pa.cb(Args{}, ErrDisconnected)
	}
	if sendPacket {
		p := engine.NewPrepared()
		b := append(p.B(), byte(codec.EngineMessage))
		p.SetB(codec.AppendDisconnect(b, s.nsp.name))
		p.Seal(false)
		s.sess.SendPrepared(p)
		p.Release()
	}
	s.mu.Lock()
	if x := s.x.Load(); x != nil {
		disc = x.onDisc // handlers added while disconnecting run too
	}
	s.setJoined(nil)
	s.mu.Unlock()
	for _, fn := range disc {
		s.safely("disconnect", func() { fn(reason) })
	}
}

// safely runs user code; a panic is logged and disconnects only this
// socket's connection.
func (s *Socket) safely(what string, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			s.nsp.srv.cfg.Logger.Error("riptide: handler panic", "handler", what, "namespace", s.nsp.name, "socket", s.ID(), "panic", r)
			s.conn().close(ReasonForcedServerClose)
		}
	}()
	fn()
}

// onEvent dispatches an EVENT. Loop-only.
func (s *Socket) onEvent(pkt *codec.Packet, att [][]byte) {
	c := s.conn()
	rawName, isString, err := codec.EventName(pkt.Data)
	if err != nil {
		c.protocolError()
		return
	}
	ls := loopStateOf(s.loop())
	all, err := codec.SplitArgs(pkt.Data, ls.takeArgs())
	if err != nil {
		c.protocolError()
		return
	}
	defer ls.putArgs(all)
	args := Args{raw: all[1:], att: att}
	var ack Ack
	if pkt.ID >= 0 {
		ack = s.ackFunc(pkt.ID)
	}
	var name string
	if isString {
		nb, err := codec.UnquoteString(ls.nameBuf[:0], rawName)
		if err != nil {
			c.protocolError()
			return
		}
		if cap(nb) <= 256 {
			ls.nameBuf = nb[:0]
		}
		name = ls.eventName(nb)
	} else {
		name = ls.eventName(rawName)
	}
	var (
		mws   []func(string, Args) error
		anyIn []AnyHandler
		errs  []func(error)
	)
	s.mu.Lock()
	var listeners []listener
	if s.handlers != nil {
		listeners = *s.handlers
	}
	if x := s.x.Load(); x != nil {
		mws, anyIn, errs = x.packetMW, x.anyIn, x.onErr
	}
	s.mu.Unlock()
	for _, mw := range mws {
		var merr error
		s.safely("middleware", func() { merr = mw(name, args) })
		if merr != nil {
			for _, fn := range errs {
				s.safely("error", func() { fn(merr) })
			}
			return
		}
	}
	for _, fn := range anyIn {
		s.safely("any", func() { fn(name, args) })
	}
	s.nsp.eachEventHandler(name, func(fn SocketEventHandler) {
		s.safely(name, func() { fn(s, args, ack) })
	})
	for _, l := range listeners {
		if l.event != name {
			continue
		}
		if l.once != nil {
			s.removeListener(l.once)
		}
		s.safely(name, func() { l.fn(args, ack) })
	}
}

// removeListener removes the Once listener marked once. It copies: a
// dispatch may be iterating the current slice.
func (s *Socket) removeListener(once *onceMark) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handlers == nil {
		return
	}
	if i := slices.IndexFunc(*s.handlers, func(l listener) bool { return l.once == once }); i >= 0 {
		*s.handlers = slices.Delete(slices.Clone(*s.handlers), i, i+1)
	}
}

// ackFunc answers the client's ack id once, from any goroutine.
func (s *Socket) ackFunc(id int64) Ack {
	var done atomic.Bool
	return func(args ...any) {
		if !done.CompareAndSwap(false, true) {
			return
		}
		var buf [1]*engine.Prepared
		msgs, err := encodeAck(buf[:0], s.nsp.name, id, args)
		if err != nil {
			s.nsp.srv.cfg.Logger.Warn("riptide: ack not encodable", "err", err)
			return
		}
		for _, p := range msgs {
			s.sess.SendPrepared(p)
			p.Release()
		}
	}
}

// onAck delivers a client's ACK to the waiting EmitWithAck. Loop-only.
func (s *Socket) onAck(pkt *codec.Packet, att [][]byte) {
	acks := s.pendingAcks()
	pa := acks[pkt.ID]
	if pa == nil {
		return // S11: unknown ids are ignored
	}
	delete(acks, pkt.ID)
	if pa.timer != nil {
		pa.timer.Stop()
	}
	c := s.conn()
	ls := loopStateOf(s.loop())
	all, err := codec.SplitArgs(pkt.Data, ls.takeArgs())
	if err != nil {
		c.protocolError()
		return
	}
	defer ls.putArgs(all)
	s.safely("ack", func() { pa.cb(Args{raw: all, att: att}, nil) })
}
