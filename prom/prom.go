// Package prom exports a Riptide server's metrics to Prometheus. It lives
// in its own package so that the core never imports client_golang.
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(prom.NewCollector(srv))
//	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
package prom

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riptide-io/riptide"
)

// Collector reads a server's Metrics snapshot on every scrape.
type Collector struct {
	srv *riptide.Server

	connections, sessions, sockets, namespaces, rooms  *prometheus.Desc
	messages, bytes, packetsIn, broadcasts, recipients *prometheus.Desc
	volatileDrops, slowConsumers, handshakeErrors      *prometheus.Desc
	connectErrors, upgrades, pacedEmits                *prometheus.Desc
	refusedConnections                                 *prometheus.Desc
}

// NewCollector returns a collector for srv; register it with a registry.
func NewCollector(srv *riptide.Server) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("riptide_"+name, help, labels, nil)
	}
	return &Collector{
		srv:             srv,
		connections:     d("connections", "Open TCP connections."),
		sessions:        d("sessions", "Open Engine.IO sessions by transport.", "transport"),
		sockets:         d("sockets", "Connected Socket.IO sockets, all namespaces."),
		namespaces:      d("namespaces", "Namespaces, dynamic children included."),
		rooms:           d("rooms", "Non-empty rooms, counted per event loop."),
		messages:        d("messages_total", "Engine.IO messages by direction.", "direction"),
		bytes:           d("bytes_total", "Engine.IO message bytes by direction.", "direction"),
		packetsIn:       d("packets_received_total", "Socket.IO packets received."),
		broadcasts:      d("broadcasts_total", "Broadcast emits."),
		recipients:      d("broadcast_recipients_total", "Broadcast deliveries, one per recipient."),
		volatileDrops:   d("volatile_drops_total", "Volatile packets dropped for sockets that could not take them."),
		slowConsumers:   d("slow_consumer_disconnects_total", "Sessions closed for holding too many unsent bytes."),
		handshakeErrors: d("handshake_errors_total", "Refused Engine.IO requests by error code (6: over MaxSessions).", "code"),
		connectErrors:   d("connect_errors_total", "Refused namespace connections."),
		upgrades:        d("upgrades_total", "Polling sessions upgraded to WebSocket."),
		pacedEmits:      d("paced_emits_total", "Emits from outside the event loops that waited for a loop with a long queue."),
		refusedConnections: d("refused_connections_total",
			"Connections answered 503 and closed at the connection cap (engine.Server.MaxConnections)."),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.connections, c.sessions, c.sockets, c.namespaces, c.rooms,
		c.messages, c.bytes, c.packetsIn, c.broadcasts, c.recipients, c.volatileDrops, c.slowConsumers,
		c.handshakeErrors, c.connectErrors, c.upgrades, c.pacedEmits, c.refusedConnections} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	m := c.srv.Metrics()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(c.connections, float64(m.Connections))
	gauge(c.sessions, float64(m.SessionsPolling), "polling")
	gauge(c.sessions, float64(m.SessionsWebSocket), "websocket")
	gauge(c.sockets, float64(m.Sockets))
	gauge(c.namespaces, float64(m.Namespaces))
	gauge(c.rooms, float64(m.Rooms))
	counter(c.messages, m.MessagesIn, "in")
	counter(c.messages, m.MessagesOut, "out")
	counter(c.bytes, m.BytesIn, "in")
	counter(c.bytes, m.BytesOut, "out")
	counter(c.packetsIn, m.PacketsIn)
	counter(c.broadcasts, m.Broadcasts)
	counter(c.recipients, m.Recipients)
	counter(c.volatileDrops, m.VolatileDrops)
	counter(c.slowConsumers, m.SlowConsumerDisconnects)
	for code, v := range m.HandshakeErrors {
		counter(c.handshakeErrors, v, strconv.Itoa(code))
	}
	counter(c.connectErrors, m.ConnectErrors)
	counter(c.pacedEmits, m.PacedEmits)
	counter(c.upgrades, m.Upgrades)
	counter(c.refusedConnections, m.RefusedConnections)
}
