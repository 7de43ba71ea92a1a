package engine

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"

	"github.com/riptide-io/riptide/frame"
	"github.com/riptide-io/riptide/internal/http1"
	"github.com/riptide-io/riptide/internal/slots"
)

// Endpoint is one Engine.IO server mounted at a path of a Server.
type Endpoint struct {
	srv       *Server
	cfg       Config
	h         Handler
	polling   bool
	websocket bool
	count     atomic.Int64
	upgrades  []string // advertised on polling handshakes
	stats     counters
	dict      *headDict // how sessions store their handshake heads
	// limits are the frame limits of the endpoint's WebSocket connections,
	// shared by their Decoders (one pointer each rather than a copy).
	limits frame.Limits
}

func newEndpoint(srv *Server, cfg Config, h Handler) *Endpoint {
	ep := &Endpoint{srv: srv, cfg: cfg.withDefaults(), h: h}
	ep.dict = newHeadDict(ep.cfg.Path)
	ep.limits = frame.Limits{MaxMessageSize: ep.cfg.MaxHTTPBufferSize}
	for _, t := range ep.cfg.Transports {
		switch t {
		case "polling":
			ep.polling = true
		case "websocket":
			ep.websocket = true
		}
	}
	if ep.websocket && !ep.cfg.DisableUpgrades {
		ep.upgrades = []string{"websocket"}
	}
	return ep
}

// Config returns the endpoint's configuration with defaults filled in.
func (ep *Endpoint) Config() Config { return ep.cfg }

// Count is the number of open sessions. Goroutine-safe.
func (ep *Endpoint) Count() int { return int(ep.count.Load()) }

// lookup returns the endpoint's open session with that sid, or nil.
// Goroutine-safe and lock-free: the sid names its loop and slot
// (appendSID), and the session there must carry the whole sid.
func (ep *Endpoint) lookup(sid []byte) *Session {
	li, slot, ok := slots.Place(sid)
	loops := ep.srv.Loops()
	if !ok || li >= len(loops) {
		return nil
	}
	s := loops[li].slots.get(slot)
	if s == nil || s.ep != ep || subtle.ConstantTimeCompare([]byte(s.ID()), sid) != 1 {
		return nil
	}
	return s
}

func (ep *Endpoint) register(*Session)   { ep.count.Add(1) }
func (ep *Endpoint) unregister(*Session) { ep.count.Add(-1) }

// Sessions calls fn for every open session. Goroutine-safe; fn must not
// block.
func (ep *Endpoint) Sessions(fn func(*Session) bool) {
	more := true
	for _, l := range ep.srv.Loops() {
		l.slots.each(func(s *Session) bool {
			if s.ep == ep {
				more = fn(s)
			}
			return more
		})
		if !more {
			return
		}
	}
}

func (ep *Endpoint) transportOK(t []byte) bool {
	switch string(t) {
	case "polling":
		return ep.polling
	case "websocket":
		return ep.websocket
	}
	return false
}

// serve answers one request for this endpoint, in the reference's order of
// checks (PROTOCOL.md §3). It returns the bytes consumed.
func (ep *Endpoint) serve(cn *conn, buf []byte, req *http1.Request) (int, gnet.Action) {
	q := req.RawQuery
	transport, _ := http1.QueryValue(q, "transport")
	upgrade := req.IsUpgrade
	head := req.HeadLen

	if string(req.Method) == "OPTIONS" && ep.cfg.CORS != nil {
		cn.aux.extra = ep.appendCORS(cn.aux.extra[:0], req, true)
		cn.respond(cn.loop, 204, "", nil, false)
		return head + bodyLen(req), gnet.None
	}
	cn.aux.extra = ep.appendCORS(cn.aux.extra[:0], req, false)

	fail := func(code int) (int, gnet.Action) {
		ep.stats.handshakeErrors[code].Add(1)
		if lg := ep.cfg.Logger; lg.Enabled(context.Background(), slog.LevelDebug) {
			lg.Debug("engine: request refused", "code", code, "message", codeMessages[code], "remote", cn.gc.RemoteAddr().String())
		}
		if upgrade {
			cn.writeUpgradeError(codeMessages[code])
			return len(buf), gnet.Close
		}
		status := 400
		if code == CodeForbidden {
			status = 403
		}
		cn.respondJSONError(status, code, codeMessages[code])
		return cn.afterRefusal(head+bodyLen(req), len(buf))
	}

	if !ep.transportOK(transport) {
		return fail(CodeUnknownTransport)
	}
	if !validOrigin(req.Origin) {
		return fail(CodeBadRequest)
	}
	if len(req.Origin) > 0 && !ep.originAllowed(req.Origin) {
		// Checked on every request of a session, not only the handshake.
		return fail(CodeForbidden)
	}
	eio, _ := http1.QueryValue(q, "EIO")
	sid, hasSID := http1.QueryValue(q, "sid")
	if hasSID {
		s := ep.lookup(sid)
		if s == nil {
			return fail(CodeUnknownSID)
		}
		if string(eio) != "4" {
			return fail(CodeBadRequest)
		}
		if upgrade {
			if string(transport) != "websocket" {
				return fail(CodeBadRequest)
			}
			return ep.acceptWebSocket(cn, buf, req, s)
		}
		switch string(req.Method) {
		case "GET":
			cn.aux.readAt = monoNow()
			cn.park(s)
			s.loop.post(op{kind: opPollGet, s: s, c: cn})
			return head, gnet.None
		case "POST":
			return ep.takePost(cn, buf, req, s)
		default:
			cn.writeSimple(500, true)
			return cn.afterRefusal(head+bodyLen(req), len(buf))
		}
	}

	if string(req.Method) != "GET" {
		return fail(CodeBadHandshakeMethod)
	}
	if string(transport) == "websocket" && !upgrade {
		return fail(CodeBadRequest)
	}
	if upgrade && string(transport) != "websocket" {
		return fail(CodeBadRequest)
	}
	if ep.cfg.AllowRequest != nil {
		if err := ep.cfg.AllowRequest(buildRequest(cn, req, string(transport))); err != nil {
			ep.stats.handshakeErrors[CodeForbidden].Add(1)
			msg := err.Error()
			if upgrade {
				cn.writeUpgradeError(msg)
				return len(buf), gnet.Close
			}
			cn.respondJSONError(403, CodeForbidden, msg)
			return head, cn.afterResponse()
		}
	}
	if string(eio) != "4" {
		return fail(CodeUnsupportedVersion)
	}
	if max := ep.cfg.MaxSessions; max > 0 && ep.Count() >= max {
		ep.stats.handshakeErrors[6].Add(1)
		if upgrade {
			b := appendResponse(cn.loop.scratch[:0], 503, "text/html", nil, tooMany, false)
			cn.loop.scratch = b[:0]
			cn.writeOwn(b)
			return len(buf), gnet.Close
		}
		b := appendResponse(cn.loop.scratch[:0], 503, "application/json", cn.aux.extra, tooManyJSON, cn.aux.keepAlive)
		cn.loop.scratch = b[:0]
		cn.writeOwn(b)
		return head, cn.afterResponse()
	}
	if upgrade {
		return ep.acceptWebSocket(cn, buf, req, nil)
	}
	s := ep.newSession(cn, buf[:req.HeadLen], transportPolling)
	cn.aux.extra = ep.appendCookie(cn.aux.extra, s.ID())
	s.enqueueOpen()
	cn.aux.readAt = monoNow()
	cn.park(s)
	s.poll.pendingGet = cn
	s.loop.markDirty(s)
	s.open()
	return head, gnet.None
}

func bodyLen(req *http1.Request) int {
	if req.ContentLength > 0 {
		return int(req.ContentLength)
	}
	return 0
}

// afterResponse is the action after an error answer: keep the connection
// when the client asked for keep-alive, else close it.
func (cn *conn) afterResponse() gnet.Action {
	if cn.aux.keepAlive {
		return gnet.None
	}
	return gnet.Close
}

// afterRefusal is afterResponse for an answer given before the request's
// body was read: consumed counts the whole request (returned, as serve
// does), have what of it has arrived. A connection that is not kept alive
// must not close while the client is still writing the body: the kernel
// would reset it under the client, which then sees a broken pipe instead
// of the answer. It drops the rest as it arrives (at most maxDrainBody;
// past that, closing at once is the lesser cost) and closes after.
func (cn *conn) afterRefusal(consumed, have int) (int, gnet.Action) {
	if cn.aux.keepAlive {
		return consumed, gnet.None
	}
	if rest := consumed - have; rest <= 0 || rest > maxDrainBody {
		return consumed, gnet.Close
	}
	cn.aux.closeAfterSkip = true
	return consumed, gnet.None
}

// maxDrainBody is the most of a refused request's body a connection that
// is not kept alive reads and drops before it closes.
const maxDrainBody = 4 << 20

func (cn *conn) park(s *Session) {
	cn.aux.parked = true
	cn.s = s
}

// takePost reads a whole POST body (checked against MaxHTTPBufferSize from
// its declared length before waiting for it) and hands it to the session.
func (ep *Endpoint) takePost(cn *conn, buf []byte, req *http1.Request, s *Session) (int, gnet.Action) {
	max := ep.cfg.MaxHTTPBufferSize
	if ct := req.ContentType; len(ct) >= 24 && string(ct[:24]) == "application/octet-stream" {
		// PROTOCOL.md §5 (E22): binary POST bodies are not v4.
		cn.writeSimple(400, true)
		s.loop.post(op{kind: opCloseTransport, s: s})
		return cn.afterRefusal(req.HeadLen+bodyLen(req), len(buf))
	}
	var body []byte
	consumed := req.HeadLen
	if req.Chunked {
		l := cn.loop
		b, n, err := http1.DecodeChunked(buf[req.HeadLen:], l.chunk[:0], int(max))
		if err == http1.ErrNeedMore {
			return 0, gnet.None
		}
		if err != nil {
			status := 400
			if he, ok := err.(*http1.Error); ok {
				status = he.Status // 413 past the limit, 400 for bad framing
			}
			cn.writeSimple(status, false)
			return len(buf), gnet.Close
		}
		l.chunk = b[:0]
		body = b
		consumed += n
	} else {
		if req.ContentLength > max {
			// E23: 413, session kept. A body up to a few times the limit is
			// read and dropped so the client sees the answer and the
			// connection stays usable; a larger one is not worth reading.
			if req.ContentLength > 4*max+(1<<20) {
				cn.writeSimple(413, false)
				return len(buf), gnet.Close
			}
			cn.writeSimple(413, true)
			// The body counts as consumed: what has not arrived yet is
			// discarded as it comes (onTraffic).
			return cn.afterRefusal(req.HeadLen+bodyLen(req), len(buf))
		}
		cl := bodyLen(req)
		if len(buf) < req.HeadLen+cl {
			return 0, gnet.None
		}
		body = buf[req.HeadLen : req.HeadLen+cl]
		consumed += cl
	}
	cn.park(s)
	s.loop.post(op{kind: opPollPost, s: s, c: cn, body: getBody(body)})
	return consumed, gnet.None
}

func (ep *Endpoint) acceptWebSocket(cn *conn, buf []byte, req *http1.Request, s *Session) (int, gnet.Action) {
	if string(req.SecWebSocketVersion) != "13" || len(req.SecWebSocketKey) == 0 {
		cn.writeUpgradeError("Bad request")
		return len(buf), gnet.Close
	}
	l := cn.loop
	b := append(l.scratch[:0], "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	b = http1.AppendAcceptKey(b, req.SecWebSocketKey)
	b = append(b, "\r\n"...)
	cn.ws = true
	if s != nil {
		b = append(b, "\r\n"...)
		l.scratch = b[:0]
		cn.writeOwn(b)
		cn.s = s
		s.loop.post(op{kind: opUpgradeStart, s: s, c: cn})
		return req.HeadLen, gnet.None
	}
	ns := ep.newSession(cn, buf[:req.HeadLen], transportWebSocket)
	b = ep.appendCookie(b, ns.ID())
	b = append(b, "\r\n"...)
	l.scratch = b[:0]
	cn.writeOwn(b)
	cn.s = ns
	ns.ws = cn
	ns.enqueueOpen()
	ns.open()
	return req.HeadLen, gnet.None
}

func (ep *Endpoint) newSession(cn *conn, head []byte, t transportKind) *Session {
	l := cn.loop
	s := &Session{ep: ep, loop: l}
	s.hb.kind = timerHeartbeat
	if t == transportPolling {
		s.newPollState()
	}
	// The sid, the remote address and the compacted head, in one
	// allocation (the loop's scratch may hold the answer being built).
	// The slot first, since the sid names it; the session is published
	// there once its sid is set (lookup reads it from any goroutine).
	slot := l.slots.reserve()
	var sidBuf [sidLen]byte
	var addrBuf [64]byte
	sid := l.appendSID(sidBuf[:0], slot)
	addr, bin := appendAddr(addrBuf[:0], cn.gc.RemoteAddr())
	if len(addr) > math.MaxUint8 {
		// Not a TCP address (those take at most 64 bytes): remoteLen is 8
		// bits, so Request reports an empty address.
		addr, bin = addr[:0], false
	}
	if bin {
		s.hsFlags |= hsRemoteBin
	}
	if c, ok := ep.dict.compact(l.headBuf[:0], head); ok {
		l.headBuf, head = c[:0], c
	} else {
		s.hsFlags |= hsHeadRaw
	}
	var hs strings.Builder
	hs.Grow(len(sid) + len(addr) + len(head))
	hs.Write(sid)
	hs.Write(addr)
	hs.Write(head)
	s.hs = hs.String()
	s.remoteLen = uint8(len(addr))
	s.slot = slot
	l.slots.publish(slot, s)
	l.nSessions++
	ep.register(s)
	ep.stats.opened.Add(1)
	s.countTransport(1)
	return s
}

// appendSID appends a new sid for the session at slot: 20 characters of
// URL-safe base64, like the reference's (PROTOCOL.md §4), that name the
// loop and slot (slots.AppendID), so that lookup goes straight to the
// session. 88 random bits keep a sid unguessable; the place costs nothing
// secret (the reference's ids carry a counter too).
func (l *Loop) appendSID(dst []byte, slot uint32) []byte {
	var raw [slots.IDRawLen]byte
	_, _ = l.rng.Read(raw[:slots.IDRandomLen])
	return slots.AppendID(dst, &raw, l.index, slot)
}

// appendAddr appends a.String() (for a *net.TCPAddr without building the
// string: no garbage per handshake).
func appendAddr(dst []byte, a net.Addr) (out []byte, bin bool) {
	if ta, ok := a.(*net.TCPAddr); ok && (len(ta.IP) == net.IPv4len || len(ta.IP) == net.IPv6len) && ta.Port >= 0 && ta.Port <= 65535 {
		ip, _ := netip.AddrFromSlice(ta.IP)
		ip = ip.Unmap() // net.IP prints a v4-mapped address as v4
		if ta.Zone == "" {
			// The address bytes and the port, big-endian: 6 bytes for IPv4
			// where "203.0.113.7:54321" takes 17, and every idle
			// connection keeps one (decodeAddr reads it back).
			dst = append(dst, ip.AsSlice()...)
			return binary.BigEndian.AppendUint16(dst, uint16(ta.Port)), true
		}
		return netip.AddrPortFrom(ip.WithZone(ta.Zone), uint16(ta.Port)).AppendTo(dst), false
	}
	if a == nil {
		return dst, false
	}
	return append(dst, a.String()...), false
}

// decodeAddr reads back an address appendAddr stored as binary.
func decodeAddr(b string) netip.AddrPort {
	port := uint16(b[len(b)-2])<<8 | uint16(b[len(b)-1])
	var ip netip.Addr
	if len(b) == 4+2 {
		ip = netip.AddrFrom4([4]byte([]byte(b[:4])))
	} else {
		ip = netip.AddrFrom16([16]byte([]byte(b[:16])))
	}
	return netip.AddrPortFrom(ip, port)
}

// parseRequestHead builds a Request from a stored head.
func parseRequestHead(head []byte, remote string) *Request {
	var req http1.Request
	if err := http1.Parse(head, &req, len(head)+1); err != nil {
		return &Request{URL: &url.URL{}, Header: http.Header{}, RemoteAddr: remote}
	}
	transport, _ := http1.QueryValue(req.RawQuery, "transport")
	r := requestOf(&req, string(transport))
	r.RemoteAddr = remote
	return r
}

func buildRequest(cn *conn, req *http1.Request, transport string) *Request {
	r := requestOf(req, transport)
	r.RemoteAddr = cn.gc.RemoteAddr().String()
	return r
}

func requestOf(req *http1.Request, transport string) *Request {
	h := make(http.Header, len(req.Headers))
	for _, kv := range req.Headers {
		k := http.CanonicalHeaderKey(string(kv.Name))
		h[k] = append(h[k], string(kv.Value))
	}
	u := &url.URL{Path: string(req.Path), RawQuery: string(req.RawQuery)}
	return &Request{
		Method:    string(req.Method),
		URL:       u,
		Header:    h,
		Transport: transport,
	}
}

var (
	tooMany     = []byte("Too many sessions")
	tooManyJSON = []byte(`{"code":4,"message":"Too many sessions"}`)
)

func (ep *Endpoint) originAllowed(origin []byte) bool {
	if f := ep.cfg.AllowedOriginFunc; f != nil {
		return f(string(origin))
	}
	if ep.cfg.AllowedOrigins == nil {
		return true
	}
	for _, o := range ep.cfg.AllowedOrigins {
		if o == string(origin) {
			return true
		}
	}
	return false
}

// validOrigin applies the reference's check for invalid characters in the
// Origin header (engine.io checkInvalidHeaderChar): HTAB and visible
// Latin-1 are allowed.
func validOrigin(o []byte) bool {
	for _, c := range o {
		if c != '\t' && (c < 0x20 || c == 0x7f) {
			return false
		}
	}
	return true
}

func (ep *Endpoint) appendCORS(dst []byte, req *http1.Request, preflight bool) []byte {
	c := ep.cfg.CORS
	if c == nil {
		return dst
	}
	origin := string(req.Origin)
	allowed := ""
	switch {
	case c.OriginFunc != nil:
		if origin != "" && c.OriginFunc(origin) {
			allowed = origin
		}
	default:
		for _, o := range c.Origins {
			if o == "*" {
				allowed = "*"
				if c.Credentials && origin != "" {
					allowed = origin
				}
				break
			}
			if o == origin {
				allowed = origin
				break
			}
		}
	}
	if allowed == "" {
		return dst
	}
	dst = append(dst, "Access-Control-Allow-Origin: "...)
	dst = append(dst, allowed...)
	dst = append(dst, "\r\n"...)
	if allowed != "*" {
		dst = append(dst, "Vary: Origin\r\n"...)
	}
	if c.Credentials {
		dst = append(dst, "Access-Control-Allow-Credentials: true\r\n"...)
	}
	if preflight {
		dst = append(dst, "Access-Control-Allow-Methods: "...)
		if len(c.Methods) == 0 {
			dst = append(dst, "GET,HEAD,PUT,PATCH,POST,DELETE"...)
		}
		for i, m := range c.Methods {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, m...)
		}
		dst = append(dst, "\r\n"...)
		rh := req.AccessControlRequestHeaders
		if len(c.Headers) > 0 {
			dst = append(dst, "Access-Control-Allow-Headers: "...)
			for i, h := range c.Headers {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, h...)
			}
			dst = append(dst, "\r\n"...)
		} else if len(rh) > 0 {
			dst = append(dst, "Access-Control-Allow-Headers: "...)
			dst = append(dst, rh...)
			dst = append(dst, "\r\n"...)
		}
		if c.MaxAge > 0 {
			dst = append(dst, "Access-Control-Max-Age: "...)
			dst = strconv.AppendInt(dst, int64(c.MaxAge), 10)
			dst = append(dst, "\r\n"...)
		}
	}
	return dst
}

func (ep *Endpoint) appendCookie(dst []byte, sid string) []byte {
	ck := ep.cfg.Cookie
	if ck == nil {
		return dst
	}
	dst = append(dst, "Set-Cookie: "...)
	dst = append(dst, ck.Name...)
	dst = append(dst, '=')
	dst = append(dst, sid...)
	dst = append(dst, "; Path="...)
	dst = append(dst, ck.Path...)
	if ck.HTTPOnly {
		dst = append(dst, "; HttpOnly"...)
	}
	dst = append(dst, "; SameSite="...)
	dst = append(dst, ck.SameSite...)
	return append(dst, "\r\n"...)
}
