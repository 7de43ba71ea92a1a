package redisadapter_test

import (
	"context"
	"log"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/riptide-io/riptide"
	redisadapter "github.com/riptide-io/riptide/adapter/redis"
)

// A node of a cluster: broadcasts reach the clients of every node, Riptide
// or Node (@socket.io/redis-adapter with createShardedAdapter).
func ExampleNew() {
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	srv := riptide.New(riptide.Config{
		Adapter: redisadapter.New(client, redisadapter.Options{Sharded: true}),
	})
	srv.OnConnection(func(s *riptide.Socket) {
		s.Join("lobby")
		_ = srv.To("lobby").Emit("joined", s.ID()) // every node's lobby members
	})
	srv.OnServerSideEmit("hello", func(args []any, ack func(any)) {
		ack("hi from " + srv.Addr().String())
	})
	if err := srv.Serve("127.0.0.1:3000"); err != nil {
		log.Fatal(err)
	}
}

// Publishing into a cluster from a process that serves no clients.
func ExampleNewEmitter() {
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	em := redisadapter.NewEmitter(client, redisadapter.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := em.Of("/news").To("sports").Emit(ctx, "score", map[string]int{"home": 2, "away": 1}); err != nil {
		log.Print(err)
	}
}
