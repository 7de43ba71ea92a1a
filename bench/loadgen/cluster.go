package loadgen

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riptide-io/riptide/bench/client"
)

// Redis channels of namespace "/" with the default key "socket.io", the
// same for Node's @socket.io/redis-adapter and Riptide's adapter/redis.
const (
	classicRequestChannel = "socket.io-request#/#" // classic: every node subscribes
	shardedChannel        = "socket.io#/#"         // sharded: every node subscribes
)

// subscriptionWait bounds the wait for the nodes' Redis subscriptions.
const subscriptionWait = 10 * time.Second

// runCluster is the cluster scenario: fanout across the nodes of a Redis
// cluster. len(p.URLs) nodes, all started with the same adapter
// (p.ClusterMode) on the redis-server at p.RedisAddr; p.N receivers join one
// room, spread round robin over the nodes (Placement "spread") or all on
// the second node ("one"); a sender on the first node emits one bcast_burst
// of p.Count messages. Every receiver expects every message, in order, as
// in fanout; a burst reaches the receivers of other nodes through Redis.
//
// Before the burst, once every receiver joined, it waits until each node
// has the connections placed on it and Redis shows the subscriptions the
// mode implies (classic: every node on the request channel; sharded: every
// node on the namespace channel and, in the dynamic modes, exactly the
// nodes with members on the room's channel), so that no message can be
// lost to a subscription still under way.
//
// Result: as fanout (Ops = deliveries cluster-wide, Latency from the first
// node's ts, Exact), with the server CPU summed over p.ServerPIDs. Extra,
// per broadcast (one burst message): node<i>_recv_per_bcast,
// node<i>_ignored_per_bcast and node<i>_pub_per_bcast (node i's adapter
// counters from the stats event, 1-based, when the node reports them;
// messages a node could not publish or did not understand count as errors),
// recv_per_bcast (their sum), redis_publish_per_bcast (PUBLISH + SPUBLISH
// calls), redis_cmds_per_bcast, redis_out_bytes_per_bcast,
// redis_in_bytes_per_bcast (INFO deltas, less the scenario's own INFO
// calls), redis_publish_us_per_bcast (Redis's time executing the
// publishes, commandstats) and redis_cpu_us_per_bcast (INFO cpu: all of
// redis-server's CPU over the window, its periodic housekeeping included,
// so a longer window shows more); also nodes, bcasts, redis_cpu_s and
// node<i>_receivers.
func runCluster(ctx context.Context, p Params) (*Result, error) {
	k := len(p.URLs)
	if k < 2 {
		return nil, fmt.Errorf("cluster: want the URLs of at least 2 nodes, got %d", k)
	}
	if p.RedisAddr == "" {
		return nil, errors.New("cluster: no Redis address")
	}
	if p.Rooms != 1 {
		return nil, fmt.Errorf("cluster: one room only, got %d", p.Rooms)
	}
	placement := map[string]string{"spread": "spread", "one": "one-node"}[p.Placement]
	if placement == "" {
		return nil, fmt.Errorf("cluster: placement %q: want spread or one", p.Placement)
	}
	room := fanoutRoom(0)
	var checks []subCheck
	switch p.ClusterMode {
	case "classic":
		checks = []subCheck{{classicRequestChannel, false, k}}
	case "sharded-static":
		checks = []subCheck{{shardedChannel, true, k}}
	case "sharded", "sharded-dynamic-private":
		checks = []subCheck{{shardedChannel, true, k}, {shardedChannel + room + "#", true, -1}}
	default:
		return nil, fmt.Errorf("cluster: mode %q: want classic, sharded, sharded-static or sharded-dynamic-private", p.ClusterMode)
	}
	res := &Result{Scenario: "cluster", Label: fmt.Sprintf("%s k=%d recv=%d %s", p.ClusterMode, k, p.N, placement),
		Params: p, Start: time.Now(), RateUnit: "deliveries/s", ClientProcs: p.Shards, Extra: map[string]float64{}}

	ctrl := make([]*client.Conn, k)
	defer func() { closeAll(ctrl) }()
	for j, u := range p.URLs {
		c, err := client.Dial(ctx, u, client.Options{})
		if err != nil {
			return nil, fmt.Errorf("cluster: node %d (%s): %w", j+1, u, err)
		}
		ctrl[j] = c
	}
	rc, err := dialRedis(p.RedisAddr)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	defer rc.Close()

	placed := make([]int, k)
	for g := range p.N {
		placed[p.nodeOf(g)]++
	}
	withMembers := 0
	for _, n := range placed {
		if n > 0 {
			withMembers++
		}
	}
	for i := range checks {
		if checks[i].want < 0 {
			checks[i].want = withMembers
		}
	}

	var (
		before []ServerStats
		info0  redisInfo
	)
	ready := func(receivers int) error {
		// Each node holds its receivers and a control connection; the first
		// one the sender too.
		for j := range k {
			want := placed[j] + 1
			if j == 0 {
				want++
			}
			st, err := waitConnections(ctx, ctrl[j], want, 10*time.Second)
			if err != nil {
				return fmt.Errorf("cluster: node %d: %w", j+1, err)
			}
			if st.Connections != want && receivers == p.N {
				return fmt.Errorf("cluster: node %d has %d connections, want %d", j+1, st.Connections, want)
			}
		}
		if err := waitSubscriptions(ctx, rc, checks); err != nil {
			return err
		}
		var err error
		if before, err = nodeStats(ctx, ctrl); err != nil {
			return err
		}
		if info0, err = rc.info(); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		return nil
	}
	r, err := fanout(ctx, p, res, ready)
	if r == nil {
		return nil, err
	}

	// The figures per broadcast. The nodes count what they received as it
	// arrives: the receivers are complete, but a node that ignores the
	// burst (no member here) may still be reading it.
	bcasts := float64(p.Count * p.Rooms)
	x := r.Extra
	x["nodes"], x["bcasts"] = float64(k), bcasts
	after, serr := settleStats(ctx, ctrl, 5*time.Second)
	var recv int64
	var counted bool
	for j := range k {
		x[fmt.Sprintf("node%d_receivers", j+1)] = float64(placed[j])
		if serr != nil || before[j].Redis == nil || after[j].Redis == nil {
			continue
		}
		b, a := before[j].Redis, after[j].Redis
		recv += a.Received - b.Received
		counted = true
		x[fmt.Sprintf("node%d_recv_per_bcast", j+1)] = float64(a.Received-b.Received) / bcasts
		x[fmt.Sprintf("node%d_ignored_per_bcast", j+1)] = float64(a.Ignored-b.Ignored) / bcasts
		x[fmt.Sprintf("node%d_pub_per_bcast", j+1)] = float64(a.Published-b.Published) / bcasts
		if d := a.Dropped - b.Dropped; d > 0 {
			x[fmt.Sprintf("node%d_dropped", j+1)] = float64(d)
			res.Errors += d
			res.ErrorSamples = append(res.ErrorSamples, fmt.Sprintf("node %d: %d messages not published", j+1, d))
		}
		if d := a.Malformed - b.Malformed; d > 0 {
			x[fmt.Sprintf("node%d_malformed", j+1)] = float64(d)
			res.Errors += d
			res.ErrorSamples = append(res.ErrorSamples, fmt.Sprintf("node %d: %d messages not understood", j+1, d))
		}
	}
	if counted {
		x["recv_per_bcast"] = float64(recv) / bcasts
	}
	if info1, ierr := rc.info(); ierr == nil {
		d := info1.since(info0)
		x["redis_publish_per_bcast"] = float64(d.Publishes) / bcasts
		x["redis_cmds_per_bcast"] = float64(d.Commands) / bcasts
		x["redis_out_bytes_per_bcast"] = float64(d.NetOutput) / bcasts
		x["redis_in_bytes_per_bcast"] = float64(d.NetInput) / bcasts
		x["redis_publish_us_per_bcast"] = float64(d.PublishUsec) / bcasts
		x["redis_cpu_us_per_bcast"] = float64(d.CPUUsec) / bcasts
		x["redis_cpu_s"] = float64(d.CPUUsec) / 1e6
	} else if err == nil {
		err = fmt.Errorf("cluster: %w", ierr)
	}
	if serr != nil && err == nil {
		err = serr
	}
	return r, err
}

// subCheck is a subscription count waited for: want subscribers of
// channel (SHARDNUMSUB when sharded, else NUMSUB).
type subCheck struct {
	channel string
	sharded bool
	want    int
}

// waitSubscriptions polls Redis until every check holds, for
// subscriptionWait at most.
func waitSubscriptions(ctx context.Context, rc *redisConn, checks []subCheck) error {
	deadline := time.Now().Add(subscriptionWait)
	for _, c := range checks {
		for {
			n, err := rc.subscribers(c.channel, c.sharded)
			if err != nil {
				return fmt.Errorf("cluster: %w", err)
			}
			if n == int64(c.want) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("cluster: %s has %d subscriber(s) after %s, want %d", c.channel, n, subscriptionWait, c.want)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// nodeStats queries every node's stats.
func nodeStats(ctx context.Context, ctrl []*client.Conn) ([]ServerStats, error) {
	out := make([]ServerStats, len(ctrl))
	for j, c := range ctrl {
		st, err := QueryStats(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("cluster: node %d: %w", j+1, err)
		}
		out[j] = st
	}
	return out, nil
}

// settleStats queries every node's stats until their Redis counters stop
// moving (two reads 100 ms apart agree), for at most timeout.
func settleStats(ctx context.Context, ctrl []*client.Conn, timeout time.Duration) ([]ServerStats, error) {
	deadline := time.Now().Add(timeout)
	prev, err := nodeStats(ctx, ctrl)
	for err == nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		var cur []ServerStats
		if cur, err = nodeStats(ctx, ctrl); err != nil {
			break
		}
		same := true
		for j := range cur {
			a, b := cur[j].Redis, prev[j].Redis
			if a != nil && b != nil && *a != *b {
				same = false
			}
		}
		prev = cur
		if same {
			break
		}
	}
	return prev, err
}
