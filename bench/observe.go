package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The observation A/B mode (-ab observe; ./bench/run.sh --observe): two
// gateway and connector pairs in front of the same demo app, all fast
// paths on, both logging JSON at info to their log files. "on" serves
// the admin listener (Prometheus metrics on every request) and writes
// the access log at the gateway and the connector; "off" has no admin
// listener (no metrics) and the app's access_log: false. They take turns
// in 100-byte load runs, off first and last (off, on, off, on, …, off):
// each on run is compared with the mean of the off runs either side of
// it, so a drift of the machine's speed cancels and every run follows a
// run of the other stack; the mean ratio is reported with the loss
// against the 5 % target, and the CPU the gateway and connector spent per
// request, on and off.

// observeTarget is the most the 100-byte req/s may lose with metrics and
// access logs on.
const observeTarget = 0.05

func runObserve(o options, ps *procs) error {
	appPort, err := freePort()
	if err != nil {
		return err
	}
	app, err := ps.start("demoapp", filepath.Join(o.bin, "demoapp"), "--addr", fmt.Sprintf("127.0.0.1:%d", appPort))
	if err != nil {
		return err
	}
	direct := &target{name: "direct", base: fmt.Sprintf("http://127.0.0.1:%d", appPort), client: directClient()}
	if err := waitUntil("demo app", 20*time.Second, []*proc{app}, func() error { return direct.probe("/bytes/100", 100) }); err != nil {
		return err
	}
	jsonLog := func(s string) string {
		return strings.Replace(s, "log:\n  level: warn\n", "log:\n  level: info\n  format: json\n", 1)
	}
	// BENCH_OBSERVE=metrics or logs turns on only that side in "on";
	// none turns nothing on (an A/A run).
	only := os.Getenv("BENCH_OBSERVE")
	offConfig := func(s string) string {
		s = strings.Replace(jsonLog(s), "\ntls:\n", "\n  admin: \"off\"\ntls:\n", 1)
		return strings.Replace(s, "    auth: passthrough\n", "    auth: passthrough\n    access_log: false\n", 1)
	}
	on, err := startStackWith(o, ps, "observe-on", "on", appPort, func(s string) string {
		if only == "none" { // an A/A run: the two stacks alike, the bench's own bias
			return offConfig(s)
		}
		admin := adminAddr(s)
		if only == "logs" {
			admin = `"off"`
		}
		s = strings.Replace(jsonLog(s), "\ntls:\n", "\n  admin: "+admin+"\ntls:\n", 1)
		if only == "metrics" {
			s = strings.Replace(s, "    auth: passthrough\n", "    auth: passthrough\n    access_log: false\n", 1)
		}
		return s
	}, "--log-level", "info", "--log-format", "json")
	if err != nil {
		return err
	}
	defer on.stop()
	off, err := startStackWith(o, ps, "observe-off", "on", appPort, offConfig, "--log-level", "info", "--log-format", "json")
	if err != nil {
		return err
	}
	defer off.stop()
	on.gh.name, off.gh.name = "metrics+access log on", "off"
	load := runWrk
	if o.loadgen == "go" {
		load = runGoLoad
	}
	spec := loadSpec{path: "/bytes/100", body: 100, conns: o.conns, threads: o.threads, duration: o.duration}
	res, err := observePairs(o, []*proc{app, on.gateway, on.connector, off.gateway, off.connector}, off, on, spec, load)
	if err != nil {
		return err
	}
	if n := countLines(on.gateway.log, `"msg":"access"`); n == 0 && only != "metrics" && only != "none" {
		return fmt.Errorf("the 'on' gateway wrote no access lines (%s): the comparison measured nothing", on.gateway.log)
	}
	var pairs []string
	fig := figures{}
	for i, x := range res.ratios {
		pairs = append(pairs, fmt.Sprintf("%.3f", x))
		fig[fmt.Sprintf("observe_small_pair%d", i+1)] = x
	}
	mean := abResult{ratios: res.ratios}.mean()
	fig["observe_small_mean"] = mean
	cpuOn, cpuOff := res.cpuPer10k(true), res.cpuPer10k(false)
	fig["observe_small_cpu_ms_per_10k_on"], fig["observe_small_cpu_ms_per_10k_off"] = cpuOn, cpuOff
	verdict := "within"
	if 1-mean > observeTarget {
		verdict = "OVER"
	}
	fmt.Printf("\nMetrics and access logs (gateway and connector, JSON at info) on vs off (BENCH_OBSERVE=%q), 100-byte responses, %d interleaved pairs of %s\n", only, o.abPairs, o.duration)
	fmt.Printf("ratio = req/s on ÷ the mean req/s of the off runs before and after it, per pair: %s; mean %.3f: %.1f %% lost (%s the %.0f %% target)\n",
		strings.Join(pairs, " "), mean, 100*(1-mean), verdict, 100*observeTarget)
	fmt.Printf("gateway + connector CPU per 10k requests: on %.0f ms, off %.0f ms (%+.1f %%)\n", cpuOn, cpuOff, 100*(cpuOn/cpuOff-1))
	if o.out != "" {
		return writeFigures(o, fig)
	}
	return nil
}

// writeFigures writes fig to o.out as one flat JSON object; with
// -out-merge, the figures already in that file are kept beside them.
func writeFigures(o options, fig figures) error {
	all := figures{}
	if o.outMerge {
		if b, err := os.ReadFile(o.out); err == nil {
			if err := json.Unmarshal(b, &all); err != nil {
				return fmt.Errorf("-out-merge: %s holds no flat JSON object of figures: %w", o.out, err)
			}
		}
	}
	for k, v := range fig {
		all[k] = v
	}
	b, _ := json.MarshalIndent(all, "", "  ")
	if err := os.WriteFile(o.out, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing BENCH_OUT: %w", err)
	}
	return nil
}

// countLines counts the lines of file that contain s.
func countLines(file, s string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), s)
}

// observeResult is the runs of observePairs.
type observeResult struct {
	ratios   []float64        // on ÷ the mean of the off runs either side
	cpu      [2]time.Duration // off, on: gateway + connector CPU in all runs
	requests [2]int64
}

// cpuPer10k is the gateway's and connector's CPU milliseconds per 10k
// requests in the on (or off) runs.
func (r observeResult) cpuPer10k(on bool) float64 {
	i := 0
	if on {
		i = 1
	}
	return float64(r.cpu[i].Milliseconds()) * 1e4 / float64(max(r.requests[i], 1))
}

// observePairs warms both stacks up, then runs off, on, off, …, off with
// o.abPairs on runs.
func observePairs(o options, watch []*proc, off, on *stack, spec loadSpec, load func(*target, loadSpec) (loadResult, error)) (observeResult, error) {
	var res observeResult
	warm := spec
	warm.duration = 2 * time.Second
	for _, st := range []*stack{on, off} {
		if _, err := load(st.gh, warm); err != nil {
			return res, fmt.Errorf("warm-up %s: %w", st.gh.name, err)
		}
	}
	var offRPS []float64
	var onRPS []float64
	for i := range 2*o.abPairs + 1 {
		st, k := off, 0
		if i%2 == 1 {
			st, k = on, 1
		}
		if err := st.gh.probe(spec.path, spec.body); err != nil {
			return res, err
		}
		before := stackCPU(st)
		lr, err := load(st.gh, spec)
		if err != nil {
			return res, fmt.Errorf("%s: %w", st.gh.name, err)
		}
		res.cpu[k] += stackCPU(st) - before
		res.requests[k] += lr.requests
		for _, p := range watch {
			if err := p.alive(); err != nil {
				return res, err
			}
		}
		if k == 0 {
			offRPS = append(offRPS, lr.rps)
		} else {
			onRPS = append(onRPS, lr.rps)
		}
		if k == 0 && len(onRPS) > 0 {
			n := len(onRPS)
			ref := (offRPS[n-1] + offRPS[n]) / 2
			res.ratios = append(res.ratios, onRPS[n-1]/ref)
			fmt.Fprintf(os.Stderr, "bench: observe small pair %d: %.0f vs %.0f and %.0f req/s (ratio %.3f)\n",
				n, onRPS[n-1], offRPS[n-1], offRPS[n], onRPS[n-1]/ref)
		}
	}
	return res, nil
}

// stackCPU is the CPU time a stack's gateway and connector have used.
func stackCPU(st *stack) time.Duration {
	g, _ := readProcStat(st.gateway.pid())
	c, _ := readProcStat(st.connector.pid())
	return g.cpu + c.cpu
}

// adminAddr is a free loopback address for the admin listener on a port
// the gateway's config text does not use already (random picks of free
// ports can repeat until something listens on them).
func adminAddr(config string) string {
	addr := "127.0.0.1:9180"
	for range 100 { // else the gateway refuses the config and says why
		port, err := freePort()
		if err != nil {
			continue
		}
		if addr = fmt.Sprintf("127.0.0.1:%d", port); !strings.Contains(config, addr) {
			break
		}
	}
	return addr
}
