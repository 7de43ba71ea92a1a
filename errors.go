package riptide

import "errors"

// ConnectError refuses a namespace connection from a middleware: the
// client's connect_error carries Message as err.message and Data as
// err.data. Any other error refuses with its text as the message.
type ConnectError struct {
	Message string
	Data    any
}

// Error returns the message the client receives.
func (e *ConnectError) Error() string { return e.Message }

// Sentinel errors, compared with errors.Is.
var (
	// ErrAckTimeout: no acknowledgement arrived within the Timeout.
	ErrAckTimeout = errors.New("riptide: operation has timed out")
	// ErrDisconnected: the socket (for a broadcast, some recipient)
	// disconnected before it acknowledged.
	ErrDisconnected = errors.New("riptide: socket disconnected")
	// ErrReservedEvent: the event name is reserved (connect, disconnect...).
	ErrReservedEvent = errors.New("riptide: reserved event name")
	// ErrClosed: the server is closed.
	ErrClosed = errors.New("riptide: server closed")
)

// Disconnect reasons, as the Node server names them.
const (
	ReasonTransportClose            = "transport close"
	ReasonTransportError            = "transport error"
	ReasonPingTimeout               = "ping timeout"
	ReasonParseError                = "parse error"
	ReasonForcedClose               = "forced close"
	ReasonForcedServerClose         = "forced server close"
	ReasonClientNamespaceDisconnect = "client namespace disconnect"
	ReasonServerNamespaceDisconnect = "server namespace disconnect"
	ReasonServerShuttingDown        = "server shutting down"
)
