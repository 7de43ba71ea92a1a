// Package redisadapter connects Riptide servers into a cluster through
// Redis, speaking the wire format of Node's @socket.io/redis-adapter 8.3,
// so Riptide and Node servers can share one cluster (and migrate node by
// node).
//
// Two protocols, as in Node:
//
//   - classic (createAdapter): PUBLISH on `<key>#<nsp>#` and
//     `<key>#<nsp>#<room>#` (a single-room broadcast), each node
//     PSUBSCRIBEd to `<key>#<nsp>#*`; requests on `<key>-request#<nsp>#`,
//     responses on `<key>-response#<nsp>#` (and the requester's own
//     `<key>-response#<nsp>#<uid>#`); broadcasts msgpack
//     `[uid, packet, {rooms, except, flags}]`, requests JSON or msgpack.
//   - sharded (createShardedAdapter, Redis 7 SPUBLISH/SSUBSCRIBE, the
//     recommended mode for new deployments): socket.io-adapter's cluster
//     messages `{uid, nsp, type, data}` (JSON, or msgpack when they carry
//     binary) on `<key>#<nsp>#`, responses on `<key>#<nsp>#<uid>#`, and in
//     the dynamic subscription modes one channel per public room, to which
//     a node subscribes only while it has members in the room: a node with
//     no member in a room never receives that room's broadcasts.
//
// Resilience: publishing is asynchronous (a bounded queue per adapter,
// pipelined); local delivery never waits for Redis. When Redis is
// unreachable, go-redis reconnects and resubscribes by itself; meanwhile
// messages that cannot be published are dropped (counted in Stats) and
// requests fail with their timeout. Nothing published by other nodes while
// this node was disconnected is replayed (Redis pub/sub keeps nothing).
package redisadapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/riptide-io/riptide"
)

// SubscriptionMode is how a sharded adapter subscribes (Node's
// subscriptionMode).
type SubscriptionMode int

const (
	// Dynamic (the default): one channel per public room, subscribed
	// while this node has members in it; broadcasts to one public room
	// reach only the nodes that have members in it.
	Dynamic SubscriptionMode = iota
	// Static: two channels per namespace; every node receives every
	// broadcast.
	Static
	// DynamicPrivate: like Dynamic, for private rooms (socket ids) too:
	// for much one-to-one messaging.
	DynamicPrivate
)

// String is the mode's name in Node's options.
func (m SubscriptionMode) String() string {
	switch m {
	case Static:
		return "static"
	case DynamicPrivate:
		return "dynamic-private"
	}
	return "dynamic"
}

// Options configure an Adapter. The zero value is Node's defaults, classic
// protocol.
type Options struct {
	// Key is the channels' prefix. Default "socket.io".
	Key string
	// Sharded selects the sharded protocol (SPUBLISH/SSUBSCRIBE, Redis 7).
	Sharded bool
	// SubscriptionMode of the sharded protocol. Default Dynamic.
	SubscriptionMode SubscriptionMode
	// RequestsTimeout bounds cluster requests (fetch sockets, server-side
	// emit with acks) when the caller's context has no deadline.
	// Default 5s.
	RequestsTimeout time.Duration
	// PublishOnSpecificResponseChannel (classic): answer a request on the
	// requester's own response channel instead of the shared one. Node's
	// default is false; every 8.x node listens on both.
	PublishOnSpecificResponseChannel bool
	// MaxQueued bounds the messages waiting to be published (Redis slow
	// or unreachable); beyond it new ones are dropped and counted.
	// Default 65536.
	MaxQueued int
	// Logger receives diagnostics. Default: discard.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Key == "" {
		o.Key = "socket.io"
	}
	if o.RequestsTimeout <= 0 {
		o.RequestsTimeout = 5 * time.Second
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = 65536
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Stats counts what an adapter did since it started.
type Stats struct {
	Published      uint64 // messages published
	PublishDropped uint64 // messages dropped: queue full or Redis unreachable
	Received       uint64 // messages received (every channel)
	Ignored        uint64 // received but not for this node: own, other namespace, room without members here
	Malformed      uint64 // received and not understood
	Reconnects     uint64 // subscriptions re-established after a lost connection
}

// Adapter is a riptide.Adapter over Redis. Give it to riptide.Config;
// the server closes it on Shutdown.
type Adapter struct {
	client goredis.UniversalClient
	opts   Options

	pubq    chan publication
	stop    chan struct{}
	wg      sync.WaitGroup
	closing sync.Once

	subMu  sync.Mutex
	ps     *goredis.PubSub
	routes map[string]route // channel or pattern → namespace adapter
	// Subscription changes, applied in order by subscribeLoop. Unbounded:
	// callers (event loops joining rooms) must never block, and a change
	// cannot be dropped; it holds one entry per change while Redis is away.
	subqMu   sync.Mutex
	subq     []subOp
	subqWake chan struct{}

	pongMu sync.Mutex
	pongs  map[string]chan struct{} // barrier channel → Ready waiter

	stats struct {
		published, dropped, received, ignored, malformed, reconnects atomic.Uint64
	}
	warnedAt atomic.Int64 // unix nanos of the last drop warning (rate limit)
}

var _ riptide.Adapter = (*Adapter)(nil)

// publication is one message to publish.
type publication struct {
	channel string
	payload []byte
	sharded bool
}

// route says which namespace adapter a subscription feeds, and how.
type route struct {
	ns   *nsAdapter
	kind routeKind
}

type routeKind uint8

const (
	routeBroadcast routeKind = iota // classic pattern, or sharded namespace/room channel
	routeRequest                    // classic request channel
	routeResponse                   // classic response channels, sharded response channel
)

type subOp struct {
	add      bool
	pattern  bool
	channels []string
	barrier  chan struct{} // Ready: closed once the connection answers a PING sent now
}

// New returns an adapter publishing through client (a *redis.Client, or a
// ClusterClient for the sharded protocol). The adapter opens its own
// subscription connection from the same client. It does not close client.
func New(client goredis.UniversalClient, opts Options) *Adapter {
	a := &Adapter{
		client:   client,
		opts:     opts.withDefaults(),
		stop:     make(chan struct{}),
		routes:   map[string]route{},
		subqWake: make(chan struct{}, 1),
		pongs:    map[string]chan struct{}{},
	}
	a.pubq = make(chan publication, a.opts.MaxQueued)
	// An empty PubSub: the connection is made by the first subscription.
	if a.opts.Sharded {
		a.ps = client.SSubscribe(context.Background())
	} else {
		a.ps = client.Subscribe(context.Background())
	}
	a.wg.Add(3)
	go a.publishLoop()
	go a.subscribeLoop()
	go a.receiveLoop()
	return a
}

// Stats returns the adapter's counters.
func (a *Adapter) Stats() Stats {
	return Stats{
		Published:      a.stats.published.Load(),
		PublishDropped: a.stats.dropped.Load(),
		Received:       a.stats.received.Load(),
		Ignored:        a.stats.ignored.Load(),
		Malformed:      a.stats.malformed.Load(),
		Reconnects:     a.stats.reconnects.Load(),
	}
}

// ForNamespace implements riptide.Adapter.
func (a *Adapter) ForNamespace(n *riptide.Namespace) riptide.NamespaceAdapter {
	ns := newNSAdapter(a, n)
	a.subMu.Lock()
	for _, r := range ns.routes() {
		a.routes[r.name] = route{ns: ns, kind: r.kind}
	}
	a.subMu.Unlock()
	ns.subscribeStatic(true)
	return ns
}

// Close stops the adapter: its subscriptions end and queued messages are
// published first (for up to a second). The Redis client stays open.
func (a *Adapter) Close() error {
	a.closing.Do(func() {
		close(a.stop)
		a.wg.Wait()
		_ = a.ps.Close()
	})
	return nil
}

// Ready waits until every subscription asked for so far is in place (for
// tests and orderly start-ups): a PING sent through the subscription
// connection after them is answered.
func (a *Adapter) Ready(ctx context.Context) error {
	done := make(chan struct{})
	a.subscribe(subOp{barrier: done})
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-a.stop:
		return ErrClosed
	}
}

// ErrClosed is returned by operations on a closed adapter.
var ErrClosed = errors.New("riptide/redis: adapter closed")

// publish queues a message; it never blocks.
func (a *Adapter) publish(channel string, payload []byte) {
	select {
	case a.pubq <- publication{channel: channel, payload: payload, sharded: a.opts.Sharded}:
	default:
		a.dropped(1, errors.New("publish queue full"))
	}
}

func (a *Adapter) dropped(n int, err error) {
	a.stats.dropped.Add(uint64(n))
	now := time.Now().UnixNano()
	last := a.warnedAt.Load()
	if now-last > int64(time.Second) && a.warnedAt.CompareAndSwap(last, now) {
		a.opts.Logger.Warn("riptide/redis: messages not published", "count", n, "err", err)
	}
}

// publishLoop sends queued messages, pipelining whatever has queued up
// meanwhile: one round trip for a burst.
func (a *Adapter) publishLoop() {
	defer a.wg.Done()
	batch := make([]publication, 0, 256)
	for {
		select {
		case p := <-a.pubq:
			a.send(a.fill(append(batch[:0], p)))
		case <-a.stop:
			a.flushOnStop(batch)
			return
		}
	}
}

// fill adds what is queued to batch, without waiting, up to its capacity.
func (a *Adapter) fill(batch []publication) []publication {
	for len(batch) < cap(batch) {
		select {
		case p := <-a.pubq:
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

// flushOnStop publishes what is still queued, for up to a second.
func (a *Adapter) flushOnStop(batch []publication) {
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		batch = a.fill(batch[:0])
		if len(batch) == 0 {
			return
		}
		a.send(batch)
	}
}

func (a *Adapter) send(batch []publication) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	if len(batch) == 1 {
		p := batch[0]
		if p.sharded {
			err = a.client.SPublish(ctx, p.channel, p.payload).Err()
		} else {
			err = a.client.Publish(ctx, p.channel, p.payload).Err()
		}
	} else {
		pipe := a.client.Pipeline()
		for _, p := range batch {
			if p.sharded {
				pipe.SPublish(ctx, p.channel, p.payload)
			} else {
				pipe.Publish(ctx, p.channel, p.payload)
			}
		}
		_, err = pipe.Exec(ctx)
	}
	if err != nil {
		a.dropped(len(batch), err)
		// Redis is down or slow: do not spin; the queue absorbs (and then
		// drops) what comes meanwhile.
		select {
		case <-time.After(100 * time.Millisecond):
		case <-a.stop:
		}
		return
	}
	a.stats.published.Add(uint64(len(batch)))
}

// subscribeLoop applies subscription changes in order, off the callers'
// goroutines (they may be event loops).
func (a *Adapter) subscribeLoop() {
	defer a.wg.Done()
	for {
		a.subqMu.Lock()
		var op subOp
		have := len(a.subq) > 0
		if have {
			op = a.subq[0]
			a.subq[0] = subOp{}
			a.subq = a.subq[1:]
		}
		a.subqMu.Unlock()
		if !have {
			select {
			case <-a.subqWake:
				continue
			case <-a.stop:
				return
			}
		}
		if op.barrier != nil {
			a.pingBarrier(op.barrier)
			continue
		}
		if len(op.channels) == 0 {
			continue
		}
		for attempt := 0; ; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := a.applySub(ctx, op)
			cancel()
			if err == nil {
				break
			}
			// go-redis records the subscription before it fails to send
			// it, and resubscribes on reconnect; retry only to learn of
			// success, with a backoff, until stopped.
			a.opts.Logger.Warn("riptide/redis: subscription", "channels", op.channels, "err", err)
			if attempt >= 2 {
				break
			}
			select {
			case <-time.After(200 * time.Millisecond):
			case <-a.stop:
				return
			}
		}
	}
}

func (a *Adapter) applySub(ctx context.Context, op subOp) error {
	switch {
	case op.add && op.pattern:
		return a.ps.PSubscribe(ctx, op.channels...)
	case op.add && a.opts.Sharded:
		return a.ps.SSubscribe(ctx, op.channels...)
	case op.add:
		return a.ps.Subscribe(ctx, op.channels...)
	case op.pattern:
		return a.ps.PUnsubscribe(ctx, op.channels...)
	case a.opts.Sharded:
		return a.ps.SUnsubscribe(ctx, op.channels...)
	default:
		return a.ps.Unsubscribe(ctx, op.channels...)
	}
}

// pingBarrier subscribes to a throwaway channel after the subscriptions
// so far; the receive loop closes done when Redis confirms it (Redis
// answers a connection's commands in order), then drops it. go-redis does
// not hand PONGs to a channel reader, hence a subscription.
func (a *Adapter) pingBarrier(done chan struct{}) {
	token := "riptide-ready#" + randomID(8)
	a.pongMu.Lock()
	a.pongs[token] = done
	a.pongMu.Unlock()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := a.applySub(ctx, subOp{add: true, channels: []string{token}})
		cancel()
		if err == nil {
			return
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-a.stop:
			return
		}
	}
}

// subscribe queues a subscription change; it never blocks.
func (a *Adapter) subscribe(op subOp) {
	a.subqMu.Lock()
	a.subq = append(a.subq, op)
	a.subqMu.Unlock()
	select {
	case a.subqWake <- struct{}{}:
	default:
	}
}

// receiveLoop hands every message to its namespace adapter.
func (a *Adapter) receiveLoop() {
	defer a.wg.Done()
	ch := a.ps.ChannelWithSubscriptions(goredis.WithChannelSize(4096))
	subscribedOnce := map[string]bool{}
	for {
		var m any
		var ok bool
		select {
		case m, ok = <-ch:
			if !ok {
				return
			}
		case <-a.stop:
			return
		}
		switch m := m.(type) {
		case *goredis.Subscription:
			a.pongMu.Lock()
			done := a.pongs[m.Channel]
			delete(a.pongs, m.Channel)
			a.pongMu.Unlock()
			if done != nil {
				close(done)
				a.subscribe(subOp{channels: []string{m.Channel}}) // unsubscribe
				continue
			}
			if strings.HasSuffix(m.Kind, "subscribe") && !strings.HasSuffix(m.Kind, "unsubscribe") {
				if subscribedOnce[m.Kind+" "+m.Channel] {
					a.stats.reconnects.Add(1)
				}
				subscribedOnce[m.Kind+" "+m.Channel] = true
			}
		case *goredis.Message:
			a.stats.received.Add(1)
			key := m.Channel
			if m.Pattern != "" {
				key = m.Pattern
			}
			a.subMu.Lock()
			r, found := a.routes[key]
			a.subMu.Unlock()
			if !found {
				a.stats.ignored.Add(1)
				continue
			}
			r.ns.onMessage(r.kind, m.Channel, []byte(m.Payload))
		}
	}
}

func (a *Adapter) removeRoutes(ns *nsAdapter) {
	a.subMu.Lock()
	for name, r := range a.routes {
		if r.ns == ns {
			delete(a.routes, name)
		}
	}
	a.subMu.Unlock()
}

// randomID returns n random bytes in hex.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// uid2 returns a random id of n characters from uid2's alphabet
// (what the classic Node adapter uses).
func uid2(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
