package redisadapter

import (
	"strconv"
	"time"

	"github.com/riptide-io/riptide"
	"github.com/riptide-io/riptide/internal/notepack"
)

// The classic protocol's broadcasts — every message of a busy cluster —
// are read straight from msgpack: the envelope walked in place, only the
// event's data transcoded (to the JSON the clients get). The other
// messages go through decode + JSON, where clarity beats speed.

// onClassicBroadcastMsgpack handles `[uid, packet, opts]`.
func (ns *nsAdapter) onClassicBroadcastMsgpack(payload []byte) error {
	var r notepack.Reader
	r.Reset(payload)
	n, err := r.ReadArrayHeader()
	if err != nil || n < 3 {
		return errMalformed
	}
	uid, err := r.ReadStringBytes()
	if err != nil {
		return errMalformed
	}
	if string(uid) == ns.uid {
		ns.ignored()
		return nil
	}
	// packet: {type, data, nsp[, id]}
	m, err := r.ReadMapHeader()
	if err != nil {
		return errMalformed
	}
	typ, data, nspOK := int64(-1), []byte(nil), ns.name == "/" // Node: no nsp means "/"
	for range m {
		key, err := r.ReadStringBytes()
		if err != nil {
			return errMalformed
		}
		switch string(key) {
		case "type":
			if typ, err = r.ReadInt(); err != nil {
				return errMalformed
			}
		case "data":
			if data, err = r.Raw(); err != nil {
				return errMalformed
			}
		case "nsp":
			v, err := r.ReadStringBytes()
			if err != nil {
				return errMalformed
			}
			nspOK = string(v) == ns.name
		default:
			if err := r.Skip(); err != nil {
				return errMalformed
			}
		}
	}
	if !nspOK {
		ns.ignored()
		return nil
	}
	if typ != 2 && typ != 5 || data == nil {
		return errMalformed
	}
	opts, err := readOpts(&r)
	if err != nil {
		return err
	}
	js, atts, used, err := notepack.ToJSON(make([]byte, 0, len(data)+len(data)/2+16), data, nil)
	if err != nil || used != len(data) {
		return errMalformed
	}
	return ns.selectionOf(opts).EmitPacket(riptide.ClusterPacket{Data: js, Attachments: atts})
}

// readOpts reads {rooms, except, flags} (unknown keys and flags skipped).
func readOpts(r *notepack.Reader) (riptide.BroadcastOptions, error) {
	var o riptide.BroadcastOptions
	if r.ReadNil() {
		return o, nil
	}
	m, err := r.ReadMapHeader()
	if err != nil {
		return o, errMalformed
	}
	for range m {
		key, err := r.ReadStringBytes()
		if err != nil {
			return o, errMalformed
		}
		switch string(key) {
		case "rooms":
			o.Rooms, err = readRooms(r)
		case "except":
			o.Except, err = readRooms(r)
		case "flags":
			err = readFlags(r, &o.Flags)
		default:
			err = r.Skip()
		}
		if err != nil {
			return o, errMalformed
		}
	}
	return o, nil
}

// readRooms reads an array of rooms: strings, or numbers (JS rooms may
// be) as their decimal text.
func readRooms(r *notepack.Reader) ([]string, error) {
	if r.ReadNil() {
		return nil, nil
	}
	n, err := r.ReadArrayHeader()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	out := make([]string, 0, n)
	for range n {
		switch r.PeekKind() {
		case notepack.KindString:
			s, err := r.ReadString()
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		case notepack.KindInt, notepack.KindFloat:
			f, err := r.ReadFloat()
			if err != nil {
				return nil, err
			}
			out = append(out, strconv.FormatFloat(f, 'f', -1, 64))
		default:
			if err := r.Skip(); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func readFlags(r *notepack.Reader, f *riptide.BroadcastFlags) error {
	if r.ReadNil() {
		return nil
	}
	m, err := r.ReadMapHeader()
	if err != nil {
		return err
	}
	for range m {
		key, err := r.ReadStringBytes()
		if err != nil {
			return err
		}
		k := r.PeekKind()
		switch {
		case string(key) == "volatile" && k == notepack.KindBool:
			f.Volatile, err = r.ReadBool()
		case string(key) == "compress" && k == notepack.KindBool:
			f.Compress, err = r.ReadBool()
		case string(key) == "timeout" && (k == notepack.KindInt || k == notepack.KindFloat):
			var ms float64
			ms, err = r.ReadFloat()
			if ms > 0 && ms < 1e12 {
				f.Timeout = time.Duration(ms * float64(time.Millisecond))
			}
		default:
			err = r.Skip()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// selectionOf is the local operator for remote options.
func (ns *nsAdapter) selectionOf(o riptide.BroadcastOptions) riptide.BroadcastOperator {
	op := ns.nsp.Local()
	if len(o.Rooms) > 0 {
		op = op.To(o.Rooms...)
	}
	if len(o.Except) > 0 {
		op = op.Except(o.Except...)
	}
	if o.Flags.Volatile {
		op = op.Volatile()
	}
	if o.Flags.Timeout > 0 {
		op = op.Timeout(o.Flags.Timeout)
	}
	return op
}
