// Command server is Riptide's benchmark server: a real Riptide Socket.IO
// server with Node's defaults (riptide.Config{}: path /socket.io/, ping
// 25 s / 20 s) implementing the benchmark event contract of
// bench/README.md on namespace "/". Its Node.js twin, bench/node/server.js,
// implements the same contract on socket.io 4.8.
//
//	go run ./bench/server -addr 127.0.0.1:3000 [-loops N] [-reuseport] [-cpuprofile FILE] [-memprofile FILE] [-track-prepared]
//	    [-redis redis://127.0.0.1:6379/0 [-sharded] [-mode dynamic|static|dynamic-private]]
//
// With -redis the server joins a cluster through adapter/redis (the wire
// format of Node's @socket.io/redis-adapter; -sharded for its sharded
// adapter): broadcasts reach the clients of every node.
//
// SIGUSR2 prints the runtime's memory accounting to stderr. With
// -memprofile, every SIGUSR1 writes a heap profile (after a GC) to
// FILE: send it while the load generator holds its connections to see what
// an idle connection costs.
//
// It prints one line, "listening on ADDR", once it listens, and exits
// cleanly (srv.Close()) on SIGINT or SIGTERM.
//
// Events (the trailing ack is always optional):
//
//   - echo (...args, ack): ack(...args); without an ack, emit("echo", ...args).
//   - join (room, ack): join room, then ack().
//   - bcast (room, payload, ack): io.to(room).emit("msg", payload), then ack().
//   - bcast_burst ({room, count, payload_size}, ack): count messages "msg"
//     {seq, ts, data} to room, from a goroutine, then ack({sent, us});
//     a bad argument acks {error}.
//   - broadcast (...args, ack): socket.broadcast.emit("broadcast", ...args),
//     then ack().
//   - stats (ack): ack({rss, heapUsed, connections}).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/riptide-io/riptide"
	redisadapter "github.com/riptide-io/riptide/adapter/redis"
	"github.com/riptide-io/riptide/engine"
)

// main runs the server until SIGINT or SIGTERM.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run parses the flags, serves until ctx is done, then closes the server.
// The line "listening on ADDR" goes to stdout once the server listens.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:3000", "listen address (port 0 picks a free one)")
	loops := fs.Int("loops", 0, "number of event loops (0: one per core)")
	reusePort := fs.Bool("reuseport", false, "a listening socket per loop (engine.Server.ReusePort)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	memprofile := fs.String("memprofile", "", "write a heap profile to this file on each SIGUSR1")
	trackPrepared := fs.Bool("track-prepared", false, "count live message buffers for soak_stats (bench/cmd/soak); costs a shared counter per message")
	redisURL := fs.String("redis", "", "join a cluster through Redis at this URL (redis://host:port[/db])")
	sharded := fs.Bool("sharded", false, "with -redis: the sharded adapter (SPUBLISH/SSUBSCRIBE, Redis 7)")
	mode := fs.String("mode", "dynamic", "with -sharded: subscription mode dynamic|static|dynamic-private")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	engine.TrackPrepared(*trackPrepared)
	if *loops < 0 {
		return fmt.Errorf("-loops must be >= 0, got %d", *loops)
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	if *memprofile != "" {
		runtime.MemProfileRate = 1 // every allocation: per-connection costs are a few hundred bytes
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
		defer signal.Stop(usr1)
		go func() {
			for range usr1 {
				if err := writeHeapProfile(*memprofile); err != nil {
					fmt.Fprintln(os.Stderr, "server: -memprofile:", err)
				}
			}
		}()
	}

	// SIGUSR2 prints the Go runtime's memory accounting (RSS against heap,
	// GC metadata and the rest), without -memprofile's sampling cost.
	usr2 := make(chan os.Signal, 1)
	signal.Notify(usr2, syscall.SIGUSR2)
	defer signal.Stop(usr2)
	go func() {
		for range usr2 {
			printMemStats()
		}
	}()

	var adapter riptide.Adapter
	var ra *redisadapter.Adapter
	if *redisURL != "" {
		ro, err := goredis.ParseURL(*redisURL)
		if err != nil {
			return fmt.Errorf("-redis: %w", err)
		}
		client := goredis.NewClient(ro)
		defer client.Close()
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = client.Ping(ctx).Err()
		cancel()
		if err != nil {
			return fmt.Errorf("redis %s: %w", *redisURL, err)
		}
		opts := redisadapter.Options{Sharded: *sharded}
		switch *mode {
		case "dynamic":
		case "static":
			opts.SubscriptionMode = redisadapter.Static
		case "dynamic-private":
			opts.SubscriptionMode = redisadapter.DynamicPrivate
		default:
			return fmt.Errorf("-mode: want dynamic, static or dynamic-private, got %q", *mode)
		}
		ra = redisadapter.New(client, opts)
		adapter = ra
		defer func() { fmt.Fprintf(stdout, "redis adapter: %+v\n", ra.Stats()) }()
	}
	a := newApp(*loops, adapter)
	a.srv.Engine().ReusePort = *reusePort
	if ra != nil {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := ra.Ready(rctx) // subscribed before any client can connect
		cancel()
		if err != nil {
			return fmt.Errorf("redis subscriptions: %w", err)
		}
	}
	// Settle the heap before serving: collect the garbage of package
	// initialisation and give its pages back, so that the baseline the
	// conns scenario subtracts holds neither the first GC cycle's one-time
	// costs nor free pages the first connections would reuse unseen
	// (without it, 1k connections measured ~2.2 KB each and 10k ~1.0 KB;
	// with a GC alone, free pages made 1k look like 0.5–0.8 KB).
	debug.FreeOSMemory()
	if err := a.srv.Listen(*addr); err != nil {
		return fmt.Errorf("listen %s: %w", *addr, err)
	}
	fmt.Fprintf(stdout, "listening on %s\n", a.srv.Addr())
	select {
	case <-ctx.Done():
	case <-a.srv.Engine().Stopped():
		// gnet stopped by itself: exit with why, not linger refusing
		// every connection.
		err := a.srv.Engine().Err()
		_ = a.close()
		return err
	}
	return a.close()
}

// writeHeapProfile writes the heap profile of what is live after a GC.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	printMemStats()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// printMemStats writes the runtime's memory accounting to stderr.
func printMemStats() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "server: memory: rss %d, heap alloc %d, inuse %d, idle %d, released %d, stacks %d, mspan %d, gc sys %d, other sys %d, sys %d, gc cycles %d\n",
		rss(), ms.HeapAlloc, ms.HeapInuse, ms.HeapIdle, ms.HeapReleased, ms.StackInuse, ms.MSpanInuse, ms.GCSys, ms.OtherSys, ms.Sys, ms.NumGC)
}
