// Command chat is a small chat application on Riptide: nicknames, rooms,
// message history, typing indicator, user lists and delivery ticks, in a
// browser page that uses the real socket.io-client from npm. One program
// serves the page and Socket.IO on one port.
//
//	go run ./examples/chat                 # then open the URL it prints, in two tabs
//	go run ./examples/chat -addr :8080     # listen on every interface
//
// The first run installs the page's npm dependencies (`npm ci` in
// examples/chat/web; it needs Node.js >= 20 and npm); socket.io-client's
// browser bundle is then served from node_modules at /socket.io.min.js.
// Append ?transports=polling to the page's URL to use HTTP long-polling only,
// ?transports=websocket for WebSocket only.
package main

import (
	"context"
	"embed"
	"flag"
	"fmt"
	"github.com/riptide-io/riptide/internal/webdeps"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/riptide-io/riptide"
)

//go:embed web/static
var static embed.FS

// newServer builds the chat: Socket.IO at /socket.io/ and, through the
// engine's Fallback handler, the page (embedded) and socket.io-client's
// browser bundle (from webDir/node_modules, installed by ensureWebDeps).
// Call Listen on it.
func newServer(webDir string, log *slog.Logger) *riptide.Server {
	srv := riptide.New(riptide.Config{})
	h := newHub(srv, log)
	srv.OnConnection(h.register)
	srv.Engine().Fallback = pageHandler(webDir)
	return srv
}

// pageHandler serves the page and socket.io-client's browser bundle
// (internal/webdeps).
func pageHandler(webDir string) http.Handler { return webdeps.PageHandler(static, webDir) }

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (host:port; port 0 picks a free one)")
	web := flag.String("web", "", "folder of the page's package.json (default: examples/chat/web)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	dir, err := findWebDir(*web)
	if err == nil {
		err = ensureWebDeps(dir, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}

	srv := newServer(dir, log)
	if err := srv.Listen(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
	url := "http://" + browsable(srv.Addr())
	fmt.Printf("\nRiptide chat is running. Open %s in two browser tabs and chat.\n", url)
	fmt.Printf("  long-polling only: %s/?transports=polling\n", url)
	fmt.Printf("  WebSocket only:    %s/?transports=websocket\n", url)
	fmt.Printf("Ctrl-C stops it.\n\n")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Println("chat: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
	}
}

// browsable turns a listen address into one a browser can open: an
// unspecified host (":8080", "0.0.0.0:8080") becomes localhost.
func browsable(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
