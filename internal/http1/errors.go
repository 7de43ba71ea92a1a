package http1

import (
	"errors"
	"strconv"
)

// ErrNeedMore reports that the buffer does not yet hold the whole request
// head (or the whole chunked body). It is a state, not an error: keep the
// bytes and call again once more have arrived. It is never an [*Error].
var ErrNeedMore = errors.New("riptide: http1: need more data")

// Error is a malformed, oversized or unsupported request. It knows the HTTP
// status the server answers with and carries that answer pre-encoded
// ([Error.Response]). After an Error the connection must be closed once the
// response is written: the request stream can no longer be framed.
//
// Every Error returned by this package is, or wraps to (via [errors.Is]), one
// of the class sentinels [ErrBadRequest], [ErrHeadTooLarge], [ErrBodyTooLarge],
// [ErrNotImplemented] or [ErrVersion]; Reason says precisely what was wrong.
// Errors are package-level values: returning one never allocates.
type Error struct {
	Status int    // HTTP status code of the answer: 400, 413, 431, 501 or 505
	Reason string // what was wrong, for logs; not sent to the peer

	class *Error // the sentinel this error belongs to; nil for sentinels
	msg   string
	resp  []byte
}

// Error implements error. It does not allocate.
func (e *Error) Error() string { return e.msg }

// Is reports whether target is the class sentinel of e, so that
// errors.Is(err, ErrBadRequest) holds for every 400 this package returns.
func (e *Error) Is(target error) bool {
	return e.class != nil && target == error(e.class)
}

// Response returns the pre-encoded HTTP/1.1 response for e:
//
//	HTTP/1.1 <Status> <text>\r\nConnection: close\r\nContent-Length: 0\r\n\r\n
//
// The bytes are shared by all callers and must not be modified. Write them,
// then close the connection.
func (e *Error) Response() []byte { return e.resp }

// The class sentinels. Compare with errors.Is.
var (
	// ErrBadRequest (400) is any syntax error or ambiguity in the head or
	// in a chunked body: bad request line, bad header field, bare CR or LF,
	// obsolete line folding, missing or repeated Host, bad or conflicting
	// Content-Length, Transfer-Encoding with Content-Length or on HTTP/1.0,
	// bad chunk framing, bad percent-encoding.
	ErrBadRequest = newSentinel(400, "bad request")
	// ErrHeadTooLarge (431) is returned when no complete head (CRLFCRLF)
	// fits in maxHead bytes, when the head has more than [MaxHeaders]
	// fields, and when chunked trailers exceed [MaxTrailerBytes].
	ErrHeadTooLarge = newSentinel(431, "request header fields too large")
	// ErrBodyTooLarge (413) is returned by [DecodeChunked] as soon as the
	// declared chunk sizes add up to more than the caller's limit.
	ErrBodyTooLarge = newSentinel(413, "request body too large")
	// ErrNotImplemented (501) is a Transfer-Encoding other than exactly
	// one "chunked" (RFC 9112 §6.1), as net/http answers.
	ErrNotImplemented = newSentinel(501, "unsupported transfer encoding")
	// ErrVersion (505) is a well-formed HTTP version other than 1.0 or 1.1.
	ErrVersion = newSentinel(505, "unsupported HTTP version")
)

// Specific errors: each belongs to a class above.
var (
	errMethod          = newError(ErrBadRequest, "invalid method")
	errTarget          = newError(ErrBadRequest, "invalid request target")
	errVersionSyntax   = newError(ErrBadRequest, "malformed HTTP version")
	errBareLF          = newError(ErrBadRequest, "line not terminated by CRLF")
	errBareCR          = newError(ErrBadRequest, "CR not followed by LF")
	errObsFold         = newError(ErrBadRequest, "obsolete line folding or leading whitespace")
	errSpaceBeforeColn = newError(ErrBadRequest, "whitespace between header field name and colon")
	errFieldName       = newError(ErrBadRequest, "invalid header field name")
	errNoColon         = newError(ErrBadRequest, "header line without colon")
	errFieldValue      = newError(ErrBadRequest, "invalid byte in header field value")
	errMissingHost     = newError(ErrBadRequest, "missing Host header")
	errDuplicateHost   = newError(ErrBadRequest, "more than one Host header")
	errHost            = newError(ErrBadRequest, "invalid Host header")
	errContentLength   = newError(ErrBadRequest, "invalid Content-Length")
	errCLConflict      = newError(ErrBadRequest, "conflicting Content-Length headers")
	errCLAndTE         = newError(ErrBadRequest, "both Transfer-Encoding and Content-Length")
	errTEOn10          = newError(ErrBadRequest, "Transfer-Encoding in an HTTP/1.0 request")
	errTrailerKey      = newError(ErrBadRequest, "forbidden field name in Trailer")
	errEscape          = newError(ErrBadRequest, "invalid percent-encoding")
	errChunkSize       = newError(ErrBadRequest, "invalid chunk size")
	errChunkLine       = newError(ErrBadRequest, "malformed chunk line")
	errChunkData       = newError(ErrBadRequest, "chunk data not followed by CRLF")
	errChunkOverhead   = newError(ErrBadRequest, "chunked encoding contains too much non-data")
	errTooManyFields   = newError(ErrHeadTooLarge, "too many header fields")
	errTrailerTooLarge = newError(ErrHeadTooLarge, "chunked trailer section too large")
	errTransferCoding  = newError(ErrNotImplemented, "unsupported transfer encoding")
	errTECount         = newError(ErrNotImplemented, "more than one Transfer-Encoding header")
)

func newSentinel(status int, reason string) *Error {
	return &Error{
		Status: status,
		Reason: reason,
		msg:    "riptide: http1: " + reason,
		resp:   appendResponse(nil, status),
	}
}

func newError(class *Error, reason string) *Error {
	return &Error{
		Status: class.Status,
		Reason: reason,
		class:  class,
		msg:    "riptide: http1: " + reason,
		resp:   class.resp,
	}
}

func appendResponse(dst []byte, status int) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, statusText(status)...)
	return append(dst, "\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"...)
}

func statusText(status int) string {
	switch status {
	case 400:
		return "Bad Request"
	case 413:
		return "Request Entity Too Large"
	case 431:
		return "Request Header Fields Too Large"
	case 501:
		return "Not Implemented"
	case 505:
		return "HTTP Version Not Supported"
	}
	return "Error"
}
