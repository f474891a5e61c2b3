package main

import (
	"fmt"
	"os"
	"slices"
	"text/tabwriter"
	"time"
)

// loadTargets are the paths every ratio scenario measures, in the order
// of a round: direct, nginx-TLS (when on), Gatehouse.
func (e *env) loadTargets() []*target {
	if e.ng == nil {
		return []*target{e.direct, e.gh}
	}
	return []*target{e.direct, e.ng, e.gh}
}

// pids are the processes whose CPU a load run counts: the backend, the
// gateway, the connector, then nginx's master and workers.
func (e *env) pids() []int {
	p := []int{e.app.pid(), e.gateway.pid(), e.connector.pid()}
	if e.nginx != nil {
		p = append(append(p, e.nginx.pid()), e.nginxWorkers...)
	}
	return p
}

// procs are the processes that must stay up through every run.
func (e *env) procs() []*proc {
	p := []*proc{e.app, e.gateway, e.connector}
	if e.nginx != nil {
		p = append(p, e.nginx)
	}
	return p
}

// rssScenario runs the RSS scenario (rss.go) o.rounds times through
// Gatehouse, and through nginx-TLS when it is on, alternating, and keeps
// each process's largest peak: gateway_rss_peak_mib,
// connector_rss_peak_mib, and nginx_rss_peak_mib (master and workers,
// the sum of each one's peak).
func rssScenario(o options, e *env, fig figures, say func(string, ...any)) error {
	size, err := sizeOf(o.rssSize)
	if err != nil {
		return err
	}
	ghPids := []int{e.gateway.pid(), e.connector.pid()}
	var ngPids []int
	if e.nginx != nil {
		ngPids = append([]int{e.nginx.pid()}, e.nginxWorkers...)
	}
	var gw, cn, ng int64
	for i := range o.rounds {
		for _, t := range []*target{e.gh, e.ng} {
			if t == nil {
				continue
			}
			pids := ghPids
			if t == e.ng {
				pids = ngPids
			}
			say("%s: %d x %s responses in flight at once (RSS, round %d of %d)", t.name, o.rssConns, o.rssSize, i+1, o.rounds)
			start := time.Now()
			peaks, err := rssPeaks(t, o.rssConns, size, rssGroup(fmt.Sprintf("%p", t), i), pids)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			for _, p := range e.procs() {
				if err := p.alive(); err != nil {
					return err
				}
			}
			if t == e.ng {
				ng = max(ng, sumPeaks(peaks, ngPids))
			} else {
				gw, cn = max(gw, peaks[e.gateway.pid()]), max(cn, peaks[e.connector.pid()])
				fig["rss_scenario_seconds"] = max(fig["rss_scenario_seconds"], time.Since(start).Seconds())
			}
		}
	}
	fig["gateway_rss_peak_mib"], fig["connector_rss_peak_mib"] = mib(gw), mib(cn)
	fig["rss_conns"] = float64(o.rssConns)
	fig["rss_size_mib"] = float64(size) / (1 << 20)
	if e.ng != nil {
		fig["nginx_rss_peak_mib"] = mib(ng)
	}
	return nil
}

// printRatioTable prints the ratio scenarios: a row per path, with its
// ratios to direct and to nginx-TLS, then each round's ratios.
func printRatioTable(o options, f figures, ng bool) {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "scenario\tpath\treq/s\tp50 ms\tp99 ms\tMB/s\tx direct\tx nginx-TLS\t")
	paths := []struct{ prefix, name string }{{"direct_", "direct"}, {"nginx_", "nginx TLS"}, {"gh_", "gatehouse"}}
	if !ng {
		paths = slices.Delete(paths, 1, 2)
	}
	for _, s := range []struct{ key, label string }{{"small", "100 B"}, {"large", "1 MiB"}} {
		for _, p := range paths {
			vsDirect, vsNginx := ratioCells(f, p.prefix, s.key, ng)
			k := p.prefix + s.key + "_"
			fmt.Fprintf(w, "%s\t%s\t%.0f\t%.2f\t%.2f\t%.1f\t%s\t%s\t\n", s.label, p.name, f[k+"rps"], f[k+"p50_ms"], f[k+"p99_ms"], f[k+"mbps"], vsDirect, vsNginx)
		}
	}
	for _, p := range append(paths, struct{ prefix, name string }{"gh_h2_", "gatehouse h2"}) {
		vsDirect, vsNginx := ratioCells(f, p.prefix, "bulk", ng)
		mbps := f[p.prefix+"bulk_mbps"]
		if p.prefix == "gh_h2_" {
			mbps = f["gh_bulk_h2_mbps"]
		}
		fmt.Fprintf(w, "%s bulk\t%s\t-\t-\t-\t%.1f\t%s\t%s\t\n", o.bulkSize, p.name, mbps, vsDirect, vsNginx)
	}
	w.Flush()
	for _, s := range []struct{ key, label string }{{"small", "100 B"}, {"large", "1 MiB"}, {"bulk", o.bulkSize + " bulk"}} {
		fmt.Printf("%s by round, x direct:", s.label)
		for i := 1; i <= o.rounds; i++ {
			fmt.Printf(" %.3f", f[roundKey(s.key, "", i)])
		}
		if ng {
			fmt.Printf("; x nginx-TLS:")
			for i := 1; i <= o.rounds; i++ {
				fmt.Printf(" %.3f", f[roundKey(s.key, "_vs_nginx_tls", i)])
			}
		}
		fmt.Println()
	}
}

// roundKey is the JSON name of one round's ratio: ratio_small_rps_round1,
// ratio_bulk_round1, ratio_small_vs_nginx_tls_round1, …
func roundKey(scenario, vs string, round int) string {
	if vs == "" && scenario != "bulk" {
		vs = "_rps"
	}
	return fmt.Sprintf("ratio_%s%s_round%d", scenario, vs, round)
}

// ratioKeys are the JSON names of a path's ratios to direct and to
// nginx-TLS in a scenario ("" where the table shows a dash or 1.00).
func ratioKeys(prefix, scenario string) (vsDirect, vsNginx string) {
	unit := "_rps"
	if scenario == "bulk" {
		unit = ""
	}
	switch prefix {
	case "nginx_":
		return "ratio_nginx_tls_" + scenario + unit, ""
	case "gh_":
		return "ratio_" + scenario + unit, "ratio_" + scenario + "_vs_nginx_tls"
	case "gh_h2_":
		return "ratio_bulk_h2", "ratio_bulk_h2_vs_nginx_tls"
	}
	return "", ""
}

// ratioCells formats a path's two ratio cells.
func ratioCells(f figures, prefix, scenario string, ng bool) (string, string) {
	kd, kn := ratioKeys(prefix, scenario)
	cell := func(k, self string) string {
		switch {
		case k != "":
			return fmt.Sprintf("%.2f", f[k])
		case prefix == self:
			return "1.00"
		}
		return "-"
	}
	vsNginx := cell(kn, "nginx_")
	if !ng {
		vsNginx = "-"
	}
	return cell(kd, "direct_"), vsNginx
}
