// Command game is a small multiplayer game on Riptide: an authoritative
// loop at a fixed 30 Hz moves the players' dots from the keys they hold
// ("input" events), resolves who picks up the coin, and broadcasts each game's
// state to its room. One program serves the page and Socket.IO on one port.
//
//	go run ./examples/game                 # then open the URL it prints, in two tabs
//	go run ./examples/game -addr :8082     # listen on every interface
//
// The first run installs the page's npm dependencies (`npm ci` in
// examples/game/web; it needs Node.js >= 20 and npm); socket.io-client's
// browser bundle is then served from node_modules at /socket.io.min.js.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "listen address (host:port; port 0 picks a free one)")
	web := flag.String("web", "", "folder of the page's package.json (default: examples/game/web)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	dir, err := findWebDir(*web)
	if err == nil {
		err = ensureWebDeps(dir, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "game:", err)
		os.Exit(1)
	}
	srv := newServer(dir, log)
	if err := srv.Listen(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "game:", err)
		os.Exit(1)
	}
	url := "http://" + browsable(srv.Addr())
	fmt.Printf("\nRiptide game is running. Open %s in two browser tabs and move with the arrow keys.\n", url)
	fmt.Printf("  another game: %s/?room=duel\n", url)
	fmt.Printf("Ctrl-C stops it.\n\n")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Println("game: shutting down")
	if err := srv.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "game:", err)
	}
}

// browsable turns a listen address into one a browser can open: an
// unspecified host (":8082", "0.0.0.0:8082") becomes localhost.
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
