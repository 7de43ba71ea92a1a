package redisadapter

import (
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/riptide-io/riptide"
)

// FuzzOnMessage feeds arbitrary payloads on arbitrary channels to the
// receive path of both protocols (what any Redis client, or a broken or
// hostile node, can publish): it must never panic. Seeds are real messages
// of every type, as this adapter and Node's encode them.
func FuzzOnMessage(f *testing.F) {
	srv := riptide.New(riptide.Config{}) // not listening: deliveries reach no loop
	f.Cleanup(func() { _ = srv.Close() })
	// Nothing listens there: what handlers publish is dropped.
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 10 * time.Millisecond})
	f.Cleanup(func() { _ = client.Close() })
	classic := New(client, Options{MaxQueued: 16})
	sharded := New(client, Options{Sharded: true, MaxQueued: 16})
	f.Cleanup(func() { _ = classic.Close(); _ = sharded.Close() })
	nsC := classic.ForNamespace(srv.Of("/")).(*nsAdapter)
	nsS := sharded.ForNamespace(srv.Of("/")).(*nsAdapter)

	// Seeds: what another node would publish.
	other := func(sh bool) *nsAdapter {
		a := &Adapter{client: client, opts: Options{Sharded: sh}.withDefaults()}
		return newNSAdapter(a, srv.Of("/"))
	}
	for _, sh := range []bool{false, true} {
		o := other(sh)
		var msgs []publication
		o.sink = func(ch string, p []byte) { msgs = append(msgs, publication{channel: ch, payload: p}) }
		pk := riptide.ClusterPacket{Data: []byte(`["ev",1,{"a":[true,null,"x"]},{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2, 3}}}
		opts := riptide.BroadcastOptions{Rooms: []string{"r1"}, Except: []string{"r2"}, Flags: riptide.BroadcastFlags{Volatile: true, Timeout: time.Second}}
		o.Broadcast(pk, opts)
		o.Broadcast(riptide.ClusterPacket{Data: []byte(`["plain","text"]`)}, riptide.BroadcastOptions{})
		o.BroadcastWithAck(pk, opts, func(int) {}, func(any) {})
		o.AddSockets(opts, []string{"j"})
		o.DelSockets(opts, []string{"j"})
		o.DisconnectSockets(opts, true)
		_ = o.ServerSideEmit("ss", []any{1, "a"})
		for _, m := range msgs {
			kind := uint8(routeBroadcast)
			if !sh && m.channel == o.requestChannel {
				kind = uint8(routeRequest)
			}
			f.Add(sh, kind, m.channel, m.payload)
		}
	}
	for _, s := range []string{
		`{"requestId":"abc","sockets":[{"id":"x","handshake":{"headers":{},"query":{},"auth":{}},"rooms":["x"],"data":null}]}`,
		`{"type":8,"requestId":"abc","clientCount":3}`,
		`{"uid":"u","requestId":"q","type":5,"opts":{"rooms":["a",1],"except":[]}}`,
		`{"uid":"u","requestId":"q","type":0,"rooms":["a"]}`,
		`{"uid":"u","requestId":"q","type":1}`,
		`{"uid":"u","type":2,"sid":"nope","room":"r"}`,
		`{"uid":"u","nsp":"/","type":7,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"requestId":"q"}}`,
		`{"uid":"u","nsp":"/","type":8,"data":{"requestId":"q","sockets":"not an array"}}`,
	} {
		f.Add(false, uint8(routeResponse), "socket.io-response#/#", []byte(s))
		f.Add(false, uint8(routeRequest), "socket.io-request#/#", []byte(s))
		f.Add(true, uint8(routeBroadcast), "socket.io#/#", []byte(s))
	}
	f.Add(false, uint8(routeBroadcast), "socket.io#/#", []byte{0x93, 0xa1, 'u', 0xc0, 0xc0})
	f.Add(false, uint8(routeBroadcast), "socket.io#/#room", []byte{0xdd, 0xff, 0xff, 0xff, 0xff})

	f.Fuzz(func(t *testing.T, sh bool, kind uint8, channel string, payload []byte) {
		ns := nsC
		if sh {
			ns = nsS
		}
		ns.onMessage(routeKind(kind%3), channel, payload)
	})
}
