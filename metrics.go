package riptide

import (
	"sync/atomic"

	"github.com/riptide-io/riptide/engine"
)

// Metrics is a snapshot of a server's activity: the Engine.IO counters
// (connections, sessions by transport, messages and bytes in and out,
// slow-consumer disconnects, refused handshakes by code) and the Socket.IO
// ones. Counters only grow; gauges are current values.
type Metrics struct {
	engine.Metrics
	Connections int64 // open TCP connections
	Namespaces  int   // namespaces, dynamic children included
	Sockets     int   // connected sockets, all namespaces
	Rooms       int64 // non-empty rooms, counted per event loop

	PacketsIn     uint64 // Socket.IO packets received
	Broadcasts    uint64 // broadcast emits
	Recipients    uint64 // broadcast deliveries (one per recipient socket)
	VolatileDrops uint64 // volatile packets dropped for a socket that could not take them
	ConnectErrors uint64 // CONNECT refused (unknown namespace or middleware)
	// PacedEmits counts emits from outside the loops that waited for a
	// loop with a long queue (engine.Server.PacedPosts): the application
	// emits faster than the server delivers.
	PacedEmits uint64
	// RefusedConnections counts connections answered 503 and closed at
	// engine.Server.MaxConnections.
	RefusedConnections uint64
}

// serverStats are the server's counters. Those a loop adds to per packet
// or per broadcast are striped by loop (perLoop): one cache line written by
// every loop for every packet costs more than the counting.
type serverStats struct {
	broadcasts    atomic.Uint64 // from the emitting goroutines
	connectErrors atomic.Uint64
	rooms         atomic.Int64
	_             [40]byte
	stripes       [statStripes]loopStats
}

// statStripes is the number of per-loop stripes; loops beyond it share.
const statStripes = 16

// loopStats is one loop's stripe of serverStats: 24 bytes padded to 128,
// so that no cache line holds counters of two stripes wherever the
// allocator places the array.
type loopStats struct {
	packetsIn, recipients, volatileDrops atomic.Uint64
	_                                    [104]byte
}

// perLoop is the stripe of the loop l.
func (st *serverStats) perLoop(l *engine.Loop) *loopStats {
	return &st.stripes[l.Index()%statStripes]
}

// Metrics returns a snapshot of the server's counters. Goroutine-safe;
// it costs a walk over the namespaces, not over the sockets.
func (srv *Server) Metrics() Metrics {
	m := Metrics{
		Metrics:       srv.ep.Metrics(),
		Connections:   srv.eng.Connections(),
		Broadcasts:    srv.stats.broadcasts.Load(),
		ConnectErrors: srv.stats.connectErrors.Load(),
		Rooms:         srv.stats.rooms.Load(),
		PacedEmits:    srv.eng.PacedPosts(),

		RefusedConnections: srv.eng.Refused(),
	}
	for i := range srv.stats.stripes {
		st := &srv.stats.stripes[i]
		m.PacketsIn += st.packetsIn.Load()
		m.Recipients += st.recipients.Load()
		m.VolatileDrops += st.volatileDrops.Load()
	}
	srv.mu.RLock()
	m.Namespaces = len(srv.nsps)
	nsps := make([]*Namespace, 0, len(srv.nsps))
	for _, n := range srv.nsps {
		nsps = append(nsps, n)
	}
	srv.mu.RUnlock()
	for _, n := range nsps {
		m.Sockets += n.Len()
	}
	return m
}

// roomDeleted counts a room that became empty on a loop.
func (srv *Server) roomDeleted(string) { srv.stats.rooms.Add(-1) }
