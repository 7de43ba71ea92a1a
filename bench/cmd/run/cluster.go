package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// clusterFlags are a server's flags to join the Redis at redisURL in mode
// (classic, sharded, sharded-static, sharded-dynamic-private); dash is "-"
// for bench/server and "--" for the Node twin, whose flags are otherwise
// the same.
func clusterFlags(dash, redisURL, mode string) []string {
	args := []string{dash + "redis", redisURL}
	switch mode {
	case "sharded":
		args = append(args, dash+"sharded", dash+"mode", "dynamic")
	case "sharded-static":
		args = append(args, dash+"sharded", dash+"mode", "static")
	case "sharded-dynamic-private":
		args = append(args, dash+"sharded", dash+"mode", "dynamic-private")
	}
	return args
}

// runCluster runs cluster configuration c once: a fresh redis-server, then
// c.nodes fresh processes of srv joined to it, then the generator with
// every node's URL and pid. Node i's log is <tag>.node<i>.log; Riptide's
// CPU profiles (-profile) are <tag>.node<i>.prof.
func (b *bench) runCluster(ctx context.Context, srv server, c config) *Run {
	r := &Run{Server: srv.name, ServerVersion: srv.version, Scenario: c.scenario, Label: c.label,
		Started: time.Now().UTC(), Args: c.args, Machine: b.machine}
	ctx, cancel := context.WithTimeout(ctx, b.runTimeout)
	defer cancel()
	logDir := filepath.Join(b.tmp, "logs")
	_ = os.MkdirAll(logDir, 0o755)
	tag := fmt.Sprintf("%s-%s-%s-%s", srv.name, c.scenario, strings.ReplaceAll(c.label, " ", "_"),
		r.Started.Format("150405"))

	bin, err := exec.LookPath("redis-server")
	if err != nil {
		r.Error = "redis-server not found on PATH: the cluster scenario needs Redis 7 " +
			"(apt-get install redis-server), or leave it out with -scenarios"
		return r
	}
	rs, err := startRedis(bin, filepath.Join(logDir, tag+".redis.log"))
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer rs.stop()

	nodes := make([]*serverProc, c.nodes)
	stopNodes := func() {
		for _, sp := range nodes {
			if sp != nil {
				sp.stop()
			}
		}
	}
	defer stopNodes()
	var urls, pids []string
	for i := range nodes {
		var profile string
		if b.profile && srv.name == "riptide" {
			_ = os.MkdirAll(filepath.Join(b.tmp, "prof"), 0o755)
			profile = filepath.Join(b.tmp, "prof", fmt.Sprintf("%s.node%d.prof", tag, i+1))
		}
		sp, err := startServer(srv.cluster(profile, rs.url(), c.mode), filepath.Join(logDir, fmt.Sprintf("%s.node%d.log", tag, i+1)))
		if err != nil {
			r.Error = fmt.Sprintf("node %d: %v", i+1, err)
			return r
		}
		nodes[i] = sp
		urls = append(urls, "http://"+sp.addr)
		pids = append(pids, fmt.Sprint(sp.cmd.Process.Pid))
	}

	args := append([]string{"-scenario", c.scenario, "-urls", strings.Join(urls, ","),
		"-server-pids", strings.Join(pids, ","), "-redis-addr", rs.addr}, c.args...)
	b.generate(ctx, r, args, filepath.Join(logDir, tag+".loadgen.log"))
	for i, sp := range nodes {
		if !sp.alive() {
			r.ServerCrashed = true
			if r.Error == "" {
				r.Error = fmt.Sprintf("node %d exited during the run: %s", i+1, tailFile(sp.log, 500))
			}
		}
	}
	if !rs.alive() && r.Error == "" {
		r.Error = "redis-server exited during the run: " + tailFile(rs.log, 500)
	}
	// Each node prints its adapter's counters as it exits: they stand in
	// for the stats event's when a node did not report them there.
	stopNodes()
	if res := r.Result; res != nil && res.Extra != nil && !hasKey(res.Extra, "node1_recv_per_bcast") &&
		res.Extra["bcasts"] > 0 {
		bcasts := res.Extra["bcasts"]
		var sum float64
		found := 0
		for i, sp := range nodes {
			st, ok := adapterLine(sp.log)
			if !ok {
				continue
			}
			found++
			sum += float64(st["received"])
			res.Extra[fmt.Sprintf("node%d_recv_per_bcast", i+1)] = float64(st["received"]) / bcasts
			res.Extra[fmt.Sprintf("node%d_ignored_per_bcast", i+1)] = float64(st["ignored"]) / bcasts
			res.Extra[fmt.Sprintf("node%d_pub_per_bcast", i+1)] = float64(st["published"]) / bcasts
		}
		if found == len(nodes) {
			res.Extra["recv_per_bcast"] = sum / bcasts
			res.Extra["redis_counts_at_exit"] = 1
		}
	}
	return r
}

func hasKey(m map[string]float64, k string) bool {
	_, ok := m[k]
	return ok
}

// adapterRE matches one counter of a node's exit line "redis adapter:
// {...}": Go's %+v (Received:12) or the Node twin's JSON ("received":12).
var adapterRE = regexp.MustCompile(`"?(\w+)"?:(\d+)`)

// adapterLine reads the adapter's counters from a node's log (keys in
// lower case; Riptide's PublishDropped is "dropped").
func adapterLine(logPath string) (map[string]int64, bool) {
	f, err := os.Open(logPath)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "redis adapter: ")
		if !ok {
			continue
		}
		out := map[string]int64{}
		for _, m := range adapterRE.FindAllStringSubmatch(rest, -1) {
			n, _ := strconv.ParseInt(m[2], 10, 64)
			k := strings.ToLower(m[1])
			if k == "publishdropped" {
				k = "dropped"
			}
			out[k] = n
		}
		return out, true
	}
	return nil, false
}

// redisProc is a redis-server started for one cluster run: 127.0.0.1, a
// free port, no persistence, its working directory a fresh temporary one.
type redisProc struct {
	proc
	addr string
	dir  string
	log  string
}

// url is the server's URL for the nodes' -redis flag.
func (rp *redisProc) url() string { return "redis://" + rp.addr + "/0" }

// startRedis starts bin on a free port and waits until it answers PING
// (10 s at most), trying a few ports when one is taken meanwhile.
func startRedis(bin, logPath string) (*redisProc, error) {
	var lastErr error
	for range 5 {
		rp, err := launchRedis(bin, logPath)
		if err == nil {
			return rp, nil
		}
		lastErr = err
		if !strings.Contains(tailFile(logPath, 2000), "in use") {
			break
		}
	}
	return nil, lastErr
}

func launchRedis(bin, logPath string) (*redisProc, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "riptide-bench-redis-")
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir, "--daemonize", "no")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	rp := &redisProc{proc: proc{cmd: cmd}, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir, log: logPath}
	rp.watch(func() { logf.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := ping(rp.addr); err == nil {
			return rp, nil
		} else if !rp.alive() || time.Now().After(deadline) {
			rp.stop()
			return nil, fmt.Errorf("redis-server on %s: %v: %s", rp.addr, err, tailFile(logPath, 500))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ping sends PING and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return errors.New("PING answered " + strconv.Quote(line))
	}
	return nil
}

// stop sends SIGTERM (SIGKILL after 5 s) and removes the directory.
func (rp *redisProc) stop() {
	rp.terminate(5 * time.Second)
	os.RemoveAll(rp.dir)
}
