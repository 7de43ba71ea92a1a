package engine

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/riptide-io/riptide/codec"
	"github.com/riptide-io/riptide/frame"
	"github.com/riptide-io/riptide/internal/slots"
)

// maxIovec is IOV_MAX on Linux: the most buffers one writev takes.
const maxIovec = 1024

// maxGather is the most bytes writeChain copies into one buffer for one
// write(2): a larger backlog goes out in several.
const maxGather = 256 << 10

type transportKind uint8

const (
	transportPolling transportKind = iota + 1
	transportWebSocket
)

func (t transportKind) String() string {
	if t == transportWebSocket {
		return "websocket"
	}
	return "polling"
}

type sessionState uint8

const (
	stateOpen    sessionState = iota
	stateClosing              // polling: waiting for a GET to carry the "1"
	stateClosed
)

// Session is one Engine.IO session. It lives on its home loop (the loop of
// its handshake): its fields are that loop's. Methods say whether they are
// goroutine-safe.
//
// An idle WebSocket session is what a server holds by the thousand, so the
// struct keeps only what such a session uses (112 bytes, an allocator size
// class, pinned by TestSizes): the polling transport and the upgrade live
// behind poll, and the sid, remote address and handshake head share one
// allocation (hs). Counters are 32 bits and flags are bits for the same
// reason: with 64-bit counters and a byte per flag it took the 128-byte
// class, 16 bytes more per connection.
type Session struct {
	ep   *Endpoint
	loop *Loop
	ws   *conn // the WebSocket transport
	// poll is the polling transport and an upgrade; nil on WebSocket: the
	// transport is polling exactly while poll is set (transport).
	poll *pollState
	// hs is the sid (sidLen bytes), then the remote address (remoteLen
	// bytes), then the handshake head (compacted: headdict.go): one
	// immutable allocation (ID returns a substring of it).
	hs string

	// Data is free for the layer above. Loop-only.
	Data any

	// Heartbeat: hb fires the next ping, or the pong deadline (or, while
	// a polling session is closing, the end of its wait for a GET).
	hb Timer
	// pingDue is monoMillis when the current heartbeat's ping is (was)
	// due. 32 bits wrap every 49 days; it is only compared with a time
	// within PingInterval+PingTimeout of it (at most maxHeartbeat each),
	// as a wrapping difference.
	pingDue uint32

	// The turn's messages for the WebSocket: a chain through the loop's
	// write log (1-based indices, 0 = none), so a session holds no array
	// of its own however large a burst; wbytes is their size, saturating
	// at 4 GiB (addWBytes).
	wHead, wTail int32
	wbytes       uint32

	slot      uint32
	remoteLen uint8 // hs[sidLen:sidLen+remoteLen] is the remote address
	hsFlags   hsFlags
	state     sessionState
	flags     sessionFlags
}

// sidLen is the length of every session id: a sid (appendSID) or a
// detached session's id (newDetachedID).
const sidLen = slots.IDLen

// hsFlags say how a session's hs is stored. Immutable once the session is
// made (Request reads them from any goroutine): not in the loop's flags.
type hsFlags uint8

const (
	hsHeadRaw   hsFlags = 1 << iota // the head is stored as sent, not compacted (headdict.go)
	hsRemoteBin                     // the remote address is stored as binary (appendAddr)
)

// sessionFlags are a session's loop-only booleans, as bits of one byte.
type sessionFlags uint8

const (
	flagAwaitingPong sessionFlags = 1 << iota
	flagDirty                     // in the loop's dirty list (markDirty)
	// flagOver: the session is over MaxBufferedBytes, since the time in its
	// loop's overSince (rare state: not a field every session pays for).
	flagOver
)

// transport is the session's transport: polling while it has a pollState.
func (s *Session) transport() transportKind {
	if s.poll == nil {
		return transportWebSocket
	}
	return transportPolling
}

// pollState is a session's polling transport and upgrade: allocated with a
// polling session, dropped when it upgrades to WebSocket.
type pollState struct {
	s          *Session // the owner (upTimer fires into it)
	pq         []*Prepared
	pqBytes    int
	pendingGet *conn

	// Upgrade. While probed, pendingGet (if any) is a GET that arrived
	// after the probe: it is held (onPollGet) and holdTimer releases it.
	probe     *conn
	probed    bool
	upTimer   Timer
	holdTimer Timer

	// clientClosed: closing after the client's "1" (see clientCloseGrace),
	// so the GET that ends the wait gets a noop, not a close packet.
	clientClosed bool
}

// monoEpoch anchors monoNow.
var monoEpoch = time.Now()

// monoNow is the monotonic clock in nanoseconds, always > 0: 8 bytes per
// stored instant where a time.Time takes 24.
func monoNow() int64 { return int64(time.Since(monoEpoch)) + 1 }

// clientCloseGrace is how long a polling session closed by the client's
// "1" (a POST) with no GET pending waits for one, which gets the noop the
// reference answers a GET pending at the close; later requests get 400
// "Session ID unknown". A client that closes while its poll is in flight
// sends the GET and the POST on two connections, which may belong to two
// loops: the POST, read on the session's loop, can run before the GET,
// read first but on another loop and handed over (or read second by the
// session's loop, which ran the hand-over first). The reference, one
// thread reading in arrival order, answers such a GET "6"; without the
// grace it got 400 about one run in ten of the official suite's "forcefully
// closes the session". A client that really polls after its own close gets
// one noop, then 400.
const clientCloseGrace = 100 * time.Millisecond

// monoMillis is monoNow in milliseconds, wrapping at 32 bits (49.7 days):
// compare two of them only by their difference as an int32 (sinceMillis).
func monoMillis(now int64) uint32 { return uint32(now / int64(time.Millisecond)) }

// sinceMillis is the time from the instant then to the instant now, both
// monoMillis, when they are less than 24.8 days apart.
func sinceMillis(now, then uint32) time.Duration {
	return time.Duration(int32(now-then)) * time.Millisecond
}

// maxHeartbeat bounds PingInterval and PingTimeout, so that a session's
// pingDue, 32 bits of milliseconds, is never compared with a time 2^31 ms
// (24.8 days) or more away.
const maxHeartbeat = 10 * 24 * time.Hour

// onHBTimer: hb fired. It is the heartbeat or, closing, the end of the wait
// for a GET to carry the "1".
func (s *Session) onHBTimer() {
	if s.state == stateClosing {
		s.finish()
		return
	}
	s.onHeartbeatTimer()
}

// newPollState gives a session its polling state.
func (s *Session) newPollState() {
	s.poll = &pollState{s: s}
	s.poll.upTimer.kind = timerUpgrade
	s.poll.holdTimer.kind = timerUpgradeHold
}

// remoteAddr is the client's address, as net.Addr.String gave it.
func (s *Session) remoteAddr() string {
	a := s.hs[sidLen : sidLen+int(s.remoteLen)]
	if s.hsFlags&hsRemoteBin == 0 {
		return a
	}
	return decodeAddr(a).String()
}

// head is the handshake request head as stored (see hsHeadRaw).
func (s *Session) head() string { return s.hs[sidLen+int(s.remoteLen):] }

// Static packets, referenced forever (their count never reaches zero).
var (
	pktPing  = staticPacket("2")
	pktNoop  = staticPacket("6")
	pktClose = staticPacket("1")
	pktProbe = staticPacket("3probe")
)

func staticPacket(s string) *Prepared {
	p := NewPrepared()
	p.SetB(append(p.B(), s...))
	return p.Seal(false)
}

// ID is the Engine.IO session id (the polling credential: never show it
// to other clients). Goroutine-safe.
func (s *Session) ID() string { return s.hs[:sidLen] }

// Request is the handshake request, parsed from the session's compact copy
// of the head on each call (an idle connection holds no header map): keep
// what you use. Goroutine-safe.
func (s *Session) Request() *Request {
	if len(s.hs) == sidLen {
		// A detached session (NewDetachedSession) has no head.
		return &Request{URL: &url.URL{}, Header: http.Header{}, RemoteAddr: "127.0.0.1:0", Transport: "websocket"}
	}
	var head []byte
	if s.hsFlags&hsHeadRaw != 0 {
		head = []byte(s.head())
	} else {
		head = s.ep.dict.expand(nil, s.head())
	}
	return parseRequestHead(head, s.remoteAddr())
}

// Handler is the Handler of the session's endpoint. Goroutine-safe.
func (s *Session) Handler() Handler { return s.ep.h }

// Loop is the session's home loop. Goroutine-safe.
func (s *Session) Loop() *Loop { return s.loop }

// Slot is the session's loop-local number, unique among the loop's open
// sessions and reused after close. Goroutine-safe.
func (s *Session) Slot() uint32 { return s.slot }

// Transport is "polling" or "websocket". Loop-only.
func (s *Session) Transport() string { return s.transport().String() }

// Closed reports whether the session has ended. Loop-only.
func (s *Session) Closed() bool { return s.state != stateOpen }

// Send sends a text message. data is copied. Goroutine-safe.
func (s *Session) Send(data []byte) { s.send(data, false) }

// SendBinary sends a binary message. data is copied. Goroutine-safe.
func (s *Session) SendBinary(data []byte) { s.send(data, true) }

func (s *Session) send(data []byte, binary bool) {
	p := NewPrepared()
	b := p.B()
	if !binary {
		b = append(b, byte(codec.EngineMessage))
	}
	p.SetB(append(b, data...))
	p.Seal(binary)
	s.SendPrepared(p)
	p.Release()
}

// SendPrepared queues a prepared message; the session takes its own
// reference, the caller keeps theirs. Goroutine-safe. On the home loop
// (inside a handler) prefer Write, which skips the queue.
//
// A message sent while the one before it to the same session still waits,
// last in the loop's queue, joins it (Prepared.Join) when that one is
// referenced by the queue alone: a goroutine streaming to one socket
// queues one message per run, not one per message.
func (s *Session) SendPrepared(p *Prepared) {
	l := s.loop
	l.mu.Lock()
	if n := len(l.inbox); n > 0 {
		if last := &l.inbox[n-1]; last.kind == opSend && last.s == s && last.p.Join(p, 1) {
			l.joinedLocked()
			return
		}
	}
	p.Retain()
	l.postLocked(op{kind: opSend, s: s, p: p})
}

// Write queues a prepared message for the end of the current loop turn;
// the session takes its own reference. Loop-only: call it on the session's
// home loop (from a Handler, a Loop.Post function or a broadcast).
func (s *Session) Write(p *Prepared) { s.enqueue(p) }

// Close ends the session with reason "forced close". Goroutine-safe.
func (s *Session) Close() { s.loop.post(op{kind: opClose, s: s}) }

// CloseOnLoop is Close for code already on the home loop. Loop-only.
func (s *Session) CloseOnLoop(reason string) { s.closeWith(reason, true) }

// Buffered is the number of bytes queued for the client and not yet
// handed to the kernel. Loop-only.
func (s *Session) Buffered() int {
	n := int(s.wbytes)
	if s.poll != nil {
		n += s.poll.pqBytes
	}
	if s.ws != nil && s.ws.loop == s.loop && !s.ws.closed {
		n += s.ws.gc.OutboundBuffered()
	}
	return n
}

// enqueue adds a message to the current transport's queue. Loop-only.
func (s *Session) enqueue(p *Prepared) {
	if s.state != stateOpen {
		return
	}
	l := s.loop
	l.countOut(s.ep, p)
	if s.poll == nil { // WebSocket
		l.logMsgs += int(p.msgs)
		l.wlog = append(l.wlog, wentry{m: l.turnMessage(p)})
		i := int32(len(l.wlog))
		if s.wTail != 0 {
			l.wlog[s.wTail-1].next = i
		} else {
			s.wHead = i
		}
		s.wTail = i
		s.addWBytes(p.Len())
		l.markDirty(s)
		return
	}
	ps := s.poll
	p.Retain()
	ps.pq = append(ps.pq, p)
	ps.pqBytes += p.pollingLen()
	if ps.pendingGet != nil && !ps.probed {
		s.loop.markDirty(s)
	} else if ps.pqBytes > s.ep.cfg.MaxBufferedBytes {
		s.checkBuffered(ps.pqBytes)
	}
}

// checkBuffered applies the slow-consumer rule to n buffered bytes: over
// MaxBufferedBytes for SlowConsumerGrace, or over four times it, and the
// session is closed. A slow client never holds more, and never delays
// anybody else: its bytes wait in its own buffers only.
func (s *Session) checkBuffered(n int) {
	max := s.ep.cfg.MaxBufferedBytes
	l := s.loop
	if n <= max {
		s.clearOver()
		return
	}
	now := monoNow()
	if s.flags&flagOver == 0 {
		s.flags |= flagOver
		if l.overSince == nil {
			l.overSince = map[*Session]int64{}
		}
		l.overSince[s] = now
	}
	if n > 4*max || time.Duration(now-l.overSince[s]) > s.ep.cfg.SlowConsumerGrace {
		s.ep.cfg.Logger.Warn("engine: slow consumer disconnected", "sid", s.ID(), "buffered", n)
		s.ep.stats.slow.Add(1)
		s.closeWithCode(ws.StatusPolicyViolation, "slow consumer")
	}
}

// clearOver forgets that the session was over MaxBufferedBytes.
func (s *Session) clearOver() {
	if s.flags&flagOver != 0 {
		s.flags &^= flagOver
		delete(s.loop.overSince, s)
	}
}

// enqueueOpen queues the handshake packet.
func (s *Session) enqueueOpen() {
	cfg := &s.ep.cfg
	var up []string
	if s.poll != nil {
		up = s.ep.upgrades
	}
	p := NewPrepared()
	p.SetB(codec.AppendOpen(p.B(), s.ID(), up, cfg.PingInterval.Milliseconds(), cfg.PingTimeout.Milliseconds(), cfg.MaxHTTPBufferSize))
	p.Seal(false)
	s.enqueue(p)
	p.Release()
}

// open starts the heartbeat and tells the handler.
func (s *Session) open() {
	if lg := s.ep.cfg.Logger; lg.Enabled(context.Background(), slog.LevelDebug) {
		lg.Debug("engine: session open", "sid", s.ID(), "transport", s.transport().String(), "remote", s.remoteAddr())
	}
	s.armPing()
	defer s.recoverHandler()
	s.ep.h.OnOpen(s)
}

// deliver hands a message to the handler; a panic in it closes this
// session only.
func (s *Session) deliver(data []byte, binary bool) {
	t := s.ep.stats.traffic(s.loop)
	t.msgsIn.Add(1)
	t.bytesIn.Add(uint64(len(data)))
	defer s.recoverHandler()
	s.ep.h.OnMessage(s, data, binary)
}

func (s *Session) recoverHandler() {
	if r := recover(); r != nil {
		s.ep.cfg.Logger.Error("engine: handler panic; closing its session", "sid", s.ID(), "panic", r)
		s.closeWith("server error", true)
	}
}

// flush writes what the turn queued: one writev per WebSocket, one
// response per pending poll.
func (s *Session) flush() {
	if s.poll == nil {
		s.flushWS()
		return
	}
	// A GET held during an upgrade carries no data: what is queued goes
	// out on the WebSocket (E63), or on polling if the upgrade fails.
	if ps := s.poll; ps != nil && ps.pendingGet != nil && len(ps.pq) > 0 && !ps.probed {
		s.answerGet()
	}
}

func (s *Session) flushWS() {
	if s.wHead == 0 {
		return
	}
	c := s.ws
	if c == nil {
		s.dropWS()
		return
	}
	l := s.loop
	if c.loop == l {
		s.writeChain(c)
		s.dropWS()
		if out := c.gc.OutboundBuffered(); out > s.ep.cfg.MaxBufferedBytes || s.flags&flagOver != 0 {
			s.checkBuffered(out)
		}
		return
	}
	// Another loop owns the connection: hand it the batch, in writev-sized
	// pieces (see writeChain), with the references it must release once
	// written.
	iov := s.chainFrames()
	refs := make([]*Prepared, 0, len(iov))
	for i := s.wHead; i != 0; i = l.wlog[i-1].next {
		p := l.logMsg(i)
		p.Retain() // the turn's reference ends with the turn; this one with the write
		refs = append(refs, p)
	}
	s.wHead, s.wTail, s.wbytes = 0, 0, 0
	for i := 0; i < len(iov); i += maxIovec {
		j := min(i+maxIovec, len(iov))
		bufs := append([][]byte(nil), iov[i:j]...)
		part := refs[i:j]
		err := c.gc.AsyncWritev(bufs, func(gnet.Conn, error) error {
			for _, p := range part {
				p.Release()
			}
			return nil
		})
		if err != nil {
			for _, p := range part {
				p.Release()
			}
		}
	}
}

// writeChain writes the session's chain on c, a connection of its own
// loop: one write(2) for one message; otherwise the frames copied into the
// loop's buffer and written maxGather bytes at a time (a frame of that size
// or more goes out as it is). Copying is cheaper than writev here, in the
// kernel as in user space: a backlog of small frames made writev walk
// thousands of segments per call, and x/sys/unix grows a fresh iovec array
// on every call (fan-out of 1,000 receivers in 100 rooms: ~25% less CPU
// per delivery). gnet copies whatever the kernel does not take, so the
// buffer is reused at once; once it holds a backlog, further writes only
// append to it.
func (s *Session) writeChain(c *conn) {
	l := s.loop
	if e := l.wlog[s.wHead-1]; e.next == 0 {
		_, _ = c.gc.Write(l.wtab[e.m-1].Frame())
		return
	}
	out := l.gather[:0]
	for i := s.wHead; i != 0 && !c.closed; i = l.wlog[i-1].next {
		f := l.logMsg(i).Frame()
		if len(out)+len(f) > maxGather && len(out) > 0 {
			_, _ = c.gc.Write(out)
			out = out[:0]
		}
		if len(f) >= maxGather {
			_, _ = c.gc.Write(f)
			continue
		}
		out = append(out, f...)
	}
	if len(out) > 0 && !c.closed {
		_, _ = c.gc.Write(out)
	}
	l.gather = out[:0]
}

// chainFrames lists the frames of the session's chain, in the loop's
// scratch (valid until the next call).
func (s *Session) chainFrames() [][]byte {
	l := s.loop
	iov := l.iov[:0]
	for i := s.wHead; i != 0; i = l.wlog[i-1].next {
		iov = append(iov, l.logMsg(i).Frame())
	}
	l.iov = iov[:0]
	return iov
}

// addWBytes adds n to wbytes, saturating: 32 bits keep the Session in its
// size class, and past 4 GiB the exact figure matters to nobody (Buffered
// is compared with MaxBufferedBytes, writeChain with maxGather).
func (s *Session) addWBytes(n int) {
	s.wbytes = uint32(min(uint64(s.wbytes)+uint64(n), math.MaxUint32))
}

// dropWS releases the session's chain of queued messages.
func (s *Session) dropWS() {
	// The entries' messages are the turn's (released by flushDirty).
	s.wHead, s.wTail, s.wbytes = 0, 0, 0
}

// keepUpTo empties a queue, keeping its array only if its capacity is at
// most max: after a burst, thousands of idle sessions must not each hold a
// burst-sized array (memory, and GC scanning), nor a loop its burst-sized
// scratch.
func keepUpTo[T any](q []T, max int) []T {
	if cap(q) > max {
		return nil
	}
	return q[:0]
}

// maxKeptQueue is what a session's own queue keeps (keepUpTo).
const maxKeptQueue = 64

func (s *Session) dropPolling() {
	ps := s.poll
	if ps == nil {
		return
	}
	for i, p := range ps.pq {
		p.Release()
		ps.pq[i] = nil
	}
	ps.pq, ps.pqBytes = keepUpTo(ps.pq, maxKeptQueue), 0
}

// closeWith ends the session. serverSide: the server decided (send the
// client a close: a close frame on WebSocket, "1" on polling).
func (s *Session) closeWith(reason string, serverSide bool) {
	s.closeWithCodeIf(0, reason, serverSide)
}

// closeWithCode is a server-side closeWith whose WebSocket close frame
// carries code (1001 on shutdown, 1008 for a slow consumer); other closes
// carry none, as the reference's. The code is an argument, not a field:
// every session would pay for what only a closing one uses.
func (s *Session) closeWithCode(code ws.StatusCode, reason string) {
	s.closeWithCodeIf(code, reason, true)
}

func (s *Session) closeWithCodeIf(code ws.StatusCode, reason string, serverSide bool) {
	if s.state == stateClosed {
		return
	}
	wasOpen := s.state == stateOpen
	s.hb.Stop()
	if ps := s.poll; ps != nil {
		ps.upTimer.Stop()
		ps.holdTimer.Stop()
		if ps.probe != nil {
			ps.probe.sendClose(s.loop)
			ps.probe = nil
		}
	}
	if s.poll == nil { // WebSocket
		s.flushWS()
		if s.ws != nil {
			// Server-side closes carry a close frame; either way the
			// connection goes with the session.
			if serverSide {
				s.ws.sendCloseCode(s.loop, code, reason)
			} else {
				s.ws.close(s.loop)
			}
		}
		s.ws = nil
		s.finish()
	} else {
		// What was queued before a forced close still goes out, followed
		// by the close packet; on errors (ping timeout, parse error) the
		// client is gone or broken and the queue is dropped.
		ps := s.poll
		if !serverSide || reason != "forced close" {
			s.dropPolling()
		}
		if serverSide && ps.pendingGet != nil && len(ps.pq) > 0 {
			// Data first, the close packet in the next poll, as the
			// reference does: socket.io-client handles a DISCONNECT a tick
			// after its payload, so a "1" in the same payload would win.
			s.answerGet()
		}
		switch {
		case ps.pendingGet != nil:
			if serverSide {
				s.enqueueForce(pktClose)
				s.answerGet()
			} else {
				s.answerGetWith(pktNoop)
			}
			s.finish()
		case serverSide && wasOpen && reason == "forced close":
			// The "1" waits for the next GET (PROTOCOL.md §9), bounded.
			s.state = stateClosing // hb now ends the wait (onHBTimer)
			s.hb.Reset(s.ep.cfg.PingTimeout + s.ep.cfg.PingInterval)
		case !serverSide && wasOpen && reason == "transport close":
			// The client's "1" with no GET pending: see clientCloseGrace.
			ps.clientClosed = true
			s.state = stateClosing
			s.hb.Reset(clientCloseGrace)
		default:
			s.finish()
		}
	}
	if wasOpen {
		if lg := s.ep.cfg.Logger; lg.Enabled(context.Background(), slog.LevelDebug) {
			lg.Debug("engine: session closed", "sid", s.ID(), "reason", reason)
		}
		s.ep.h.OnClose(s, reason)
	}
}

func (s *Session) enqueueForce(p *Prepared) {
	p.Retain()
	ps := s.poll
	ps.pq = append(ps.pq, p)
	ps.pqBytes += p.pollingLen()
}

// finish forgets the session: its sid stops working.
func (s *Session) finish() {
	if s.state == stateClosed {
		return
	}
	s.state = stateClosed
	s.countTransport(-1)
	s.hb.Stop()
	s.clearOver()
	s.dropPolling()
	s.dropWS()
	s.ep.unregister(s)
	s.loop.freeSlot(s.slot)
}

// sendClose closes a WebSocket the way Engine.IO servers do: a close frame
// without a status code (PROTOCOL.md §7), then the TCP connection.
func (cn *conn) sendClose(from *Loop) {
	cn.write(from, frame.CloseFrameNoStatus)
	cn.close(from)
}

// sendCloseCode is sendClose with a status code (none when 0).
func (cn *conn) sendCloseCode(from *Loop, code ws.StatusCode, reason string) {
	if code == 0 {
		cn.sendClose(from)
		return
	}
	cn.write(from, frame.AppendClose(nil, code, reason))
	if from == cn.loop && !cn.closed && cn.gc.OutboundBuffered() > 0 {
		// The close frame waits behind a backlog: give a slow reader a
		// moment to get to it (and not an RST for unread input), bounded.
		cn.lingering = true
		a := cn.auxState()
		a.timerKind = timerOff
		a.timer.Reset(lingerTimeout)
		return
	}
	cn.close(from)
}

// lingerTimeout bounds how long a closed WebSocket's backlog may drain.
const lingerTimeout = 2 * time.Second

// onConnClosed: a connection the session used has gone.
func (s *Session) onConnClosed(cn *conn) {
	ps := s.poll
	switch {
	case ps != nil && cn == ps.probe:
		s.abandonProbe()
	case cn == s.ws:
		s.ws = nil
		reason := "transport close"
		if cn.transportError {
			reason = "transport error"
		}
		s.closeWith(reason, false)
	case ps != nil && cn == ps.pendingGet:
		// The reference: "poll connection closed prematurely" is a
		// transport error.
		ps.pendingGet = nil
		if s.state == stateClosing {
			s.finish()
			return
		}
		s.closeWith("transport error", false)
	}
}

// onHeartbeatTimer sends the next ping, or ends a session whose pong is late.
func (s *Session) onHeartbeatTimer() {
	if s.state != stateOpen {
		return
	}
	if s.flags&flagAwaitingPong != 0 {
		s.closeWith("ping timeout", true)
		return
	}
	s.flags |= flagAwaitingPong
	s.enqueue(pktPing)
	// The pong deadline counts from when the ping was due, not from when a
	// late timer tick sent it.
	s.hb.Reset(s.ep.cfg.PingTimeout - sinceMillis(monoMillis(monoNow()), s.pingDue))
}

// armPing schedules the next ping pingInterval from now.
func (s *Session) armPing() {
	s.pingDue = monoMillis(monoNow() + int64(s.ep.cfg.PingInterval))
	s.hb.Reset(s.ep.cfg.PingInterval)
}

// heartbeatExpired reports whether the pong deadline has passed, even if
// the timer wheel has not fired yet: requests check it so that a client
// never sees a session outlive its deadline because of timer resolution.
func (s *Session) heartbeatExpired(now int64) bool {
	return s.state == stateOpen && sinceMillis(monoMillis(now), s.pingDue) >= s.ep.cfg.PingTimeout
}

// onPong: the next ping is due pingInterval after the pong (PROTOCOL.md §9).
func (s *Session) onPong() {
	if s.flags&flagAwaitingPong == 0 {
		return
	}
	s.flags &^= flagAwaitingPong
	s.armPing()
}

// onPacket handles one text Engine.IO packet from the client, on either
// transport. It reports false when the session was closed.
func (s *Session) onPacket(pkt []byte) bool {
	t, data, err := codec.ParseEnginePacket(pkt)
	if err != nil {
		s.closeWith("parse error", true)
		return false
	}
	switch t {
	case codec.EngineMessage:
		s.deliver(data, false)
	case codec.EnginePong:
		s.onPong()
	case codec.EngineClose:
		s.closeWith("transport close", false)
		return false
	case codec.EnginePing:
		// v4 heartbeats run server→client; a client ping is an error (E26, E46).
		s.closeWith("parse error", true)
		return false
	default: // open, upgrade, noop: ignored (E31)
	}
	return s.state == stateOpen
}

// Writable reports whether a message written now goes out at once: a
// WebSocket, or a polling session with a GET pending (not one held during
// an upgrade: onPollGet). Loop-only.
func (s *Session) Writable() bool {
	if s.state != stateOpen {
		return false
	}
	return s.poll == nil || (s.poll.pendingGet != nil && !s.poll.probed)
}
