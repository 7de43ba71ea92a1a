package engine

import (
	"github.com/gobwas/ws"

	"github.com/riptide-io/riptide/codec"
)

const (
	frameOpPing   = ws.OpPing
	frameOpPong   = ws.OpPong
	frameOpClose  = ws.OpClose
	frameOpBinary = ws.OpBinary
)

// onWSMessage handles one WebSocket message on the session's home loop:
// from its transport, or from a probing WebSocket during an upgrade.
func (s *Session) onWSMessage(cn *conn, data []byte, binary bool) {
	if s.state != stateOpen {
		return
	}
	if s.poll != nil && cn == s.poll.probe {
		s.onProbeMessage(cn, data, binary)
		return
	}
	if cn != s.ws {
		return // a stale or refused connection
	}
	if binary {
		// PROTOCOL.md §2: a binary frame is a message, no type byte (E49).
		s.deliver(data, true)
		return
	}
	if len(data) > 0 && data[0] == 'b' {
		// The reference decoder honours "b"+base64 in text frames too.
		bin, err := codec.DecodeBase64Packet(s.loop.b64[:0], data)
		if err != nil {
			s.closeWith("parse error", true)
			return
		}
		s.loop.b64 = bin[:0]
		s.deliver(bin, true)
		return
	}
	s.onPacket(data)
}

// onUpgradeStart: a WebSocket with this session's sid was accepted (101
// already sent) on some loop. PROTOCOL.md §8.
func (s *Session) onUpgradeStart(cn *conn) {
	if s.state != stateOpen || s.poll == nil || s.poll.probe != nil || s.ep.cfg.DisableUpgrades {
		cn.sendClose(s.loop)
		return
	}
	ps := s.poll
	ps.probe = cn
	ps.probed = false
	ps.upTimer.Reset(s.ep.cfg.UpgradeTimeout)
}

func (s *Session) onProbeMessage(cn *conn, data []byte, binary bool) {
	ps := s.poll
	switch {
	case !binary && string(data) == "2probe":
		cn.write(s.loop, pktProbe.Frame())
		ps.probed = true
		if ps.pendingGet != nil {
			s.answerGetWith(pktNoop)
		}
	case !binary && string(data) == "5":
		s.completeUpgrade(cn)
	default:
		// Anything else on the probe closes that WebSocket; polling goes on (E61).
		s.abandonProbe()
		cn.sendClose(s.loop)
	}
}

// abandonProbe ends an upgrade that did not complete: polling goes on, and
// a GET held since the probe (onPollGet) becomes an ordinary pending GET.
func (s *Session) abandonProbe() {
	ps := s.poll
	ps.probe = nil
	ps.probed = false
	ps.upTimer.Stop()
	ps.holdTimer.Stop()
	if ps.pendingGet != nil && len(ps.pq) > 0 {
		s.loop.markDirty(s)
	}
}

// onGetHoldEnd releases a GET held since the probe with a noop, as the
// reference's upgrade check does (onPollGet): the client's poll returns
// and it can send "5".
func (s *Session) onGetHoldEnd() {
	if ps := s.poll; s.state == stateOpen && ps.probed && ps.pendingGet != nil {
		s.answerGetWith(pktNoop)
	}
}

// completeUpgrade switches the session to the WebSocket and moves what was
// queued for polling onto it, in order (E63). The polling state goes: a
// WebSocket session never uses it again.
func (s *Session) completeUpgrade(cn *conn) {
	ps := s.poll
	ps.upTimer.Stop()
	ps.holdTimer.Stop()
	if g := ps.pendingGet; g != nil {
		if ps.probed {
			// A GET held since the probe: engine.io-client pauses polling
			// before it sends "5" (its in-flight GET has returned), so this
			// GET was sent after the "5" and reached this loop first. The
			// reference, which reads the "5" first, refuses a polling
			// request after the upgrade with 400 code 3 (server.ts verify:
			// TRANSPORT_MISMATCH; suite "ignores HTTP requests with same
			// sid after upgrade").
			ps.pendingGet = nil
			g.respondErrorFrom(s.loop, 400, CodeBadRequest)
		} else {
			s.answerGetWith(pktNoop) // "5" without a probe (E62): release the poll
		}
	}
	s.countTransport(-1)
	s.poll = nil // the transport is now WebSocket
	s.countTransport(1)
	s.ep.stats.upgrades.Add(1)
	s.ws = cn
	for _, p := range ps.pq {
		s.enqueue(p)
		p.Release()
	}
}

func (s *Session) onUpgradeTimeout() {
	if ps := s.poll; ps != nil && ps.probe != nil {
		probe := ps.probe
		s.abandonProbe()
		probe.sendClose(s.loop)
	}
}
