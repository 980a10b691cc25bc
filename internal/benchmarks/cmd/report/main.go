// Command report runs the side-by-side benchmarks of this module as
// interleaved rounds and prints a markdown table of the medians, with each
// peer's ratio to the raw-channel floor measured in the same round.
//
// Usage, from internal/benchmarks:
//
//	go run ./cmd/report            # 5 rounds, prints the table
//	go run ./cmd/report -quick     # 1 short round, for a fast check
//	go run ./cmd/report -write     # also replaces the table in README.md
//
// Each round runs every benchmark once, in its own process, workload by
// workload, with the order of the peers rotated from round to round, so
// that drift of a noisy machine spreads over all peers alike.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// workloads in table order, with the benchmark time of a full and a quick
// run, and the metrics shown for them.
var workloads = []workload{
	{name: "OneSub", title: "1 publisher → 1 subscriber", full: "300ms", quick: "50ms"},
	{name: "FanOut10", title: "fan-out to 10 subscribers", full: "300ms", quick: "50ms"},
	{name: "Pub4", title: "4 publishers → 1 subscriber", full: "300ms", quick: "50ms"},
	{name: "Latency", title: "latency, publish one and wait (10k)", full: "10000x", quick: "2000x", lat: true},
	{name: "Restart", title: "restart, panic → handling again (10,000), logs discarded, 1 ns restart window", full: "10000x", quick: "500x", lat: true},
	{name: "RestartLogged", title: "restart (10,000), each peer's default logging, output discarded after formatting", full: "10000x", quick: "500x", lat: true},
	{name: "RestartWindow", title: "restart (10,000), troupe's default 10 s restart window", full: "10000x", quick: "500x", lat: true},
	{name: "IdleMem", title: "memory per idle actor (10,000 bare actors)", full: "1x", quick: "1x", perActr: true},
	{name: "IdleMemSupervised", title: "memory per idle actor (10,000 actors under a supervisor, each subscribed to a bus)", full: "1x", quick: "1x", perActr: true},
	{name: "Unrelated1", title: "1 subscription", full: "300ms", quick: "50ms"},
	{name: "Unrelated10k", title: "1 + 10,000 subscriptions to unrelated types", full: "300ms", quick: "50ms"},
	{name: "DropNewest", title: "overload, DropNewest: bursts of 4096 into a held subscriber's 1024 (publisher side)", full: "300ms", quick: "50ms"},
	{name: "DropOldest", title: "overload, DropOldest: bursts of 4096 into a held subscriber's 1024 (publisher side)", full: "300ms", quick: "50ms"},
	{name: "Pool1", title: "pool of 1 worker, ~1 µs handler (Raw: a hand-written pool)", full: "300ms", quick: "50ms"},
	{name: "Pool4", title: "pool of 4 workers, ~1 µs handler (Raw: a hand-written pool)", full: "300ms", quick: "50ms"},
}

type workload struct {
	name, title  string
	full, quick  string
	lat, perActr bool
}

// peerOrder fixes the order of the rows within a workload.
var peerOrder = []string{"Raw", "Troupe", "ProtoDefault", "ProtoBounded", "WatermillRaw", "WatermillJSON", "EventBus", "PubSub", "Suture"}

// result is one benchmark run: metric unit → value.
type result map[string]float64

func main() {
	quick := flag.Bool("quick", false, "one short round: a fast check, not a measurement")
	rounds := flag.Int("rounds", 5, "number of interleaved rounds")
	write := flag.Bool("write", false, "replace the table in README.md")
	only := flag.String("only", "", "run only the workloads matching this regexp")
	flag.Parse()
	log.SetFlags(0)
	if *quick {
		*rounds = 1
	}

	dir, err := os.MkdirTemp("", "troupe-bench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bench.test")
	build := exec.Command("go", "test", "-c", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		log.Fatalf("building the benchmarks: %v", err)
	}

	names, err := list(bin)
	if err != nil {
		log.Fatal(err)
	}
	var onlyRE *regexp.Regexp
	if *only != "" {
		onlyRE = regexp.MustCompile(*only)
	}
	// peers[workload] lists the peers that have a benchmark for it.
	peers := map[string][]string{}
	for _, n := range names {
		w, p, ok := strings.Cut(strings.TrimPrefix(n, "Benchmark"), "_")
		if ok && (onlyRE == nil || onlyRE.MatchString(w)) {
			peers[w] = append(peers[w], p)
		}
	}
	for w := range peers {
		slices.SortFunc(peers[w], func(a, b string) int { return rank(a) - rank(b) })
	}

	// runs[workload][peer] holds one result per round.
	runs := map[string]map[string][]result{}
	start := time.Now()
	for r := range *rounds {
		for _, w := range workloads {
			ps := peers[w.name]
			if len(ps) == 0 {
				continue
			}
			if runs[w.name] == nil {
				runs[w.name] = map[string][]result{}
			}
			bt := w.full
			if *quick {
				bt = w.quick
			}
			for i := range ps {
				p := ps[(i+r)%len(ps)]
				res, err := run(bin, "Benchmark"+w.name+"_"+p, bt)
				if err != nil {
					log.Fatalf("round %d: %s_%s: %v", r+1, w.name, p, err)
				}
				runs[w.name][p] = append(runs[w.name][p], res)
			}
		}
		log.Printf("round %d/%d done after %v", r+1, *rounds, time.Since(start).Round(time.Second))
	}

	cmd := "go run ./cmd/report " + strings.Join(os.Args[1:], " ")
	table := render(runs, peers, *rounds, strings.TrimSpace(cmd))
	fmt.Print(table)
	if *write {
		if err := writeReadme("README.md", table); err != nil {
			log.Fatal(err)
		}
	}
}

func rank(peer string) int {
	if i := slices.Index(peerOrder, peer); i >= 0 {
		return i
	}
	return len(peerOrder)
}

// list returns the names of the benchmarks in bin.
func list(bin string) ([]string, error) {
	out, err := exec.Command(bin, "-test.list", "^Benchmark").Output()
	if err != nil {
		return nil, fmt.Errorf("listing benchmarks: %w", err)
	}
	return strings.Fields(string(out)), nil
}

// run runs one benchmark in a fresh process and parses its result line.
func run(bin, name, benchtime string) (result, error) {
	cmd := exec.Command(bin, "-test.run", "^$", "-test.bench", "^"+name+"$",
		"-test.benchtime", benchtime, "-test.timeout", "10m")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, out.String())
	}
	res, err := parse(&out, name)
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, out.String())
	}
	return res, nil
}

// parse reads the result line of benchmark name from go test's output:
// "BenchmarkX-2  1000  123 ns/op  4 p50-ns ... 0 allocs/op".
func parse(r io.Reader, name string) (result, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || (f[0] != name && !strings.HasPrefix(f[0], name+"-")) {
			continue
		}
		res := result{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("parsing %q: %w", sc.Text(), err)
			}
			res[f[i+1]] = v
		}
		return res, nil
	}
	return nil, fmt.Errorf("no result line for %s", name)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// stat returns the median of unit over the rounds, and the median of its
// per-round ratio to base (nil: no ratio).
func stat(rs, base []result, unit string) (med, ratio float64) {
	st := spreadOf(rs, base, unit)
	return st.med, st.ratio
}

// spread is a measure over the rounds: its median, the lowest and highest
// round, and the median of the per-round ratios to the base peer.
type spread struct {
	med, lo, hi, ratio float64
	n                  int // rounds that measured it
}

func spreadOf(rs, base []result, unit string) spread {
	var vs, rat []float64
	for i, r := range rs {
		v, ok := r[unit]
		if !ok {
			continue
		}
		vs = append(vs, v)
		if i < len(base) {
			if bv, ok := base[i][unit]; ok && bv > 0 {
				rat = append(rat, v/bv)
			}
		}
	}
	st := spread{med: median(vs), ratio: median(rat), lo: math.NaN(), hi: math.NaN(), n: len(vs)}
	if len(vs) > 0 {
		st.lo, st.hi = slices.Min(vs), slices.Max(vs)
	}
	return st
}

// cell formats a measure as "median [min–max] (ratio×)"; the range is left
// out when only one round measured it.
func (st spread) cell() string { return st.cellUnit("") }

// cellUnit is cell with unit after the median: "median unit [min–max] (ratio×)".
func (st spread) cellUnit(unit string) string {
	c := fmtNum(st.med)
	if unit != "" {
		c += " " + unit
	}
	if st.n > 1 {
		c += " [" + fmtNum(st.lo) + "–" + fmtNum(st.hi) + "]"
	}
	return c + fmtRatio(st.ratio)
}

func fmtNum(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func fmtRatio(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return " (" + strconv.FormatFloat(v, 'f', 2, 64) + "×)"
}

// render prints the tables and the targets.
func render(runs map[string]map[string][]result, peers map[string][]string, rounds int, cmd string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Command: `%s` (%d round(s), medians, [lowest–highest round]; (N×) is the median of the per-round ratios to Raw)\n\n", cmd, rounds)
	fmt.Fprintf(&b, "Machine: %s, GOMAXPROCS=%d, %s %s/%s, %s\n\n", cpuModel(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"))
	b.WriteString("| workload | peer | ns/op | allocs/op | p50 ns | p99 ns | other |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---|\n")
	for _, w := range workloads {
		if w.name == "Unrelated1" || w.name == "Unrelated10k" {
			continue
		}
		base := runs[w.name]["Raw"]
		for _, p := range peers[w.name] {
			rs := runs[w.name][p]
			if len(rs) == 0 {
				continue
			}
			al, _ := stat(rs, base, "allocs/op")
			cells := []string{w.title, p, spreadOf(rs, base, "ns/op").cell(), fmtNum(al), "", "", ""}
			if w.lat {
				cells[4], cells[5] = spreadOf(rs, base, "p50-ns").cell(), spreadOf(rs, base, "p99-ns").cell()
			}
			if w.perActr {
				cells[2] = "" // the time to start and stop 10,000 actors is not the point
				cells[6] = spreadOf(rs, base, "B/actor").cellUnit("B/actor")
			}
			if d, _ := stat(rs, base, "%dropped"); !math.IsNaN(d) {
				cells[6] = fmtNum(d) + "% dropped, accounted exactly; ns per publish into room " +
					spreadOf(rs, base, "ns/accepted").cell()
				if st := spreadOf(rs, base, "ns/dropped"); st.n > 0 {
					cells[6] += ", into a full buffer (one drop) " + st.cell()
				}
			}
			fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
		}
	}
	if len(peers["Unrelated10k"]) > 0 {
		b.WriteString("\nPublish → handled with 1 subscription, then with 10,000 more to unrelated types (topics):\n\n")
		b.WriteString("| peer | 1 sub ns/op | +10,000 unrelated ns/op | ratio | allocs/op |\n|---|---:|---:|---:|---:|\n")
		for _, p := range peers["Unrelated10k"] {
			one, many := runs["Unrelated1"][p], runs["Unrelated10k"][p]
			_, ratio := stat(many, one, "ns/op")
			al, _ := stat(many, nil, "allocs/op")
			fmt.Fprintf(&b, "| %s | %s | %s | %.2f | %s |\n", p, spreadOf(one, nil, "ns/op").cell(), spreadOf(many, nil, "ns/op").cell(), ratio, fmtNum(al))
		}
	}
	b.WriteString(targets(runs))
	return b.String()
}

// targets checks troupe against the targets of issues 13 and 18 (and
// issue 4's for unrelated subscriptions).
func targets(runs map[string]map[string][]result) string {
	tr := func(w string) []result { return runs[w]["Troupe"] }
	if !slices.ContainsFunc(workloads, func(w workload) bool { return len(tr(w.name)) > 0 }) {
		return ""
	}
	var b strings.Builder
	b.WriteString("\nTargets for troupe (ratios to Raw from the same round):\n\n| target | measured | met |\n|---|---|---|\n")
	check := func(name, measured string, ok bool) {
		met := "no"
		if ok {
			met = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, measured, met)
	}
	ratio := func(w, unit string) float64 { _, r := stat(tr(w), runs[w]["Raw"], unit); return r }
	allocs := func(w string) float64 { a, _ := stat(tr(w), nil, "allocs/op"); return a }
	if len(tr("OneSub")) > 0 {
		r, a := ratio("OneSub", "ns/op"), allocs("OneSub")
		check("1 subscriber ≤ 1.25×, 0 allocs", fmt.Sprintf("%.2f×, %s allocs", r, fmtNum(a)), r <= 1.25 && a == 0)
	}
	if len(tr("FanOut10")) > 0 {
		r, a := ratio("FanOut10", "ns/op"), allocs("FanOut10")
		check("fan-out 10 ≤ 1.0×, 0 allocs", fmt.Sprintf("%.2f×, %s allocs", r, fmtNum(a)), r <= 1.0 && a == 0)
	}
	if len(tr("Pub4")) > 0 {
		r := ratio("Pub4", "ns/op")
		check("4 publishers ≤ 1.5×", fmt.Sprintf("%.2f×", r), r <= 1.5)
	}
	if len(tr("Latency")) > 0 {
		p50, p99 := ratio("Latency", "p50-ns"), ratio("Latency", "p99-ns")
		check("latency p50 ≤ 1.1×, p99 ≤ 1.5×", fmt.Sprintf("%.2f× / %.2f×", p50, p99), p50 <= 1.1 && p99 <= 1.5)
	}
	if len(tr("Restart")) > 0 {
		p50, p99 := ratio("Restart", "p50-ns"), ratio("Restart", "p99-ns")
		check("restart p50 ≤ 1.1×, p99 ≤ 1.5× the raw recover + respawn", fmt.Sprintf("%.2f× / %.2f×", p50, p99), p50 <= 1.1 && p99 <= 1.5)
	}
	if len(tr("IdleMem")) > 0 {
		r := ratio("IdleMem", "B/actor")
		check("memory per idle actor ≤ 1.0× raw", fmt.Sprintf("%.2f×", r), r <= 1.0)
	}
	if len(tr("IdleMemSupervised")) > 0 && len(tr("IdleMem")) > 0 {
		_, r := stat(tr("IdleMemSupervised"), tr("IdleMem"), "B/actor")
		check("memory per supervised idle actor ≤ 1.5× a bare one (per-round ratio)", fmt.Sprintf("%.2f×", r), r <= 1.5)
	}
	if len(tr("DropNewest")) > 0 {
		r := ratio("DropNewest", "ns/op")
		check("overload DropNewest, publisher side, ≤ 2× raw at equal drop rates", fmt.Sprintf("%.2f×", r), r <= 2)
	}
	for _, w := range []string{"Pool1", "Pool4"} {
		if len(tr(w)) > 0 {
			r := ratio(w, "ns/op")
			check(w+": pool vs a hand-written pool ≤ 1.05×", fmt.Sprintf("%.2f×", r), r <= 1.05)
		}
	}
	if len(tr("RestartLogged")) > 0 {
		p50, _ := stat(tr("RestartLogged"), nil, "p50-ns")
		su, _ := stat(runs["RestartLogged"]["Suture"], nil, "p50-ns")
		ok := p50 <= 5000 && (math.IsNaN(su) || p50 < su)
		check("restart with default logging p50 ≤ 5 µs and below Suture's", fmt.Sprintf("%.2f µs (Suture %.2f µs)", p50/1e3, su/1e3), ok)
	}
	if len(tr("RestartWindow")) > 0 && len(tr("Restart")) > 0 {
		_, r := stat(tr("RestartWindow"), tr("Restart"), "p50-ns")
		check("restart p50, 10 s window ≤ 1.1× the 1 ns window (per-round ratio)", fmt.Sprintf("%.2f×", r), r <= 1.1)
	}
	if len(tr("Unrelated10k")) > 0 {
		_, r := stat(tr("Unrelated10k"), tr("Unrelated1"), "ns/op")
		check("unrelated subscriptions 1 → 10,000 ≤ 1.1", fmt.Sprintf("%.2f", r), r <= 1.1)
	}
	return b.String()
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH + " CPU"
}

const (
	beginMark = "<!-- report:begin -->"
	endMark   = "<!-- report:end -->"
)

// writeReadme replaces what lies between the markers in path with table.
func writeReadme(path, table string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(data)
	i, j := strings.Index(s, beginMark), strings.Index(s, endMark)
	if i < 0 || j < i {
		return fmt.Errorf("%s: markers %s and %s not found", path, beginMark, endMark)
	}
	s = s[:i+len(beginMark)] + "\n" + table + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
