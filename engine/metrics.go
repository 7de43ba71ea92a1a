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
	MessagesOut uint64 // messages queued to sessions (a broadcast counts once per recipient), as of the loops' last turns
	BytesOut    uint64 // their bytes as framed for the wire

	SlowConsumerDisconnects uint64
	// HandshakeErrors counts refused requests by Engine.IO error code
	// (0..5, PROTOCOL.md §6); index 6 counts 503 answers past MaxSessions.
	HandshakeErrors [7]uint64
}

// counters are an endpoint's live counters. The per-message ones change on
// every message a loop reads or queues (a broadcast to 10k sessions adds
// 10k times), so each loop adds to its own stripe (Loop.index): one shared
// cache line written by every loop cost more than the rest of queueing a
// message (and the out counts gather in the loop first: outCount).
// Metrics sums the stripes. The rest are rare and shared.
type counters struct {
	sessionsPolling   atomic.Int64
	_                 [56]byte
	sessionsWebSocket atomic.Int64
	_                 [56]byte
	opened            atomic.Uint64
	upgrades          atomic.Uint64
	slow              atomic.Uint64
	_                 [40]byte
	handshakeErrors   [7]atomic.Uint64
	_                 [8]byte
	stripes           [trafficStripes]trafficCounters
}

// trafficStripes is the number of per-loop stripes of an endpoint's
// message counters; loops beyond it share (atomics keep that correct).
const trafficStripes = 16

// trafficCounters is one loop's stripe of the message counters: 32 bytes
// padded to 128, so that no cache line holds counters of two stripes
// wherever the allocator places the array.
type trafficCounters struct {
	msgsIn, bytesIn, msgsOut, bytesOut atomic.Uint64
	_                                  [96]byte
}

// traffic is the stripe of the loop l.
func (c *counters) traffic(l *Loop) *trafficCounters {
	return &c.stripes[l.index%trafficStripes]
}

// Metrics returns a snapshot of the endpoint's counters. Goroutine-safe.
func (ep *Endpoint) Metrics() Metrics {
	c := &ep.stats
	m := Metrics{
		SessionsPolling:         c.sessionsPolling.Load(),
		SessionsWebSocket:       c.sessionsWebSocket.Load(),
		SessionsOpened:          c.opened.Load(),
		Upgrades:                c.upgrades.Load(),
		SlowConsumerDisconnects: c.slow.Load(),
	}
	for i := range c.stripes {
		t := &c.stripes[i]
		m.MessagesIn += t.msgsIn.Load()
		m.BytesIn += t.bytesIn.Load()
		m.MessagesOut += t.msgsOut.Load()
		m.BytesOut += t.bytesOut.Load()
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

// outCount is a loop's count of queued messages not yet added to its
// endpoint's stripe: a broadcast queues a message per recipient, and two
// atomic adds per recipient were a tenth of queueing one. The loop adds
// them up in plain fields and publishes them once per turn (Loop.leave),
// so Metrics lags by at most the turn in progress.
type outCount struct {
	ep           *Endpoint
	msgs, nbytes uint64
}

// countOut counts p's messages queued to a session of ep. Loop-only.
func (l *Loop) countOut(ep *Endpoint, p *Prepared) {
	c := &l.out
	if c.ep != ep {
		l.publishOut()
		c.ep = ep
	}
	c.msgs += uint64(p.msgs)
	c.nbytes += uint64(p.Len())
}

// publishOut adds the loop's pending out counts to its stripe. Loop-only.
func (l *Loop) publishOut() {
	c := &l.out
	if c.msgs == 0 {
		return
	}
	t := c.ep.stats.traffic(l)
	t.msgsOut.Add(c.msgs)
	t.bytesOut.Add(c.nbytes)
	c.msgs, c.nbytes = 0, 0
}
