package riptide

import (
	"context"
	"errors"
	"time"
)

// BroadcastOptions says which sockets a cluster-wide operation selects and
// how (Node's adapter BroadcastOptions).
type BroadcastOptions struct {
	Rooms  []string // union of rooms (or socket ids); empty: the namespace
	Except []string // rooms (or socket ids) to leave out
	Flags  BroadcastFlags
}

// BroadcastFlags are the modifiers of a broadcast.
type BroadcastFlags struct {
	Volatile bool
	Local    bool
	Compress bool
	Timeout  time.Duration // for broadcasts with acknowledgements and cluster requests
}

// ClusterPacket is an event as it travels between nodes: the Socket.IO
// data array (`["event", arg1, …]`, JSON, binary parts replaced by
// placeholders) and the binary parts.
type ClusterPacket struct {
	Data        []byte
	Attachments [][]byte
}

// Adapter connects a Server to a cluster (Node's adapter constructor,
// e.g. createAdapter of @socket.io/redis-adapter). The server asks it for
// one NamespaceAdapter per namespace, when the namespace is created.
//
// The default, MemoryAdapter, is a single node. adapter/redis speaks the
// wire format of @socket.io/redis-adapter, so Riptide and Node servers can
// share one cluster.
type Adapter interface {
	ForNamespace(n *Namespace) NamespaceAdapter
}

// NamespaceAdapter carries one namespace's operations to the other nodes
// of a cluster. Riptide always serves its own node directly — room shards
// on each event loop, encode-once broadcasts — so an adapter only adds the
// rest of the cluster: it publishes what this node does, and applies what
// other nodes publish through the namespace's methods for adapters
// (BroadcastOperator.EmitPacket, EmitPacketWithAck, SocketInfo,
// Namespace.HandleServerSideEmit, and the Local operator).
//
// Methods are called from any goroutine, event loops included: the ones
// without a context must not block (queue the work). Arguments are
// borrowed for the duration of the call.
type NamespaceAdapter interface {
	// Broadcast publishes an event emitted on this node (already delivered
	// locally).
	Broadcast(p ClusterPacket, opts BroadcastOptions)
	// BroadcastWithAck publishes an event whose recipients acknowledge it:
	// each other node reports how many clients it sent it to (onCount,
	// once per node) and then each client's reply (onAck, the first
	// argument of the acknowledgement, as Node's protocol carries one).
	// The callbacks may run on any goroutine, until opts.Flags.Timeout.
	BroadcastWithAck(p ClusterPacket, opts BroadcastOptions, onCount func(clients int), onAck func(reply any))
	// AddAll, Del and DelAll report room membership changes of local
	// sockets (a sharded adapter subscribes only where members are).
	// DelAll receives the rooms the socket was in.
	AddAll(id string, rooms []string)
	Del(id, room string)
	DelAll(id string, rooms []string)
	// FetchSockets returns the matching sockets of the other nodes.
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]RemoteSocket, error)
	// AddSockets, DelSockets and DisconnectSockets apply a selection's
	// operation on the other nodes.
	AddSockets(opts BroadcastOptions, rooms []string)
	DelSockets(opts BroadcastOptions, rooms []string)
	DisconnectSockets(opts BroadcastOptions, close bool)
	// ServerSideEmit sends an event to the other nodes' servers.
	ServerSideEmit(event string, args []any) error
	// ServerSideEmitWithAck sends an event to the other nodes' servers and
	// returns one reply per node; with the replies so far and
	// ErrAckTimeout when some did not answer before ctx ends.
	ServerSideEmitWithAck(ctx context.Context, event string, args []any) ([]any, error)
	// ServerCount is the number of nodes serving the namespace, this one
	// included.
	ServerCount(ctx context.Context) (int, error)
	// Close releases the namespace's resources (subscriptions).
	Close() error
}

// MemoryAdapter is the single-node Adapter: nothing to publish, nothing to
// fetch. It is the default.
type MemoryAdapter struct{}

var (
	_ Adapter          = MemoryAdapter{}
	_ NamespaceAdapter = MemoryAdapter{}
)

// ForNamespace implements Adapter.
func (MemoryAdapter) ForNamespace(*Namespace) NamespaceAdapter { return MemoryAdapter{} }

// Broadcast implements NamespaceAdapter.
func (MemoryAdapter) Broadcast(ClusterPacket, BroadcastOptions) {}

// BroadcastWithAck implements NamespaceAdapter.
func (MemoryAdapter) BroadcastWithAck(ClusterPacket, BroadcastOptions, func(int), func(any)) {}

// AddAll implements NamespaceAdapter.
func (MemoryAdapter) AddAll(string, []string) {}

// Del implements NamespaceAdapter.
func (MemoryAdapter) Del(string, string) {}

// DelAll implements NamespaceAdapter.
func (MemoryAdapter) DelAll(string, []string) {}

// FetchSockets implements NamespaceAdapter.
func (MemoryAdapter) FetchSockets(context.Context, BroadcastOptions) ([]RemoteSocket, error) {
	return nil, nil
}

// AddSockets implements NamespaceAdapter.
func (MemoryAdapter) AddSockets(BroadcastOptions, []string) {}

// DelSockets implements NamespaceAdapter.
func (MemoryAdapter) DelSockets(BroadcastOptions, []string) {}

// DisconnectSockets implements NamespaceAdapter.
func (MemoryAdapter) DisconnectSockets(BroadcastOptions, bool) {}

// ServerSideEmit implements NamespaceAdapter.
func (MemoryAdapter) ServerSideEmit(string, []any) error { return nil }

// ServerSideEmitWithAck implements NamespaceAdapter.
func (MemoryAdapter) ServerSideEmitWithAck(context.Context, string, []any) ([]any, error) {
	return nil, nil
}

// ServerCount implements NamespaceAdapter.
func (MemoryAdapter) ServerCount(context.Context) (int, error) { return 1, nil }

// Close implements NamespaceAdapter.
func (MemoryAdapter) Close() error { return nil }

// isMemory reports whether a is the single-node adapter (nothing to publish).
func isMemory(a NamespaceAdapter) bool {
	_, ok := a.(MemoryAdapter)
	return ok
}

// ErrInvalidClusterPacket is returned by EmitPacket for data that is not a
// JSON array starting with an event name.
var ErrInvalidClusterPacket = errors.New("riptide: cluster packet is not an event data array")

// options returns the operator's selection as adapter options.
func (b BroadcastOperator) options() BroadcastOptions {
	return BroadcastOptions{
		Rooms:  b.rooms,
		Except: b.except,
		Flags:  BroadcastFlags{Volatile: b.volatile, Local: b.local, Timeout: b.timeout},
	}
}

// RemoteSocket describes a socket of the cluster, possibly on another node
// (Node's RemoteSocket). Its methods act through the cluster.
//
// Its JSON form is Node's: {"id", "handshake", "rooms", "data"}.
type RemoteSocket struct {
	ID        string     `json:"id"`
	Handshake *Handshake `json:"handshake"`
	Rooms     []string   `json:"rooms"`
	Data      any        `json:"data"`

	nsp *Namespace
}

// Emit sends event to the socket, wherever it is.
func (r RemoteSocket) Emit(event string, args ...any) error {
	if r.nsp == nil {
		return ErrNoNamespace
	}
	return r.nsp.To(r.ID).Emit(event, args...)
}

// EmitWithAck sends event to the socket, wherever it is, and calls cb once
// with its acknowledgement's arguments (only the first when the socket is
// on another node: Node's protocol carries one), ErrAckTimeout when none
// came within timeout, or ErrDisconnected when no node has the socket.
func (r RemoteSocket) EmitWithAck(timeout time.Duration, event string, cb func(reply []any, err error), args ...any) error {
	if r.nsp == nil {
		return ErrNoNamespace
	}
	return r.nsp.To(r.ID).Timeout(timeout).EmitWithAck(event, func(replies [][]any, err error) {
		switch {
		case len(replies) > 0:
			cb(replies[0], nil)
		case err != nil:
			cb(nil, err)
		default:
			cb(nil, ErrDisconnected)
		}
	}, args...)
}

// Join makes the socket join rooms, wherever it is.
func (r RemoteSocket) Join(rooms ...string) {
	if r.nsp != nil {
		r.nsp.In(r.ID).SocketsJoin(rooms...)
	}
}

// Leave makes the socket leave rooms, wherever it is.
func (r RemoteSocket) Leave(rooms ...string) {
	if r.nsp != nil {
		r.nsp.In(r.ID).SocketsLeave(rooms...)
	}
}

// Disconnect disconnects the socket, wherever it is; close also closes its
// connection.
func (r RemoteSocket) Disconnect(close bool) {
	if r.nsp != nil {
		r.nsp.In(r.ID).DisconnectSockets(close)
	}
}

// ErrNoNamespace is returned by a RemoteSocket that was not obtained from
// a namespace (built by hand).
var ErrNoNamespace = errors.New("riptide: remote socket has no namespace")
