package prom_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/riptide-io/riptide"
	"github.com/riptide-io/riptide/prom"
)

func TestCollectorExportsTheSnapshot(t *testing.T) {
	srv := riptide.New(riptide.Config{})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(prom.NewCollector(srv))
	_ = srv.Emit("nobody", 1) // a broadcast with no recipients
	want := `
# HELP riptide_broadcasts_total Broadcast emits.
# TYPE riptide_broadcasts_total counter
riptide_broadcasts_total 1
# HELP riptide_refused_connections_total Connections answered 503 and closed at the connection cap (engine.Server.MaxConnections).
# TYPE riptide_refused_connections_total counter
riptide_refused_connections_total 0
# HELP riptide_sockets Connected Socket.IO sockets, all namespaces.
# TYPE riptide_sockets gauge
riptide_sockets 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "riptide_broadcasts_total", "riptide_refused_connections_total", "riptide_sockets"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n < 20 {
		t.Fatalf("%d metrics, %v", n, err)
	}
}
