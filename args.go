package riptide

import (
	"github.com/riptide-io/riptide/codec"
)

// Args are the arguments of a received event or acknowledgement, still as
// raw JSON. They are borrowed: valid until the handler returns. Decode what
// you keep (Decode, Values, Arg).
type Args struct {
	raw [][]byte
	att [][]byte
}

// Len is the number of arguments.
func (a Args) Len() int { return len(a.raw) }

// Raw returns argument i as JSON (binary attachments appear as
// {"_placeholder":true,"num":n}). Borrowed like Args.
func (a Args) Raw(i int) []byte { return a.raw[i] }

// Decode decodes argument i into v (a pointer), with encoding/json rules;
// binary attachments fill []byte fields.
func (a Args) Decode(i int, v any) error {
	if i >= len(a.raw) {
		return errArgIndex
	}
	return codec.UnmarshalArg(a.raw[i], a.att, v)
}

// Values decodes every argument into Go values: float64, string, bool,
// nil, []any, map[string]any, and []byte for binary. The result is the
// caller's: it does not alias the connection's buffers.
func (a Args) Values() ([]any, error) {
	out := make([]any, len(a.raw))
	for i := range a.raw {
		if err := codec.UnmarshalArg(a.raw[i], a.att, &out[i]); err != nil {
			return nil, err
		}
		out[i] = copyBinary(out[i])
	}
	return out, nil
}

// copyBinary copies attachment slices so values outlive the packet.
func copyBinary(v any) any {
	switch x := v.(type) {
	case []byte:
		return append([]byte(nil), x...)
	case []any:
		for i := range x {
			x[i] = copyBinary(x[i])
		}
	case map[string]any:
		for k, e := range x {
			x[k] = copyBinary(e)
		}
	}
	return v
}

// Arg decodes argument i of a into a T.
//
//	name, err := riptide.Arg[string](args, 0)
func Arg[T any](a Args, i int) (T, error) {
	var v T
	err := a.Decode(i, &v)
	return v, err
}

// Ack answers a client's acknowledgement callback. It is nil when the
// client asked for none. It may be called once, later, from any goroutine;
// further calls are ignored.
type Ack func(args ...any)

type argError string

func (e argError) Error() string { return string(e) }

const errArgIndex = argError("riptide: argument index out of range")

// RawJSON is an argument already encoded as JSON: it is sent verbatim
// after a validity check (invalid JSON, or a raw control character that
// would break polling framing, makes Emit fail). It cannot carry binary.
type RawJSON = codec.RawJSON
