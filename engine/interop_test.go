package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/riptide-io/riptide/internal/interop"
)

// TestEngineIOClientInterop drives the real engine.io-client from npm
// against an Engine.IO echo endpoint through every scenario of
// internal/interop/testdata/CONTRACT.md §2, on websocket, polling, and
// polling then upgrade.
func TestEngineIOClientInterop(t *testing.T) {
	interop.Setup(t)
	cfg := Config{
		Path:              "/engine.io/",
		PingInterval:      interop.EchoPingInterval,
		PingTimeout:       interop.EchoPingTimeout,
		MaxHTTPBufferSize: interop.EchoMaxPayload,
	}
	_, url := startServer(t, cfg, newEcho())
	// "large" moves megabytes over polling, where a pong waits behind the
	// POST in flight: with every scenario running at once under -race, a
	// 1 s pong deadline is a coin toss (seen in CI: the session timed out
	// and the POST got 400). It tests sizes, not heartbeats: give it a
	// server with a long pong deadline (the client reads it from the
	// handshake).
	slow := cfg
	slow.PingTimeout = 20 * time.Second
	_, slowURL := startServer(t, slow, newEcho())
	for _, sc := range interop.EngineScenarios {
		u := url
		if sc.Name == "large" {
			u = slowURL
		}
		for _, tr := range sc.Transports {
			t.Run(fmt.Sprintf("%s/%s", sc.Name, tr), func(t *testing.T) {
				t.Parallel()
				interop.RunNode(t, "eio_client.js", u, sc.Name, tr)
			})
		}
	}
}
