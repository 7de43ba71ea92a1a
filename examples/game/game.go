package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"github.com/riptide-io/riptide/internal/webdeps"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/riptide-io/riptide"
)

// The protocol between the page (web/static/app.js) and the server.
//
// Client to server:
//
//	"join"  {room, name}               -> welcome | {ok:false, error}   (acknowledged)
//	"input" {up, down, left, right}       the keys held now; sent when they change
//
// Server to client:
//
//	"state" state   30 times a second, volatile, to the room "game:<room>":
//	                every player's position and score, and the coin
//
// The server is authoritative: clients only say which keys they hold; the
// loop integrates positions at a fixed 30 Hz step, resolves pickups and
// broadcasts the result to every game's room.

// Rules and limits.
const (
	tickRate     = 30
	arenaW       = 960
	arenaH       = 540
	playerRadius = 16
	coinRadius   = 10
	speed        = 240.0 // pixels per second
	maxPlayers   = 12    // per game
	maxGames     = 100
	maxNameRunes = 16
	maxRoomRunes = 24
	defaultRoom  = "arena"
	roomPrefix   = "game:"
)

// Input bits.
const (
	keyUp = 1 << iota
	keyDown
	keyLeft
	keyRight
)

var palette = []string{
	"#f97316", "#22c55e", "#3b82f6", "#e11d48", "#a855f7", "#eab308",
	"#14b8a6", "#ec4899", "#84cc16", "#06b6d4", "#f43f5e", "#8b5cf6",
}

type player struct {
	ID    string
	Name  string
	Color string
	x, y  float64
	score int
	input atomic.Uint32 // written by the socket's handler, read by the loop
	game  *game         // under world.mu
}

type game struct {
	name    string
	players []*player // join order
	coin    point
	tick    uint64
	rng     *rand.Rand
	room    riptide.BroadcastOperator
}

type point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// What the clients receive.
type (
	state struct {
		Tick    uint64        `json:"tick"`
		TS      int64         `json:"ts"` // Unix milliseconds
		Players []playerState `json:"players"`
		Coin    point         `json:"coin"`
	}
	playerState struct {
		ID    string  `json:"id"`
		Name  string  `json:"name"`
		Color string  `json:"color"`
		X     float64 `json:"x"`
		Y     float64 `json:"y"`
		Score int     `json:"score"`
	}
	welcome struct {
		OK       bool   `json:"ok"`
		ID       string `json:"id"`
		Name     string `json:"name"`
		Room     string `json:"room"`
		Color    string `json:"color"`
		Arena    arena  `json:"arena"`
		TickRate int    `json:"tickRate"`
	}
	arena struct {
		W            int `json:"w"`
		H            int `json:"h"`
		PlayerRadius int `json:"playerRadius"`
		CoinRadius   int `json:"coinRadius"`
	}
	failure struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	keys struct {
		Up    bool `json:"up"`
		Down  bool `json:"down"`
		Left  bool `json:"left"`
		Right bool `json:"right"`
	}
)

// world holds every game. Handlers (on the event loops) and the game loop
// share it under mu, held for microseconds: nothing under it blocks.
type world struct {
	srv   *riptide.Server
	log   *slog.Logger
	mu    sync.Mutex
	games map[string]*game
	seed  atomic.Uint64
}

// gameServer is the Socket.IO server and its game loop.
type gameServer struct {
	*riptide.Server
	w    *world
	stop context.CancelFunc
	done chan struct{}
}

// newServer builds the game: Socket.IO at /socket.io/ and, through the
// engine's Fallback handler, the page (socket.io-client's bundle from
// webDir/node_modules; webDir may be empty for Go clients). Listen starts it
// and the game loop; Close stops both.
func newServer(webDir string, log *slog.Logger) *gameServer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := riptide.New(riptide.Config{})
	w := &world{srv: srv, log: log, games: map[string]*game{}}
	w.seed.Store(uint64(time.Now().UnixNano()))
	srv.OnConnection(w.register)
	srv.Engine().Fallback = pageHandler(webDir)
	return &gameServer{Server: srv, w: w}
}

// Listen serves on addr and starts the game loop.
func (gs *gameServer) Listen(addr string) error {
	if err := gs.Server.Listen(addr); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	gs.stop, gs.done = cancel, make(chan struct{})
	go func() {
		defer close(gs.done)
		gs.w.run(ctx)
	}()
	return nil
}

// Close stops the loop, then the server.
func (gs *gameServer) Close() error {
	if gs.stop != nil {
		gs.stop()
		<-gs.done
	}
	return gs.Server.Close()
}

// run is the authoritative loop: a fixed step of 1/30 s. Each wake-up runs
// the steps owed since the start (at most a few, after a stall) and then
// broadcasts each game's state once.
func (w *world) run(ctx context.Context) {
	const step = time.Second / tickRate
	t := time.NewTicker(step)
	defer t.Stop()
	start, steps := time.Now(), int64(0)
	type out struct {
		room riptide.BroadcastOperator
		st   state
	}
	var outs []out
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			owed := int64(now.Sub(start)/step) - steps
			if owed > 5 { // a stall: do not fast-forward the game
				steps += owed - 5
				owed = 5
			}
			if owed <= 0 {
				continue
			}
			steps += owed
			outs = outs[:0]
			w.mu.Lock()
			for _, g := range w.games {
				for range owed {
					g.step(1.0 / tickRate)
				}
				outs = append(outs, out{g.room, g.snapshot()})
			}
			w.mu.Unlock()
			// Broadcast outside the lock: one encode per game, shared by its
			// players. Volatile: a state is superseded 33 ms later, so a
			// client that cannot take it now skips it.
			for _, o := range outs {
				if err := o.room.Emit("state", o.st); err != nil && !errors.Is(err, riptide.ErrClosed) {
					w.log.Warn("state", "err", err)
				}
			}
		}
	}
}

// step advances a game by dt seconds.
func (g *game) step(dt float64) {
	g.tick++
	for _, p := range g.players {
		in := p.input.Load()
		var dx, dy float64
		if in&keyLeft != 0 {
			dx--
		}
		if in&keyRight != 0 {
			dx++
		}
		if in&keyUp != 0 {
			dy--
		}
		if in&keyDown != 0 {
			dy++
		}
		if dx != 0 || dy != 0 {
			n := math.Hypot(dx, dy) // diagonals are not faster
			p.x = clamp(p.x+dx/n*speed*dt, playerRadius, arenaW-playerRadius)
			p.y = clamp(p.y+dy/n*speed*dt, playerRadius, arenaH-playerRadius)
		}
		if math.Hypot(p.x-g.coin.X, p.y-g.coin.Y) < playerRadius+coinRadius {
			p.score++
			g.coin = g.randomSpot(coinRadius)
		}
	}
}

func (g *game) snapshot() state {
	st := state{Tick: g.tick, TS: time.Now().UnixMilli(), Coin: g.coin, Players: make([]playerState, len(g.players))}
	for i, p := range g.players {
		st.Players[i] = playerState{ID: p.ID, Name: p.Name, Color: p.Color, X: round1(p.x), Y: round1(p.y), Score: p.score}
	}
	return st
}

// randomSpot is a point at least margin from the walls and away from the
// players.
func (g *game) randomSpot(margin float64) point {
	var pt point
	for range 20 {
		pt = point{X: round1(margin + g.rng.Float64()*(arenaW-2*margin)), Y: round1(margin + g.rng.Float64()*(arenaH-2*margin))}
		free := true
		for _, p := range g.players {
			if math.Hypot(p.x-pt.X, p.y-pt.Y) < 3*playerRadius+margin {
				free = false
				break
			}
		}
		if free {
			break
		}
	}
	return pt
}

// register wires one socket. Handlers run on the socket's event loop; they
// take world.mu briefly and never block.
func (w *world) register(s *riptide.Socket) {
	s.On("join", func(args riptide.Args, ack riptide.Ack) {
		var req struct {
			Room string `json:"room"`
			Name string `json:"name"`
		}
		if args.Len() > 0 && args.Decode(0, &req) != nil {
			reply(ack, failure{Error: "join takes {room, name}"})
			return
		}
		res, err := w.join(s, req.Room, req.Name)
		if err != nil {
			reply(ack, failure{Error: err.Error()})
			return
		}
		reply(ack, res)
	})
	s.On("input", func(args riptide.Args, ack riptide.Ack) {
		p, _ := s.Data.(*player) // s.Data is only touched on this loop
		var k keys
		if p == nil || args.Decode(0, &k) != nil {
			reply(ack, failure{Error: "join first; input takes {up, down, left, right}"})
			return
		}
		var bits uint32
		for _, b := range []struct {
			on  bool
			bit uint32
		}{{k.Up, keyUp}, {k.Down, keyDown}, {k.Left, keyLeft}, {k.Right, keyRight}} {
			if b.on {
				bits |= b.bit
			}
		}
		p.input.Store(bits)
		reply(ack, struct {
			OK bool `json:"ok"`
		}{true})
	})
	s.OnDisconnect(func(string) {
		if p, _ := s.Data.(*player); p != nil {
			w.mu.Lock()
			w.removeLocked(p)
			w.mu.Unlock()
		}
	})
}

// join puts s's player in the game room (created on demand), leaving the
// game it was in.
func (w *world) join(s *riptide.Socket, room, name string) (welcome, error) {
	room, err := cleanRoom(room)
	if err != nil {
		return welcome{}, err
	}
	name = cleanName(name)
	if name == "" {
		name = "player-" + s.ID()[:4]
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	p, _ := s.Data.(*player)
	if p != nil && p.game != nil && p.game.name == room {
		p.Name = name
		return w.welcome(p, room), nil
	}
	g := w.games[room]
	switch {
	case g == nil && len(w.games) >= maxGames:
		return welcome{}, errors.New("too many games: join an existing one")
	case g != nil && len(g.players) >= maxPlayers:
		return welcome{}, fmt.Errorf("game %q is full (%d players)", room, maxPlayers)
	}
	if p != nil {
		s.Leave(roomPrefix + p.game.name)
		w.removeLocked(p)
	}
	if g == nil {
		seed := w.seed.Add(1)
		g = &game{name: room, rng: rand.New(rand.NewPCG(seed, seed>>1|1)), room: w.srv.To(roomPrefix + room).Volatile()}
		g.coin = g.randomSpot(coinRadius)
		w.games[room] = g
	}
	p = &player{ID: s.ID(), Name: name, Color: freeColor(g), game: g}
	spot := g.randomSpot(playerRadius)
	p.x, p.y = spot.X, spot.Y
	g.players = append(g.players, p)
	s.Data = p
	s.Join(roomPrefix + room)
	w.log.Info("join", "room", room, "name", name, "socket", s.ID(), "players", len(g.players))
	return w.welcome(p, room), nil
}

func (w *world) welcome(p *player, room string) welcome {
	return welcome{
		OK: true, ID: p.ID, Name: p.Name, Room: room, Color: p.Color, TickRate: tickRate,
		Arena: arena{W: arenaW, H: arenaH, PlayerRadius: playerRadius, CoinRadius: coinRadius},
	}
}

// removeLocked takes p out of its game, and drops the game when empty.
func (w *world) removeLocked(p *player) {
	g := p.game
	if g == nil {
		return
	}
	for i, q := range g.players {
		if q == p {
			g.players = append(g.players[:i], g.players[i+1:]...)
			break
		}
	}
	p.game = nil
	if len(g.players) == 0 {
		delete(w.games, g.name)
	}
	w.log.Info("leave", "room", g.name, "name", p.Name, "players", len(g.players))
}

func freeColor(g *game) string {
	for _, c := range palette {
		used := false
		for _, p := range g.players {
			used = used || p.Color == c
		}
		if !used {
			return c
		}
	}
	return palette[len(g.players)%len(palette)]
}

// cleanRoom lower-cases a game name: letters, digits, '-' and '_', at most
// maxRoomRunes; empty means the default game.
func cleanRoom(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return defaultRoom, nil
	}
	if utf8.RuneCountInString(s) > maxRoomRunes {
		return "", fmt.Errorf("a game name has at most %d characters", maxRoomRunes)
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' {
			return "", errors.New("a game name has letters, digits, - and _ only")
		}
	}
	return s, nil
}

// cleanName keeps printable characters, collapses spaces, and cuts at
// maxNameRunes.
func cleanName(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " ")
	if r := []rune(s); len(r) > maxNameRunes {
		s = strings.TrimSpace(string(r[:maxNameRunes]))
	}
	return s
}

func reply(ack riptide.Ack, v any) {
	if ack != nil {
		ack(v)
	}
}

func clamp(v, lo, hi float64) float64 { return math.Min(hi, math.Max(lo, v)) }
func round1(v float64) float64        { return math.Round(v*10) / 10 }

//go:embed web/static
var static embed.FS

// pageHandler serves the page and socket.io-client's browser bundle
// (internal/webdeps).
func pageHandler(webDir string) http.Handler { return webdeps.PageHandler(static, webDir) }
