package engine

import (
	"fmt"
	"testing"

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
	for _, sc := range interop.EngineScenarios {
		for _, tr := range sc.Transports {
			t.Run(fmt.Sprintf("%s/%s", sc.Name, tr), func(t *testing.T) {
				t.Parallel()
				interop.RunNode(t, "eio_client.js", url, sc.Name, tr)
			})
		}
	}
}
