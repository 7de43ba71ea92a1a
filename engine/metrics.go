package engine

import "sync/atomic"

// Metrics is a snapshot of an Endpoint's counters. Counters only grow;
// gauges (Sessions...) are current values.
type Metrics struct {
	Sessions          int64 // open sessions
	SessionsPolling   int64 // ...on long-polling
	SessionsWebSocket int64 // ...on WebSocket
	SessionsOpened    uint64
	Upgrades          uint64 // polling sessions upgraded to WebSocket

	MessagesIn  uint64 // Engine.IO messages received (text and binary)
	BytesIn     uint64 // their data bytes
	MessagesOut uint64 // messages queued to sessions (a broadcast counts once per recipient)
	BytesOut    uint64 // their bytes as framed for the wire

	SlowConsumerDisconnects uint64
	// HandshakeErrors counts refused requests by Engine.IO error code
	// (0..5, PROTOCOL.md §6); index 6 counts 503 answers past MaxSessions.
	HandshakeErrors [7]uint64
}

// counters are an endpoint's live counters. The per-message ones are
// updated by one loop at a time per session, but sessions of all loops
// share them, so they are atomics on their own cache lines.
type counters struct {
	sessionsPolling   atomic.Int64
	_                 [56]byte
	sessionsWebSocket atomic.Int64
	_                 [56]byte
	opened            atomic.Uint64
	upgrades          atomic.Uint64
	slow              atomic.Uint64
	_                 [40]byte
	msgsIn            atomic.Uint64
	bytesIn           atomic.Uint64
	_                 [48]byte
	msgsOut           atomic.Uint64
	bytesOut          atomic.Uint64
	_                 [48]byte
	handshakeErrors   [7]atomic.Uint64
}

// Metrics returns a snapshot of the endpoint's counters. Goroutine-safe.
func (ep *Endpoint) Metrics() Metrics {
	c := &ep.stats
	m := Metrics{
		SessionsPolling:         c.sessionsPolling.Load(),
		SessionsWebSocket:       c.sessionsWebSocket.Load(),
		SessionsOpened:          c.opened.Load(),
		Upgrades:                c.upgrades.Load(),
		MessagesIn:              c.msgsIn.Load(),
		BytesIn:                 c.bytesIn.Load(),
		MessagesOut:             c.msgsOut.Load(),
		BytesOut:                c.bytesOut.Load(),
		SlowConsumerDisconnects: c.slow.Load(),
	}
	m.Sessions = m.SessionsPolling + m.SessionsWebSocket
	for i := range m.HandshakeErrors {
		m.HandshakeErrors[i] = c.handshakeErrors[i].Load()
	}
	return m
}

// Connections is the number of open TCP connections of the server.
// Goroutine-safe.
func (srv *Server) Connections() int64 { return srv.connCount.Load() }

func (s *Session) countTransport(delta int64) {
	if s.poll == nil { // WebSocket
		s.ep.stats.sessionsWebSocket.Add(delta)
	} else {
		s.ep.stats.sessionsPolling.Add(delta)
	}
}
