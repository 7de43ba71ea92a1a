// Command soak runs connect/join/broadcast/disconnect churn against a
// bench server for a long time and reports the server's RSS, heap,
// goroutines and sessions at the start, the middle and the end: they must
// stay flat (within 10%) and sessions must return to the churn's level —
// no leaked sessions, buffers or goroutines. Not a CI gate (it takes
// minutes); run it by hand:
//
//	go build -o /tmp/riptide-bench ./bench/server && /tmp/riptide-bench -addr 127.0.0.1:3000 -track-prepared &
//	go run ./bench/cmd/soak -url http://127.0.0.1:3000 -conns 3000 -duration 10m
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riptide-io/riptide/bench/client"
)

type stats struct {
	RSS         int64 `json:"rss"`
	HeapUsed    int64 `json:"heapUsed"`
	Connections int64 `json:"connections"`
	Goroutines  int64 `json:"goroutines"`
	Sessions    int64 `json:"sessions"`
	Prepared    int64 `json:"livePrepared"`
}

func main() {
	url := flag.String("url", "http://127.0.0.1:3000", "bench server base URL")
	conns := flag.Int("conns", 3000, "connections kept open (each is replaced as it churns)")
	duration := flag.Duration("duration", 10*time.Minute, "how long to churn")
	rooms := flag.Int("rooms", 50, "rooms to spread the connections over")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	probe, err := client.Dial(context.Background(), *url, client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer probe.Close()
	sample := func(label string) stats {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		raw, err := probe.Call(c, "soak_stats")
		if err != nil {
			log.Fatalf("stats: %v", err)
		}
		var s stats
		if err := json.Unmarshal(raw, &s); err != nil {
			log.Fatalf("stats %s: %v", raw, err)
		}
		fmt.Printf("%-6s rss %6.1f MB  heap %6.1f MB  goroutines %5d  sessions %5d  sockets %5d  live buffers %5d\n",
			label, float64(s.RSS)/1e6, float64(s.HeapUsed)/1e6, s.Goroutines, s.Sessions, s.Connections, s.Prepared)
		return s
	}
	base := sample("idle")

	var ops, errs atomic.Int64
	var wg sync.WaitGroup
	// Each worker owns one connection slot: connect, join a room or two,
	// send a broadcast now and then, disconnect after a random lifetime.
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 7))
			for ctx.Err() == nil {
				c, err := client.Dial(ctx, *url, client.Options{})
				if err != nil {
					errs.Add(1)
					time.Sleep(100 * time.Millisecond)
					continue
				}
				room := fmt.Sprintf(`"room-%d"`, r.IntN(*rooms))
				_ = c.Emit("join", []byte(room))
				life := time.Duration(1+r.IntN(20)) * time.Second
				deadline := time.Now().Add(life)
				for ctx.Err() == nil && time.Now().Before(deadline) {
					if r.IntN(50) == 0 {
						_ = c.Emit("bcast", []byte(room), []byte(`"soak"`))
					}
					time.Sleep(time.Duration(200+r.IntN(800)) * time.Millisecond)
					ops.Add(1)
				}
				_ = c.Close()
				ops.Add(1)
			}
		}(i)
	}
	half := time.After(*duration / 2)
	var start, mid stats
	time.Sleep(min(30*time.Second, *duration/4))
	start = sample("start")
	<-half
	mid = sample("middle")
	wg.Wait()
	time.Sleep(3 * time.Second) // let the last disconnects land
	end := sample("end")
	fmt.Printf("churn: %d operations, %d dial errors\n", ops.Load(), errs.Load())

	flat := func(name string, a, b int64) bool {
		ok := float64(b) <= float64(a)*1.10+1<<20 // 10%, plus 1 MB of slack for small numbers
		if !ok {
			fmt.Printf("NOT FLAT: %s %d -> %d\n", name, a, b)
		}
		return ok
	}
	ok := flat("rss (start→end of churn, at the middle)", start.RSS, mid.RSS)
	ok = flat("heap (start→middle)", start.HeapUsed, mid.HeapUsed) && ok
	if end.Sessions > base.Sessions || end.Connections > base.Connections {
		fmt.Printf("LEAK: %d sessions, %d sockets left (idle had %d, %d)\n", end.Sessions, end.Connections, base.Sessions, base.Connections)
		ok = false
	}
	if base.Prepared < 0 {
		fmt.Println("message buffers not counted: start the server with -track-prepared")
	} else if end.Prepared > base.Prepared+8 {
		fmt.Printf("LEAK: %d message buffers still referenced (idle had %d)\n", end.Prepared, base.Prepared)
		ok = false
	}
	if end.Goroutines > base.Goroutines+8 {
		fmt.Printf("LEAK: %d goroutines left (idle had %d)\n", end.Goroutines, base.Goroutines)
		ok = false
	}
	if !ok {
		os.Exit(1)
	}
	fmt.Println("flat: no leaked sessions, sockets, buffers or goroutines")
}
