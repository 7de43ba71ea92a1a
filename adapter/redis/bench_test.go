package redisadapter

import (
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/riptide-io/riptide"
)

// The adapter's own cost per message, without Redis or sockets: encoding a
// broadcast for the cluster, and decoding one from another node up to the
// hand-off to the event loops (a server with no loops: delivery itself is
// the engine's, measured in the root package).

func benchNS(b *testing.B, sharded bool) (*nsAdapter, *nsAdapter) {
	srv := riptide.New(riptide.Config{})
	b.Cleanup(func() { _ = srv.Close() })
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Millisecond})
	b.Cleanup(func() { _ = client.Close() })
	a := New(client, Options{Sharded: sharded, MaxQueued: 1})
	b.Cleanup(func() { _ = a.Close() })
	recv := a.ForNamespace(srv.Of("/")).(*nsAdapter)
	other := newNSAdapter(&Adapter{client: client, opts: Options{Sharded: sharded}.withDefaults()}, srv.Of("/"))
	return recv, other
}

var benchPacket = riptide.ClusterPacket{Data: []byte(`["tick",{"sym":"ABC","px":101.25,"ts":1700000000000,"seq":123456}]`)}

func benchmarkPublish(b *testing.B, sharded bool) {
	_, other := benchNS(b, sharded)
	var n int
	other.sink = func(_ string, p []byte) { n += len(p) }
	opts := riptide.BroadcastOptions{Rooms: []string{"room-1"}}
	b.ReportAllocs()
	for b.Loop() {
		other.Broadcast(benchPacket, opts)
	}
	b.ReportMetric(float64(n)/float64(b.N), "bytes/msg")
}

func benchmarkReceive(b *testing.B, sharded bool) {
	recv, other := benchNS(b, sharded)
	var msg publication
	other.sink = func(ch string, p []byte) { msg = publication{channel: ch, payload: p} }
	other.Broadcast(benchPacket, riptide.BroadcastOptions{})
	kind := routeBroadcast
	b.ReportAllocs()
	for b.Loop() {
		recv.onMessage(kind, msg.channel, msg.payload)
	}
	if st := recv.a.Stats(); st.Malformed != 0 {
		b.Fatalf("malformed: %+v", st)
	}
}

func BenchmarkPublishClassic(b *testing.B) { benchmarkPublish(b, false) }
func BenchmarkPublishSharded(b *testing.B) { benchmarkPublish(b, true) }
func BenchmarkReceiveClassic(b *testing.B) { benchmarkReceive(b, false) }
func BenchmarkReceiveSharded(b *testing.B) { benchmarkReceive(b, true) }
