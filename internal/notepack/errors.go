package notepack

import "errors"

// Errors. Every error this package returns is one of these values (or, from [Append] on a value it hands to
// encoding/json, that package's error), so compare with errors.Is; none allocates.
var (
	// ErrTruncated: the input ends inside a value, or a length (string, binary, extension, array or map count)
	// claims more than the rest of the input can hold. It is reported before anything is allocated.
	ErrTruncated = errors.New("notepack: unexpected end of input")
	// ErrFormat: the format byte 0xc1, which msgpack never uses (notepack.io: "Could not parse").
	ErrFormat = errors.New("notepack: invalid format byte 0xc1")
	// ErrTooDeep: arrays and maps (or JSON arrays and objects) nested deeper than [MaxDepth].
	ErrTooDeep = errors.New("notepack: nesting deeper than MaxDepth")
	// ErrTimestamp: an ext 8 with type -1 (timestamp 96) whose length is not 12. notepack.io would read 12 bytes
	// regardless and lose its place in the input; we refuse it.
	ErrTimestamp = errors.New("notepack: malformed timestamp extension")
	// ErrType: a [Reader] method found another kind of value than it reads (see [Reader.PeekKind]).
	ErrType = errors.New("notepack: unexpected type")
	// ErrOverflow: [Reader.ReadInt] found an unsigned integer above math.MaxInt64.
	ErrOverflow = errors.New("notepack: integer overflows int64")
	// ErrInvalidJSON: the input of [AppendJSON] is not exactly one JSON value (RFC 8259, what JSON.parse accepts),
	// optionally surrounded by whitespace.
	ErrInvalidJSON = errors.New("notepack: invalid JSON")
	// ErrPlaceholder: with attachments, an object with "_placeholder": true whose "num" is not an integer in
	// 0..len(attachments)-1 (socket.io-parser throws "illegal attachments"; for a fraction in range it would
	// yield undefined, which we refuse too).
	ErrPlaceholder = errors.New("notepack: illegal attachments")
	// ErrTooLarge: a string, binary, array or map with 2^32 or more bytes or elements, which msgpack cannot
	// express (notepack.io throws "String too long" etc.).
	ErrTooLarge = errors.New("notepack: value too large for msgpack (2^32 or more bytes or elements)")
)
