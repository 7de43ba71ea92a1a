// Package frame implements the WebSocket framing of RFC 6455 on byte slices,
// for the server side of a connection: no I/O, no goroutines, and no
// allocations on the hot paths.
//
// # Reading client frames
//
// [ParseHeader] parses one frame header (RFC 6455 §5.2) from the front of a
// buffer and validates what a header alone can tell: reserved bits (§5.2),
// reserved opcodes (§5.2), control frame limits (§5.5). A buffer too short for
// the header yields [ErrNeedMore], which is a state, not an error: wait for
// more bytes and call again with the same bytes.
//
// A [Decoder] turns the bytes a connection has buffered into messages. It adds
// the checks that need connection state: client frames must be masked (§5.1,
// §5.3), fragments must follow the rules of §5.4, text must be UTF-8 (§5.6,
// §8.1), close frames must carry a valid code and reason (§5.5.1, §7.4), and
// messages must not exceed [Limits.MaxMessageSize]. Sizes are checked from
// the header, before the payload has arrived.
//
// # Writing server frames
//
// Server frames are never masked (§5.1). [PutHeader] writes a header
// backwards into [MaxHeaderSize] bytes of headroom reserved in front of a
// payload, so that an encoder can append its payload first and frame it
// afterwards, in one contiguous buffer. [AppendFrame], [AppendClose] and
// [AppendPong] append whole frames. [CloseFrameNoStatus] and
// [CloseError.Frame] are pre-built.
//
// # Errors
//
// Protocol violations are returned as a *[CloseError], which carries the close
// status code to answer with (§7.4.1) and a pre-built close frame. Every
// *CloseError matches, with [errors.Is], the exported sentinel of its code:
// [ErrProtocol] (1002), [ErrInvalidUTF8] (1007), [ErrPolicy] (1008) or
// [ErrTooBig] (1009). After a *CloseError the connection must be closed
// (§7.1.7 "Fail the WebSocket Connection"); nothing in this package panics on
// input.
//
// # Lifetimes and concurrency
//
// Decoding works in place: [Decoder.Next] unmasks payloads inside the buffer
// it is given, and a returned [Message.Payload] aliases either that buffer or
// the Decoder's assembly buffer. Either way it is valid until the next call to
// Next (or Release, or Reset) and only while the caller keeps its buffer; copy
// it to keep it longer. Assembly buffers are pooled and may serve another
// connection once released. Byte slices returned by [CloseError.Frame] and
// [CloseFrameNoStatus] are shared and must not be modified.
//
// A Decoder belongs to one connection and is used from that connection's
// event loop only; it is not safe for concurrent use, and must not be copied
// while it holds a fragmented message. Its [Limits] may be shared by all the
// Decoders of a server. The functions of this
// package hold no state and are safe for concurrent use.
package frame
