package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riptide-io/riptide/bench/loadgen"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRatio(t *testing.T) {
	if ratio(250, 10) != "25.0×" || ratio(3, 2) != "1.50×" || ratio(1, 0) != "–" || ratio(0, 1) != "–" || ratio(5000, 10) != "500×" {
		t.Error(ratio(250, 10), ratio(3, 2), ratio(1, 0), ratio(5000, 10))
	}
}

// fakeRuns: three repeats of one fanout configuration on two servers, one
// node run inexact and one riptide run client-saturated, plus a failed run.
func fakeRuns() []Run {
	mk := func(server string, rep int, rate, p99 float64, sat bool, missing int64) Run {
		return Run{Server: server, ServerVersion: server + " v1", Size: "small", Repeat: rep, Scenario: "fanout",
			Label: "recv=10 rooms=1", Machine: "test box",
			Result: &loadgen.Result{Scenario: "fanout", Label: "recv=10 rooms=1", Rate: rate, RateUnit: "deliveries/s", Ops: 100,
				Latency:         &loadgen.Summary{Count: 100, P50Ms: p99 / 2, P99Ms: p99, P999Ms: p99 * 1.5},
				ClientSaturated: sat, ClientCores: 0.5, ServerCPUPerOpUs: 1e6 / rate,
				Exact: &loadgen.Exactness{Expected: 100, Delivered: 100 - missing, Unique: 100 - missing, Missing: missing}}}
	}
	runs := []Run{
		mk("riptide", 1, 1000, 2, false, 0), mk("node", 1, 40, 50, false, 0),
		mk("riptide", 2, 1200, 4, true, 0), mk("node", 2, 50, 70, false, 3),
		mk("riptide", 3, 800, 3, false, 0), mk("node", 3, 45, 60, false, 0),
	}
	runs = append(runs, Run{Server: "node", Scenario: "echo", Label: "conns=1", Repeat: 1, Error: "boom"})
	return runs
}

func TestAggregate(t *testing.T) {
	aggs := aggregate(fakeRuns())
	if len(aggs) != 3 {
		t.Fatalf("%d groups", len(aggs))
	}
	r, n, e := aggs[0], aggs[1], aggs[2]
	if r.Server != "riptide" || r.Runs != 3 || r.Rate != 1000 || r.P99 != 3 || r.Saturated != 1 || r.Inexact != 0 {
		t.Errorf("riptide %+v", r)
	}
	if n.Server != "node" || n.Rate != 45 || n.P99 != 60 || n.Inexact != 1 || n.Missing != 3 {
		t.Errorf("node %+v", n)
	}
	if e.Runs != 0 || e.Failed != 1 || len(e.Notes) != 1 {
		t.Errorf("failed group %+v", e)
	}
}

func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "runs.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range fakeRuns() {
		b, _ := json.Marshal(r)
		f.Write(append(b, '\n'))
	}
	f.Close()
	if err := writeReport(dir, "go run ./bench/cmd/run -size small"); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Command: `go run ./bench/cmd/run -size small`",
		"| recv=10 rooms=1 | riptide | 1000 deliveries/s |",
		"⚠ 1/3",
		"INEXACT 1/3 (missing 3",
		"| recv=10 rooms=1 | node | 22.2× | 20.0× | 20.0× |", // rate 1000/45, p50 30/1.5, p99 60/3
		"## Errors",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
	for _, png := range []string{"fanout-throughput.png", "fanout-latency.png", "echo-throughput.png"} {
		if st, err := os.Stat(filepath.Join(dir, png)); err != nil || st.Size() < 1000 {
			t.Errorf("%s: %v", png, err)
		}
	}
	// Re-reporting keeps the recorded command.
	if err := writeReport(dir, ""); err != nil {
		t.Fatal(err)
	}
	md2, _ := os.ReadFile(filepath.Join(dir, "results.md"))
	if string(md2) != string(md) {
		t.Error("re-reporting changed results.md")
	}
}

func TestAdapterLine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ log, want string }{
		{"listening on 127.0.0.1:1\nredis adapter: {Published:50 PublishDropped:2 Received:49 Ignored:7 Malformed:0 Reconnects:0}\n",
			"map[dropped:2 ignored:7 malformed:0 published:50 received:49 reconnects:0]"},
		{"listening on 127.0.0.1:1\nredis adapter: {\"published\":50,\"received\":49,\"ignored\":7}\n",
			"map[ignored:7 published:50 received:49]"},
	} {
		p := filepath.Join(dir, "node.log")
		if err := os.WriteFile(p, []byte(tc.log), 0o644); err != nil {
			t.Fatal(err)
		}
		got, ok := adapterLine(p)
		if !ok || fmt.Sprint(got) != tc.want {
			t.Errorf("adapterLine(%q) = %v, %v; want %s", tc.log, got, ok, tc.want)
		}
	}
	if _, ok := adapterLine(filepath.Join(dir, "missing.log")); ok {
		t.Error("a missing log has no counters")
	}
}

func TestClusterFlags(t *testing.T) {
	for _, tc := range []struct{ dash, mode, want string }{
		{"-", "classic", "-redis redis://h:1/0"},
		{"--", "sharded", "--redis redis://h:1/0 --sharded --mode dynamic"},
		{"-", "sharded-static", "-redis redis://h:1/0 -sharded -mode static"},
		{"--", "sharded-dynamic-private", "--redis redis://h:1/0 --sharded --mode dynamic-private"},
	} {
		if got := strings.Join(clusterFlags(tc.dash, "redis://h:1/0", tc.mode), " "); got != tc.want {
			t.Errorf("clusterFlags(%q, %q) = %q, want %q", tc.dash, tc.mode, got, tc.want)
		}
	}
	cfgs, err := configs("small", []string{"cluster"})
	if err != nil || len(cfgs) == 0 {
		t.Fatalf("small cluster configs: %v, %v", cfgs, err)
	}
	for _, c := range cfgs {
		if c.nodes < 2 || c.mode == "" || !strings.HasPrefix(c.label, c.mode+" k=") {
			t.Errorf("config %+v", c)
		}
	}
}

func TestWrapLabel(t *testing.T) {
	if got := wrapLabel("recv=10000 rooms=100"); got != "recv=10000 rooms=100" {
		t.Errorf("short label wrapped: %q", got)
	}
	if got := wrapLabel("sharded k=3 recv=1000 one-node"); got != "sharded k=3\nrecv=1000 one-node" {
		t.Errorf("wrapLabel = %q", got)
	}
}

func TestClusterReport(t *testing.T) {
	mk := func(server string, rate float64, extra map[string]float64) Run {
		return Run{Server: server, ServerVersion: server + " v1", Repeat: 1, Scenario: "cluster",
			Label: "sharded k=3 recv=10 one-node",
			Result: &loadgen.Result{Scenario: "cluster", Rate: rate, RateUnit: "deliveries/s", Ops: 100,
				Latency: &loadgen.Summary{Count: 100, P50Ms: 1, P99Ms: 2}, ServerCPUPerOpUs: 1e6 / rate,
				Exact: &loadgen.Exactness{Expected: 100, Delivered: 100, Unique: 100}, Extra: extra}}
	}
	base := map[string]float64{"nodes": 3, "bcasts": 10, "node1_recv_per_bcast": 0, "node2_recv_per_bcast": 1,
		"node3_recv_per_bcast": 0, "node1_ignored_per_bcast": 0, "node2_ignored_per_bcast": 0,
		"node3_ignored_per_bcast": 0, "redis_publish_per_bcast": 1, "redis_cmds_per_bcast": 1.1,
		"redis_out_bytes_per_bcast": 345, "redis_in_bytes_per_bcast": 341, "redis_publish_us_per_bcast": 2.25,
		"redis_cpu_us_per_bcast": 12.5}
	atExit := map[string]float64{"redis_counts_at_exit": 1}
	for k, v := range base {
		atExit[k] = v
	}
	md := markdown([]Run{mk("riptide", 1000, atExit), mk("node", 100, base)}, aggregate([]Run{mk("riptide", 1000, atExit), mk("node", 100, base)}), "cmd")
	for _, want := range []string{
		"### cluster: Redis traffic per broadcast",
		"| sharded k=3 recv=10 one-node | riptide | 0 / 1 / 0 ¹ | 0 / 0 / 0 | 1.00 | 1.10 | 345 | 341 | 2.2 |",
		"| sharded k=3 recv=10 one-node | node | 0 / 1 / 0 | 0 / 0 / 0 | 1.00 | 1.10 | 345 | 341 | 2.2 |",
		"| sharded k=3 recv=10 one-node | node | 10.0× |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
}
