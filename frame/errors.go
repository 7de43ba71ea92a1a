package frame

import (
	"errors"
	"strconv"

	"github.com/gobwas/ws"
)

// ErrNeedMore is returned when the buffer does not hold a whole header (or,
// from [Decoder.Next], a whole frame) yet. It is a state, not a protocol
// error: keep the bytes, wait for more, and call again.
var ErrNeedMore = errors.New("frame: need more bytes")

// CloseError is a protocol violation that fails the WebSocket connection
// (RFC 6455 §7.1.7). Code is the status code to close with (§7.4.1); Reason
// says what was wrong, for logs.
//
// The values this package returns are package-level variables, so returning
// them does not allocate; compare them with [errors.Is] against [ErrProtocol],
// [ErrInvalidUTF8], [ErrPolicy] or [ErrTooBig].
type CloseError struct {
	Code   ws.StatusCode
	Reason string
}

// Error implements error. It allocates; it is meant for logs.
func (e *CloseError) Error() string {
	return "frame: " + e.Reason + " (close " + strconv.Itoa(int(e.Code)) + ")"
}

// Is reports whether target is the exported sentinel ([ErrProtocol],
// [ErrInvalidUTF8], [ErrPolicy], [ErrTooBig]) of e's close code, so that
// errors.Is(err, ErrProtocol) holds for every 1002 error whatever its Reason.
func (e *CloseError) Is(target error) bool {
	switch target {
	case error(ErrProtocol), error(ErrInvalidUTF8), error(ErrPolicy), error(ErrTooBig):
		return target.(*CloseError).Code == e.Code
	}
	return false
}

// Frame returns the server close frame to send for e: an unmasked close frame
// carrying e.Code and no reason (as Node's ws does; the reason stays in logs).
// For codes 1000 to 1015 it is pre-built and shared: do not modify it. Other
// codes allocate a new frame; codes 0 and 1005 give [CloseFrameNoStatus]
// (see [AppendClose]).
func (e *CloseError) Frame() []byte {
	if e.Code == 0 {
		return CloseFrameNoStatus
	}
	if e.Code >= closeFramesBase && int(e.Code-closeFramesBase) < len(closeFrames) {
		return closeFrames[e.Code-closeFramesBase]
	}
	return AppendClose(nil, e.Code, "")
}

// Sentinel errors, one per close code this package fails a connection with.
// The errors actually returned carry a more precise Reason and match these
// with [errors.Is].
var (
	// ErrProtocol: the peer broke RFC 6455 (1002, §7.4.1).
	ErrProtocol = &CloseError{ws.StatusProtocolError, "protocol error"}
	// ErrInvalidUTF8: a text message or close reason is not UTF-8
	// (1007, §8.1).
	ErrInvalidUTF8 = &CloseError{ws.StatusInvalidFramePayloadData, "invalid UTF-8"}
	// ErrPolicy: a message broke a limit other than its size, such as
	// [Limits.MaxFragments] (1008, §7.4.1).
	ErrPolicy = &CloseError{ws.StatusPolicyViolation, "policy violation"}
	// ErrTooBig: a message exceeds [Limits.MaxMessageSize] (1009, §7.4.1).
	ErrTooBig = &CloseError{ws.StatusMessageTooBig, "message too big"}
)

// Precise errors, each matching one of the sentinels above.
var (
	errReservedBits     = &CloseError{ws.StatusProtocolError, "reserved bits set"}
	errReservedOpCode   = &CloseError{ws.StatusProtocolError, "reserved opcode"}
	errControlNotFinal  = &CloseError{ws.StatusProtocolError, "fragmented control frame"}
	errControlTooLong   = &CloseError{ws.StatusProtocolError, "control frame payload over 125 bytes"}
	errLengthMSB        = &CloseError{ws.StatusProtocolError, "64-bit payload length with the most significant bit set"}
	errUnmasked         = &CloseError{ws.StatusProtocolError, "client frame not masked"}
	errNoContinuation   = &CloseError{ws.StatusProtocolError, "continuation frame without a message in progress"}
	errInterleaved      = &CloseError{ws.StatusProtocolError, "new data frame while a fragmented message is in progress"}
	errCloseLength      = &CloseError{ws.StatusProtocolError, "close frame payload of 1 byte"}
	errCloseCode        = &CloseError{ws.StatusProtocolError, "invalid close status code"}
	errTextUTF8         = &CloseError{ws.StatusInvalidFramePayloadData, "text message is not valid UTF-8"}
	errCloseReasonUTF8  = &CloseError{ws.StatusInvalidFramePayloadData, "close reason is not valid UTF-8"}
	errTooManyFragments = &CloseError{ws.StatusPolicyViolation, "too many fragments"}
)

// closeFrames holds the pre-built close frames for codes 1000 to 1015, the
// ones a server may need; CloseError.Frame looks them up without allocating.
const closeFramesBase = ws.StatusNormalClosure

var closeFrames [16][]byte

func init() {
	for i := range closeFrames {
		closeFrames[i] = AppendClose(nil, closeFramesBase+ws.StatusCode(i), "")
	}
}
