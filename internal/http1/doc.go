// Package http1 parses HTTP/1.1 request heads (and chunked bodies) straight
// out of a gnet loop's read buffer, without allocating.
//
// Riptide only ever receives two kinds of HTTP request: Engine.IO long-polling
// GET/POST requests and WebSocket upgrade requests (PROTOCOL.md §3–§6). This
// package turns the bytes of such a request into a [Request] whose fields are
// sub-slices of the input, picks out the headers Engine.IO and Socket.IO need
// while it parses, and refuses anything ambiguous with an [*Error] that knows
// its HTTP status and carries a pre-encoded response.
//
// # Use
//
//	var req http1.Request // one per loop or per connection; reused
//	err := http1.Parse(buf, &req, maxHead)
//	switch {
//	case err == http1.ErrNeedMore:
//		// leave buf in gnet's inbound buffer and wait for more bytes
//	case err != nil:
//		var he *http1.Error
//		errors.As(err, &he)
//		c.Write(he.Response()) // then close: the stream cannot be resynchronised
//	default:
//		// req.HeadLen bytes are the head; a body follows when
//		// req.ContentLength > 0 (exactly that many bytes) or req.Chunked
//		// (see [DecodeChunked]).
//	}
//
// Pipelined requests are handled by parsing the first one, consuming
// HeadLen plus its body, and calling [Parse] again on the rest.
//
// # Lifetimes
//
// Every []byte returned by this package — all [Request] fields, every
// [Header], the values from [QueryValue] — aliases the input buffer. They are
// valid until the caller discards or overwrites those bytes (for gnet: until
// Discard, or until OnTraffic returns). Keep one longer only by copying it.
// The slices are capacity-limited, so appending to one never overwrites the
// input.
//
// # Concurrency
//
// Nothing here is goroutine-safe: a [Request] belongs to one goroutine (one
// gnet loop) at a time. The functions themselves keep no state and may be
// called from any number of goroutines on distinct arguments.
//
// # Strictness
//
// The parser is deliberately stricter than net/http where leniency is a
// request-smuggling risk: lines must end in CRLF, obsolete line folding,
// whitespace before a colon, Transfer-Encoding together with Content-Length,
// and Transfer-Encoding on HTTP/1.0 are all refused. Anything it accepts,
// net/http.ReadRequest accepts too and reads the same way (FuzzParse and
// FuzzDecodeChunked check this with net/http as the oracle, and check that
// every refusal of something net/http accepts is a documented one). The
// divergences are listed in the documentation of [Parse] and [DecodeChunked].
//
// Nothing in this package panics on any input.
package http1
