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
// listener (no metrics) and the app's access_log: false. They run in
// interleaved pairs of 100-byte load runs (the order swapped every pair);
// each pair gives on ÷ off, and the mean is reported with the loss
// against the 5 % target.

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
	adminPort, err := freePort()
	if err != nil {
		return err
	}
	jsonLog := func(s string) string {
		return strings.Replace(s, "log:\n  level: warn\n", "log:\n  level: info\n  format: json\n", 1)
	}
	// BENCH_OBSERVE=metrics or logs turns on only that side in "on".
	only := os.Getenv("BENCH_OBSERVE")
	on, err := startStackWith(o, ps, "observe-on", "on", appPort, func(s string) string {
		admin := fmt.Sprintf("127.0.0.1:%d", adminPort)
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
	off, err := startStackWith(o, ps, "observe-off", "on", appPort, func(s string) string {
		s = strings.Replace(jsonLog(s), "\ntls:\n", "\n  admin: \"off\"\ntls:\n", 1)
		return strings.Replace(s, "    auth: passthrough\n", "    auth: passthrough\n    access_log: false\n", 1)
	}, "--log-level", "info", "--log-format", "json")
	if err != nil {
		return err
	}
	defer off.stop()
	on.gh.name, off.gh.name = "metrics+access log on", "off"
	load := runWrk
	if o.loadgen == "go" {
		load = runGoLoad
	}
	scenarios := []struct {
		key  string
		spec loadSpec
	}{{"small", loadSpec{path: "/bytes/100", body: 100, conns: o.conns, threads: o.threads, duration: o.duration}}}
	res, err := abPairs(o, []*proc{app, on.gateway, on.connector, off.gateway, off.connector}, off.gh, on.gh, "observe", scenarios, load)
	if err != nil {
		return err
	}
	if n := countLines(on.gateway.log, `"msg":"access"`); n == 0 && only != "metrics" {
		return fmt.Errorf("the 'on' gateway wrote no access lines (%s): the comparison measured nothing", on.gateway.log)
	}
	r := res[0]
	var pairs []string
	fig := figures{}
	for i, x := range r.ratios {
		pairs = append(pairs, fmt.Sprintf("%.3f", x))
		fig[fmt.Sprintf("observe_small_pair%d", i+1)] = x
	}
	fig["observe_small_mean"] = r.mean()
	verdict := "within"
	if 1-r.mean() > observeTarget {
		verdict = "OVER"
	}
	fmt.Printf("\nMetrics and access logs (gateway and connector, JSON at info) on vs off (BENCH_OBSERVE=%q), 100-byte responses, %d interleaved pairs of %s\n", only, o.abPairs, o.duration)
	fmt.Printf("ratio = req/s on ÷ req/s off, per pair: %s; mean %.3f: %.1f %% lost (%s the %.0f %% target)\n",
		strings.Join(pairs, " "), r.mean(), 100*(1-r.mean()), verdict, 100*observeTarget)
	if o.out != "" {
		b, _ := json.MarshalIndent(fig, "", "  ")
		if err := os.WriteFile(o.out, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench: writing BENCH_OUT:", err)
		}
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
