// Command ceiling is the "bare batched WebSocket" server of issue #4: the
// best fan-out a small hand-written Go server can do, to measure Riptide's
// fan-out against on the same machine and run. It is a yardstick, not a
// product.
//
//	go run ./bench/ceiling -addr 127.0.0.1:3000 [-workers N] [-batch BYTES] [-fill] [-cpuprofile FILE]
//
// Like bench/server it prints one line, "listening on ADDR", once it
// listens (-addr 127.0.0.1:0 picks a free port), and exits 0 on SIGINT or
// SIGTERM.
//
// # What it speaks
//
// Just enough Engine.IO v4 / Socket.IO v5 over WebSocket for bench/client
// and the load generator's fanout scenario (bench/loadgen) to run
// unchanged:
//
//   - GET /socket.io/?EIO=4&transport=websocket upgraded straight to
//     WebSocket (gobwas/ws), then the Engine.IO OPEN
//     0{"sid","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000};
//   - Socket.IO CONNECT to "/" answered 40{"sid"};
//   - the contract events of bench/README.md that the fanout scenario and
//     the generator's setup use: join (room, ack), bcast_burst
//     ({room, count, payload_size}, ack) with the contract's validation and
//     error messages, stats (ack) and, for tests, echo. Any other event with
//     an ack is answered {error: "unsupported event"}.
//
// Not there, on purpose: polling, namespaces other than "/", binary
// packets, fragmented frames, compression, middleware, Engine.IO heartbeats
// (it never sends a ping, so it never times a client out: bench/client
// answers pings but does not expect them; a real socket.io-client would
// give up after pingInterval+pingTimeout), and any bound on a slow
// receiver's queue. Rooms are one map under one mutex: fine for joins,
// never touched per message.
//
// # The broadcast path
//
// A bcast_burst runs on its own goroutine. It snapshots the room's members
// once and splits them into one contiguous share per worker (-workers,
// default GOMAXPROCS). It encodes each message once, WebSocket header and
// Socket.IO packet together (`\x81 len 42["msg",{"seq":N,"ts":T,"data":"x…"}]`),
// appending it to the current batch: one plain byte slice shared by every
// receiver. A batch is handed to the workers when they all wait for work,
// or when it reaches -batch bytes (default 64 KiB): while the workers write
// one batch, the next gathers whatever the burst produced meanwhile, as an
// event loop writes what accumulated during its last turn. The first
// message of a burst therefore leaves alone, and the rest follows in as few
// batches as the workers' pace allows. Each worker writes the whole batch
// to each of its receivers with a single write(2): no copy per receiver,
// one system call per receiver per batch. With -fill a batch leaves only
// when full or at the burst's end: the bound for a server that knows the
// whole burst in advance (at 10k receivers it nearly halves the server's
// CPU per delivery, 0.24 to 0.135 µs: a 150-byte write costs about as much
// as a 30 KB one, most of it the loopback stack waking the receiver).
//
// The write is tried directly on the non-blocking socket, holding only that
// connection's mutex. When the kernel takes less than all of it (the
// receiver's socket buffer is full), the rest is queued, by reference, on
// the connection, and a goroutine drains that queue with writev(2) (Go's
// net.Buffers) through the netpoller; later batches for that connection
// join the queue, so order holds. Batches are never reused (a queued batch
// may live on), so each costs one allocation that the GC frees.
//
// The burst acknowledges {sent, us} once every batch was written or queued
// for every receiver: on a connection that is in the room, every msg is
// ahead of the ack, as the contract requires.
//
// # Comparing with Riptide
//
// Start a fresh process of each per run and point the generator at each in
// turn, alternating (on a shared machine, compare medians of several
// pairs):
//
//	go build -o /tmp/ceiling ./bench/ceiling && go build -o /tmp/riptide ./bench/server && go build -o /tmp/loadgen ./bench/cmd/loadgen
//	/tmp/ceiling -addr 127.0.0.1:0    # prints listening on ADDR; note its pid
//	/tmp/loadgen -scenario fanout -url http://ADDR -server-pid PID -n 10000 -rooms 1 -count 200 -payload 100 -idle-timeout 20s -local 127.0.0.2
//
// and the same with /tmp/riptide. Only the fanout scenario means anything
// here (the others may run, but the ceiling says nothing about them). On a
// 2-core machine the generator and the server share the cores, and the
// generator needs 0.3 (1k receivers) to 0.55 µs (10k) of CPU per delivery
// against the ceiling's 0.1 to 0.25: the ceiling's rate is mostly the
// generator's limit, so Riptide ÷ ceiling there is about
// (client + ceiling CPU) ÷ (client + Riptide CPU) per delivery.
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
	"runtime/pprof"
	"syscall"
)

// main runs the server until SIGINT or SIGTERM.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
}

// run parses the flags, serves until ctx is done, then closes the server.
// The line "listening on ADDR" goes to stdout once the server listens.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ceiling", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:3000", "listen address (port 0 picks a free one)")
	workers := fs.Int("workers", 0, "broadcast writer goroutines (0: GOMAXPROCS)")
	batch := fs.Int("batch", defaultBatch, "largest batch of frames written to a receiver at once, in bytes")
	fill := fs.Bool("fill", false, "hand a batch to the writers only when it holds -batch bytes or the burst ended,\n"+
		"not as soon as they are free (a server that knows the whole burst in advance)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if *workers < 0 || *batch <= 0 {
		return fmt.Errorf("-workers must be >= 0 and -batch > 0")
	}
	if *workers == 0 {
		*workers = runtime.GOMAXPROCS(0)
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
	s, err := listen(*addr, *workers, *batch, *fill)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening on %s\n", s.Addr())
	<-ctx.Done()
	s.Close()
	return nil
}
