package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// baseline is the server whose figures the ratios compare the others to.
const baseline = "riptide"

// agg is the medians of one (scenario, label, server) over its repeats.
type agg struct {
	Scenario, Label, Server string
	Runs                    int // runs with a result
	Failed                  int // runs without one (errors, crashes)
	Rate                    float64
	RateUnit                string
	P50, P99, P999          float64 // ms
	ServerUsPerOp           float64
	ServerCores             float64
	ClientCores             float64
	OtherCores              float64
	RSSPerConn              float64
	// Saturated counts runs marked client_saturated.
	Saturated int
	// Inexact counts fan-out runs whose exactness check failed; Missing,
	// Dups and OOO are their worst figures.
	Inexact            int
	Missing, Dups, OOO int64
	Errors             int64 // summed over the runs
	Crashed            int
	Leaked             float64 // churn: max leaked_conns
	Notes              []string
	// Extra is the median of each of the runs' Result.Extra figures.
	Extra map[string]float64
}

// median returns the median of xs (0 for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// aggregate groups runs by scenario, label and server, in first-seen order.
func aggregate(runs []Run) []*agg {
	type key struct{ scenario, label, server string }
	byKey := map[key]*agg{}
	var order []key
	vals := map[key]map[string][]float64{}
	for _, r := range runs {
		k := key{r.Scenario, r.Label, r.Server}
		a := byKey[k]
		if a == nil {
			a = &agg{Scenario: r.Scenario, Label: r.Label, Server: r.Server}
			byKey[k] = a
			order = append(order, k)
			vals[k] = map[string][]float64{}
		}
		if r.ServerCrashed {
			a.Crashed++
		}
		res := r.Result
		if res == nil || (r.Error != "" && res.Ops == 0) {
			a.Failed++
			if r.Error != "" && len(a.Notes) < 2 {
				a.Notes = append(a.Notes, r.Error)
			}
			continue
		}
		a.Runs++
		a.RateUnit = res.RateUnit
		v := vals[k]
		v["rate"] = append(v["rate"], res.Rate)
		if res.Latency != nil && res.Latency.Count > 0 {
			v["p50"] = append(v["p50"], res.Latency.P50Ms)
			v["p99"] = append(v["p99"], res.Latency.P99Ms)
			v["p999"] = append(v["p999"], res.Latency.P999Ms)
		}
		v["srvus"] = append(v["srvus"], res.ServerCPUPerOpUs)
		v["srvcores"] = append(v["srvcores"], res.ServerCores)
		v["clicores"] = append(v["clicores"], res.ClientCores)
		v["other"] = append(v["other"], res.OtherCores)
		if res.RSSPerConn != 0 {
			v["rss"] = append(v["rss"], res.RSSPerConn)
		}
		if res.ClientSaturated {
			a.Saturated++
		}
		if x := res.Exact; x != nil && !x.OK() {
			a.Inexact++
			a.Missing = max(a.Missing, x.Missing)
			a.Dups = max(a.Dups, x.Duplicates)
			a.OOO = max(a.OOO, x.OutOfOrder)
		}
		a.Errors += res.Errors
		if l, ok := res.Extra["leaked_conns"]; ok {
			a.Leaked = max(a.Leaked, l)
		}
		for k, x := range res.Extra {
			v["extra:"+k] = append(v["extra:"+k], x)
		}
		if r.Error != "" && len(a.Notes) < 2 {
			a.Notes = append(a.Notes, r.Error)
		}
	}
	out := make([]*agg, 0, len(order))
	for _, k := range order {
		a, v := byKey[k], vals[k]
		a.Rate, a.P50, a.P99, a.P999 = median(v["rate"]), median(v["p50"]), median(v["p99"]), median(v["p999"])
		a.ServerUsPerOp, a.ServerCores, a.ClientCores = median(v["srvus"]), median(v["srvcores"]), median(v["clicores"])
		a.RSSPerConn = median(v["rss"])
		a.OtherCores = median(v["other"])
		for k, xs := range v {
			if name, ok := strings.CutPrefix(k, "extra:"); ok {
				if a.Extra == nil {
					a.Extra = map[string]float64{}
				}
				a.Extra[name] = median(xs)
			}
		}
		out = append(out, a)
	}
	return out
}

// ratio returns num/den formatted "12.3×", or "–" when undefined.
func ratio(num, den float64) string {
	if num <= 0 || den <= 0 || math.IsNaN(num/den) {
		return "–"
	}
	r := num / den
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f×", r)
	case r >= 10:
		return fmt.Sprintf("%.1f×", r)
	default:
		return fmt.Sprintf("%.2f×", r)
	}
}

// num formats a figure with a precision that suits its size.
func num(v float64) string {
	switch {
	case v == 0:
		return "–"
	case math.Abs(v) >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case math.Abs(v) >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// readRuns reads a runs.jsonl.
func readRuns(path string) ([]Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var runs []Run
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var r Run
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		runs = append(runs, r)
	}
	return runs, sc.Err()
}

// writeReport writes results.md and the charts of dir from its runs.jsonl.
// cmdline is the command that produced it ("" when only re-reporting: the
// one recorded in an existing results.md is kept when it can be found).
func writeReport(dir, cmdline string) error {
	runs, err := readRuns(filepath.Join(dir, "runs.jsonl"))
	if err != nil {
		return err
	}
	if cmdline == "" {
		cmdline = previousCommand(filepath.Join(dir, "results.md"))
	}
	aggs := aggregate(runs)
	md := markdown(runs, aggs, cmdline)
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	return charts(dir, aggs)
}

// previousCommand finds the command recorded in an existing results.md.
func previousCommand(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "go run ./bench/cmd/run"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if c, ok := strings.CutPrefix(l, "Command: `"); ok {
			return strings.TrimSuffix(c, "`")
		}
	}
	return "go run ./bench/cmd/run"
}

// markdown renders the medians: per scenario, one row per configuration
// and server, then the ratios of the baseline (Riptide) to each peer.
func markdown(runs []Run, aggs []*agg, cmdline string) string {
	var b strings.Builder
	servers, versions := []string{}, map[string]string{}
	var sizes, cmds []string
	repeats, mach := 0, ""
	for _, r := range runs {
		if _, ok := versions[r.Server]; !ok {
			servers = append(servers, r.Server)
		}
		versions[r.Server] = r.ServerVersion
		repeats = max(repeats, r.Repeat)
		mach = r.Machine
		if r.Size != "" && !slices.Contains(sizes, r.Size) {
			sizes = append(sizes, r.Size)
		}
		if r.Command != "" && !slices.Contains(cmds, r.Command) {
			cmds = append(cmds, r.Command)
		}
	}
	if len(cmds) == 0 {
		cmds = []string{cmdline}
	}
	day := ""
	if len(runs) > 0 {
		day = runs[0].Started.Format("2006-01-02")
	}
	fmt.Fprintf(&b, "# Riptide benchmark results, %s\n\n", day)
	for _, c := range cmds {
		fmt.Fprintf(&b, "Command: `%s`\n\n", c)
	}
	fmt.Fprintf(&b, "Size `%s`, medians of up to %d repeat(s). Machine: %s; the load generator and the server share its cores.\n\n",
		strings.Join(sizes, "`, `"), repeats, mach)
	for _, s := range servers {
		fmt.Fprintf(&b, "- `%s`: %s\n", s, versions[s])
	}
	b.WriteString(`
How to read: *rate* is the scenario's throughput (connections/s while connecting, handshakes/s, echo
round trips/s, deliveries/s, churn operations/s). Latencies are in milliseconds: dial time (conns),
handshake time, echo round trip, server ` + "`ts`" + ` to receipt (fanout: includes the time a message
waits in the server behind the rest of its burst), one churn operation. Echo runs closed loops
(each connection sends when its last echo is answered: rate is the server's capacity) unless the
label has *rate=R*: then R echoes/s are sent on a clock whatever the replies (open loop), every
server gets the same load, and its latency is the comparison. *srv µs/op* is the server's
user+system CPU (from /proc) per operation; *cores* are CPU seconds per second over the measured
window. A run is **client-bound** (⚠) when the generator used ≥ 0.9 core: its server figures are
then lower bounds. *other cores* is the rest of the machine's busy CPU over the window (other
processes, kernel threads; /proc/stat): well above 0, the run shared the cores with other work. *exact* is the fan-out check that every receiver got every message once, in order.
*cluster* is fan-out across K server processes joined through one redis-server: its rate counts the
deliveries of the whole cluster, its latency runs from node 1's ` + "`ts`" + `, its server CPU is summed over the K
nodes (redis-server's own is in the Redis table).
Ratios compare Riptide to each peer so that > 1 always favours Riptide: throughput Riptide ÷ peer,
latency, CPU and memory peer ÷ Riptide.
`)
	scenarios := []string{}
	for _, a := range aggs {
		if !slices.Contains(scenarios, a.Scenario) {
			scenarios = append(scenarios, a.Scenario)
		}
	}
	for _, sc := range scenarios {
		fmt.Fprintf(&b, "\n## %s\n\n", sc)
		second := sc + "-latency.png"
		if sc == "conns" {
			second = "conns-memory.png"
		}
		fmt.Fprintf(&b, "![%s throughput](%s-throughput.png) ![%s](%s)\n\n", sc, sc, strings.TrimSuffix(second, ".png"), second)
		b.WriteString("| config | server | rate | p50 | p99 | p99.9 | srv µs/op | srv cores | client cores | other cores | RSS/conn | check | runs |\n")
		b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n")
		for _, a := range aggs {
			if a.Scenario != sc {
				continue
			}
			cli := fmt.Sprintf("%.2f", a.ClientCores)
			if a.Saturated > 0 {
				cli += fmt.Sprintf(" ⚠ %d/%d", a.Saturated, a.Runs)
			}
			check := "ok"
			switch {
			case a.Runs == 0:
				check = "FAILED"
			case a.Inexact > 0:
				check = fmt.Sprintf("INEXACT %d/%d (missing %d, dup %d, ooo %d)", a.Inexact, a.Runs, a.Missing, a.Dups, a.OOO)
			case a.Crashed > 0:
				check = fmt.Sprintf("CRASHED %d", a.Crashed)
			case a.Leaked != 0:
				check = fmt.Sprintf("leaked %.0f conns", a.Leaked)
			}
			if a.Errors > 0 {
				check += fmt.Sprintf(", %d errors", a.Errors)
			}
			rss := "–"
			if a.RSSPerConn != 0 {
				rss = fmt.Sprintf("%.0f B", a.RSSPerConn)
			}
			fmt.Fprintf(&b, "| %s | %s | %s %s | %s | %s | %s | %s | %.2f | %s | %.2f | %s | %s | %d/%d |\n",
				a.Label, a.Server, num(a.Rate), strings.TrimSuffix(a.RateUnit, "/s")+"/s", num(a.P50), num(a.P99), num(a.P999),
				num(a.ServerUsPerOp), a.ServerCores, cli, a.OtherCores, rss, check, a.Runs, a.Runs+a.Failed)
		}
		// Ratios against each peer.
		peers := []string{}
		for _, s := range servers {
			if s != baseline {
				peers = append(peers, s)
			}
		}
		if !slices.Contains(servers, baseline) || len(peers) == 0 {
			continue
		}
		b.WriteString("\n| config | peer | rate Riptide÷peer | p50 peer÷Riptide | p99 peer÷Riptide | srv CPU/op peer÷Riptide | RSS/conn peer÷Riptide |\n")
		b.WriteString("|---|---|---:|---:|---:|---:|---:|\n")
		for _, a := range aggs {
			if a.Scenario != sc || a.Server != baseline {
				continue
			}
			for _, peer := range peers {
				var p *agg
				for _, x := range aggs {
					if x.Scenario == sc && x.Label == a.Label && x.Server == peer {
						p = x
					}
				}
				if p == nil {
					continue
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", a.Label, peer,
					ratio(a.Rate, p.Rate), ratio(p.P50, a.P50), ratio(p.P99, a.P99),
					ratio(p.ServerUsPerOp, a.ServerUsPerOp), ratio(p.RSSPerConn, a.RSSPerConn))
			}
		}
	}
	if slices.Contains(scenarios, "cluster") {
		clusterTable(&b, aggs)
	}
	// Failures, in full.
	var notes []string
	for _, a := range aggs {
		for _, n := range a.Notes {
			notes = append(notes, fmt.Sprintf("- %s %s %s: %s", a.Scenario, a.Label, a.Server, n))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n## Errors\n\n" + strings.Join(notes, "\n") + "\n")
	}
	return b.String()
}

// clusterTable renders the cluster runs' Redis traffic per broadcast (one
// burst message): what each node received from Redis and how much of it
// delivered nothing there, and redis-server's own counters.
func clusterTable(b *strings.Builder, aggs []*agg) {
	b.WriteString(`
### cluster: Redis traffic per broadcast

Per broadcast (one message of the burst, sent on node 1): *from Redis* is the messages each node's
adapter received (n1 / n2 / n3, from the stats event, or from the counters a node prints as it exits,
marked ¹), *of which ignored* those that delivered nothing there (the sender's own message, a room
without members on that node); *PUBLISH* counts redis-server's PUBLISH + SPUBLISH calls, *cmds* all its
commands, *out B* / *in B* its network bytes (INFO stats, less the generator's own INFO calls), *pub µs*
its time executing the publishes (commandstats; its whole CPU, housekeeping included, is in runs.jsonl
as redis_cpu_s). In sharded dynamic mode a node without members in the room is not subscribed to it and
receives nothing; a classic node receives every broadcast and drops what is not for it.
Counts are medians over the runs.

| config | server | from Redis (n1 / n2 / n3) | of which ignored | PUBLISH | cmds | out B | in B | pub µs |
|---|---|---|---|---:|---:|---:|---:|---:|
`)
	for _, a := range aggs {
		if a.Scenario != "cluster" || a.Runs == 0 {
			continue
		}
		x := a.Extra
		k := int(x["nodes"])
		per := func(name string) string {
			var parts []string
			for i := 1; i <= k; i++ {
				v, ok := x[fmt.Sprintf("node%d_%s", i, name)]
				if !ok {
					return "–"
				}
				parts = append(parts, strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64))
			}
			return strings.Join(parts, " / ")
		}
		recv := per("recv_per_bcast")
		if x["redis_counts_at_exit"] > 0 && recv != "–" {
			recv += " ¹"
		}
		f := func(name string, prec int) string {
			v, ok := x[name]
			if !ok {
				return "–"
			}
			return strconv.FormatFloat(v, 'f', prec, 64)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", a.Label, a.Server, recv, per("ignored_per_bcast"),
			f("redis_publish_per_bcast", 2), f("redis_cmds_per_bcast", 2), f("redis_out_bytes_per_bcast", 0),
			f("redis_in_bytes_per_bcast", 0), f("redis_publish_us_per_bcast", 1))
	}
}

// serverColors gives each server a steady colour.
var serverColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, // orange
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, // green
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, // red
}

// charts writes, per scenario, <scenario>-throughput.png (median rate per
// configuration, one bar per server) and <scenario>-latency.png (median p50
// and p99); for conns the latency chart is replaced by RSS per connection.
func charts(dir string, aggs []*agg) error {
	var scenarios, servers []string
	for _, a := range aggs {
		if !slices.Contains(scenarios, a.Scenario) {
			scenarios = append(scenarios, a.Scenario)
		}
		if !slices.Contains(servers, a.Server) {
			servers = append(servers, a.Server)
		}
	}
	for _, sc := range scenarios {
		var labels []string
		for _, a := range aggs {
			if a.Scenario == sc && !slices.Contains(labels, a.Label) {
				labels = append(labels, a.Label)
			}
		}
		get := func(server, label string) *agg {
			for _, a := range aggs {
				if a.Scenario == sc && a.Server == server && a.Label == label {
					return a
				}
			}
			return &agg{}
		}
		unit := ""
		for _, a := range aggs {
			if a.Scenario == sc && a.RateUnit != "" {
				unit = a.RateUnit
			}
		}
		// A server with no run of the scenario (the ceiling does fan-out
		// only) gets no bars and no legend entry; colours stay the
		// server's own across charts.
		ran := func(server string) bool {
			return slices.ContainsFunc(aggs, func(a *agg) bool { return a.Scenario == sc && a.Server == server })
		}
		var series []barSeries
		for si, s := range servers {
			if !ran(s) {
				continue
			}
			vs := make(plotter.Values, len(labels))
			for i, l := range labels {
				vs[i] = get(s, l).Rate
			}
			series = append(series, barSeries{name: s, values: vs, col: serverColors[si%len(serverColors)]})
		}
		if err := barChart(filepath.Join(dir, sc+"-throughput.png"), sc+": throughput (median)", unit, labels, series); err != nil {
			return err
		}
		series = series[:0]
		title, ylabel := sc+": latency (median of p50 and p99)", "ms"
		for si, s := range servers {
			if !ran(s) {
				continue
			}
			col := serverColors[si%len(serverColors)]
			if sc == "conns" {
				vs := make(plotter.Values, len(labels))
				for i, l := range labels {
					vs[i] = get(s, l).RSSPerConn / 1024
				}
				series = append(series, barSeries{name: s, values: vs, col: col})
				continue
			}
			p50 := make(plotter.Values, len(labels))
			p99 := make(plotter.Values, len(labels))
			for i, l := range labels {
				p50[i], p99[i] = get(s, l).P50, get(s, l).P99
			}
			series = append(series, barSeries{name: s + " p50", values: p50, col: lighter(col)},
				barSeries{name: s + " p99", values: p99, col: col})
		}
		name := sc + "-latency.png"
		if sc == "conns" {
			name, title, ylabel = "conns-memory.png", "conns: server RSS per idle connection (median)", "KiB"
		}
		if err := barChart(filepath.Join(dir, name), title, ylabel, labels, series); err != nil {
			return err
		}
	}
	return nil
}

// wrapLabel breaks a label longer than 20 characters in two lines, at the
// space nearest its middle, so that neighbouring tick labels do not
// overlap (cluster's "sharded k=3 recv=1000 one-node").
func wrapLabel(l string) string {
	if len(l) <= 20 {
		return l
	}
	best := -1
	for i := range len(l) {
		if l[i] == ' ' && (best < 0 || abs(i-len(l)/2) < abs(best-len(l)/2)) {
			best = i
		}
	}
	if best < 0 {
		return l
	}
	return l[:best] + "\n" + l[best+1:]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// barSeries is one set of bars of a grouped bar chart.
type barSeries struct {
	name   string
	values plotter.Values
	col    color.Color
}

// lighter mixes c with white: the p50 bar beside its server's p99.
func lighter(c color.Color) color.Color {
	r, g, b, _ := c.RGBA()
	mix := func(v uint32) uint8 { return uint8((v>>8)/2 + 0x80) }
	return color.RGBA{R: mix(r), G: mix(g), B: mix(b), A: 0xff}
}

// barChart draws a grouped bar chart: one group per label, one bar per
// series. The Y axis is logarithmic when the values span more than two
// decades (Riptide and Node differ by that much), so that both stay
// readable; bars then start at the smallest decade.
func barChart(path, title, ylabel string, labels []string, series []barSeries) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	lo, hi := math.Inf(1), 0.0
	for _, s := range series {
		for _, v := range s.values {
			if v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	logY := hi > 0 && hi/lo > 100
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Label.Text += " (log scale)"
	}
	w := vg.Points(math.Max(6, math.Min(24, 120/float64(len(series)*max(1, len(labels))))))
	base := 0.0
	if logY {
		// A log axis cannot show 0, where plotter.BarChart starts its bars:
		// stack each series on invisible bars up to the decade below the
		// smallest value.
		base = math.Pow(10, math.Floor(math.Log10(lo)))
	}
	for i, s := range series {
		off := w * vg.Length(float64(i)-float64(len(series)-1)/2)
		vs := make(plotter.Values, len(s.values))
		for j, v := range s.values {
			vs[j] = math.Max(v-base, 0)
		}
		bc, err := plotter.NewBarChart(vs, w)
		if err != nil {
			return err
		}
		if logY {
			under := make(plotter.Values, len(vs))
			for j := range under {
				under[j] = base
			}
			bottom, err := plotter.NewBarChart(under, w)
			if err != nil {
				return err
			}
			bottom.Offset = off
			bc.StackOn(bottom)
		}
		bc.Offset = off
		bc.Color = s.col
		bc.LineStyle.Width = 0
		p.Add(bc)
		p.Legend.Add(s.name, bc)
	}
	p.Legend.Top = true
	ticks := make([]string, len(labels))
	for i, l := range labels {
		ticks[i] = wrapLabel(l)
	}
	p.NominalX(ticks...)
	// Room for the legend above the tallest bar, and half a group of margin
	// on each side.
	p.X.Min, p.X.Max = -0.5, float64(len(labels))-0.5
	if hi > 0 {
		if logY {
			p.Y.Min, p.Y.Max = base, hi*math.Pow(hi/base, 0.35)
		} else {
			p.Y.Min, p.Y.Max = 0, hi*1.35
		}
	}
	p.Add(plotter.NewGrid())
	width := vg.Length(math.Max(5, 1.6*float64(len(labels)))) * vg.Inch
	return p.Save(width, 4*vg.Inch, path)
}
