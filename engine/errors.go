package engine

import "strconv"

// Engine.IO error codes (PROTOCOL.md §6, packages/engine.io/lib/server.ts).
const (
	CodeUnknownTransport   = 0
	CodeUnknownSID         = 1
	CodeBadHandshakeMethod = 2
	CodeBadRequest         = 3
	CodeForbidden          = 4
	CodeUnsupportedVersion = 5
)

var codeMessages = [...]string{
	"Transport unknown",
	"Session ID unknown",
	"Bad handshake method",
	"Bad request",
	"Forbidden",
	"Unsupported protocol version",
}

// codeBodies are the pre-encoded JSON bodies of the error answers.
var codeBodies = func() [][]byte {
	b := make([][]byte, len(codeMessages))
	for i, m := range codeMessages {
		b[i] = appendErrorJSON(nil, i, m)
	}
	return b
}()

func appendErrorJSON(dst []byte, code int, msg string) []byte {
	dst = append(dst, `{"code":`...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, `,"message":`...)
	dst = strconv.AppendQuote(dst, msg) // messages are ASCII; Go quoting equals JSON here
	return append(dst, '}')
}

// statusText holds the reason phrases Riptide answers with.
func statusText(code int) string {
	switch code {
	case 101:
		return "Switching Protocols"
	case 200:
		return "OK"
	case 204:
		return "No Content"
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 413:
		return "Payload Too Large"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 503:
		return "Service Unavailable"
	case 505:
		return "HTTP Version Not Supported"
	}
	return "Unknown"
}
