package engine

import (
	"time"

	"github.com/riptide-io/riptide/codec"
)

// HTTP long-polling (PROTOCOL.md §5). These run on the session's home loop;
// the request's connection may belong to another loop, so answers go
// through conn.respond.

const pollContentType = "text/plain; charset=UTF-8"

// upgradeGetHold is how long a GET that arrives after "3probe" waits for a
// "5" before it is released with a noop.
//
// The reference (engine.io lib/socket.ts, _maybeUpgrade) never answers such
// a GET at once: it parks it like any poll, and the upgrade's check
// interval writes a noop to it within 100 ms ("we force a polling cycle to
// ensure a fast upgrade"); a "5" it reads first makes any later polling
// request a TRANSPORT_MISMATCH, 400 code 3 (lib/server.ts verify). Node,
// on one thread, in practice reads the "5" first, so a GET a client sends
// after its "5" gets that 400. Here the "5" (on the WebSocket's loop) and the GET
// (on its own connection's loop) are both posted to the session's loop,
// and the GET can arrive first (about one run in four of that suite test on
// a loaded 2-core machine, the "5" then 0.1 to 3 ms behind). Answering it at
// once with a noop made the suite's "ignores HTTP requests with same sid
// after upgrade" fail now and then; holding it lets the "5" catch up.
//
// Both kinds of GET are kept working: a client that is really still
// polling (engine.io-client: a GET in flight when "3probe" reached it; it
// sends "5" only once that poll returns) gets its noop after the hold,
// sooner than the reference's worst case, and the suite's "successfully
// upgrades" GET after "3probe" still gets 200 "6". Refusing every GET
// after the probe would break both.
const upgradeGetHold = 20 * time.Millisecond

func (s *Session) onPollGet(cn *conn) {
	l := s.loop
	if s.heartbeatExpired(monoNow()) {
		s.closeWith("ping timeout", true)
	}
	switch {
	case s.state == stateClosed:
		cn.respondErrorFrom(l, 400, CodeUnknownSID)
		return
	case s.state == stateClosing:
		// Queued data first; the close packet alone in a later poll.
		s.poll.pendingGet = cn
		if len(s.poll.pq) > 0 {
			s.answerGet()
		} else if s.poll.clientClosed {
			s.answerGetWith(pktNoop) // clientCloseGrace
			s.finish()
		} else {
			s.answerGetWith(pktClose)
			s.finish()
		}
		return
	case s.poll == nil: // WebSocket
		// Polling after the upgrade: transport mismatch (suite, E17).
		cn.respondErrorFrom(l, 400, CodeBadRequest)
		return
	case s.poll.pendingGet != nil:
		// A second GET while one is pending (E35): 400 to it, "1" to the
		// first, and the session ends. First and second in the order they
		// were read: two GETs read by two loops may reach the session in
		// the other order (the suite's "closes the session upon cancelled
		// polling request" then got its 400 on the first, and 200 "1" on
		// the second).
		first, second := s.poll.pendingGet, cn
		if second.aux.readAt < first.aux.readAt {
			first, second = second, first
			s.poll.pendingGet = first
		}
		second.respond(l, 400, "", nil, false)
		s.closeWith("transport error", true)
		return
	}
	ps := s.poll
	ps.pendingGet = cn
	if ps.probed {
		// Upgrading: "3probe" went out, and a GET pending then got a noop
		// (onProbeMessage). A new GET is held for upgradeGetHold, then
		// released with a noop, unless the "5" comes first: then it gets
		// 400 code 3, the reference's answer to polling after the upgrade
		// (completeUpgrade). See upgradeGetHold.
		ps.holdTimer.Reset(upgradeGetHold)
		return
	}
	if len(ps.pq) > 0 {
		s.loop.markDirty(s)
	}
}

// answerGet sends every queued packet in one payload to the pending GET.
func (s *Session) answerGet() {
	ps := s.poll
	cn := ps.pendingGet
	ps.pendingGet = nil
	l := s.loop
	n := 0
	for _, p := range ps.pq {
		n += p.pollingLen() + 1
	}
	body := l.body[:0]
	if cap(body) < n {
		body = make([]byte, 0, n)
	}
	for i, p := range ps.pq {
		if i > 0 {
			body = append(body, codec.RecordSeparator)
		}
		body = p.appendPolling(body)
	}
	s.dropPolling()
	cn.respond(l, 200, pollContentType, body, false)
	if cap(body) <= 1<<20 {
		l.body = body[:0]
	}
}

// answerGetWith answers the pending GET with one static packet, keeping
// the queue for later.
func (s *Session) answerGetWith(p *Prepared) {
	cn := s.poll.pendingGet
	s.poll.pendingGet = nil
	cn.respond(s.loop, 200, pollContentType, p.Packet(), false)
}

func (s *Session) onPollPost(cn *conn, body []byte) {
	defer putBody(body)
	l := s.loop
	if s.heartbeatExpired(monoNow()) {
		s.closeWith("ping timeout", true)
	}
	switch {
	case s.state == stateClosed || s.state == stateClosing:
		cn.respondErrorFrom(l, 400, CodeUnknownSID)
		return
	case s.poll == nil: // WebSocket
		cn.respondErrorFrom(l, 400, CodeBadRequest)
		return
	}
	// The reference answers "ok" before it looks at the packets (E25, E28).
	cn.respond(l, 200, "text/html", okBody, false)
	if len(body) == 0 {
		s.closeWith("parse error", true)
		return
	}
	for pkt, rest, ok := codec.NextPayloadPacket(body); ok; pkt, rest, ok = codec.NextPayloadPacket(rest) {
		if len(pkt) > 0 && pkt[0] == 'b' {
			bin, err := codec.DecodeBase64Packet(l.b64[:0], pkt)
			if err != nil {
				s.closeWith("parse error", true)
				return
			}
			l.b64 = bin[:0]
			s.deliver(bin, true)
		} else if !s.onPacket(pkt) {
			return
		}
		if s.state != stateOpen {
			return
		}
	}
}

var okBody = []byte("ok")

func (cn *conn) respondErrorFrom(from *Loop, status, code int) {
	cn.respond(from, status, "application/json", codeBodies[code], false)
}
