// Command metrics serves Socket.IO and Prometheus metrics on one port:
// Socket.IO at /socket.io/, the metrics at /metrics (through the engine's
// Fallback handler), with structured logs on stderr.
//
//	go run ./examples/metrics -addr 127.0.0.1:3000
//	curl -s 127.0.0.1:3000/metrics | grep riptide_
package main

import (
	"flag"
	"log"
	"log/slog"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/riptide-io/riptide"
	"github.com/riptide-io/riptide/prom"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen address")
	flag.Parse()

	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv := riptide.New(riptide.Config{Logger: logger})
	srv.OnConnection(func(s *riptide.Socket) {
		logger.Info("connected", "id", s.ID(), "address", s.Handshake().Address)
		s.On("echo", func(args riptide.Args, ack riptide.Ack) {
			if v, err := args.Values(); err == nil && ack != nil {
				ack(v...)
			}
		})
		s.OnDisconnect(func(reason string) { logger.Info("disconnected", "id", s.ID(), "reason", reason) })
	})

	reg := prometheus.NewRegistry()
	reg.MustRegister(prom.NewCollector(srv))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv.Engine().Fallback = mux

	if err := srv.Listen(*addr); err != nil {
		log.Fatal(err)
	}
	logger.Info("listening", "socket.io", "http://"+srv.Addr().String()+"/socket.io/", "metrics", "http://"+srv.Addr().String()+"/metrics")
	select {}
}
