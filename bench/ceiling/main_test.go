package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/riptide-io/riptide/bench/client"
	"github.com/riptide-io/riptide/bench/loadgen"
)

// childEnv, when set, makes the test binary run main() instead of the
// tests: TestMainProcess runs the real command that way.
const childEnv = "RIPTIDE_BENCH_CEILING_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Args = append([]string{"ceiling"}, strings.Fields(os.Getenv(childEnv+"_ARGS"))...)
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// start runs a server on 127.0.0.1:0 in this process, closed at the test's
// end, and returns it with its base URL.
func start(t *testing.T, workers, batch int) (*server, string) {
	t.Helper()
	s, err := listen("127.0.0.1:0", workers, batch, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, "http://" + s.Addr().String()
}

// msg is one received "msg" event.
type msg struct {
	Seq  int64  `json:"seq"`
	TS   int64  `json:"ts"`
	Data string `json:"data"`
	recv time.Time
}

// receiver is a bench/client connection that records every msg, and the
// moment each ack arrived relative to them.
type receiver struct {
	*client.Conn
	mu    sync.Mutex
	msgs  []msg
	bad   []string
	block time.Duration // OnEvent sleeps this long on the first msg
}

// dial connects a receiver.
func dial(t *testing.T, url string, block time.Duration) *receiver {
	t.Helper()
	r := &receiver{block: block}
	c, err := client.Dial(context.Background(), url, client.Options{OnEvent: func(c *client.Conn, ev *client.Event) {
		if string(ev.Name) != "msg" {
			return
		}
		var m msg
		dec := json.NewDecoder(strings.NewReader(string(ev.Args)))
		dec.DisallowUnknownFields()
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := dec.Decode(&m); err != nil || dec.More() {
			r.bad = append(r.bad, string(ev.Args))
			return
		}
		if len(r.msgs) == 0 && r.block > 0 {
			time.Sleep(r.block) // a slow consumer: the server's writes back up
		}
		m.recv = time.Now()
		r.msgs = append(r.msgs, m)
	}})
	if err != nil {
		t.Fatal(err)
	}
	r.Conn = c
	t.Cleanup(func() { _ = c.Close() })
	return r
}

// call emits event with raw JSON args and returns the ack's raw arguments.
func call(t *testing.T, c *receiver, event string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	raw := make([][]byte, len(args))
	for i, a := range args {
		raw[i] = []byte(a)
	}
	got, err := c.Call(ctx, event, raw...)
	if err != nil {
		t.Fatalf("%s: %v", event, err)
	}
	return string(got)
}

// burstAck is bcast_burst's reply.
type burstAck struct {
	Sent  int    `json:"sent"`
	US    int64  `json:"us"`
	Error string `json:"error"`
}

// runBurst has sender run bcast_burst on room and returns the ack, the
// times around it and when the ack arrived.
func runBurst(t *testing.T, sender *receiver, room string, count, size int) (a burstAck, t0, t1 time.Time) {
	t.Helper()
	t0 = time.Now()
	raw := call(t, sender, "bcast_burst", fmt.Sprintf(`{"room":%q,"count":%d,"payload_size":%d}`, room, count, size))
	t1 = time.Now()
	if err := json.Unmarshal([]byte(raw), &a); err != nil || a.Error != "" || a.Sent != count || a.US < 0 {
		t.Fatalf("bcast_burst ack %s", raw)
	}
	return a, t0, t1
}

// check waits until every receiver has count messages, then checks they
// came in order, with the contract's fields: seq 0..count-1, ts in integer
// microseconds within the burst, data = size × "x".
func check(t *testing.T, rs []*receiver, count, size int, t0, t1 time.Time) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	want := strings.Repeat("x", size)
	for i, r := range rs {
		for {
			r.mu.Lock()
			n := len(r.msgs)
			r.mu.Unlock()
			if n >= count || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		r.mu.Lock()
		if len(r.bad) > 0 {
			t.Errorf("receiver %d: malformed msg %.100s", i, r.bad[0])
		}
		if len(r.msgs) != count {
			t.Errorf("receiver %d: %d msgs, want %d", i, len(r.msgs), count)
		}
		for j, m := range r.msgs {
			if m.Seq != int64(j) {
				t.Errorf("receiver %d: msg %d has seq %d", i, j, m.Seq)
				break
			}
			if m.TS < t0.UnixMicro() || m.TS > t1.UnixMicro() || m.Data != want {
				t.Errorf("receiver %d: msg %d: ts %d not in [%d, %d], or %d bytes of data", i, j, m.TS,
					t0.UnixMicro(), t1.UnixMicro(), len(m.Data))
				break
			}
		}
		r.mu.Unlock()
	}
}

// TestBurst: receivers in a room get every message of a burst, in order,
// with the contract's fields; a sender that is in the room too gets every
// msg before its ack. Small batches, so the burst spans many.
func TestBurst(t *testing.T) {
	_, url := start(t, 2, 4096)
	var rs []*receiver
	for range 5 {
		r := dial(t, url, 0)
		if got := call(t, r, "join", `"room-1"`); got != "" {
			t.Fatalf("join ack %q", got)
		}
		rs = append(rs, r)
	}
	other := dial(t, url, 0)
	call(t, other, "join", `"room-2"`)
	sender := rs[0]
	_, t0, t1 := runBurst(t, sender, "room-1", 2000, 100)
	sender.mu.Lock()
	if n := len(sender.msgs); n != 2000 {
		t.Errorf("the sender, in the room, had %d of 2000 msgs when the ack came", n)
	}
	sender.mu.Unlock()
	check(t, rs, 2000, 100, t0, t1)
	other.mu.Lock()
	if len(other.msgs) != 0 {
		t.Errorf("a connection in another room got %d msgs", len(other.msgs))
	}
	other.mu.Unlock()
}

// TestBurstFrameSizes covers the three WebSocket length encodings and an
// empty payload.
func TestBurstFrameSizes(t *testing.T) {
	_, url := start(t, 2, defaultBatch)
	for _, size := range []int{0, 90, 200, 70000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			room := fmt.Sprintf("size-%d", size)
			rs := []*receiver{dial(t, url, 0), dial(t, url, 0), dial(t, url, 0)}
			for _, r := range rs {
				call(t, r, "join", fmt.Sprintf("%q", room))
			}
			sender := dial(t, url, 0)
			_, t0, t1 := runBurst(t, sender, room, 20, size)
			check(t, rs, 20, size, t0, t1)
		})
	}
}

// TestSlowReceiver: a receiver that stops reading makes the server's
// direct writes fall short; the rest is queued and drained, in order, while
// the other receivers go on.
func TestSlowReceiver(t *testing.T) {
	s, url := start(t, 2, defaultBatch)
	s.sendBuffer.Store(16 << 10) // or the kernel's autotuning absorbs megabytes
	slow := dial(t, url, 300*time.Millisecond)
	rs := []*receiver{slow, dial(t, url, 0), dial(t, url, 0)}
	for _, r := range rs {
		call(t, r, "join", `"slow"`)
	}
	sender := dial(t, url, 0)
	// 1.5 MB per receiver: far more than the socket buffers hold.
	_, t0, t1 := runBurst(t, sender, "slow", 1500, 1000)
	check(t, rs, 1500, 1000, t0, t1)
	if s.drains.Load() == 0 {
		t.Error("no write was queued: the slow path did not run")
	}
}

// TestEvents covers join, stats, echo and the error answers.
func TestEvents(t *testing.T) {
	_, url := start(t, 1, defaultBatch)
	c := dial(t, url, 0)
	dial(t, url, 0)
	var st struct {
		RSS         int64 `json:"rss"`
		HeapUsed    int64 `json:"heapUsed"`
		Connections int   `json:"connections"`
	}
	if err := json.Unmarshal([]byte(call(t, c, "stats")), &st); err != nil || st.Connections != 2 ||
		st.RSS <= 0 || st.HeapUsed <= 0 {
		t.Errorf("stats: %+v, %v", st, err)
	}
	for _, tc := range []struct{ event, args, want string }{
		{"join", `1`, `{"error":"room must be a string"}`},
		{"bcast_burst", `"x"`, `{"error":"argument must be an object {room, count, payload_size}"}`},
		{"bcast_burst", `{"room":1,"count":1,"payload_size":1}`, `{"error":"room must be a string"}`},
		{"bcast_burst", `{"room":"r","count":1.5,"payload_size":1}`, `{"error":"count must be an integer in [0, 10000000]"}`},
		{"bcast_burst", `{"room":"r","count":1e3,"payload_size":-1}`, `{"error":"payload_size must be an integer in [0, 1000000]"}`},
		{"bcast_burst", `{"room":"nobody","count":1e3,"payload_size":1000.0}`, `{"sent":1000,`},
		{"echo", `"a",{"b":[1,2]}`, `"a",{"b":[1,2]}`},
		{"nope", ``, `{"error":"unsupported event"}`},
	} {
		var args []string
		if tc.args != "" {
			args = []string{tc.args}
		}
		if got := call(t, c, tc.event, args...); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s(%s): got %s, want %s", tc.event, tc.args, got, tc.want)
		}
	}
}

// TestFanoutScenario runs the load generator's fanout scenario, unchanged,
// against the ceiling: every receiver gets every message, in order.
func TestFanoutScenario(t *testing.T) {
	_, url := start(t, 2, defaultBatch)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := loadgen.Run(ctx, "fanout", loadgen.Params{URL: url, N: 30, Rooms: 3, Count: 200,
		IdleTimeout: loadgen.Duration(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if x := res.Exact; x == nil || !x.OK() || x.Unique != 30*200 || res.Errors != 0 {
		t.Errorf("exactness %+v, errors %d %v", res.Exact, res.Errors, res.ErrorSamples)
	}
}

// TestUpgradeRefused: only /socket.io/?EIO=4&transport=websocket upgrades
// (bench/client always asks for that query, so the requests are raw).
func TestUpgradeRefused(t *testing.T) {
	s, _ := start(t, 1, defaultBatch)
	for _, uri := range []string{"/socket.io/?EIO=4&transport=websocket", "/other/?EIO=4&transport=websocket",
		"/socket.io/?EIO=3&transport=websocket", "/socket.io/?EIO=4&transport=polling"} {
		nc, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", uri)
		_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(nc).ReadString('\n')
		_ = nc.Close()
		want := "HTTP/1.1 400 "
		if strings.HasPrefix(uri, "/socket.io/?EIO=4&transport=websocket") {
			want = "HTTP/1.1 101 "
		}
		if err != nil || !strings.HasPrefix(line, want) {
			t.Errorf("%s: got %q, %v; want %q", uri, line, err, want)
		}
	}
}

// TestMainProcess runs the real command (this test binary re-executed as
// main): it prints "listening on ADDR", serves there, and exits 0 on
// SIGTERM.
func TestMainProcess(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", childEnv+"_ARGS=-addr 127.0.0.1:0 -workers 2")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("first line %q, %v", line, err)
	}
	r := dial(t, "http://"+addr, 0)
	call(t, r, "join", `"main"`)
	_, t0, t1 := runBurst(t, r, "main", 10, 10)
	check(t, []*receiver{r}, 10, 10, t0, t1)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit 10 s after SIGTERM")
	}
	<-r.Done() // the server closed it
}
