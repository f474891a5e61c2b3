package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
)

// scaleConfig writes the scale mode's gateway config.
type scaleConfig struct {
	dir                   string
	public, tunnel, admin int
}

// scaleGroups is how many connector-less groups the extra apps of the
// 10,000-app config are spread over.
const scaleGroups = 100

// text is the config with apps change1..changeN for the connectors' group
// and extra more apps in groups without connectors.
func (c scaleConfig) text(changes, extra int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# written by bench -scale for one benchmark run
data_dir: %s/data
listen:
  public: 127.0.0.1:%d
  tunnel: 127.0.0.1:%d
  admin: 127.0.0.1:%d
tls:
  mode: self-signed
log:
  level: info
  format: json
tunnel:
  heartbeat_interval: 1s
  inactive_after: 5s
connector_groups:
  - name: bench
`, c.dir, c.public, c.tunnel, c.admin)
	if extra > 0 {
		for g := range scaleGroups {
			fmt.Fprintf(&b, "  - name: bulk%02d\n", g)
		}
	}
	b.WriteString("apps:\n")
	app := func(name, group string) {
		fmt.Fprintf(&b, "  - name: %s\n    host: %s.scale.localhost\n    group: %s\n    auth: passthrough\n    backend:\n      url: http://127.0.0.1:9\n", name, name, group)
	}
	app("demo", "bench")
	for i := 1; i <= changes; i++ {
		app(fmt.Sprintf("change%d", i), "bench")
	}
	for i := range extra {
		app(fmt.Sprintf("app%05d", i), fmt.Sprintf("bulk%02d", i%scaleGroups))
	}
	return b.String()
}

func verdict(ok bool) string {
	if ok {
		return "within"
	}
	return "OVER"
}

func reportScale(o options, f figures) {
	n := int(f["scale_connectors"])
	fmt.Printf("\nGatehouse scale benchmark: one gateway (SQLite store), %d simulated connectors x 2 sessions (bench/simconn, one process), heartbeats every 1 s, %d CPUs shared with whatever else runs\n",
		n, runtime.NumCPU())
	fmt.Printf("set-up: %d tokens with 'gatehouse token create' in %.1f s; enrolment + %d sessions up in %.1f s\n\n",
		n, f["scale_tokens_s"], 2*n, f["scale_enroll_up_s"])
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "gateway over %.0f s of heartbeats (%d/s)\t\n", f["scale_window_s"], 2*n)
	fmt.Fprintf(w, "  VmRSS steady (mean of 1 s samples)\t%.1f MiB\n", f["scale_gateway_rss_steady_mib"])
	fmt.Fprintf(w, "  VmRSS max in the window\t%.1f MiB\n", f["scale_gateway_rss_window_max_mib"])
	fmt.Fprintf(w, "  CPU\t%.0f ms/s (%.1f µs per heartbeat)\n", f["scale_gateway_cpu_ms_per_s"], 1000*f["scale_gateway_cpu_ms_per_s"]/float64(2*n))
	fmt.Fprintf(w, "simulator: VmRSS %.1f MiB, CPU %.0f ms/s\t\n", f["scale_simconn_rss_mib"], f["scale_simconn_cpu_ms_per_s"])
	w.Flush()
	fmt.Println("\nconfig change (one app added to the connectors' group), SIGHUP to each session's ready:")
	worst := 0.0
	for i := 1; i <= o.scaleChanges; i++ {
		k := fmt.Sprintf("scale_push%d_", i)
		fmt.Printf("  change %d: %d sessions, p50 %.0f ms, max %.0f ms\n", i, int(f[k+"sessions"]), f[k+"p50_ms"], f[k+"max_ms"])
		worst = max(worst, f[k+"max_ms"])
	}
	fmt.Printf("%d-app config (%.1f MB; %d apps in %d groups without connectors):\n", scaleBigApps, f["scale_big_config_bytes"]/1e6, scaleBigApps-1-o.scaleChanges-1, scaleGroups)
	fmt.Printf("  SIGHUP to the gateway's \"config reloaded\" log line (read, parse, snapshot build, swap, push queued): %.0f ms\n", f["scale_big_reload_ms"])
	fmt.Printf("  SIGHUP to each session's ready: p50 %.0f ms, max %.0f ms; gateway VmRSS after it %.1f MiB\n",
		f["scale_big_push_p50_ms"], f["scale_big_push_max_ms"], f["scale_gateway_rss_big_mib"])
	fmt.Printf("  then one GET /api/v1/status: %.0f ms; gateway VmHWM %.1f MiB before it, %.1f MiB after\n",
		f["scale_big_status_ms"], f["scale_gateway_hwm_big_mib"], f["scale_gateway_hwm_big_status_mib"])
	worst = max(worst, f["scale_big_push_max_ms"])
	hwm, all := f["scale_gateway_hwm_big_mib"], f["scale_gateway_hwm_mib"]
	fmt.Printf("\ngateway peak RSS (VmHWM: enrolment, heartbeats, the changes and the %d-app reload): %.1f MiB: %s the 1 GiB target\n",
		scaleBigApps, hwm, verdict(hwm*(1<<20) < scaleRSSTarget))
	fmt.Printf("  with the one admin status call on the %d-app config: %.1f MiB: %s the 1 GiB target\n", scaleBigApps, all, verdict(all*(1<<20) < scaleRSSTarget))
	fmt.Printf("slowest session to get a config change: %.0f ms: %s the %s target\n\n", worst, verdict(worst < ms(scalePushLimit)), scalePushLimit)
}
