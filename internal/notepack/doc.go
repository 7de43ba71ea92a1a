// Package notepack is a MessagePack codec that matches the npm package notepack.io 3.0.1 byte for byte.
//
// # Why
//
// The Node Redis adapter of Socket.IO (@socket.io/redis-adapter 8.3) sends its cluster messages (broadcasts,
// requests such as fetchSockets, and their responses) as msgpack encoded by notepack.io. A Riptide node in a
// cluster with Node servers must write bytes that notepack.io decodes into the JS values a Node peer would have
// sent, and read whatever notepack.io writes. notepack.io is not a generic msgpack library: it has no float 32
// or fixbin on output, writes positive integers in unsigned formats only, writes integral doubles as integers,
// writes Dates as timestamps, and reads a few legacy extensions (undefined, ArrayBuffer, an old Date format). This
// package follows those choices; testdata/vectors.json, produced from the real package by
// internal/interop/testdata/notepack_vectors.js, pins them.
//
// # Writing
//
// The appenders ([AppendInt], [AppendFloat], [AppendString], [AppendBytes], [AppendArrayHeader], ...) write one
// value each into a caller's buffer and never allocate when it has room. [Append] encodes a generic Go value.
// [AppendJSON] transcodes JSON (a Socket.IO packet's data) straight into msgpack, turning attachment placeholders
// into binary values, as the Node adapter's encoding of a reconstructed packet would; it allocates nothing either.
//
// # Reading
//
// [Decode] builds Go values (the JS value's Go counterpart; see its doc for the mapping); [Reader] walks a message
// without building it; [ToJSON] turns a value back into the JSON and attachments socket.io-parser would write for
// it, to deliver a packet received from the cluster.
//
// # Deliberate differences from notepack.io
//
// notepack.io wraps integral numbers outside [-2^63, 2^64) modulo 2^64 (1e20 arrives as 7766279631452241920, 1e300
// as 0); [AppendFloat] writes them as float 64. notepack.io encodes a string of up to 32 UTF-16 units containing an
// unpaired surrogate as a 4-byte sequence that also swallows the next unit ("\ud800a" becomes U+10061); we write
// U+FFFD, as Node's own UTF-8 encoder (and notepack.io for longer strings) does. A timestamp 96 whose ext length is
// not 12 is an error, not a misread.
//
// # Hostile input
//
// Decoding never panics and never trusts a length before checking it against the input: a 5-byte "array of 4e9
// elements" fails with [ErrTruncated] without allocating. Nesting is bounded by [MaxDepth]. Work is linear in the
// input. Fuzz targets pin this.
//
// # Lifetimes
//
// [Decode] and [Reader.ReadString] copy what they return. [Reader]'s other byte slices and the attachments of
// [ToJSON] alias the input. The encoders keep no reference to their arguments. Nothing here holds state between
// calls, so every function is safe for concurrent use; a Reader is not.
package notepack
