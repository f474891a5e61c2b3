package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse/internal/fastpath"
)

// The fast-path A/B mode (-ab fastpaths; BENCH_AB=fastpaths make bench):
// a baseline gateway and connector with every fast path on, and beside
// it, one at a time, a second pair with one fast path off (and then with
// all off), both in front of the same demo app. Each variant runs in
// interleaved pairs of load runs, baseline and variant, the order
// swapped every pair so that the machine's drift falls on both sides;
// each pair gives one ratio, variant ÷ baseline, and the mean of the
// pairs is reported. A ratio below 1 is what the fast path gains.

// abVariants are the GATEHOUSE_FAST_PATHS values compared with "on".
func abVariants() []string {
	var out []string
	for _, p := range fastpath.Paths() {
		out = append(out, "-"+p.String())
	}
	return append(out, "off")
}

// stack is one gateway and its connector in front of the demo app.
type stack struct {
	gateway, connector *proc
	gh                 *target
}

// startStack starts a gateway and an enrolled connector for the demo app
// on appPort, both with GATEHOUSE_FAST_PATHS=fast, and waits until a
// request goes through.
func startStack(o options, ps *procs, name, fast string, appPort int) (*stack, error) {
	return startStackWith(o, ps, name, fast, appPort, func(s string) string { return s }, "--log-level", "warn")
}

// startStackWith is startStack with the gateway's config text edited by
// edit and the connector's log flags.
func startStackWith(o options, ps *procs, name, fast string, appPort int, edit func(string) string, connLog ...string) (*stack, error) {
	bin := func(b string) string { return filepath.Join(o.bin, b) }
	publicPort, err := freePort()
	if err != nil {
		return nil, err
	}
	tunnelPort, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(o.work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "gatehouse.yaml")
	// The app is published as "localhost": wrk sends the URL's host as
	// the TLS server name (an IP address too), and the gateway refuses a
	// Host that is not the server name (421).
	text := strings.Replace(fmt.Sprintf(configTemplate, filepath.Join(dir, "data"), publicPort, tunnelPort, appPort),
		"host: demo.localhost", "host: localhost", 1)
	text = edit(text)
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		return nil, err
	}
	env := []string{fastpath.EnvVar + "=" + fast}
	s := &stack{}
	if s.gateway, err = ps.startEnv(name+"-gateway", env, bin("gatehouse"), "serve", "--config", cfg); err != nil {
		return nil, err
	}
	caFile := filepath.Join(dir, "data", "dev-tls", "dev-ca.pem")
	if err := waitGateway(name+" gateway", s.gateway, caFile, publicPort, tunnelPort); err != nil {
		return nil, err
	}
	token, err := enrollToken(bin("gatehouse"), cfg)
	if err != nil {
		return nil, err
	}
	env = append(env, "GATEHOUSE_TOKEN="+token)
	if s.connector, err = ps.startEnv(name+"-connector", env, bin("gatehouse-connector"),
		append([]string{"--state", filepath.Join(dir, "connector")}, connLog...)...); err != nil {
		return nil, err
	}
	c, err := gatewayClient(caFile, "localhost", false)
	if err != nil {
		return nil, err
	}
	s.gh = &target{name: "gatehouse " + fast, base: fmt.Sprintf("https://localhost:%d", publicPort), client: c}
	err = waitUntil(name+": a request through the connector", 30*time.Second, []*proc{s.gateway, s.connector},
		func() error { return s.gh.probe("/bytes/100", 100) })
	return s, err
}

// stop ends the stack's processes (SIGTERM, SIGKILL after 15 s).
func (s *stack) stop() {
	for _, p := range []*proc{s.connector, s.gateway} {
		if p == nil {
			continue
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

// abResult is one variant's pairs in one scenario.
type abResult struct {
	variant, scenario string
	ratios            []float64 // variant ÷ baseline, one per pair
}

func (r abResult) mean() float64 {
	var sum float64
	for _, x := range r.ratios {
		sum += x
	}
	return sum / float64(len(r.ratios))
}

// runAB is the fast-path A/B mode.
func runAB(o options, ps *procs) error {
	if o.ab == "observe" {
		return runObserve(o, ps) // observe.go
	}
	variants := abVariants()
	if o.abVariants != "" {
		variants = strings.Split(o.abVariants, ",")
	}
	for _, v := range variants {
		if _, err := fastpath.Parse(v); err != nil {
			return fmt.Errorf("-ab-variants: %w", err)
		}
	}
	say := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...) }
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
	base, err := startStack(o, ps, "base", "on", appPort)
	if err != nil {
		return err
	}
	load := runWrk
	if o.loadgen == "go" {
		load = runGoLoad
	}
	scenarios := []struct {
		key  string
		spec loadSpec
	}{
		{"small", loadSpec{path: "/bytes/100", body: 100, conns: o.conns, threads: o.threads, duration: o.duration}},
		{"large", loadSpec{path: "/bytes/1m", body: 1 << 20, conns: o.conns, threads: o.threads, duration: o.duration}},
	}
	var results []abResult
	for i, v := range variants {
		say("A/B %d of %d: GATEHOUSE_FAST_PATHS=on against %s", i+1, len(variants), v)
		vs, err := startStack(o, ps, fmt.Sprintf("variant%d", i+1), v, appPort)
		if err != nil {
			if vs != nil {
				vs.stop()
			}
			return fmt.Errorf("variant %s: %w", v, err)
		}
		res, err := abPairs(o, []*proc{app, base.gateway, base.connector, vs.gateway, vs.connector}, base.gh, vs.gh, v, scenarios, load)
		vs.stop()
		if err != nil {
			return fmt.Errorf("variant %s: %w", v, err)
		}
		results = append(results, res...)
	}
	reportAB(o, results)
	return nil
}

// abPairs warms both targets up, then runs o.abPairs interleaved pairs
// per scenario.
func abPairs(o options, watch []*proc, base, variant *target, name string, scenarios []struct {
	key  string
	spec loadSpec
}, load func(*target, loadSpec) (loadResult, error)) ([]abResult, error) {
	warm := scenarios[0].spec
	warm.duration = 2 * time.Second
	for _, t := range []*target{base, variant} {
		if _, err := load(t, warm); err != nil {
			return nil, fmt.Errorf("warm-up %s: %w", t.name, err)
		}
	}
	var out []abResult
	for _, sc := range scenarios {
		r := abResult{variant: name, scenario: sc.key}
		for i := range o.abPairs {
			order := []*target{base, variant}
			if i%2 == 1 {
				order[0], order[1] = variant, base
			}
			rps := map[*target]float64{}
			for _, t := range order {
				if err := t.probe(sc.spec.path, sc.spec.body); err != nil {
					return nil, err
				}
				lr, err := load(t, sc.spec)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", t.name, sc.key, err)
				}
				for _, p := range watch {
					if err := p.alive(); err != nil {
						return nil, err
					}
				}
				rps[t] = lr.rps
			}
			r.ratios = append(r.ratios, rps[variant]/rps[base])
			fmt.Fprintf(os.Stderr, "bench: %s %s pair %d: %.0f vs %.0f req/s (ratio %.3f)\n",
				name, sc.key, i+1, rps[variant], rps[base], rps[variant]/rps[base])
		}
		out = append(out, r)
	}
	return out, nil
}

// reportAB prints a table of the pairs' ratios and means, and writes them
// to o.out as ab_<variant>_<scenario>_mean and _pairN.
func reportAB(o options, results []abResult) {
	fmt.Printf("\nFast-path A/B: each fast path off (GATEHOUSE_FAST_PATHS) against all on, %d interleaved pairs of %s per scenario\n", o.abPairs, o.duration)
	fmt.Println("ratio = req/s with the variant ÷ req/s with all fast paths on, in the same pair; below 1: the fast path gains")
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "variant\tscenario\tpairs\tmean\t")
	fig := figures{}
	for _, r := range results {
		var pairs []string
		key := "ab_" + strings.NewReplacer("-", "no_", ",", "_").Replace(r.variant) + "_" + r.scenario
		for i, x := range r.ratios {
			pairs = append(pairs, fmt.Sprintf("%.3f", x))
			fig[fmt.Sprintf("%s_pair%d", key, i+1)] = x
		}
		fig[key+"_mean"] = r.mean()
		fmt.Fprintf(w, "%s\t%s\t%s\t%.3f\t\n", r.variant, r.scenario, strings.Join(pairs, " "), r.mean())
	}
	w.Flush()
	if o.out != "" {
		b, _ := json.MarshalIndent(fig, "", "  ")
		if err := os.WriteFile(o.out, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench: writing BENCH_OUT:", err)
		}
	}
}
