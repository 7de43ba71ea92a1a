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
	if s.state != stateOpen || s.transport != transportPolling || s.poll.probe != nil || s.ep.cfg.DisableUpgrades {
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
		ps.probe = nil
		ps.probed = false
		ps.upTimer.Stop()
		cn.sendClose(s.loop)
	}
}

// completeUpgrade switches the session to the WebSocket and moves what was
// queued for polling onto it, in order (E63). The polling state goes: a
// WebSocket session never uses it again.
func (s *Session) completeUpgrade(cn *conn) {
	ps := s.poll
	ps.upTimer.Stop()
	if ps.pendingGet != nil {
		s.answerGetWith(pktNoop)
	}
	s.poll = nil
	s.countTransport(-1)
	s.transport = transportWebSocket
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
		ps.probe.sendClose(s.loop)
		ps.probe = nil
		ps.probed = false
	}
}
