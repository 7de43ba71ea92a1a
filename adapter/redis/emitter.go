package redisadapter

import (
	"context"
	"errors"

	goredis "github.com/redis/go-redis/v9"

	"github.com/riptide-io/riptide"
	"github.com/riptide-io/riptide/codec"
)

// Emitter publishes into a cluster from a process that serves no clients
// (Node's @socket.io/redis-emitter, whose messages it reproduces: uid
// "emitter"). Riptide and Node servers on the same Redis deliver them.
// Unlike the adapter it publishes synchronously and reports errors. An
// Emitter is a small value: each modifier returns a modified copy.
//
//	em := redisadapter.NewEmitter(client, redisadapter.Options{})
//	err := em.Of("/chat").To("room1").Emit(ctx, "news", "hello")
type Emitter struct {
	client goredis.UniversalClient
	opts   Options
	nsp    string
	rooms  []string
	except []string
	flags  riptide.BroadcastFlags
}

// NewEmitter returns an emitter for the default namespace. Options.Key,
// Sharded and SubscriptionMode must match the servers'.
func NewEmitter(client goredis.UniversalClient, opts Options) Emitter {
	return Emitter{client: client, opts: opts.withDefaults(), nsp: "/"}
}

// Of returns the emitter of another namespace.
func (e Emitter) Of(nsp string) Emitter {
	if nsp == "" || nsp[0] != '/' {
		nsp = "/" + nsp
	}
	e.nsp = nsp
	e.rooms, e.except, e.flags = nil, nil, riptide.BroadcastFlags{}
	return e
}

// To targets rooms (or socket ids): the union of all of them.
func (e Emitter) To(rooms ...string) Emitter {
	e.rooms = append(e.rooms[:len(e.rooms):len(e.rooms)], rooms...)
	return e
}

// In is To.
func (e Emitter) In(rooms ...string) Emitter { return e.To(rooms...) }

// Except leaves out the members of rooms.
func (e Emitter) Except(rooms ...string) Emitter {
	e.except = append(e.except[:len(e.except):len(e.except)], rooms...)
	return e
}

// Volatile marks the broadcast volatile.
func (e Emitter) Volatile() Emitter { e.flags.Volatile = true; return e }

// Compress sets the compress flag (carried for Node servers).
func (e Emitter) Compress(c bool) Emitter { e.flags.Compress = c; return e }

// ErrAckUnsupported: the emitter protocol has no acknowledgements.
var ErrAckUnsupported = errors.New("riptide/redis: the emitter does not support acknowledgements")

// ns is a publish-only namespace adapter whose messages are collected.
func (e Emitter) ns(out *[]publication) *nsAdapter {
	a := &Adapter{client: e.client, opts: e.opts}
	ns := &nsAdapter{a: a, name: e.nsp, uid: emitterUID}
	ns.channel = e.opts.Key + "#" + e.nsp + "#"
	ns.requestChannel = e.opts.Key + "-request#" + e.nsp + "#"
	ns.responseChannel = e.opts.Key + "-response#" + e.nsp + "#"
	ns.sink = func(channel string, payload []byte) {
		*out = append(*out, publication{channel: channel, payload: payload, sharded: e.opts.Sharded})
	}
	return ns
}

func (e Emitter) options() riptide.BroadcastOptions {
	return riptide.BroadcastOptions{Rooms: e.rooms, Except: e.except, Flags: e.flags}
}

// send publishes what an operation produced.
func (e Emitter) send(ctx context.Context, pubs []publication) error {
	if len(pubs) == 0 {
		return errors.New("riptide/redis: nothing to publish (arguments could not be encoded)")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.opts.RequestsTimeout)
		defer cancel()
	}
	for _, p := range pubs {
		var err error
		if p.sharded {
			err = e.client.SPublish(ctx, p.channel, p.payload).Err()
		} else {
			err = e.client.Publish(ctx, p.channel, p.payload).Err()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Emit broadcasts event to the selected sockets of every node.
func (e Emitter) Emit(ctx context.Context, event string, args ...any) error {
	if codec.IsReservedEvent(event) {
		return riptide.ErrReservedEvent
	}
	pkt, atts, err := codec.AppendEvent(nil, "/", codec.NoAckID, event, args)
	if err != nil {
		return err
	}
	data := pkt[1:]
	if len(atts) > 0 { // `5<n>-[…]`
		for len(data) > 0 && data[0] != '[' {
			data = data[1:]
		}
	}
	var pubs []publication
	e.ns(&pubs).Broadcast(riptide.ClusterPacket{Data: data, Attachments: atts}, e.options())
	return e.send(ctx, pubs)
}

// SocketsJoin makes the selected sockets join rooms, on every node.
func (e Emitter) SocketsJoin(ctx context.Context, rooms ...string) error {
	var pubs []publication
	e.ns(&pubs).AddSockets(e.options(), rooms)
	return e.send(ctx, pubs)
}

// SocketsLeave makes the selected sockets leave rooms, on every node.
func (e Emitter) SocketsLeave(ctx context.Context, rooms ...string) error {
	var pubs []publication
	e.ns(&pubs).DelSockets(e.options(), rooms)
	return e.send(ctx, pubs)
}

// DisconnectSockets disconnects the selected sockets, on every node.
func (e Emitter) DisconnectSockets(ctx context.Context, close bool) error {
	var pubs []publication
	e.ns(&pubs).DisconnectSockets(e.options(), close)
	return e.send(ctx, pubs)
}

// ServerSideEmit sends an event to every node's server (no
// acknowledgements: ErrAckUnsupported for a func argument).
func (e Emitter) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	for _, a := range args {
		if _, ok := a.(func(any)); ok {
			return ErrAckUnsupported
		}
	}
	var pubs []publication
	if err := e.ns(&pubs).ServerSideEmit(event, args); err != nil {
		return err
	}
	return e.send(ctx, pubs)
}
