package engine

import "strconv"

// HTTP answers. Every response states its length; keep-alive follows the
// request (PROTOCOL.md §5 and §6 for the exact statuses and bodies).

func appendStatusLine(dst []byte, status int) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, statusText(status)...)
	return append(dst, "\r\n"...)
}

// appendResponse appends a whole response: status, content type (omitted
// when empty), the connection's extra headers, the body.
func appendResponse(dst []byte, status int, contentType string, extra, body []byte, keepAlive bool) []byte {
	dst = appendStatusLine(dst, status)
	if contentType != "" {
		dst = append(dst, "Content-Type: "...)
		dst = append(dst, contentType...)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\n"...)
	if !keepAlive {
		dst = append(dst, "Connection: close\r\n"...)
	}
	dst = append(dst, extra...)
	dst = append(dst, "\r\n"...)
	return append(dst, body...)
}

// respond writes a response on the connection from loop `from` and makes
// the connection ready for its next request.
func (cn *conn) respond(from *Loop, status int, contentType string, body []byte, closeAfter bool) {
	keep := cn.aux.keepAlive && !closeAfter
	b := appendResponse(from.scratch[:0], status, contentType, cn.aux.extra, body, keep)
	from.scratch = b[:0]
	cn.write(from, b)
	cn.unpark(from, keep)
}

// unpark ends a request/response exchange: the connection takes its next
// request (pipelined bytes already buffered included), or closes.
func (cn *conn) unpark(from *Loop, keep bool) {
	if from != cn.loop {
		// Hop to the connection's loop: its fields are that loop's.
		cn.loop.Post(func() { cn.unparkOwn(keep) })
		return
	}
	cn.unparkOwn(keep)
}

func (cn *conn) unparkOwn(keep bool) {
	cn.aux.parked = false
	cn.s = nil
	if cn.closed {
		return
	}
	if !keep {
		cn.close(cn.loop)
		return
	}
	cn.armIdle()
	if cn.gc.InboundBuffered() > 0 {
		_ = cn.gc.Wake(nil)
	}
}

// writeSimple answers with an empty body (400, 413, 500...) on the
// connection's own loop.
func (cn *conn) writeSimple(status int, keepOK bool) {
	keep := cn.aux.keepAlive && keepOK
	b := appendResponse(cn.loop.scratch[:0], status, "", cn.aux.extra, nil, keep)
	cn.loop.scratch = b[:0]
	cn.writeOwn(b)
}

// respondJSONError answers with an Engine.IO error body on the
// connection's own loop.
func (cn *conn) respondJSONError(status, code int, msg string) {
	var body []byte
	if msg == codeMessages[code] {
		body = codeBodies[code]
	} else {
		body = appendErrorJSON(nil, code, msg)
	}
	b := appendResponse(cn.loop.scratch[:0], status, "application/json", cn.aux.extra, body, cn.aux.keepAlive)
	cn.loop.scratch = b[:0]
	cn.writeOwn(b)
}

// writeUpgradeError refuses a WebSocket upgrade the way the reference does
// (PROTOCOL.md §6): 400, text/html, the message alone, then close.
func (cn *conn) writeUpgradeError(msg string) {
	b := appendResponse(cn.loop.scratch[:0], 400, "text/html", nil, []byte(msg), false)
	cn.loop.scratch = b[:0]
	cn.writeOwn(b)
}
