package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// wellKnown are the first symbols of the market; past them, -symbols makes
// up names (S0065, S0066...).
var wellKnown = []string{
	"AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOG", "META", "NFLX", "AMD", "INTC",
	"ORCL", "IBM", "CRM", "ADBE", "CSCO", "QCOM", "AVGO", "TXN", "MU", "SHOP",
	"UBER", "ABNB", "PYPL", "SQ", "COIN", "PLTR", "SNOW", "NOW", "DDOG", "NET",
	"JPM", "BAC", "GS", "MS", "WFC", "C", "V", "MA", "AXP", "BLK",
	"XOM", "CVX", "KO", "PEP", "MCD", "SBUX", "NKE", "DIS", "WMT", "COST",
	"HD", "LOW", "TGT", "PG", "JNJ", "PFE", "MRK", "LLY", "UNH", "CVS",
	"BA", "CAT", "GE", "F",
}

// maxSymbols bounds -symbols.
const maxSymbols = 10000

// symbol is one instrument. Its price is written by the feed goroutine only
// and read by any handler, lock-free.
type symbol struct {
	Name string
	Open float64       // the first price of the session: "change" is against it
	px   atomic.Uint64 // math.Float64bits of the last price
	n    atomic.Uint64 // ticks so far
}

func (s *symbol) price() float64 { return math.Float64frombits(s.px.Load()) }

// market is a set of symbols whose prices follow a random walk.
type market struct {
	syms   []*symbol
	bySym  map[string]*symbol
	rate   float64 // ticks per second, all symbols together
	rng    *rand.Rand
	orders atomic.Uint64
}

// newMarket makes n symbols with prices between 10 and 500, from seed.
func newMarket(n int, rate float64, seed uint64) *market {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	m := &market{bySym: make(map[string]*symbol, n), rate: rate, rng: rng}
	for i := range n {
		name := fmt.Sprintf("S%04d", i+1)
		if i < len(wellKnown) {
			name = wellKnown[i]
		}
		px := cents(10 + rng.Float64()*490)
		s := &symbol{Name: name, Open: px}
		s.px.Store(math.Float64bits(px))
		m.syms = append(m.syms, s)
		m.bySym[name] = s
	}
	return m
}

// tick is what subscribers of a symbol receive, volatile.
type tick struct {
	Sym string  `json:"sym"`
	Px  float64 `json:"px"`
	TS  float64 `json:"ts"` // Unix time in milliseconds, with a microsecond fraction
}

// quote describes a symbol on demand: the page's first view of it.
type quote struct {
	Sym  string  `json:"sym"`
	Px   float64 `json:"px"`
	Open float64 `json:"open"`
	TS   float64 `json:"ts"`
}

func (s *symbol) quote() quote {
	return quote{Sym: s.Name, Px: s.price(), Open: s.Open, TS: nowMillis()}
}

// step moves one random symbol's price by a small random step and returns
// the tick. Only the feed goroutine calls it.
func (m *market) step() tick {
	s := m.syms[m.rng.IntN(len(m.syms))]
	px := s.price()
	// A geometric random walk, ~0.05% per tick, pulled gently back towards
	// the open so that a long session stays readable.
	drift := 0.0005 * math.Log(s.Open/px)
	px = max(0.01, cents(px*math.Exp(drift+0.0005*m.rng.NormFloat64())))
	s.px.Store(math.Float64bits(px))
	s.n.Add(1)
	return tick{Sym: s.Name, Px: px, TS: nowMillis()}
}

// run calls emit with rate ticks per second until ctx ends. It keeps the
// average rate exact whatever the timer resolution: each wake-up emits the
// ticks owed since the start.
func (m *market) run(ctx context.Context, emit func(tick)) {
	if m.rate <= 0 || len(m.syms) == 0 {
		return
	}
	period := max(time.Millisecond, time.Duration(float64(time.Second)/m.rate))
	t := time.NewTicker(period)
	defer t.Stop()
	start, sent := time.Now(), 0.0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			owed := m.rate*now.Sub(start).Seconds() - sent
			// After a stall (a suspended laptop), do not burst: drop what
			// is more than a second late.
			if owed > m.rate {
				sent += owed - m.rate
				owed = m.rate
			}
			for ; owed >= 1; owed-- {
				emit(m.step())
				sent++
			}
		}
	}
}

// order is what the "order" event carries.
type order struct {
	Sym  string `json:"sym"`
	Side string `json:"side"`
	Qty  int64  `json:"qty"`
}

// fill acknowledges an order.
type fill struct {
	OK   bool    `json:"ok"`
	ID   string  `json:"id"`
	Sym  string  `json:"sym"`
	Side string  `json:"side"`
	Qty  int64   `json:"qty"`
	Px   float64 `json:"px"`
	TS   float64 `json:"ts"`
}

const maxQty = 1_000_000

// fill executes an order at the current price plus half a spread (minus for
// a sale). It is goroutine-safe and never blocks.
func (m *market) fill(o order) (fill, error) {
	s := m.bySym[o.Sym]
	switch {
	case s == nil:
		return fill{}, fmt.Errorf("unknown symbol %q", o.Sym)
	case o.Side != "buy" && o.Side != "sell":
		return fill{}, fmt.Errorf("side must be buy or sell, not %q", o.Side)
	case o.Qty < 1 || o.Qty > maxQty:
		return fill{}, fmt.Errorf("qty must be between 1 and %d", maxQty)
	}
	px := s.price()
	half := max(0.01, cents(px*0.0001))
	if o.Side == "buy" {
		px += half
	} else {
		px = max(0.01, px-half)
	}
	id := fmt.Sprintf("ORD-%06d", m.orders.Add(1))
	return fill{OK: true, ID: id, Sym: s.Name, Side: o.Side, Qty: o.Qty, Px: cents(px), TS: nowMillis()}, nil
}

func cents(x float64) float64 { return math.Round(x*100) / 100 }

// nowMillis is the time as Unix milliseconds with a microsecond fraction:
// JavaScript's Date.now() compares with it directly.
func nowMillis() float64 { return float64(time.Now().UnixMicro()) / 1000 }
