package loadgen

import (
	"context"
	"errors"
	"testing"
)

// quickWorker starts and ends at once, as a conns shard does.
type quickWorker struct{}

func (quickWorker) setup(context.Context) (*shardReady, error) { return &shardReady{}, nil }
func (quickWorker) run(_ context.Context, started func(), _ <-chan struct{}) (*shardResult, error) {
	started()
	return &shardResult{}, nil
}
func (quickWorker) close() {}

// TestLocalHandleQuickShard: a shard that started and already ended is
// reported as started (it failed a local CI run as "shard ended before it
// started": with both channels ready, select picked the result), and one
// that ended without starting still is not.
func TestLocalHandleQuickShard(t *testing.T) {
	for i := 0; i < 50; i++ {
		h := newLocalHandle(context.Background(), quickWorker{})
		if _, err := h.ready(); err != nil {
			t.Fatal(err)
		}
		h.once.Do(func() { close(h.goCh) })
		if _, err := h.result(); err != nil { // it has ended
			t.Fatal(err)
		}
		if err := h.start(); err != nil {
			t.Fatalf("round %d: start of a shard that started and ended: %v", i, err)
		}
	}
	// A shard that ends without starting is not reported as started.
	for _, w := range []shardWorker{neverStarts{}, neverStarts{errors.New("no server")}} {
		h := newLocalHandle(context.Background(), w)
		if _, err := h.ready(); err != nil {
			t.Fatal(err)
		}
		if err := h.start(); err == nil {
			t.Fatalf("%+v: a shard that never started reported started", w)
		}
	}
}

// neverStarts ends without calling started.
type neverStarts struct{ err error }

func (neverStarts) setup(context.Context) (*shardReady, error) { return &shardReady{}, nil }
func (w neverStarts) run(context.Context, func(), <-chan struct{}) (*shardResult, error) {
	return &shardResult{}, w.err
}
func (neverStarts) close() {}
