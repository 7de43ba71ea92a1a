package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/riptide-io/riptide/engine"
	"math"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/riptide-io/riptide"
	redisadapter "github.com/riptide-io/riptide/adapter/redis"
)

// Limits of bcast_burst's arguments (the Node twin has the same).
const (
	maxBurstCount   = 10_000_000
	maxPayloadSize  = 1_000_000
	burstCheckEvery = 1024 // messages between two checks for shutdown
)

// Error messages acknowledged for bad arguments, word for word those of the
// Node twin (bench/node/server.js).
var (
	errBurstArg   = errors.New("argument must be an object {room, count, payload_size}")
	errRoom       = errors.New("room must be a string")
	errBurstCount = fmt.Errorf("count must be an integer in [0, %d]", maxBurstCount)
	errBurstSize  = fmt.Errorf("payload_size must be an integer in [0, %d]", maxPayloadSize)
)

// app is the benchmark server: a Riptide server with the contract's handlers
// on "/", and the bursts running on their own goroutines.
type app struct {
	srv *riptide.Server

	// ctx is cancelled by close: running bursts stop early.
	ctx    context.Context
	cancel context.CancelFunc
	// mu orders starting a burst (bursts.Add) before close's bursts.Wait:
	// once ctx is cancelled, no burst starts.
	mu sync.Mutex
	// bursts counts the running burst goroutines.
	bursts sync.WaitGroup
	// redis is the cluster adapter (-redis), nil without one: stats
	// reports its counters.
	redis *redisadapter.Adapter
}

// newApp builds the server with Node's defaults (riptide.Config{}) and the
// contract's handlers. loops is the number of event loops (0: one per
// core). Call Listen on a.srv, then close.
func newApp(loops int, adapter riptide.Adapter) *app {
	// Node's defaults, except the slow-consumer cap: Node has none, and the
	// contract's bursts ("none dropped") may queue far more than 1 MiB for a
	// receiver that reads slower than the server emits. 256 MiB keeps memory
	// bounded while never cutting a benchmark receiver.
	a := &app{srv: riptide.New(riptide.Config{MaxBufferedBytes: 256 << 20, Adapter: adapter})}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.redis, _ = adapter.(*redisadapter.Adapter)
	a.srv.Engine().NumLoops = loops
	a.register()
	return a
}

// close stops the running bursts, waits for them, then closes the server
// (every client is disconnected with "server shutting down").
func (a *app) close() error {
	a.mu.Lock()
	a.cancel()
	a.mu.Unlock()
	a.bursts.Wait()
	return a.srv.Close()
}

// register installs the contract's event handlers on "/", once for every
// socket (Server.OnEvent): an idle connection pays for no closures.
func (a *app) register() {
	a.srv.OnEvent("echo", func(s *riptide.Socket, args riptide.Args, ack riptide.Ack) { handleEcho(s, args, ack) })
	a.srv.OnEvent("join", func(s *riptide.Socket, args riptide.Args, ack riptide.Ack) { handleJoin(s, args, ack) })
	a.srv.OnEvent("bcast", func(_ *riptide.Socket, args riptide.Args, ack riptide.Ack) { a.handleBcast(args, ack) })
	a.srv.OnEvent("bcast_burst", func(_ *riptide.Socket, args riptide.Args, ack riptide.Ack) { a.handleBurst(args, ack) })
	a.srv.OnEvent("broadcast", func(s *riptide.Socket, args riptide.Args, ack riptide.Ack) { handleBroadcast(s, args, ack) })
	a.srv.OnEvent("stats", func(_ *riptide.Socket, _ riptide.Args, ack riptide.Ack) { a.handleStats(ack) })
	// Beyond the contract, for bench/cmd/soak: leaks show here first.
	a.srv.OnEvent("soak_stats", func(_ *riptide.Socket, _ riptide.Args, ack riptide.Ack) {
		if ack == nil {
			return
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		ack(map[string]any{
			"rss": rss(), "heapUsed": ms.HeapInuse, "connections": a.srv.Sockets().Len(),
			"goroutines": runtime.NumGoroutine(), "sessions": a.srv.Metrics().Sessions,
			"livePrepared": engine.LivePrepared(),
		})
	})
}

// handleEcho answers echo: ack(...args), or emit("echo", ...args) when the
// client asked for no ack.
func handleEcho(s *riptide.Socket, args riptide.Args, ack riptide.Ack) {
	vals, err := passArgs(args, 0)
	if err != nil {
		return
	}
	if ack != nil {
		ack(vals...)
		return
	}
	_ = s.Emit("echo", vals...)
}

// handleJoin answers join(room): the socket joins room, then ack().
func handleJoin(s *riptide.Socket, args riptide.Args, ack riptide.Ack) {
	room, err := roomArg(args)
	if err != nil {
		ackError(ack, err)
		return
	}
	s.Join(room)
	if ack != nil {
		ack()
	}
}

// handleBcast answers bcast(room, payload): io.to(room).emit("msg",
// payload) — the sender too receives it if it is in room — then ack().
func (a *app) handleBcast(args riptide.Args, ack riptide.Ack) {
	room, err := roomArg(args)
	if err != nil {
		ackError(ack, err)
		return
	}
	var payload any // a missing payload is sent as null, as Node's undefined
	if args.Len() > 1 {
		vals, err := passArgs(args, 1)
		if err != nil {
			return
		}
		payload = vals[0]
	}
	_ = a.srv.To(room).Emit("msg", payload)
	if ack != nil {
		ack()
	}
}

// handleBroadcast answers broadcast(...args): socket.broadcast.emit(
// "broadcast", ...args) to every other socket of "/", then ack().
func handleBroadcast(s *riptide.Socket, args riptide.Args, ack riptide.Ack) {
	vals, err := passArgs(args, 0)
	if err != nil {
		return
	}
	_ = s.Broadcast().Emit("broadcast", vals...)
	if ack != nil {
		ack()
	}
}

// handleStats answers stats with ack({rss, heapUsed, connections}), and
// in a cluster redis: {published, received, ignored, dropped, malformed}
// (the adapter's Stats, as the Node twin reports its adapter's).
func (a *app) handleStats(ack riptide.Ack) {
	if ack == nil {
		return
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := map[string]any{
		"rss":         rss(),
		"heapUsed":    ms.HeapInuse,
		"connections": a.srv.Sockets().Len(),
	}
	if a.redis != nil {
		rs := a.redis.Stats()
		st["redis"] = map[string]any{
			"published": rs.Published, "received": rs.Received, "ignored": rs.Ignored,
			"dropped": rs.PublishDropped, "malformed": rs.Malformed,
		}
	}
	ack(st)
}

// handleBurst validates bcast_burst's argument and starts the burst on its
// own goroutine: the handler runs on an event loop and must not block. A bad
// argument is acknowledged with {error}.
func (a *app) handleBurst(args riptide.Args, ack riptide.Ack) {
	var raw []byte
	if args.Len() > 0 {
		raw = args.Raw(0)
	}
	b, err := parseBurst(raw)
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
			ack(map[string]any{"sent": sent, "us": d.Microseconds()})
		}
	}()
}

// burstArgs is bcast_burst's validated argument.
type burstArgs struct {
	room        string
	count       int
	payloadSize int
}

// parseBurst validates bcast_burst's argument {room, count, payload_size}
// (raw JSON, nil when missing): an object whose room is a string and whose
// count and payload_size are integers (1000, 1e3 and 1000.0 alike) within
// the limits. The checks run in the Node twin's order, with its messages.
func parseBurst(raw []byte) (burstArgs, error) {
	raw = bytes.TrimSpace(raw)
	var obj map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &obj) != nil || obj == nil {
		return burstArgs{}, errBurstArg
	}
	var b burstArgs
	if r := obj["room"]; len(r) == 0 || r[0] != '"' || json.Unmarshal(r, &b.room) != nil {
		return burstArgs{}, errRoom
	}
	var ok bool
	if b.count, ok = jsonInt(obj["count"], maxBurstCount); !ok {
		return burstArgs{}, errBurstCount
	}
	if b.payloadSize, ok = jsonInt(obj["payload_size"], maxPayloadSize); !ok {
		return burstArgs{}, errBurstSize
	}
	return b, nil
}

// jsonInt decodes a JSON number that holds an integer in [0, max], as
// JavaScript's Number.isInteger(v) && v >= 0 && v <= max sees it.
func jsonInt(raw json.RawMessage, max int) (int, bool) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false // missing, string, null, bool, object, array
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f > float64(max) {
		return 0, false
	}
	return int(f), true
}

// burstHeadroom is the space reserved in front of a burst message's data
// for its `{"seq":N,"ts":T,"data":"` head (at most 47 bytes).
const burstHeadroom = 64

// burst emits b.count messages "msg" with {seq, ts, data} to b.room, in
// order and as fast as the loops take them, and returns how many it sent
// and how long that took. It stops early when the app closes.
//
// Every message is a riptide.RawJSON built in one reused buffer: data and
// the closing `"}` are written once at the end of the buffer, and each
// message writes only its head, right-aligned against data. Emit encodes
// (copies) the RawJSON before it returns, so the buffer can be reused.
func (a *app) burst(b burstArgs) (sent int, d time.Duration) {
	buf := make([]byte, burstHeadroom+b.payloadSize+2)
	tail := buf[burstHeadroom:]
	for i := range b.payloadSize {
		tail[i] = 'x'
	}
	copy(tail[b.payloadSize:], `"}`)
	var head [burstHeadroom]byte
	op := a.srv.To(b.room)
	start := time.Now()
	for seq := 0; seq < b.count; seq++ {
		if seq%burstCheckEvery == 0 && a.ctx.Err() != nil {
			break
		}
		h := append(head[:0], `{"seq":`...)
		h = strconv.AppendInt(h, int64(seq), 10)
		h = append(h, `,"ts":`...)
		h = strconv.AppendInt(h, time.Now().UnixMicro(), 10)
		h = append(h, `,"data":"`...)
		off := burstHeadroom - len(h)
		copy(buf[off:], h)
		if err := op.Emit("msg", riptide.RawJSON(buf[off:])); err != nil {
			break
		}
		sent++
	}
	return sent, time.Since(start)
}

// passArgs returns args[from:] ready to be sent again: each argument is
// passed through verbatim as riptide.RawJSON, except when the packet carries
// binary attachments (placeholders), which are decoded so that the
// attachments travel again as binary. The result borrows args: send it
// before the handler returns.
func passArgs(args riptide.Args, from int) ([]any, error) {
	n := args.Len() - from
	if n <= 0 {
		return nil, nil
	}
	out := make([]any, n)
	for i := range n {
		raw := args.Raw(from + i)
		if bytes.Contains(raw, []byte(`"_placeholder"`)) {
			all, err := args.Values()
			if err != nil {
				return nil, err
			}
			return all[from:], nil
		}
		out[i] = riptide.RawJSON(raw)
	}
	return out, nil
}

// roomArg decodes the first argument, a room name: it must be a JSON string
// (null, a number or a missing argument is errRoom, as in the Node twin).
func roomArg(args riptide.Args) (string, error) {
	if args.Len() == 0 {
		return "", errRoom
	}
	raw := bytes.TrimSpace(args.Raw(0))
	var room string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &room) != nil {
		return "", errRoom
	}
	return room, nil
}

// ackError acknowledges {error: err}, when the client asked for an ack.
func ackError(ack riptide.Ack, err error) {
	if ack != nil {
		ack(map[string]any{"error": err.Error()})
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
