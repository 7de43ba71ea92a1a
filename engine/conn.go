package engine

import (
	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/bytebufferpool"
	"golang.org/x/sys/unix"

	"github.com/riptide-io/riptide/frame"
	"github.com/riptide-io/riptide/internal/http1"
)

// conn is Riptide's state for one TCP connection. It belongs to the loop
// that accepted it; only that loop touches it, except that a session's
// home loop may read the immutable fields (loop, gc) and the response
// headers prepared before the request was handed over (aux.extra,
// aux.keepAlive).
//
// An established WebSocket keeps only what frame mode needs (48 bytes,
// pinned by TestSizes); the HTTP state and the connection's timer live in
// aux, dropped at the upgrade and brought back only to linger, and its
// frame.Decoder is made for each read (readFrames): the state of a
// fragmented message left unfinished by a read waits in the loop's
// midMessage map. A Decoder field (16 bytes) took conn to the 64-byte
// class.
type conn struct {
	gc   gnet.Conn
	loop *Loop
	// s is, in frame mode, the session this WebSocket carries or probes;
	// in HTTP mode, the session a parked request waits for.
	s   *Session
	aux *connAux

	ws bool // frame mode after a 101
	// midMessage: a fragmented message is in progress, its Decoder in the
	// loop's midMessage map.
	midMessage bool
	closed     bool // OnClose has run: never write to gc again
	// transportError: the connection failed (bad frame, cap exceeded), so
	// its session ends with "transport error", not "transport close".
	transportError bool
	// lingering: a close frame waits behind a backlog; input is discarded
	// until the backlog drains or the timer fires.
	lingering bool
	shutWR    bool // the write side is shut: FIN follows the close frame
}

// connAux is the part of a connection an established WebSocket does not
// use: HTTP request state and the timer.
type connAux struct {
	cn *conn // the owner (timer fires into it)
	// timer closes a connection whose head is too slow (HeadTimeout) or
	// that sits idle between requests (IdleTimeout); stopped while a
	// request is parked and once the connection is a WebSocket (then it
	// only bounds a linger).
	timer     Timer
	timerKind uint8

	parked    bool // a request awaits its answer from a session's loop (s)
	keepAlive bool
	fallback  bool // a Fallback request is in progress
	enrolled  bool // hijacked from net/http (ServeHTTP): never kept alive
	// closeAfterSkip: the connection closes once skip reaches 0 (a refused
	// request that did not ask for keep-alive: afterRefusal).
	closeAfterSkip bool
	skip           int64  // body bytes of a refused request still to discard
	extra          []byte // CORS headers for the parked request's answer
	// readAt is when the parked polling GET was read (monoNow): of two
	// GETs of one session, the one read first is the pending one
	// (onPollGet).
	readAt int64
}

// newConn makes the state of a connection a loop accepted (or was handed,
// enrolled), in HTTP mode, and makes it the gnet.Conn's context.
func newConn(c gnet.Conn, l *Loop, enrolled bool) *conn {
	cn := &conn{gc: c, loop: l}
	a := cn.auxState()
	a.enrolled = enrolled
	c.SetContext(cn)
	return cn
}

// auxState returns the connection's aux, making one if frame mode dropped it.
func (cn *conn) auxState() *connAux {
	if cn.aux == nil {
		l := cn.loop
		if k := len(l.freeAux); k > 0 {
			cn.aux = l.freeAux[k-1]
			l.freeAux[k-1] = nil
			l.freeAux = l.freeAux[:k-1]
		} else {
			cn.aux = &connAux{}
		}
		cn.aux.cn = cn
		cn.aux.timer.kind = timerConn
	}
	return cn.aux
}

// maxFreeAux bounds a loop's free list of connAux (~80 B each).
const maxFreeAux = 1024

// toFrameMode drops the HTTP state once the connection is a WebSocket,
// into the loop's free list: the next connection's HTTP phase reuses it.
// Callers hold no other reference to it (both call sites are done with
// HTTP).
func (cn *conn) toFrameMode() {
	if a := cn.aux; a != nil {
		a.timer.Stop()
		cn.aux = nil
		if l := cn.loop; len(l.freeAux) < maxFreeAux {
			*a = connAux{}
			l.freeAux = append(l.freeAux, a)
		}
	}
}

// parked reports whether a request awaits its answer.
func (cn *conn) parked() bool { return cn.aux != nil && cn.aux.parked }

// inFallback reports whether a Fallback request is in progress.
func (cn *conn) inFallback() bool { return cn.aux != nil && cn.aux.fallback }

const (
	timerOff uint8 = iota
	timerHead
	timerIdle
)

func (cn *conn) armHead() {
	if a := cn.aux; a.timerKind != timerHead {
		a.timerKind = timerHead
		a.timer.Reset(cn.loop.srv.headTimeout)
	}
}

func (cn *conn) armIdle() {
	a := cn.aux
	a.timerKind = timerIdle
	a.timer.Reset(cn.loop.srv.idleTimeout)
}

func (cn *conn) stopTimer() {
	if a := cn.aux; a != nil {
		a.timerKind = timerOff
		a.timer.Stop()
	}
}

// onTimer: a slow head (slowloris), an idle keep-alive connection, or
// the end of a linger.
func (cn *conn) onTimer() {
	if cn.lingering && !cn.closed {
		if !cn.shutWR && cn.gc.OutboundBuffered() == 0 {
			cn.finishLinger()
			cn.aux.timer.Reset(lingerTimeout)
			return
		}
		cn.close(cn.loop)
		return
	}
	if cn.closed || cn.ws || cn.parked() || cn.inFallback() {
		return
	}
	cn.aux.timerKind = timerOff
	cn.close(cn.loop)
}

var bodyPool bytebufferpool.Pool

func getBody(b []byte) []byte {
	bb := bodyPool.Get()
	bb.B = append(bb.B[:0], b...)
	return bb.B
}

func putBody(b []byte) {
	if b == nil || cap(b) > 1<<20 {
		return
	}
	bodyPool.Put(&bytebufferpool.ByteBuffer{B: b[:0]})
}

func (cn *conn) onClose() {
	cn.closed = true
	cn.stopTimer()
	if cn.s != nil && (cn.ws || cn.parked()) {
		cn.s.loop.post(op{kind: opConnClosed, s: cn.s, c: cn})
	}
	if cn.midMessage {
		dec := cn.loop.midMessage[cn]
		dec.Reset()
		delete(cn.loop.midMessage, cn)
		cn.midMessage = false
	}
}

// maxBuffered is the connection's cap on unsent bytes.
func (cn *conn) maxBuffered() int {
	if cn.s != nil {
		return cn.s.ep.cfg.MaxBufferedBytes
	}
	return 1 << 20
}

func (cn *conn) onTraffic() gnet.Action {
	if cn.lingering {
		_, _ = cn.gc.Discard(cn.gc.InboundBuffered())
		cn.finishLinger()
		return gnet.None
	}
	if cn.ws {
		return cn.readFrames()
	}
	for !cn.ws && !cn.aux.parked && !cn.aux.fallback {
		if a := cn.aux; a.skip > 0 {
			n := int64(cn.gc.InboundBuffered())
			if n == 0 {
				return gnet.None
			}
			n = min(n, a.skip)
			_, _ = cn.gc.Discard(int(n))
			a.skip -= n
			if a.skip == 0 && a.closeAfterSkip {
				return gnet.Close
			}
			continue
		}
		buf, _ := cn.gc.Peek(-1)
		if len(buf) == 0 {
			return gnet.None
		}
		n, a := cn.serveHTTP(buf)
		if a != gnet.None {
			return a
		}
		if n == 0 {
			cn.armHead() // a partial head: it has HeadTimeout to complete
			return gnet.None
		}
		if n > len(buf) {
			// A refused request's body that has not all arrived yet: the
			// rest is discarded as it comes, not parsed as a request.
			cn.aux.skip = int64(n - len(buf))
			n = len(buf)
		}
		_, _ = cn.gc.Discard(n)
		switch {
		case cn.ws:
			cn.toFrameMode()
		case cn.aux.parked || cn.aux.fallback:
			cn.stopTimer()
		default:
			cn.armIdle()
		}
	}
	if cn.ws {
		return cn.readFrames()
	}
	// A parked connection keeps what the client sends next; bound it.
	if cn.gc.InboundBuffered() > cn.loop.srv.maxParkedInbound() {
		return gnet.Close
	}
	return gnet.None
}

func (srv *Server) maxParkedInbound() int {
	m := int64(64 << 10)
	for _, ep := range srv.endpoints {
		if v := ep.cfg.MaxHTTPBufferSize + int64(ep.cfg.MaxHeaderBytes); v > m {
			m = v
		}
	}
	return int(m)
}

// serveHTTP handles one request at the front of buf. It returns the bytes
// consumed (0: need more) and an action.
func (cn *conn) serveHTTP(buf []byte) (int, gnet.Action) {
	l := cn.loop
	req := &l.req
	req.Reset()
	maxHead := cn.loop.srv.maxHeaderBytes()
	err := http1.Parse(buf, req, maxHead)
	if err == http1.ErrNeedMore {
		return 0, gnet.None
	}
	if err != nil {
		status := 400
		if he, ok := err.(*http1.Error); ok {
			status = he.Status
		}
		cn.writeSimple(status, false)
		return len(buf), gnet.Close
	}
	cn.aux.keepAlive = req.KeepAlive && !cn.aux.enrolled
	ep := cn.loop.srv.route(req.Path)
	if ep == nil {
		return cn.serveFallback(buf, req)
	}
	return ep.serve(cn, buf, req)
}

func (srv *Server) maxHeaderBytes() int {
	m := 0
	for _, ep := range srv.endpoints {
		if ep.cfg.MaxHeaderBytes > m {
			m = ep.cfg.MaxHeaderBytes
		}
	}
	if m == 0 {
		m = 16 << 10
	}
	return m
}

// readFrames decodes every whole frame buffered on a WebSocket connection.
func (cn *conn) readFrames() gnet.Action {
	var dec frame.Decoder
	if cn.midMessage {
		// Taken, not shared: the local copy is the only one from here.
		dec = cn.loop.midMessage[cn]
		delete(cn.loop.midMessage, cn)
		cn.midMessage = false
	} else if cn.s != nil {
		dec.Limits = &cn.s.ep.limits
	}
	a := cn.readFramesWith(&dec)
	// Every message decoded here has been handled or copied: a reassembled
	// one's state goes back to the pool now, not at the next frame, which
	// an idle connection may never send.
	dec.Release()
	if dec != (frame.Decoder{Limits: dec.Limits}) {
		if !cn.closed && a == gnet.None {
			// The message continues in a later read.
			if cn.loop.midMessage == nil {
				cn.loop.midMessage = map[*conn]frame.Decoder{}
			}
			cn.loop.midMessage[cn] = dec
			cn.midMessage = true
			return a
		}
		dec.Reset()
	}
	return a
}

func (cn *conn) readFramesWith(dec *frame.Decoder) gnet.Action {
	buf, _ := cn.gc.Peek(-1)
	off := 0
	for off < len(buf) && !cn.closed {
		m, n, err := dec.Next(buf[off:])
		if err == frame.ErrNeedMore {
			break
		}
		if err != nil {
			ce, _ := err.(*frame.CloseError)
			if ce != nil {
				_, _ = cn.gc.Write(ce.Frame())
			}
			cn.transportError = true // the session's reason, as the reference's
			_, _ = cn.gc.Discard(len(buf))
			return gnet.Close
		}
		off += n
		switch m.Op {
		case 0: // a fragment was absorbed
		case frameOpPing:
			// Pongs count against the client's cap like everything else: a
			// client that pings and never reads must not grow our buffers.
			if cn.gc.OutboundBuffered() > cn.maxBuffered() {
				cn.transportError = true
				_, _ = cn.gc.Discard(len(buf))
				return gnet.Close
			}
			cn.writeOwn(frame.AppendPong(cn.loop.scratch[:0], m.Payload))
		case frameOpPong:
		case frameOpClose:
			// RFC 6455 §5.5.1: answer with a close frame, then close.
			_, _ = cn.gc.Write(frame.CloseFrameNoStatus)
			_, _ = cn.gc.Discard(len(buf))
			return gnet.Close
		default:
			cn.onMessage(m.Payload, m.Op == frameOpBinary)
		}
	}
	if off > 0 {
		// gnet's Discard(0) discards everything: never call it with 0.
		_, _ = cn.gc.Discard(off)
	}
	return gnet.None
}

// onMessage routes a WebSocket message to its session's loop: directly when
// it is this loop (no copy), else through the session loop's queue.
func (cn *conn) onMessage(payload []byte, binary bool) {
	s := cn.s
	if s == nil {
		return
	}
	if s.loop == cn.loop {
		s.onWSMessage(cn, payload, binary)
		return
	}
	s.loop.post(op{kind: opWSMessage, s: s, c: cn, body: getBody(payload), binary: binary})
}

// writeOwn writes bytes on the connection's own loop.
func (cn *conn) writeOwn(b []byte) {
	if !cn.closed {
		_, _ = cn.gc.Write(b)
	}
}

// write sends bytes from loop `from`: directly on the connection's own
// loop, else copied and handed over with AsyncWrite.
func (cn *conn) write(from *Loop, b []byte) {
	if from == cn.loop {
		cn.writeOwn(b)
		return
	}
	cp := getBody(b)
	if err := cn.gc.AsyncWrite(cp, func(gnet.Conn, error) error { putBody(cp); return nil }); err != nil {
		putBody(cp)
	}
}

// close closes the connection from loop `from`, after what was written.
func (cn *conn) close(from *Loop) {
	if from == cn.loop && cn.closed {
		return
	}
	_ = cn.gc.Close() // asynchronous: runs after queued writes
}

// finishLinger: once the backlog and the close frame have left gnet's
// buffer, shut the write side so the client gets them and a FIN, not an
// RST for input it sent meanwhile; input is still read and dropped until
// the client closes or the linger timer ends it.
func (cn *conn) finishLinger() {
	if cn.shutWR || cn.closed || cn.gc.OutboundBuffered() > 0 {
		return
	}
	cn.shutWR = true
	_ = unix.Shutdown(cn.gc.Fd(), unix.SHUT_WR)
}
