package engine

import (
	"github.com/riptide-io/riptide/codec"
)

// HTTP long-polling (PROTOCOL.md §5). These run on the session's home loop;
// the request's connection may belong to another loop, so answers go
// through conn.respond.

const pollContentType = "text/plain; charset=UTF-8"

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
		} else {
			s.answerGetWith(pktClose)
			s.finish()
		}
		return
	case s.transport != transportPolling:
		// Polling after the upgrade: transport mismatch (suite, E17).
		cn.respondErrorFrom(l, 400, CodeBadRequest)
		return
	case s.poll.pendingGet != nil:
		// A second GET while one is pending (E35): 400 to it, "1" to the
		// first, and the session ends.
		cn.respond(l, 400, "", nil, false)
		s.closeWith("transport error", true)
		return
	}
	ps := s.poll
	ps.pendingGet = cn
	if ps.probed {
		// Upgrading: release the poll at once (E60).
		s.answerGetWith(pktNoop)
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
	case s.transport != transportPolling:
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
