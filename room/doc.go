// Package room keeps Socket.IO room membership for one event loop at a time
// and turns a broadcast's To/Except into the set of connections to write to.
//
// # Shards and slots
//
// Riptide runs each connection on one gnet event loop, which numbers its
// connections with small loop-local slots (0..N-1, reused after a close). A
// [Shard] holds, for one (event loop, namespace) pair, which slots are in the
// namespace and which are in each room. It knows no sockets, ids or bytes: the
// root package maps slots to sessions.
//
// A socket's own-id room is not stored here. The root resolves a socket id to
// its loop and slot and expresses To(id), Except(id) and Broadcast (all but
// self) with [Selector.ToSlots] and [Selector.ExceptSlots].
//
// # Broadcasting
//
// [Shard.Select] is set algebra on bitsets: To(a, b).Except(c) selects
// (a ∪ b) \ c, and no To selects every member of the namespace. The result
// lands in a caller-owned [Bitset], walked with [Bitset.Next] or
// [Bitset.ForEach]:
//
//	sh.Select(&sel, room.Selector{To: to, Except: except})
//	for slot, ok := sel.Next(0); ok; slot, ok = sel.Next(slot + 1) {
//		write(slot)
//	}
//
// # Concurrency
//
// Everything here is loop-only: a Shard and the Bitsets used with it belong to
// one event loop's goroutine and take no locks. Work from other goroutines
// reaches a shard through one Execute per loop, never per recipient.
//
// # Lifetimes and memory
//
// Room names passed in are borrowed: [Shard.Join] copies a name once, when it
// creates the room, so callers may pass strings that alias reused buffers.
// Names handed out ([Shard.RoomsOf], [Shard.RoomNames], Remove's callback) are
// the shard's copies and may be kept.
//
// Small rooms are sorted slot lists and big ones bitsets, so a lone member at
// slot 19,000 costs 4 bytes rather than 2 KiB; empty rooms are freed at once.
// With a warmed destination, Select, the walk, and Join/Leave on existing
// rooms do not allocate (alloc_test.go pins this).
package room
