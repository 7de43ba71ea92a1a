package riptide

import (
	"context"
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
	Timeout  time.Duration // for broadcasts with acknowledgements
}

// RemoteSocket describes a socket on another node (FetchSockets across a
// cluster).
type RemoteSocket struct {
	ID        string
	Handshake *Handshake
	Rooms     []string
	Data      any
}

// Adapter carries a namespace's operations to the other nodes of a cluster
// (Node's socket.io-adapter). Riptide always serves its own node directly —
// room shards on each event loop, encode-once broadcasts — so an Adapter
// only adds the rest of the cluster: it publishes what this node does and
// applies what other nodes publish (through Namespace methods with Local).
//
// The default, MemoryAdapter, is a single node: every method is a no-op.
// A Redis adapter compatible with @socket.io/redis-adapter plugs in here.
// Methods are called from any goroutine, including event loops: they must
// not block (queue the work).
type Adapter interface {
	// Broadcast publishes an event emitted on this node, after local
	// delivery. packet is the encoded Socket.IO packet (no Engine.IO type
	// byte) and attachments its binary parts; both are borrowed.
	Broadcast(nsp string, packet []byte, attachments [][]byte, opts BroadcastOptions)
	// AddAll, Del and DelAll report room membership changes of local
	// sockets (dynamic subscriptions subscribe only where members are).
	AddAll(nsp, id string, rooms []string)
	Del(nsp, id, room string)
	DelAll(nsp, id string)
	// FetchSockets returns the matching sockets of the other nodes.
	FetchSockets(ctx context.Context, nsp string, opts BroadcastOptions) ([]RemoteSocket, error)
	// AddSockets, DelSockets and DisconnectSockets apply a selection's
	// operation on the other nodes.
	AddSockets(nsp string, opts BroadcastOptions, rooms []string)
	DelSockets(nsp string, opts BroadcastOptions, rooms []string)
	DisconnectSockets(nsp string, opts BroadcastOptions, close bool)
	// ServerSideEmit sends an event to the other nodes' servers.
	ServerSideEmit(nsp string, event string, args []any) error
	// ServerCount is the number of nodes, this one included.
	ServerCount() int
	// Close releases the adapter.
	Close() error
}

// MemoryAdapter is the single-node Adapter: nothing to publish, nothing to
// fetch. It is the default.
type MemoryAdapter struct{}

var _ Adapter = MemoryAdapter{}

// Broadcast implements Adapter.
func (MemoryAdapter) Broadcast(string, []byte, [][]byte, BroadcastOptions) {}

// AddAll implements Adapter.
func (MemoryAdapter) AddAll(string, string, []string) {}

// Del implements Adapter.
func (MemoryAdapter) Del(string, string, string) {}

// DelAll implements Adapter.
func (MemoryAdapter) DelAll(string, string) {}

// FetchSockets implements Adapter.
func (MemoryAdapter) FetchSockets(context.Context, string, BroadcastOptions) ([]RemoteSocket, error) {
	return nil, nil
}

// AddSockets implements Adapter.
func (MemoryAdapter) AddSockets(string, BroadcastOptions, []string) {}

// DelSockets implements Adapter.
func (MemoryAdapter) DelSockets(string, BroadcastOptions, []string) {}

// DisconnectSockets implements Adapter.
func (MemoryAdapter) DisconnectSockets(string, BroadcastOptions, bool) {}

// ServerSideEmit implements Adapter.
func (MemoryAdapter) ServerSideEmit(string, string, []any) error { return nil }

// ServerCount implements Adapter.
func (MemoryAdapter) ServerCount() int { return 1 }

// Close implements Adapter.
func (MemoryAdapter) Close() error { return nil }

// options returns the operator's selection as adapter options.
func (b BroadcastOperator) options() BroadcastOptions {
	return BroadcastOptions{
		Rooms:  b.rooms,
		Except: b.except,
		Flags:  BroadcastFlags{Volatile: b.volatile, Local: b.local, Timeout: b.timeout},
	}
}
