// Command loadgen runs one benchmark scenario against a Socket.IO server
// that implements the bench/server event contract, and prints its result
// as one JSON line (loadgen.Result).
//
//	go run ./bench/cmd/loadgen -scenario echo -url http://127.0.0.1:3000 -conns 100 -duration 10s
//	go run ./bench/cmd/loadgen -scenario fanout -url http://127.0.0.1:3000 -n 19000 -rooms 100 -count 50 -shards 2 -local 127.0.0.2,127.0.0.3
//	go run ./bench/cmd/loadgen -scenario cluster -cluster-mode sharded -urls http://127.0.0.1:3001,http://127.0.0.1:3002 \
//	    -redis-addr 127.0.0.1:6379 -n 1000 -count 1000 [-placement one]
//
// Scenarios: conns, handshake, echo, fanout, churn, cluster (see package
// bench/loadgen). -server-pid makes it read the server's CPU from /proc
// over the measured window (cluster: -server-pids, one per node, summed).
// With -shards N > 1 (conns, fanout, cluster) the connections are spread
// over N copies of this binary, started with -worker.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/riptide-io/riptide/bench/loadgen"
)

func main() {
	exit := 0
	defer func() { os.Exit(exit) }() // after the profile is written
	if len(os.Args) == 2 && os.Args[1] == "-worker" {
		// A shard of a sharded scenario, started by a parent loadgen.
		if err := loadgen.WorkerMain(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen worker:", err)
			os.Exit(1)
		}
		return
	}
	var (
		p        loadgen.Params
		scenario = flag.String("scenario", "", "scenario: "+strings.Join(loadgen.Scenarios(), ", "))
		local    = flag.String("local", "", "comma-separated source IPs (127.0.0.x) to spread connections over")
		duration = flag.Duration("duration", 10*time.Second, "measured window (handshake, echo, churn)")
		warmup   = flag.Duration("warmup", time.Second, "echo warm-up before the window")
		hold     = flag.Duration("hold", 2*time.Second, "conns: hold the idle connections this long before reading RSS")
		idle     = flag.Duration("idle-timeout", 10*time.Second, "fanout: give up after no message for this long")
		startTO  = flag.Duration("start-timeout", 5*time.Minute, "fanout: give up when the first message takes longer")
		timeout  = flag.Duration("timeout", 10*time.Minute, "abort the run after this long")
		cpuprof  = flag.String("cpuprofile", "", "write the generator's CPU profile to this file")
		urls     = flag.String("urls", "", "cluster: comma-separated base URLs of the nodes (the burst goes to the first)")
		pids     = flag.String("server-pids", "", "cluster: comma-separated process ids of the nodes, to read their CPU from /proc")
	)
	flag.StringVar(&p.URL, "url", "", "server base URL (default http://127.0.0.1:3000; cluster: the first of -urls)")
	flag.IntVar(&p.N, "n", 0, "conns: connections; fanout: receivers; churn: churning connections (default 1000; churn 200)")
	flag.IntVar(&p.Conns, "conns", 0, "echo: connections in closed loop (default 100)")
	flag.IntVar(&p.EchoRate, "echo-rate", 0, "echo: echoes per second in all, sent on a clock whatever the replies (open loop); 0: closed loops")
	flag.StringVar(&p.EchoDriver, "echo-driver", "", "echo: loop (one thread, epoll) or goroutines (a reader goroutine per connection) (default loop)")
	flag.StringVar(&p.HandshakeDriver, "handshake-driver", "", "handshake: loop (one thread, epoll) or goroutines (a goroutine and a Dial per handshake) (default loop)")
	flag.IntVar(&p.Concurrency, "concurrency", 0, "dials in flight; handshake: loops (default 64; handshake 32)")
	flag.IntVar(&p.Rooms, "rooms", 0, "fanout: rooms the receivers spread over, one burst each (default 1); churn: rooms (default 10)")
	flag.IntVar(&p.Count, "count", 0, "fanout: messages per burst (default 1000)")
	flag.IntVar(&p.PayloadSize, "payload", 0, "fanout, churn: payload bytes (default 100)")
	flag.IntVar(&p.Shards, "shards", 1, "conns, fanout: generator processes")
	flag.IntVar(&p.ServerPID, "server-pid", 0, "server process id, to read its CPU from /proc")
	flag.StringVar(&p.ClusterMode, "cluster-mode", "", "cluster: classic, sharded (dynamic), sharded-static or sharded-dynamic-private (default classic)")
	flag.StringVar(&p.Placement, "placement", "", "cluster: spread (receivers round robin over the nodes) or one (all on the second node) (default spread)")
	flag.StringVar(&p.RedisAddr, "redis-addr", "", "cluster: host:port of the cluster's redis-server")
	flag.Parse()
	if *scenario == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if p.URL == "" && *urls == "" {
		p.URL = "http://127.0.0.1:3000"
	}
	p.Duration, p.Warmup, p.Hold, p.IdleTimeout = loadgen.Duration(*duration), loadgen.Duration(*warmup),
		loadgen.Duration(*hold), loadgen.Duration(*idle)
	p.StartTimeout = loadgen.Duration(*startTO)
	if *local != "" {
		p.LocalAddrs = strings.Split(*local, ",")
	}
	if *urls != "" {
		p.URLs = strings.Split(*urls, ",")
	}
	for _, f := range strings.Split(*pids, ",") {
		if f == "" {
			continue
		}
		pid, err := strconv.Atoi(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: -server-pids: %v\n", err)
			os.Exit(2)
		}
		p.ServerPIDs = append(p.ServerPIDs, pid)
	}

	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	res, err := loadgen.Run(ctx, *scenario, p)
	if res != nil {
		b, _ := json.Marshal(res)
		fmt.Println(string(b))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		exit = 1
	}
}
