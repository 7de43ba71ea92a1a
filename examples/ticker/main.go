// Command ticker is a trading-style fan-out on Riptide: a feed goroutine
// moves the prices of many symbols (a random walk) at a high rate and pushes
// every tick, volatile, to the room of its symbol's subscribers; clients
// subscribe and unsubscribe with acknowledgements and place orders that are
// acknowledged with an order id and a fill price. One program serves the page
// and Socket.IO on one port.
//
//	go run ./examples/ticker                          # then open the URL it prints
//	go run ./examples/ticker -symbols 500 -rate 20000 # a busier market
//
// Its client mode opens many connections to a running ticker, subscribes
// each to some symbols, and measures the delivered ticks per second and their
// latency (now − ts):
//
//	go run ./examples/ticker -client -url http://127.0.0.1:8081 -subs 20 -conns 100 -duration 10s
//
// The first server run installs the page's npm dependencies (`npm ci` in
// examples/ticker/web; it needs Node.js >= 20 and npm); socket.io-client's
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
	"time"
)

func main() {
	var (
		addr    = flag.String("addr", "127.0.0.1:8081", "server: listen address (host:port; port 0 picks a free one)")
		symbols = flag.Int("symbols", 50, "server: number of symbols")
		rate    = flag.Float64("rate", 200, "server: ticks per second, all symbols together")
		web     = flag.String("web", "", "server: folder of the page's package.json (default: examples/ticker/web)")
		verbose = flag.Bool("v", false, "server: log every order")

		client   = flag.Bool("client", false, "run the client mode against -url instead of a server")
		url      = flag.String("url", "http://127.0.0.1:8081", "client: the ticker server")
		conns    = flag.Int("conns", 100, "client: connections")
		subs     = flag.Int("subs", 20, "client: symbols each connection subscribes to")
		duration = flag.Duration("duration", 10*time.Second, "client: how long to measure")
		orders   = flag.Int("orders", 1, "client: orders each connection places")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *client {
		rep, err := runClient(ctx, clientConfig{URL: *url, Conns: *conns, Subs: *subs, Duration: *duration, Orders: *orders}, os.Stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ticker client:", err)
			os.Exit(1)
		}
		if rep.Wrong > 0 || rep.Filled < rep.Orders || rep.Lost > 0 {
			os.Exit(1)
		}
		return
	}

	if *symbols < 1 || *symbols > maxSymbols || *rate < 0 {
		fmt.Fprintf(os.Stderr, "ticker: -symbols must be 1..%d and -rate >= 0\n", maxSymbols)
		os.Exit(2)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	dir, err := findWebDir(*web)
	if err == nil {
		err = ensureWebDeps(dir, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ticker:", err)
		os.Exit(1)
	}
	srv := newServer(serverConfig{Symbols: *symbols, Rate: *rate, WebDir: dir, Logger: log})
	if err := srv.Listen(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "ticker:", err)
		os.Exit(1)
	}
	u := "http://" + browsable(srv.Addr())
	fmt.Printf("\nRiptide ticker: %d symbols, %.0f ticks/s. Open %s\n", *symbols, *rate, u)
	fmt.Printf("  measure it: go run ./examples/ticker -client -url %s -subs 20 -conns 100 -duration 10s\n", u)
	fmt.Printf("Ctrl-C stops it.\n\n")

	<-ctx.Done()
	fmt.Println("ticker: shutting down")
	if err := srv.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "ticker:", err)
	}
}

// browsable turns a listen address into one a browser can open: an
// unspecified host (":8081", "0.0.0.0:8081") becomes localhost.
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
