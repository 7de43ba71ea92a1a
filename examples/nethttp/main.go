// Command nethttp adds Socket.IO to an existing net/http service without
// giving up its port: the Riptide server is mounted in the service's mux at
// /socket.io/, next to its own routes. (gin, chi and echo mount an
// http.Handler the same way: gin.WrapH(srv), r.Handle, echo.WrapHandler.)
//
//	go run ./examples/nethttp -addr 127.0.0.1:8090
//	curl 127.0.0.1:8090/api/time        # the service's own route
//	# and any socket.io-client on http://127.0.0.1:8090: emit "time" with an ack
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/riptide-io/riptide"
)

// newMux is the service: its own API plus Socket.IO, on one http.Handler.
func newMux(srv *riptide.Server) *http.ServeMux {
	srv.OnConnection(func(s *riptide.Socket) {
		s.On("time", func(_ riptide.Args, ack riptide.Ack) {
			if ack != nil {
				ack(time.Now().UTC().Format(time.RFC3339))
			}
		})
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/api/time", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"time": time.Now().UTC().Format(time.RFC3339)})
	})
	mux.Handle("/socket.io/", srv) // long-polling served, WebSockets handed to Riptide's loops
	return mux
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	flag.Parse()
	srv := riptide.New(riptide.Config{})
	defer srv.Close()
	log.Printf("net/http service with Socket.IO on http://%s (/api/time, /socket.io/)", *addr)
	log.Fatal(http.ListenAndServe(*addr, newMux(srv)))
}
