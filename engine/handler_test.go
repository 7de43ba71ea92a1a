package engine

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/riptide-io/riptide/internal/interop"
)

// TestServeHTTPInNetHTTPMux mounts the engine in a plain net/http mux next
// to an ordinary handler, on the mux's own port, and drives it with the
// real engine.io-client: polling, websocket and the upgrade.
func TestServeHTTPInNetHTTPMux(t *testing.T) {
	interop.Setup(t)
	srv := NewServer()
	srv.NumLoops = 2
	h := newEcho()
	srv.Handle(Config{
		Path:         "/engine.io/",
		PingInterval: interop.EchoPingInterval,
		// Generous: this test is about the hand-off from net/http, not the
		// heartbeat, and CI shares the cores with browsers and benchmarks.
		PingTimeout:       3 * time.Second,
		MaxHTTPBufferSize: interop.EchoMaxPayload,
	}, h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})

	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	mux.HandleFunc("/hello", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello from net/http") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	go hs.Serve(ln)
	t.Cleanup(func() { _ = hs.Close() })
	base := "http://" + ln.Addr().String()

	if code, body, _ := get(t, base+"/hello"); code != 200 || body != "hello from net/http" {
		t.Fatalf("%d %q", code, body)
	}
	for _, sc := range []string{"text", "binary", "many", "upgrade", "server-close", "heartbeat"} {
		for _, tr := range interop.Transports {
			if sc == "upgrade" && tr != interop.TransportUpgrade {
				continue
			}
			t.Run(fmt.Sprintf("%s/%s", sc, tr), func(t *testing.T) {
				defer func() {
					if t.Failed() { // say why the server closed sessions
						for len(h.closeCh) > 0 {
							t.Logf("server-side close reason: %s", <-h.closeCh)
						}
					}
				}()
				for len(h.closeCh) > 0 {
					<-h.closeCh
				}
				interop.RunNode(t, "eio_client.js", base, sc, tr)
			})
		}
	}
	// The mux still serves its own routes afterwards.
	if code, body, _ := get(t, base+"/hello"); code != 200 || body != "hello from net/http" {
		t.Fatalf("%d %q", code, body)
	}
}
