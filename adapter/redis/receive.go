package redisadapter

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/bytedance/sonic"

	"github.com/riptide-io/riptide"
	"github.com/riptide-io/riptide/codec"
	"github.com/riptide-io/riptide/internal/notepack"
)

// wire is every field a message, request or response of either protocol
// may carry (the sharded protocol nests them under "data", decoded into a
// wire too).
type wire struct {
	UID         string          `json:"uid"`
	Nsp         *string         `json:"nsp"`
	Type        int             `json:"type"`
	RequestID   *string         `json:"requestId"`
	Data        json.RawMessage `json:"data"`
	Opts        *jsonOpts       `json:"opts"`
	Rooms       roomList        `json:"rooms"`
	SID         string          `json:"sid"`
	Room        string          `json:"room"`
	Close       bool            `json:"close"`
	Packet      json.RawMessage `json:"packet"`
	Sockets     json.RawMessage `json:"sockets"`
	ClientCount int             `json:"clientCount"`
}

func (w *wire) requestID() string {
	if w.RequestID == nil {
		return ""
	}
	return *w.RequestID
}

// clusterMsg is a sharded message {uid, nsp, type, data}, decoded in one
// pass.
type clusterMsg struct {
	UID  string  `json:"uid"`
	Nsp  *string `json:"nsp"`
	Type int     `json:"type"`
	Data wire    `json:"data"`
}

// nodePacket is Node's packet object {type, data, nsp, id}.
type nodePacket struct {
	Type int             `json:"type"`
	Data json.RawMessage `json:"data"`
	Nsp  *string         `json:"nsp"`
}

// parsePacket reads Node's packet object: an EVENT (or BINARY_EVENT).
func parsePacket(raw json.RawMessage) (nodePacket, error) {
	var p nodePacket
	if err := unmarshal(raw, &p); err != nil || p.Type != 2 && p.Type != 5 {
		return p, errMalformed
	}
	return p, nil
}

var errMalformed = errors.New("riptide/redis: malformed cluster message")

// unmarshal is sonic's (several times encoding/json's speed on this path;
// strings may alias the payload, which the adapter owns and never reuses).
var unmarshal = sonic.ConfigDefault.Unmarshal

// decode turns a payload into JSON: JSON payloads start with '{'; the
// others are msgpack, transcoded with binaries as placeholders into atts.
func decode(payload []byte) (js []byte, atts [][]byte, err error) {
	if len(payload) > 0 && payload[0] == '{' {
		return payload, nil, nil
	}
	js, atts, n, err := notepack.ToJSON(nil, payload, nil)
	if err != nil {
		return nil, nil, err
	}
	if n != len(payload) {
		return nil, nil, errMalformed
	}
	return js, atts, nil
}

// decodeInto decodes a payload (JSON, or msgpack with binaries as
// placeholders) into v and returns the binaries.
func decodeInto(payload []byte, v any) ([][]byte, error) {
	js, atts, err := decode(payload)
	if err != nil {
		return nil, err
	}
	if err := unmarshal(js, v); err != nil {
		return nil, errMalformed
	}
	return atts, nil
}

// onMessage handles one message from a channel of this namespace. It runs
// on the adapter's receive goroutine.
func (ns *nsAdapter) onMessage(kind routeKind, channel string, payload []byte) {
	var err error
	switch {
	case ns.a.opts.Sharded:
		err = ns.onClusterMessage(payload)
	case kind == routeBroadcast:
		err = ns.onClassicBroadcast(channel, payload)
	case kind == routeRequest:
		err = ns.onClassicRequest(payload)
	default:
		err = ns.onClassicResponse(payload)
	}
	if err != nil {
		ns.a.stats.malformed.Add(1)
		ns.a.opts.Logger.Debug("riptide/redis: message not understood", "namespace", ns.name, "channel", channel, "err", err)
	}
}

func (ns *nsAdapter) ignored() { ns.a.stats.ignored.Add(1) }

// onClassicBroadcast handles `[uid, packet, opts]` from
// `<key>#<nsp>#[<room>#]`.
func (ns *nsAdapter) onClassicBroadcast(channel string, payload []byte) error {
	rest, ok := strings.CutPrefix(channel, ns.channel) // "" or "<room>#"
	if !ok || rest != "" && !strings.HasSuffix(rest, "#") {
		ns.ignored()
		return nil
	}
	if room := strings.TrimSuffix(rest, "#"); room != "" && !ns.hasRoom(room) {
		ns.ignored() // a room without members here
		return nil
	}
	if len(payload) > 0 && payload[0] != '{' {
		return ns.onClassicBroadcastMsgpack(payload)
	}
	js, atts, err := decode(payload)
	if err != nil {
		return err
	}
	var parts []json.RawMessage
	if err := unmarshal(js, &parts); err != nil || len(parts) < 3 {
		return errMalformed
	}
	var uid string
	if err := unmarshal(parts[0], &uid); err != nil {
		return errMalformed
	}
	if uid == ns.uid {
		ns.ignored()
		return nil
	}
	var opts jsonOpts
	if err := unmarshal(parts[2], &opts); err != nil {
		return errMalformed
	}
	return ns.deliver(parts[1], atts, &opts)
}

// deliver emits a remote packet to the selected local sockets.
func (ns *nsAdapter) deliver(rawPacket json.RawMessage, atts [][]byte, opts *jsonOpts) error {
	p, err := parsePacket(rawPacket)
	if err != nil {
		return err
	}
	// Classic: the packet names its namespace ("/" when absent, as Node
	// reads it). Sharded: the message does, the packet does not.
	if !ns.a.opts.Sharded && (p.Nsp != nil && *p.Nsp != ns.name || p.Nsp == nil && ns.name != "/") {
		ns.ignored()
		return nil
	}
	return ns.selection(opts).EmitPacket(riptide.ClusterPacket{Data: p.Data, Attachments: atts})
}

// selection is the local operator for remote options.
func (ns *nsAdapter) selection(opts *jsonOpts) riptide.BroadcastOperator {
	if opts == nil {
		return ns.nsp.Local()
	}
	return ns.selectionOf(opts.options())
}

// onClassicRequest handles a request from `<key>-request#<nsp>#`.
func (ns *nsAdapter) onClassicRequest(payload []byte) error {
	var req wire
	atts, err := decodeInto(payload, &req)
	if err != nil {
		return err
	}
	id := req.requestID()
	switch req.Type {
	case classicSockets, classicAllRooms, classicRemoteFetch:
		if ns.ownRequest(id) || req.UID == ns.uid {
			ns.ignored()
			return nil
		}
		resp := map[string]any{"requestId": id}
		switch req.Type {
		case classicSockets:
			ids := []string{}
			for _, s := range ns.selection(&jsonOpts{Rooms: req.Rooms}).FetchSockets() {
				ids = append(ids, s.ID())
			}
			resp["sockets"] = ids
		case classicAllRooms:
			resp["rooms"] = ns.localRooms()
		default:
			resp["sockets"] = ns.localSocketInfo(req.Opts)
		}
		ns.publishJSON(ns.classicResponseChannel(req.UID), resp)

	case classicRemoteJoin, classicRemoteLeave, classicRemoteDisconnect:
		if req.UID == ns.uid {
			ns.ignored() // applied locally already
			return nil
		}
		act := map[int]remoteAction{classicRemoteJoin: actionJoin, classicRemoteLeave: actionLeave, classicRemoteDisconnect: actionDisconnect}[req.Type]
		if req.Opts != nil {
			ns.applyRemoteOp(act, req.Opts, req.Rooms.strings(), req.Close)
			return nil
		}
		// The older single-socket form: {sid, room}.
		s := ns.nsp.Socket(req.SID)
		if s == nil {
			return nil
		}
		switch act {
		case actionJoin:
			s.Join(req.Room)
		case actionLeave:
			s.Leave(req.Room)
		default:
			s.Disconnect(req.Close)
		}
		ns.publishJSON(ns.classicResponseChannel(req.UID), map[string]any{"requestId": id})

	case classicServerSideEmit:
		if req.UID == ns.uid {
			ns.ignored()
			return nil
		}
		var ack func(any)
		if req.RequestID != nil {
			ack = func(v any) {
				// Node answers server-side emits on the shared channel.
				ns.publishJSON(ns.responseChannel, map[string]any{"type": classicServerSideEmit, "requestId": id, "data": v})
			}
		}
		return ns.serverSideEmit(req.Data, ack)

	case classicBroadcast:
		if ns.ownAck(id) || req.UID == ns.uid {
			ns.ignored()
			return nil
		}
		return ns.broadcastWithAck(req.Packet, atts, req.Opts, func(n int) {
			ns.publishJSON(ns.classicResponseChannel(req.UID), map[string]any{"type": classicBroadcastClientCount, "requestId": id, "clientCount": n})
		}, func(v any) {
			buf := notepack.AppendMapHeader(nil, 3)
			buf = notepack.AppendString(buf, "type")
			buf = notepack.AppendInt(buf, classicBroadcastAck)
			buf = notepack.AppendString(buf, "requestId")
			buf = notepack.AppendString(buf, id)
			buf = notepack.AppendString(buf, "packet")
			buf, err := notepack.Append(buf, v)
			if err != nil {
				ns.malformedOut(err)
				return
			}
			ns.publish(ns.classicResponseChannel(req.UID), buf)
		})
	default:
		ns.ignored()
	}
	return nil
}

// classicResponseChannel is where a classic response to uid goes.
func (ns *nsAdapter) classicResponseChannel(uid string) string {
	if ns.a.opts.PublishOnSpecificResponseChannel && uid != "" {
		return ns.responseChannel + uid + "#"
	}
	return ns.responseChannel
}

func (ns *nsAdapter) ownRequest(id string) bool {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	_, ok := ns.requests[id]
	return ok
}

func (ns *nsAdapter) ownAck(id string) bool {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	_, ok := ns.acks[id]
	return ok
}

// remoteAction is a join, leave or disconnect another node asked for.
type remoteAction int

const (
	actionJoin remoteAction = iota
	actionLeave
	actionDisconnect
)

// applyRemoteOp applies a join/leave/disconnect selection locally.
func (ns *nsAdapter) applyRemoteOp(act remoteAction, opts *jsonOpts, rooms []string, close bool) {
	op := ns.selection(opts)
	switch act {
	case actionJoin:
		op.SocketsJoin(rooms...)
	case actionLeave:
		op.SocketsLeave(rooms...)
	default:
		op.DisconnectSockets(close)
	}
}

// localSocketInfo describes the selected local sockets.
func (ns *nsAdapter) localSocketInfo(opts *jsonOpts) []riptide.RemoteSocket {
	out := []riptide.RemoteSocket{}
	for _, s := range ns.selection(opts).FetchSockets() {
		out = append(out, s.Info())
	}
	return out
}

// serverSideEmit hands `[event, ...args]` to the namespace's handlers.
func (ns *nsAdapter) serverSideEmit(data json.RawMessage, ack func(any)) error {
	var packet []any
	if err := unmarshal(data, &packet); err != nil || len(packet) == 0 {
		return errMalformed
	}
	event, ok := packet[0].(string)
	if !ok {
		return errMalformed
	}
	ns.nsp.HandleServerSideEmit(event, packet[1:], ack)
	return nil
}

// broadcastWithAck delivers a remote broadcast whose acks go back to the
// requester.
func (ns *nsAdapter) broadcastWithAck(rawPacket json.RawMessage, atts [][]byte, opts *jsonOpts, onCount func(int), onAck func(any)) error {
	p, err := parsePacket(rawPacket)
	if err != nil {
		return err
	}
	op := ns.selection(opts)
	if opts == nil || opts.Flags.Timeout == nil {
		op = op.Timeout(ns.a.opts.RequestsTimeout)
	}
	return op.EmitPacketWithAck(riptide.ClusterPacket{Data: p.Data, Attachments: atts}, onCount, onAck)
}

// onClassicResponse handles a response on a classic response channel.
func (ns *nsAdapter) onClassicResponse(payload []byte) error {
	var resp wire
	atts, err := decodeInto(payload, &resp)
	if err != nil {
		return err
	}
	id := resp.requestID()
	ns.mu.Lock()
	ack := ns.acks[id]
	ns.mu.Unlock()
	if ack != nil {
		switch resp.Type {
		case classicBroadcastClientCount:
			ack.onCount(resp.ClientCount)
		case classicBroadcastAck:
			ack.onAck(decodeValue(resp.Packet, atts))
		}
		return nil
	}
	ns.mu.Lock()
	c := ns.requests[id]
	ns.mu.Unlock()
	if c == nil {
		ns.ignored() // another node's, or too late
		return nil
	}
	switch c.kind {
	case classicRemoteFetch:
		var sockets []riptide.RemoteSocket
		if err := unmarshal(resp.Sockets, &sockets); err != nil {
			return errMalformed
		}
		ns.answer(c, func() { c.sockets = append(c.sockets, sockets...) })
	case classicAllRooms:
		ns.answer(c, func() { c.rooms = append(c.rooms, resp.Rooms.strings()...) })
	case classicServerSideEmit:
		v := decodeValue(resp.Data, atts)
		ns.answer(c, func() { c.replies = append(c.replies, v) })
	}
	return nil
}

// answer records one node's response to a request.
func (ns *nsAdapter) answer(c *call, add func()) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if c.finished {
		return
	}
	add()
	c.got++
	if c.got >= c.expected {
		c.finished = true
		close(c.done)
	}
}

// decodeValue decodes a JSON value whose binary parts are placeholders
// into atts (nil for none or invalid).
func decodeValue(raw json.RawMessage, atts [][]byte) any {
	if len(raw) == 0 {
		return nil
	}
	if len(atts) > 0 {
		wrapped := make([]byte, 0, len(raw)+2)
		wrapped = append(append(append(wrapped, '['), raw...), ']')
		if vs, err := codec.ResolvePlaceholders(wrapped, atts); err == nil && len(vs) == 1 {
			return vs[0]
		}
		return nil
	}
	var v any
	if err := unmarshal(raw, &v); err != nil {
		return nil
	}
	return v
}

// onClusterMessage handles a sharded message or response.
func (ns *nsAdapter) onClusterMessage(payload []byte) error {
	var m clusterMsg
	atts, err := decodeInto(payload, &m)
	if err != nil {
		return err
	}
	if m.UID == ns.uid || m.Nsp != nil && *m.Nsp != ns.name {
		ns.ignored()
		return nil
	}
	d := &m.Data
	id := d.requestID()
	reply := func(typ int, data map[string]any) {
		if m.UID == "" || m.UID == emitterUID {
			return
		}
		if msg := ns.clusterJSON(typ, data); msg != nil {
			ns.publish(ns.channel+m.UID+"#", msg)
		}
	}
	switch m.Type {
	case clusterBroadcast:
		if d.RequestID == nil {
			return ns.deliver(d.Packet, atts, d.Opts)
		}
		return ns.broadcastWithAck(d.Packet, atts, d.Opts, func(n int) {
			reply(clusterBroadcastClientCount, map[string]any{"requestId": id, "clientCount": n})
		}, func(v any) {
			ns.clusterAck(m.UID, id, v)
		})
	case clusterSocketsJoin:
		ns.applyRemoteOp(actionJoin, d.Opts, d.Rooms.strings(), false)
	case clusterSocketsLeave:
		ns.applyRemoteOp(actionLeave, d.Opts, d.Rooms.strings(), false)
	case clusterDisconnectSockets:
		ns.applyRemoteOp(actionDisconnect, d.Opts, nil, d.Close)
	case clusterFetchSockets:
		reply(clusterFetchSocketsResponse, map[string]any{"requestId": id, "sockets": ns.localSocketInfo(d.Opts)})
	case clusterServerSideEmit:
		var ack func(any)
		if d.RequestID != nil {
			ack = func(v any) {
				reply(clusterServerSideEmitResponse, map[string]any{"requestId": id, "packet": v})
			}
		}
		return ns.serverSideEmit(d.Packet, ack)
	case clusterFetchSocketsResponse, clusterServerSideEmitResponse, clusterBroadcastClientCount, clusterBroadcastAck:
		return ns.onClusterResponse(m.Type, d, atts)
	default:
		ns.ignored() // heartbeats, adapter close: nothing to do here
	}
	return nil
}

// clusterAck sends one client's acknowledgement back to the requester:
// JSON, or msgpack when it holds binary.
func (ns *nsAdapter) clusterAck(uid, id string, v any) {
	if hasBinary(v) {
		buf := notepack.AppendMapHeader(ns.appendClusterHead(nil, clusterBroadcastAck), 2)
		buf = notepack.AppendString(buf, "requestId")
		buf = notepack.AppendString(buf, id)
		buf = notepack.AppendString(buf, "packet")
		buf, err := notepack.Append(buf, v)
		if err != nil {
			ns.malformedOut(err)
			return
		}
		ns.publish(ns.channel+uid+"#", buf)
		return
	}
	if msg := ns.clusterJSON(clusterBroadcastAck, map[string]any{"requestId": id, "packet": v}); msg != nil {
		ns.publish(ns.channel+uid+"#", msg)
	}
}

func hasBinary(v any) bool {
	switch v := v.(type) {
	case []byte:
		return true
	case []any:
		for _, e := range v {
			if hasBinary(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if hasBinary(e) {
				return true
			}
		}
	}
	return false
}

// onClusterResponse handles a sharded response to this node.
func (ns *nsAdapter) onClusterResponse(typ int, d *wire, atts [][]byte) error {
	id := d.requestID()
	ns.mu.Lock()
	ack := ns.acks[id]
	c := ns.requests[id]
	ns.mu.Unlock()
	switch typ {
	case clusterBroadcastClientCount:
		if ack != nil {
			ack.onCount(d.ClientCount)
		}
	case clusterBroadcastAck:
		if ack != nil {
			ack.onAck(decodeValue(d.Packet, atts))
		}
	case clusterFetchSocketsResponse:
		if c == nil {
			ns.ignored()
			return nil
		}
		var sockets []riptide.RemoteSocket
		if err := unmarshal(d.Sockets, &sockets); err != nil {
			return errMalformed
		}
		ns.answer(c, func() { c.sockets = append(c.sockets, sockets...) })
	case clusterServerSideEmitResponse:
		if c == nil {
			ns.ignored()
			return nil
		}
		v := decodeValue(d.Packet, atts)
		ns.answer(c, func() { c.replies = append(c.replies, v) })
	}
	return nil
}
