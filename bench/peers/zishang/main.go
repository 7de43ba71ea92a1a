// Command zishang is a benchmark peer of Riptide: the benchmark event
// contract of bench/README.md (the same as bench/server and
// bench/node/server.js) on github.com/zishang520/socket.io v3, the Go port
// of Node's socket.io, with its default options (path /socket.io/, ping
// 25 s / 20 s, maxHttpBufferSize 1e6, polling and WebSocket).
//
//	go run . -addr 127.0.0.1:3000
//
// It prints one line, "listening on ADDR", once it listens, and exits
// cleanly on SIGINT or SIGTERM.
//
// Events on "/" (the trailing ack is always optional):
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
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
)

// Limits of bcast_burst's arguments (those of bench/server and the Node
// twin).
const (
	maxBurstCount   = 10_000_000
	maxPayloadSize  = 1_000_000
	burstCheckEvery = 1024 // messages between two checks for shutdown
)

// Error messages acknowledged for bad arguments, word for word those of
// bench/server and the Node twin.
var (
	errBurstArg   = errors.New("argument must be an object {room, count, payload_size}")
	errRoom       = errors.New("room must be a string")
	errBurstCount = fmt.Errorf("count must be an integer in [0, %d]", maxBurstCount)
	errBurstSize  = fmt.Errorf("payload_size must be an integer in [0, %d]", maxPayloadSize)
)

// main runs the server until SIGINT or SIGTERM.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "zishang:", err)
		os.Exit(1)
	}
}

// run parses the flags, serves until ctx is done, then closes the server.
// The line "listening on ADDR" goes to stdout once the server listens.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("zishang", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:3000", "listen address (port 0 picks a free one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}

	a := newApp()
	if err := a.listen(*addr); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening on %s\n", a.addr())
	<-ctx.Done()
	return a.close()
}

// app is the benchmark server: a zishang520 socket.io server with the
// contract's handlers on "/", served by net/http, and the bursts running on
// their own goroutines.
type app struct {
	io   *socket.Server
	http *http.Server
	ln   net.Listener

	served chan error // Serve's result

	// ctx is cancelled by close: running bursts stop early.
	ctx    context.Context
	cancel context.CancelFunc
	// mu orders starting a burst (bursts.Add) before close's bursts.Wait:
	// once ctx is cancelled, no burst starts.
	mu     sync.Mutex
	bursts sync.WaitGroup
}

// newApp builds the socket.io server with its default options and the
// contract's handlers. Call listen, then close.
func newApp() *app {
	a := &app{io: socket.NewServer(nil, nil)}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	_ = a.io.On("connection", func(clients ...any) {
		a.register(clients[0].(*socket.Socket))
	})
	return a
}

// listen serves the socket.io handler (the library's "standard HTTP server"
// integration) on addr, path /socket.io/. Listening on our own net.Listener
// rather than through io.Listen(addr) gives the chosen address (port 0)
// and a listen error as an error instead of a panic on another goroutine.
func (a *app) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", a.io.ServeHandler(nil))
	a.ln = ln
	a.http = &http.Server{Handler: mux}
	a.served = make(chan error, 1)
	go func() { a.served <- a.http.Serve(ln) }()
	return nil
}

// addr is the address the server listens on.
func (a *app) addr() string { return a.ln.Addr().String() }

// close stops the running bursts and waits for them, closes the socket.io
// server (every client is disconnected with "server shutting down"), then
// shuts the HTTP server down.
func (a *app) close() error {
	a.mu.Lock()
	a.cancel()
	a.mu.Unlock()
	a.bursts.Wait()

	a.io.Close(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := a.http.Shutdown(ctx)
	if serr := <-a.served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// register installs the contract's event handlers on a new socket of "/".
// Each handler receives the event's arguments, the client's ack callback
// (a socket.Ack) last when the client asked for one.
func (a *app) register(s *socket.Socket) {
	_ = s.On("echo", func(args ...any) { handleEcho(s, args) })
	_ = s.On("join", func(args ...any) { handleJoin(s, args) })
	_ = s.On("bcast", func(args ...any) { a.handleBcast(args) })
	_ = s.On("bcast_burst", func(args ...any) { a.handleBurst(args) })
	_ = s.On("broadcast", func(args ...any) { handleBroadcast(s, args) })
	_ = s.On("stats", func(args ...any) { a.handleStats(args) })
}

// splitAck splits an event's arguments into the client's arguments and its
// ack callback (nil when the client asked for none).
func splitAck(args []any) ([]any, socket.Ack) {
	if n := len(args); n > 0 {
		if ack, ok := args[n-1].(socket.Ack); ok {
			return args[:n-1], ack
		}
	}
	return args, nil
}

// handleEcho answers echo: ack(...args), or emit("echo", ...args) when the
// client asked for no ack.
func handleEcho(s *socket.Socket, raw []any) {
	args, ack := splitAck(raw)
	if ack != nil {
		ack(args, nil)
		return
	}
	_ = s.Emit("echo", args...)
}

// handleJoin answers join(room): the socket joins room, then ack().
func handleJoin(s *socket.Socket, raw []any) {
	args, ack := splitAck(raw)
	room, ok := roomArg(args)
	if !ok {
		ackError(ack, errRoom)
		return
	}
	s.Join(socket.Room(room))
	if ack != nil {
		ack([]any{}, nil)
	}
}

// handleBcast answers bcast(room, payload): io.to(room).emit("msg",
// payload) — the sender too receives it if it is in room — then ack().
func (a *app) handleBcast(raw []any) {
	args, ack := splitAck(raw)
	room, ok := roomArg(args)
	if !ok {
		ackError(ack, errRoom)
		return
	}
	var payload any // a missing payload is sent as null, as Node's undefined
	if len(args) > 1 {
		payload = args[1]
	}
	_ = a.io.To(socket.Room(room)).Emit("msg", payload)
	if ack != nil {
		ack([]any{}, nil)
	}
}

// handleBroadcast answers broadcast(...args): socket.broadcast.emit(
// "broadcast", ...args) to every other socket of "/", then ack().
func handleBroadcast(s *socket.Socket, raw []any) {
	args, ack := splitAck(raw)
	_ = s.Broadcast().Emit("broadcast", args...)
	if ack != nil {
		ack([]any{}, nil)
	}
}

// handleStats answers stats with ack({rss, heapUsed, connections}).
func (a *app) handleStats(raw []any) {
	_, ack := splitAck(raw)
	if ack == nil {
		return
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	ack([]any{map[string]any{
		"rss":         rss(),
		"heapUsed":    ms.HeapInuse,
		"connections": a.io.Sockets().Sockets().Len(),
	}}, nil)
}

// handleBurst validates bcast_burst's argument and runs the burst on its
// own goroutine (a handler holds its socket's event queue). A bad argument
// is acknowledged with {error}.
func (a *app) handleBurst(raw []any) {
	args, ack := splitAck(raw)
	var arg any
	if len(args) > 0 {
		arg = args[0]
	}
	b, err := parseBurst(arg)
	if err != nil {
		ackError(ack, err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx.Err() != nil {
		return // closing: the client is about to be disconnected
	}
	a.bursts.Add(1)
	go func() {
		defer a.bursts.Done()
		sent, d := a.burst(b)
		if ack != nil {
			ack([]any{map[string]any{"sent": sent, "us": d.Microseconds()}}, nil)
		}
	}()
}

// burstArgs is bcast_burst's validated argument.
type burstArgs struct {
	room        string
	count       int
	payloadSize int
}

// parseBurst validates bcast_burst's argument {room, count, payload_size},
// as decoded by the library (a JSON object is a map[string]any, a number a
// float64; nil when missing). The checks run in the Node twin's order, with
// its messages.
func parseBurst(arg any) (burstArgs, error) {
	obj, ok := arg.(map[string]any)
	if !ok {
		return burstArgs{}, errBurstArg
	}
	var b burstArgs
	if b.room, ok = obj["room"].(string); !ok {
		return burstArgs{}, errRoom
	}
	if b.count, ok = intArg(obj["count"], maxBurstCount); !ok {
		return burstArgs{}, errBurstCount
	}
	if b.payloadSize, ok = intArg(obj["payload_size"], maxPayloadSize); !ok {
		return burstArgs{}, errBurstSize
	}
	return b, nil
}

// intArg reports whether v is a number holding an integer in [0, max], as
// JavaScript's Number.isInteger(v) && v >= 0 && v <= max sees it.
func intArg(v any, max int) (int, bool) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || f < 0 || f > float64(max) {
		return 0, false
	}
	return int(f), true
}

// burstMsg is one message of a burst.
type burstMsg struct {
	Seq  int    `json:"seq"`
	TS   int64  `json:"ts"` // send time, µs since the Unix epoch
	Data string `json:"data"`
}

// burst emits b.count messages "msg" {seq, ts, data} to b.room, in order,
// and returns how many it sent and how long that took. It stops early when
// the app closes.
func (a *app) burst(b burstArgs) (sent int, d time.Duration) {
	data := strings.Repeat("x", b.payloadSize)
	op := a.io.To(socket.Room(b.room))
	start := time.Now()
	for seq := 0; seq < b.count; seq++ {
		if seq%burstCheckEvery == 0 && a.ctx.Err() != nil {
			break
		}
		if err := op.Emit("msg", burstMsg{Seq: seq, TS: time.Now().UnixMicro(), Data: data}); err != nil {
			break
		}
		sent++
	}
	return sent, time.Since(start)
}

// roomArg returns the first argument, a room name: it must be a string
// (null, a number or a missing argument is refused, as in the Node twin).
func roomArg(args []any) (string, bool) {
	if len(args) == 0 {
		return "", false
	}
	room, ok := args[0].(string)
	return room, ok
}

// ackError acknowledges {error: err}, when the client asked for an ack.
func ackError(ack socket.Ack, err error) {
	if ack != nil {
		ack([]any{map[string]any{"error": err.Error()}}, nil)
	}
}

// rss is the process's resident set size in bytes, from /proc/self/statm
// (0 where there is none).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
