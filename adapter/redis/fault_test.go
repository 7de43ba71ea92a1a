package redisadapter_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riptide-io/riptide/internal/redistest"
)

// TestRedisRestartDuringBroadcasts restarts redis-server in the middle of a
// stream of broadcasts: the emitting node's own client never misses one,
// the other node's client gets them again once the adapters have
// reconnected, requests made while Redis is away fail with an error (not a
// hang), and nothing crashes.
func TestRedisRestartDuringBroadcasts(t *testing.T) {
	for _, m := range []mode{modes[0], modes[2]} { // classic, sharded dynamic
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			rs := redistest.Start(t)
			A := startNode(t, "A", rs, m.opts)
			B := startNode(t, "B", rs, m.opts)
			p := startClients(t, rs)
			connect(t, p, "a1", A.url, []string{"feed"}, nil)
			connect(t, p, "b1", B.url, []string{"feed"}, nil)

			var seq atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // A streams ticks to the room, every 5 ms
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond):
					}
					_ = A.srv.To("feed").Emit("tick", seq.Add(1))
				}
			}()
			ticks := func(c string) []int64 {
				var out []int64
				for _, args := range received(p, c, "tick") {
					if len(args) == 1 {
						if f, ok := args[0].(float64); ok {
							out = append(out, int64(f))
						}
					}
				}
				return out
			}
			waitFor(t, "ticks on b1 before the restart", func() bool { return len(ticks("b1")) >= 20 })

			rs.Stop()
			// While Redis is away: a request fails in its time, local
			// delivery goes on.
			outage := seq.Load()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := A.srv.ServerSideEmitWithAck(ctx, "ss-echo", 1)
			cancel()
			if err == nil {
				t.Errorf("ServerSideEmitWithAck with Redis down: no error")
			}
			waitFor(t, "a1 keeps receiving during the outage", func() bool {
				tk := ticks("a1")
				return len(tk) > 0 && tk[len(tk)-1] > outage+20
			})
			rs.Restart()
			restarted := seq.Load()
			waitFor(t, "b1 receives again after the restart", func() bool {
				tk := ticks("b1")
				return len(tk) > 0 && tk[len(tk)-1] > restarted+20
			})
			close(stop)
			wg.Wait()
			last := seq.Load()
			waitFor(t, "a1 got the last tick", func() bool {
				tk := ticks("a1")
				return len(tk) > 0 && tk[len(tk)-1] == last
			})
			// a1 is local to A: every tick, in order, none twice.
			for i, v := range ticks("a1") {
				if v != int64(i+1) {
					t.Fatalf("a1 tick %d = %d: local delivery was disturbed by the outage", i, v)
				}
			}
			got := ticks("b1")
			for i := 1; i < len(got); i++ {
				if got[i] <= got[i-1] {
					t.Fatalf("b1 ticks out of order or duplicated: %d after %d", got[i], got[i-1])
				}
			}
			st := A.ad.Stats()
			t.Logf("%s: %d ticks, b1 got %d (lost during the outage: %d); A stats %+v; B stats %+v",
				m.name, last, len(got), last-int64(len(got)), st, B.ad.Stats())
			if B.ad.Stats().Reconnects == 0 {
				t.Errorf("B never resubscribed")
			}
			// And requests work again.
			ctx, cancel = context.WithTimeout(context.Background(), wait)
			defer cancel()
			if r, err := A.srv.ServerSideEmitWithAck(ctx, "ss-echo", 2); err != nil || len(r) != 1 {
				t.Errorf("after the restart: ServerSideEmitWithAck = %v, %v", r, err)
			}
		})
	}
}
