package main

import (
	"context"
	"embed"
	"errors"
	"github.com/riptide-io/riptide/internal/webdeps"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/riptide-io/riptide"
)

// The protocol between clients (the page, the Go client mode) and the server.
//
// Server to client:
//
//	"market" {symbols: [quote...], rate}   once, on connection: what can be subscribed
//	"tick"   {sym, px, ts}                 volatile, to the room "sym:<SYM>" of each symbol
//
// Client to server, each acknowledged when the client asks for it:
//
//	"subscribe"   "AAPL" | ["AAPL", ...]  -> {ok, subscribed: [...], quotes: [quote...], unknown: [...]}
//	"unsubscribe" "AAPL" | ["AAPL", ...]  -> {ok, subscribed: [...]}
//	"order"       {sym, side, qty}        -> {ok:true, id, sym, side, qty, px, ts} | {ok:false, error}
//
// ts are Unix milliseconds with a microsecond fraction, so that now − ts is
// the tick's latency (on one machine, or with synchronized clocks).

// roomPrefix names the room of a symbol's subscribers: "sym:AAPL".
const roomPrefix = "sym:"

// serverConfig configures newServer.
type serverConfig struct {
	Symbols int     // number of symbols, 1..maxSymbols
	Rate    float64 // ticks per second, all symbols together
	Seed    uint64  // of the random walk; 0 picks one
	// WebDir is the folder of the page's package.json, where node_modules
	// holds socket.io-client's browser bundle. Empty: the page is still
	// served but /socket.io.min.js answers 404 (fine for Go clients).
	WebDir string
	Logger *slog.Logger
}

// tickerServer is the Socket.IO server, its market and the feed goroutine.
type tickerServer struct {
	*riptide.Server
	mkt  *market
	log  *slog.Logger
	stop context.CancelFunc
	done chan struct{}
}

// newServer builds the ticker: Socket.IO at /socket.io/ and, through the
// engine's Fallback handler, the page. Listen starts it and the feed; Close
// stops both.
func newServer(cfg serverConfig) *tickerServer {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	cfg.Symbols = min(max(cfg.Symbols, 1), maxSymbols)
	ts := &tickerServer{
		Server: riptide.New(riptide.Config{}),
		mkt:    newMarket(cfg.Symbols, cfg.Rate, cfg.Seed),
		log:    cfg.Logger,
	}
	ts.OnConnection(ts.register)
	ts.Engine().Fallback = pageHandler(cfg.WebDir)
	return ts
}

// Listen serves on addr and starts the feed.
func (ts *tickerServer) Listen(addr string) error {
	if err := ts.Server.Listen(addr); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts.stop, ts.done = cancel, make(chan struct{})
	go func() {
		defer close(ts.done)
		// The whole fan-out: one volatile broadcast per tick, to the
		// symbol's room. A subscriber that cannot take it right now (its
		// previous data still unsent) skips it instead of falling behind.
		rooms := make(map[string]riptide.BroadcastOperator, len(ts.mkt.syms))
		for _, s := range ts.mkt.syms {
			rooms[s.Name] = ts.To(roomPrefix + s.Name).Volatile()
		}
		ts.mkt.run(ctx, func(t tick) {
			if err := rooms[t.Sym].Emit("tick", t); err != nil && !errors.Is(err, riptide.ErrClosed) {
				ts.log.Warn("tick", "sym", t.Sym, "err", err)
			}
		})
	}()
	return nil
}

// Close stops the feed, then the server.
func (ts *tickerServer) Close() error {
	if ts.stop != nil {
		ts.stop()
		<-ts.done
	}
	return ts.Server.Close()
}

type marketInfo struct {
	Symbols []quote `json:"symbols"`
	Rate    float64 `json:"rate"`
}

type subscribed struct {
	OK         bool     `json:"ok"`
	Subscribed []string `json:"subscribed"`
	Quotes     []quote  `json:"quotes,omitempty"`
	Unknown    []string `json:"unknown,omitempty"`
}

type failure struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// register wires one socket. Every handler runs on the socket's event loop
// and does nothing that blocks: prices are read lock-free, Join and Leave
// are local bitmap updates.
func (ts *tickerServer) register(s *riptide.Socket) {
	info := marketInfo{Rate: ts.mkt.rate, Symbols: make([]quote, len(ts.mkt.syms))}
	for i, sym := range ts.mkt.syms {
		info.Symbols[i] = sym.quote()
	}
	_ = s.Emit("market", info)

	s.On("subscribe", func(args riptide.Args, ack riptide.Ack) {
		names, err := symbolArgs(args)
		if err != nil {
			reply(ack, failure{Error: err.Error()})
			return
		}
		res := subscribed{OK: true, Quotes: []quote{}}
		var rooms []string
		for _, n := range names {
			sym := ts.mkt.bySym[n]
			if sym == nil {
				res.Unknown = append(res.Unknown, n)
				continue
			}
			rooms = append(rooms, roomPrefix+n)
			res.Quotes = append(res.Quotes, sym.quote())
		}
		s.Join(rooms...)
		res.Subscribed = subscriptions(s)
		reply(ack, res)
	})

	s.On("unsubscribe", func(args riptide.Args, ack riptide.Ack) {
		names, err := symbolArgs(args)
		if err != nil {
			reply(ack, failure{Error: err.Error()})
			return
		}
		for _, n := range names {
			s.Leave(roomPrefix + n)
		}
		reply(ack, subscribed{OK: true, Subscribed: subscriptions(s)})
	})

	s.On("order", func(args riptide.Args, ack riptide.Ack) {
		var o order
		if err := args.Decode(0, &o); err != nil {
			reply(ack, failure{Error: "order must be {sym, side, qty}"})
			return
		}
		o.Sym = strings.ToUpper(strings.TrimSpace(o.Sym))
		f, err := ts.mkt.fill(o)
		if err != nil {
			reply(ack, failure{Error: err.Error()})
			return
		}
		ts.log.Debug("order", "socket", s.ID(), "id", f.ID, "sym", f.Sym, "side", f.Side, "qty", f.Qty, "px", f.Px)
		reply(ack, f)
	})
}

func reply(ack riptide.Ack, v any) {
	if ack != nil {
		ack(v)
	}
}

// maxSymbolArgs bounds one subscribe or unsubscribe.
const maxSymbolArgs = maxSymbols

// symbolArgs reads a symbol or a list of symbols, upper-cased.
func symbolArgs(args riptide.Args) ([]string, error) {
	var names []string
	if one, err := riptide.Arg[string](args, 0); err == nil {
		names = []string{one}
	} else if err := args.Decode(0, &names); err != nil {
		return nil, errors.New(`expected a symbol or a list of symbols: "AAPL" or ["AAPL", "MSFT"]`)
	}
	if len(names) > maxSymbolArgs {
		return nil, errors.New("too many symbols")
	}
	for i, n := range names {
		names[i] = strings.ToUpper(strings.TrimSpace(n))
	}
	return names, nil
}

// subscriptions lists the symbols a socket is subscribed to, sorted.
func subscriptions(s *riptide.Socket) []string {
	out := []string{}
	for _, r := range s.Rooms() {
		if sym, ok := strings.CutPrefix(r, roomPrefix); ok {
			out = append(out, sym)
		}
	}
	slices.Sort(out)
	return out
}

//go:embed web/static
var static embed.FS

// pageHandler serves the page and socket.io-client's browser bundle
// (internal/webdeps).
func pageHandler(webDir string) http.Handler { return webdeps.PageHandler(static, webDir) }
