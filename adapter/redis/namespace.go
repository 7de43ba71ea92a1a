package redisadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/riptide-io/riptide"
	"github.com/riptide-io/riptide/internal/notepack"
)

// Request and message types of the classic protocol (@socket.io/redis-adapter
// RequestType).
const (
	classicSockets = iota
	classicAllRooms
	classicRemoteJoin
	classicRemoteLeave
	classicRemoteDisconnect
	classicRemoteFetch
	classicServerSideEmit
	classicBroadcast
	classicBroadcastClientCount
	classicBroadcastAck
)

// Message types of the sharded protocol (socket.io-adapter MessageType).
const (
	clusterInitialHeartbeat = iota + 1
	clusterHeartbeat
	clusterBroadcast
	clusterSocketsJoin
	clusterSocketsLeave
	clusterDisconnectSockets
	clusterFetchSockets
	clusterFetchSocketsResponse
	clusterServerSideEmit
	clusterServerSideEmitResponse
	clusterBroadcastClientCount
	clusterBroadcastAck
	clusterAdapterClose
)

// emitterUID is the uid @socket.io/redis-emitter publishes with.
const emitterUID = "emitter"

// socketIDLength is the length of a Socket.IO socket id (Node's sharded
// adapter tells private rooms by it).
const socketIDLength = 20

// nsAdapter is one namespace's adapter.
type nsAdapter struct {
	a    *Adapter
	nsp  *riptide.Namespace
	name string
	uid  string

	channel                 string // broadcasts (+ room suffix)
	requestChannel          string // classic
	responseChannel         string // classic shared; sharded: this node's own
	specificResponseChannel string // classic: this node's own

	// sink, when set, takes the messages instead of the publish queue
	// (the Emitter publishes synchronously).
	sink func(channel string, payload []byte)

	mu       sync.Mutex
	rooms    map[string]int    // public room → local members (dynamic subscriptions, classic room filter)
	requests map[string]*call  // requests this node made, by id
	acks     map[string]*ackOp // broadcasts with acks this node made, by id
	closed   bool
}

// call is a request waiting for other nodes' responses.
type call struct {
	kind     int
	expected int // responses awaited
	got      int
	sockets  []riptide.RemoteSocket
	replies  []any
	rooms    []string
	done     chan struct{}
	finished bool
}

type ackOp struct {
	onCount func(int)
	onAck   func(any)
	timer   *time.Timer
}

func newNSAdapter(a *Adapter, n *riptide.Namespace) *nsAdapter {
	ns := &nsAdapter{
		a:        a,
		nsp:      n,
		name:     n.Name(),
		rooms:    map[string]int{},
		requests: map[string]*call{},
		acks:     map[string]*ackOp{},
	}
	key := a.opts.Key
	ns.channel = key + "#" + ns.name + "#"
	if a.opts.Sharded {
		ns.uid = randomID(8)
		ns.responseChannel = ns.channel + ns.uid + "#"
	} else {
		ns.uid = uid2(6)
		ns.requestChannel = key + "-request#" + ns.name + "#"
		ns.responseChannel = key + "-response#" + ns.name + "#"
		ns.specificResponseChannel = ns.responseChannel + ns.uid + "#"
	}
	return ns
}

type namedRoute struct {
	name string
	kind routeKind
}

// routes are the subscriptions the namespace always has.
func (ns *nsAdapter) routes() []namedRoute {
	if ns.a.opts.Sharded {
		return []namedRoute{{ns.channel, routeBroadcast}, {ns.responseChannel, routeResponse}}
	}
	return []namedRoute{
		{ns.channel + "*", routeBroadcast},
		{ns.requestChannel, routeRequest},
		{ns.responseChannel, routeResponse},
		{ns.specificResponseChannel, routeResponse},
	}
}

func (ns *nsAdapter) subscribeStatic(add bool) {
	if ns.a.opts.Sharded {
		ns.a.subscribe(subOp{add: add, channels: []string{ns.channel, ns.responseChannel}})
		return
	}
	ns.a.subscribe(subOp{add: add, pattern: true, channels: []string{ns.channel + "*"}})
	ns.a.subscribe(subOp{add: add, channels: []string{ns.requestChannel, ns.responseChannel, ns.specificResponseChannel}})
}

// ---- membership -------------------------------------------------------

// separateChannel reports whether a room has its own sharded channel.
func (ns *nsAdapter) separateChannel(room string, private bool) bool {
	if !ns.a.opts.Sharded {
		return false
	}
	switch ns.a.opts.SubscriptionMode {
	case Dynamic:
		return !private
	case DynamicPrivate:
		return true
	}
	return false
}

func (ns *nsAdapter) roomChannel(room string) string { return ns.channel + room + "#" }

// AddAll implements riptide.NamespaceAdapter.
func (ns *nsAdapter) AddAll(id string, rooms []string) {
	var subs []string
	ns.mu.Lock()
	for _, r := range rooms {
		private := r == id
		if !private {
			ns.rooms[r]++
			if ns.rooms[r] != 1 {
				continue
			}
		}
		if ns.separateChannel(r, private) && !ns.closed {
			subs = append(subs, ns.roomChannel(r))
		}
	}
	ns.mu.Unlock()
	ns.subscribeRooms(subs, true)
}

// Del implements riptide.NamespaceAdapter.
func (ns *nsAdapter) Del(id, room string) { ns.DelAll(id, []string{room}) }

// DelAll implements riptide.NamespaceAdapter.
func (ns *nsAdapter) DelAll(id string, rooms []string) {
	var unsubs []string
	ns.mu.Lock()
	for _, r := range rooms {
		private := r == id
		if !private {
			if ns.rooms[r] == 0 {
				continue
			}
			ns.rooms[r]--
			if ns.rooms[r] > 0 {
				continue
			}
			delete(ns.rooms, r)
		}
		if ns.separateChannel(r, private) && !ns.closed {
			unsubs = append(unsubs, ns.roomChannel(r))
		}
	}
	ns.mu.Unlock()
	ns.subscribeRooms(unsubs, false)
}

func (ns *nsAdapter) subscribeRooms(channels []string, add bool) {
	if len(channels) == 0 {
		return
	}
	ns.a.subMu.Lock()
	for _, c := range channels {
		if add {
			ns.a.routes[c] = route{ns: ns, kind: routeBroadcast}
		} else if r, ok := ns.a.routes[c]; ok && r.ns == ns {
			delete(ns.a.routes, c)
		}
	}
	ns.a.subMu.Unlock()
	ns.a.subscribe(subOp{add: add, channels: channels})
}

// hasRoom reports whether this node has a member in room (a public room,
// or a connected socket's own).
func (ns *nsAdapter) hasRoom(room string) bool {
	ns.mu.Lock()
	n := ns.rooms[room]
	ns.mu.Unlock()
	return n > 0 || ns.nsp.Socket(room) != nil
}

// Close implements riptide.NamespaceAdapter.
func (ns *nsAdapter) Close() error {
	ns.mu.Lock()
	if ns.closed {
		ns.mu.Unlock()
		return nil
	}
	ns.closed = true
	var rooms []string
	if ns.a.opts.Sharded && ns.a.opts.SubscriptionMode != Static {
		for r := range ns.rooms {
			rooms = append(rooms, ns.roomChannel(r))
		}
	}
	ns.mu.Unlock()
	ns.subscribeStatic(false)
	ns.subscribeRooms(rooms, false)
	ns.a.removeRoutes(ns)
	return nil
}

// ---- publishing -------------------------------------------------------

// Broadcast implements riptide.NamespaceAdapter.
func (ns *nsAdapter) Broadcast(p riptide.ClusterPacket, opts riptide.BroadcastOptions) {
	if ns.a.opts.Sharded {
		msg, err := ns.clusterBroadcast(p, opts, "")
		if err != nil {
			ns.malformedOut(err)
			return
		}
		ch := ns.channel
		if len(opts.Rooms) == 1 {
			r := opts.Rooms[0]
			if ns.a.opts.SubscriptionMode == DynamicPrivate || ns.a.opts.SubscriptionMode == Dynamic && len(r) != socketIDLength {
				ch = ns.roomChannel(r)
			}
		}
		ns.publish(ch, msg)
		return
	}
	// Classic: msgpack [uid, packet, opts] on the namespace channel, or
	// the room's when there is exactly one room.
	buf := notepack.AppendArrayHeader(make([]byte, 0, 64+len(p.Data)), 3)
	buf = notepack.AppendString(buf, ns.uid)
	buf, err := ns.appendPacket(buf, p, -1)
	if err != nil {
		ns.malformedOut(err)
		return
	}
	buf = appendOpts(buf, opts)
	ch := ns.channel
	if len(opts.Rooms) == 1 {
		ch = ns.roomChannel(opts.Rooms[0])
	}
	ns.publish(ch, buf)
}

// publish sends a message to a channel: queued, or to the sink.
func (ns *nsAdapter) publish(channel string, payload []byte) {
	if ns.sink != nil {
		ns.sink(channel, payload)
		return
	}
	ns.a.publish(channel, payload)
}

func (ns *nsAdapter) malformedOut(err error) {
	ns.a.opts.Logger.Warn("riptide/redis: cannot encode a message for the cluster", "namespace", ns.name, "err", err)
}

// appendPacket writes Node's packet object {type: 2, data, nsp[, id]} in
// msgpack.
func (ns *nsAdapter) appendPacket(buf []byte, p riptide.ClusterPacket, id int64) ([]byte, error) {
	n := 3
	if id >= 0 {
		n++
	}
	buf = notepack.AppendMapHeader(buf, n)
	buf = notepack.AppendString(buf, "type")
	buf = notepack.AppendInt(buf, 2)
	buf = notepack.AppendString(buf, "data")
	buf, err := notepack.AppendJSON(buf, p.Data, p.Attachments)
	if err != nil {
		return nil, err
	}
	buf = notepack.AppendString(buf, "nsp")
	buf = notepack.AppendString(buf, ns.name)
	if id >= 0 {
		buf = notepack.AppendString(buf, "id")
		buf = notepack.AppendInt(buf, id)
	}
	return buf, nil
}

// appendOpts writes {rooms, except, flags} in msgpack.
func appendOpts(buf []byte, opts riptide.BroadcastOptions) []byte {
	buf = notepack.AppendMapHeader(buf, 3)
	buf = notepack.AppendString(buf, "rooms")
	buf = appendStrings(buf, opts.Rooms)
	buf = notepack.AppendString(buf, "except")
	buf = appendStrings(buf, opts.Except)
	buf = notepack.AppendString(buf, "flags")
	n := 0
	f := opts.Flags
	for _, set := range []bool{f.Volatile, f.Compress, f.Local, f.Timeout > 0} {
		if set {
			n++
		}
	}
	buf = notepack.AppendMapHeader(buf, n)
	if f.Volatile {
		buf = notepack.AppendString(buf, "volatile")
		buf = notepack.AppendBool(buf, true)
	}
	if f.Compress {
		buf = notepack.AppendString(buf, "compress")
		buf = notepack.AppendBool(buf, true)
	}
	if f.Local {
		buf = notepack.AppendString(buf, "local")
		buf = notepack.AppendBool(buf, true)
	}
	if f.Timeout > 0 {
		buf = notepack.AppendString(buf, "timeout")
		buf = notepack.AppendInt(buf, f.Timeout.Milliseconds())
	}
	return buf
}

func appendStrings(buf []byte, list []string) []byte {
	list = dedupe(list)
	buf = notepack.AppendArrayHeader(buf, len(list))
	for _, s := range list {
		buf = notepack.AppendString(buf, s)
	}
	return buf
}

// dedupe drops repeated names (Node sends sets).
func dedupe(list []string) []string {
	for i := 1; i < len(list); i++ {
		for j := 0; j < i; j++ {
			if list[i] == list[j] {
				out := make([]string, 0, len(list))
				seen := map[string]bool{}
				for _, s := range list {
					if !seen[s] {
						seen[s] = true
						out = append(out, s)
					}
				}
				return out
			}
		}
	}
	return list
}

// jsonOpts is BroadcastOptions on the wire.
type jsonOpts struct {
	Rooms  roomList  `json:"rooms"`
	Except roomList  `json:"except"`
	Flags  jsonFlags `json:"flags"`
}

type jsonFlags struct {
	Volatile bool     `json:"volatile,omitempty"`
	Compress bool     `json:"compress,omitempty"`
	Local    bool     `json:"local,omitempty"`
	Timeout  *float64 `json:"timeout,omitempty"`
}

func toJSONOpts(o riptide.BroadcastOptions) jsonOpts {
	j := jsonOpts{Rooms: roomsOf(dedupe(o.Rooms)), Except: roomsOf(dedupe(o.Except))}
	j.Flags = jsonFlags{Volatile: o.Flags.Volatile, Compress: o.Flags.Compress, Local: o.Flags.Local}
	if o.Flags.Timeout > 0 {
		ms := float64(o.Flags.Timeout.Milliseconds())
		j.Flags.Timeout = &ms
	}
	return j
}

func (j *jsonOpts) options() riptide.BroadcastOptions {
	o := riptide.BroadcastOptions{Rooms: j.Rooms.strings(), Except: j.Except.strings()}
	o.Flags.Volatile = j.Flags.Volatile
	o.Flags.Compress = j.Flags.Compress
	if j.Flags.Timeout != nil && *j.Flags.Timeout > 0 {
		o.Flags.Timeout = time.Duration(*j.Flags.Timeout * float64(time.Millisecond))
	}
	return o
}

// roomList is rooms on the wire: strings, or numbers (JS rooms may be)
// read as their decimal text. A plain slice, not a json.Unmarshaler:
// sonic decodes it without leaving its fast path.
type roomList []any

func roomsOf(list []string) roomList {
	out := make(roomList, len(list))
	for i, r := range list {
		out[i] = r
	}
	return out
}

// strings returns the rooms as strings (other values are dropped).
func (r roomList) strings() []string {
	if len(r) == 0 {
		return nil
	}
	out := make([]string, 0, len(r))
	for _, e := range r {
		switch e := e.(type) {
		case string:
			out = append(out, e)
		case float64:
			out = append(out, strconv.FormatFloat(e, 'f', -1, 64))
		}
	}
	return out
}

// clusterBroadcast encodes a sharded BROADCAST message: JSON, or msgpack
// when the packet carries binary (as socket.io-adapter does).
func (ns *nsAdapter) clusterBroadcast(p riptide.ClusterPacket, opts riptide.BroadcastOptions, requestID string) ([]byte, error) {
	if len(p.Attachments) == 0 {
		type packet struct {
			Type int             `json:"type"`
			Data json.RawMessage `json:"data"`
			Nsp  string          `json:"nsp"`
		}
		type data struct {
			Opts      jsonOpts `json:"opts"`
			Packet    packet   `json:"packet"`
			RequestID string   `json:"requestId,omitempty"`
		}
		return json.Marshal(struct {
			UID  string `json:"uid"`
			Nsp  string `json:"nsp"`
			Type int    `json:"type"`
			Data data   `json:"data"`
		}{ns.uid, ns.name, clusterBroadcast, data{toJSONOpts(opts), packet{2, p.Data, ns.name}, requestID}})
	}
	buf := ns.appendClusterHead(make([]byte, 0, 96+len(p.Data)), clusterBroadcast)
	n := 2
	if requestID != "" {
		n++
	}
	buf = notepack.AppendMapHeader(buf, n)
	buf = notepack.AppendString(buf, "opts")
	buf = appendOpts(buf, opts)
	buf = notepack.AppendString(buf, "packet")
	buf, err := ns.appendPacket(buf, p, -1)
	if err != nil {
		return nil, err
	}
	if requestID != "" {
		buf = notepack.AppendString(buf, "requestId")
		buf = notepack.AppendString(buf, requestID)
	}
	return buf, nil
}

// appendClusterHead starts a msgpack sharded message: {uid, nsp, type,
// data: …}, up to the data key (the caller appends its value).
func (ns *nsAdapter) appendClusterHead(buf []byte, typ int) []byte {
	buf = notepack.AppendMapHeader(buf, 4)
	buf = notepack.AppendString(buf, "uid")
	buf = notepack.AppendString(buf, ns.uid)
	buf = notepack.AppendString(buf, "nsp")
	buf = notepack.AppendString(buf, ns.name)
	buf = notepack.AppendString(buf, "type")
	buf = notepack.AppendInt(buf, int64(typ))
	return notepack.AppendString(buf, "data")
}

// clusterJSON encodes a sharded message without binary.
func (ns *nsAdapter) clusterJSON(typ int, data any) []byte {
	b, err := json.Marshal(struct {
		UID  string `json:"uid"`
		Nsp  string `json:"nsp"`
		Type int    `json:"type"`
		Data any    `json:"data"`
	}{ns.uid, ns.name, typ, data})
	if err != nil {
		ns.malformedOut(err)
		return nil
	}
	return b
}

func (ns *nsAdapter) publishJSON(channel string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		ns.malformedOut(err)
		return
	}
	ns.publish(channel, b)
}

// BroadcastWithAck implements riptide.NamespaceAdapter.
func (ns *nsAdapter) BroadcastWithAck(p riptide.ClusterPacket, opts riptide.BroadcastOptions, onCount func(int), onAck func(any)) {
	requestID := ns.newRequestID()
	var msg []byte
	var err error
	if ns.a.opts.Sharded {
		msg, err = ns.clusterBroadcast(p, opts, requestID)
	} else {
		buf := notepack.AppendMapHeader(make([]byte, 0, 96+len(p.Data)), 5)
		buf = notepack.AppendString(buf, "uid")
		buf = notepack.AppendString(buf, ns.uid)
		buf = notepack.AppendString(buf, "requestId")
		buf = notepack.AppendString(buf, requestID)
		buf = notepack.AppendString(buf, "type")
		buf = notepack.AppendInt(buf, classicBroadcast)
		buf = notepack.AppendString(buf, "packet")
		buf, err = ns.appendPacket(buf, p, -1)
		if err == nil {
			buf = notepack.AppendString(buf, "opts")
			msg = appendOpts(buf, opts)
		}
	}
	if err != nil {
		ns.malformedOut(err)
		return
	}
	op := &ackOp{onCount: onCount, onAck: onAck}
	timeout := opts.Flags.Timeout
	if timeout <= 0 {
		timeout = ns.a.opts.RequestsTimeout
	}
	ns.mu.Lock()
	ns.acks[requestID] = op
	ns.mu.Unlock()
	// Node cannot know when every acknowledgement has arrived either: the
	// request is forgotten when the requester stops waiting.
	op.timer = time.AfterFunc(timeout, func() {
		ns.mu.Lock()
		delete(ns.acks, requestID)
		ns.mu.Unlock()
	})
	if ns.a.opts.Sharded {
		ns.publish(ns.channel, msg)
	} else {
		ns.publish(ns.requestChannel, msg)
	}
}

func (ns *nsAdapter) newRequestID() string {
	if ns.a.opts.Sharded {
		return randomID(8)
	}
	return uid2(6)
}

// AddSockets implements riptide.NamespaceAdapter.
func (ns *nsAdapter) AddSockets(opts riptide.BroadcastOptions, rooms []string) {
	ns.remoteOp(classicRemoteJoin, clusterSocketsJoin, opts, rooms, false)
}

// DelSockets implements riptide.NamespaceAdapter.
func (ns *nsAdapter) DelSockets(opts riptide.BroadcastOptions, rooms []string) {
	ns.remoteOp(classicRemoteLeave, clusterSocketsLeave, opts, rooms, false)
}

// DisconnectSockets implements riptide.NamespaceAdapter.
func (ns *nsAdapter) DisconnectSockets(opts riptide.BroadcastOptions, close bool) {
	ns.remoteOp(classicRemoteDisconnect, clusterDisconnectSockets, opts, nil, close)
}

func (ns *nsAdapter) remoteOp(classicType, clusterType int, opts riptide.BroadcastOptions, rooms []string, close bool) {
	type body struct {
		UID   string    `json:"uid,omitempty"`
		Type  int       `json:"type,omitempty"`
		Opts  jsonOpts  `json:"opts"`
		Rooms *[]string `json:"rooms,omitempty"`
		Close *bool     `json:"close,omitempty"`
	}
	b := body{Opts: toJSONOpts(opts)}
	if clusterType == clusterDisconnectSockets {
		b.Close = &close
	} else {
		r := append([]string{}, rooms...)
		b.Rooms = &r
	}
	if ns.a.opts.Sharded {
		if msg := ns.clusterJSON(clusterType, b); msg != nil {
			ns.publish(ns.channel, msg)
		}
		return
	}
	b.UID, b.Type = ns.uid, classicType
	ns.publishJSON(ns.requestChannel, b)
}

// ServerSideEmit implements riptide.NamespaceAdapter.
func (ns *nsAdapter) ServerSideEmit(event string, args []any) error {
	packet := append([]any{event}, args...)
	if ns.a.opts.Sharded {
		msg := ns.clusterJSON(clusterServerSideEmit, map[string]any{"packet": packet})
		if msg == nil {
			return fmt.Errorf("riptide/redis: server-side emit %q: arguments cannot be encoded", event)
		}
		ns.publish(ns.channel, msg)
		return nil
	}
	b, err := json.Marshal(map[string]any{"uid": ns.uid, "type": classicServerSideEmit, "data": packet})
	if err != nil {
		return err
	}
	ns.publish(ns.requestChannel, b)
	return nil
}

// ServerCount implements riptide.NamespaceAdapter: the subscribers of the
// request channel (classic) or of the namespace channel (sharded).
func (ns *nsAdapter) ServerCount(ctx context.Context) (int, error) {
	if ns.a.opts.Sharded {
		m, err := ns.a.client.PubSubShardNumSub(ctx, ns.channel).Result()
		if err != nil {
			return 1, err
		}
		return int(m[ns.channel]), nil
	}
	m, err := ns.a.client.PubSubNumSub(ctx, ns.requestChannel).Result()
	if err != nil {
		return 1, err
	}
	return int(m[ns.requestChannel]), nil
}

// request publishes a request expecting one response per other node and
// waits for them.
func (ns *nsAdapter) request(ctx context.Context, kind int, build func(requestID string) (channel string, msg []byte, err error)) (*call, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ns.a.opts.RequestsTimeout)
		defer cancel()
	}
	n, err := ns.ServerCount(ctx)
	if err != nil {
		return nil, fmt.Errorf("riptide/redis: server count: %w", err)
	}
	c := &call{kind: kind, expected: n - 1, done: make(chan struct{})}
	if c.expected <= 0 {
		return c, nil
	}
	id := ns.newRequestID()
	channel, msg, err := build(id)
	if err != nil {
		return nil, err
	}
	ns.mu.Lock()
	ns.requests[id] = c
	ns.mu.Unlock()
	defer func() {
		ns.mu.Lock()
		delete(ns.requests, id)
		ns.mu.Unlock()
	}()
	ns.publish(channel, msg)
	select {
	case <-c.done:
		return c, nil
	case <-ctx.Done():
		ns.mu.Lock()
		got, want := c.got, c.expected
		c.finished = true
		ns.mu.Unlock()
		return c, fmt.Errorf("%w: only %d responses received out of %d", riptide.ErrAckTimeout, got, want)
	}
}

// FetchSockets implements riptide.NamespaceAdapter.
func (ns *nsAdapter) FetchSockets(ctx context.Context, opts riptide.BroadcastOptions) ([]riptide.RemoteSocket, error) {
	if opts.Flags.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Flags.Timeout)
		defer cancel()
	}
	c, err := ns.request(ctx, classicRemoteFetch, func(id string) (string, []byte, error) {
		if ns.a.opts.Sharded {
			return ns.channel, ns.clusterJSON(clusterFetchSockets, map[string]any{"opts": toJSONOpts(opts), "requestId": id}), nil
		}
		b, err := json.Marshal(map[string]any{"uid": ns.uid, "requestId": id, "type": classicRemoteFetch, "opts": toJSONOpts(opts)})
		return ns.requestChannel, b, err
	})
	if c == nil {
		return nil, err
	}
	ns.mu.Lock()
	out := c.sockets
	ns.mu.Unlock()
	return out, err
}

// ServerSideEmitWithAck implements riptide.NamespaceAdapter.
func (ns *nsAdapter) ServerSideEmitWithAck(ctx context.Context, event string, args []any) ([]any, error) {
	packet := append([]any{event}, args...)
	c, err := ns.request(ctx, classicServerSideEmit, func(id string) (string, []byte, error) {
		if ns.a.opts.Sharded {
			msg := ns.clusterJSON(clusterServerSideEmit, map[string]any{"packet": packet, "requestId": id})
			if msg == nil {
				return "", nil, fmt.Errorf("riptide/redis: server-side emit %q: arguments cannot be encoded", event)
			}
			return ns.channel, msg, nil
		}
		b, err := json.Marshal(map[string]any{"uid": ns.uid, "requestId": id, "type": classicServerSideEmit, "data": packet})
		return ns.requestChannel, b, err
	})
	if c == nil {
		return nil, err
	}
	ns.mu.Lock()
	out := append([]any(nil), c.replies...)
	ns.mu.Unlock()
	if out == nil {
		out = []any{}
	}
	return out, err
}

// AllRooms returns the rooms of the namespace across the cluster (Node's
// adapter.allRooms; classic protocol only: the sharded one has no such
// request).
func (ns *nsAdapter) AllRooms(ctx context.Context) ([]string, error) {
	local := ns.localRooms()
	if ns.a.opts.Sharded {
		return local, nil
	}
	c, err := ns.request(ctx, classicAllRooms, func(id string) (string, []byte, error) {
		b, err := json.Marshal(map[string]any{"uid": ns.uid, "requestId": id, "type": classicAllRooms})
		return ns.requestChannel, b, err
	})
	if c == nil {
		return local, err
	}
	seen := map[string]bool{}
	out := []string{}
	ns.mu.Lock()
	for _, r := range append(local, c.rooms...) {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	ns.mu.Unlock()
	return out, err
}

// localRooms lists this node's rooms: public rooms and sockets' own.
func (ns *nsAdapter) localRooms() []string {
	ns.mu.Lock()
	out := make([]string, 0, len(ns.rooms))
	for r := range ns.rooms {
		out = append(out, r)
	}
	ns.mu.Unlock()
	for _, s := range ns.nsp.Local().FetchSockets() {
		out = append(out, s.ID())
	}
	return out
}
