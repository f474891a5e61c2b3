// Command bench measures Gatehouse against the limit: the same load
// generator hits the demo app directly (plain HTTP, as an internal client
// would) and through a gateway and a connector on loopback (HTTPS on the
// public side, as users see it), in one run, interleaved, and reports each
// through-Gatehouse figure as a ratio to direct. Absolute numbers move
// with the machine's load; compare ratios from one run. Each scenario
// runs in rounds (direct, then Gatehouse) and reports the round with the
// median ratio, with every round's ratio beside it.
//
//	go build -o /tmp/bench ./bench && /tmp/bench -bin bin -work DIR [-out FILE]
//
// bench/run.sh (make bench) builds it, picks the load generator, and
// cleans up. Scenarios: 100-byte and 1 MiB responses at 64 connections
// (wrk -t2 -c64 -d10s --latency), one 1 GiB download on a single
// stream, and one 512 MiB upload over a TCP app (tcp.go). It also reports the gateway's and connector's memory (VmRSS idle
// and the largest under load, VmHWM) and CPU per 10k small requests.
package main

import (
	"github.com/gatehouse/gatehouse/plugins/kcd/kcdlab"

	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

type options struct {
	bin, work, loadgen, out string
	duration                time.Duration
	conns, threads, rounds  int
	bulkSize, tcpBulk       string
	sso                     string // the custom-SSO plug-in binary, for the sign-on scenario
	ab, abVariants          string // -ab fastpaths: the fast-path A/B mode (ab.go)
	abPairs                 int
	outMerge                bool // -out-merge: add the figures to the JSON object already in -out
	scale                   bool // -scale: the scale mode (scale.go)
	simconn                 string
	scaleConnectors         int
	scaleChanges            int
	scaleWindow             time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin", "directory holding gatehouse, gatehouse-connector and demoapp (make build)")
	flag.StringVar(&o.work, "work", "", "empty working directory for configs, state and logs (required)")
	flag.StringVar(&o.loadgen, "loadgen", "wrk", "load generator: wrk, or go (the built-in fallback)")
	flag.StringVar(&o.out, "out", os.Getenv("BENCH_OUT"), "also write the figures to this file as one flat JSON object")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each load run")
	flag.IntVar(&o.conns, "conns", 64, "concurrent connections")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of direct then Gatehouse runs per scenario; the median round is reported")
	flag.IntVar(&o.threads, "threads", 2, "load generator threads (wrk -t)")
	flag.StringVar(&o.bulkSize, "bulk", "1g", "size of the single-stream download (demo app syntax: 100m, 1g)")
	flag.StringVar(&o.tcpBulk, "tcp-bulk", "512m", "size of the TCP app's single-connection upload (with -sso)")
	flag.StringVar(&o.sso, "sso", "", "custom-SSO example plug-in binary: adds the header sign-on scenario")
	flag.StringVar(&o.ab, "ab", os.Getenv("BENCH_AB"), "fastpaths: instead of the usual run, each fast path off against all on, in interleaved pairs; observe: metrics and access logs on against off (or $BENCH_AB)")
	flag.StringVar(&o.abVariants, "ab-variants", "", "with -ab: comma-separated GATEHOUSE_FAST_PATHS values to compare with on, e.g. -rawsock,off (default: each fast path off, then off)")
	flag.IntVar(&o.abPairs, "ab-pairs", 4, "with -ab: interleaved pairs per variant and scenario")
	flag.BoolVar(&o.outMerge, "out-merge", false, "with -ab observe: add the figures to the JSON object already in -out (make bench's observe step after the usual run)")
	flag.BoolVar(&o.scale, "scale", false, "instead of the usual run: one gateway and -scale-connectors simulated connectors with 2 sessions each (scale.go)")
	flag.StringVar(&o.simconn, "simconn", "", "with -scale: the connector simulator binary (go build ./bench/simconn)")
	flag.IntVar(&o.scaleConnectors, "scale-connectors", 1000, "with -scale: simulated connectors")
	flag.IntVar(&o.scaleChanges, "scale-changes", 3, "with -scale: config changes timed to every session")
	flag.DurationVar(&o.scaleWindow, "scale-window", 20*time.Second, "with -scale: the steady window of heartbeats")
	flag.Parse()
	if o.work == "" {
		fmt.Fprintln(os.Stderr, "bench: -work DIR is required")
		os.Exit(2)
	}
	if o.rounds < 1 {
		fmt.Fprintln(os.Stderr, "bench: -rounds must be at least 1")
		os.Exit(2)
	}
	if _, err := sizeOf(o.tcpBulk); err != nil {
		fmt.Fprintf(os.Stderr, "bench: -tcp-bulk %q: want a size such as 512m\n", o.tcpBulk)
		os.Exit(2)
	}
	if o.ab != "" && o.ab != "fastpaths" && o.ab != "observe" || o.abPairs < 1 {
		fmt.Fprintln(os.Stderr, "bench: -ab (BENCH_AB) takes fastpaths or observe, and -ab-pairs at least 1")
		os.Exit(2)
	}
	ps, err := newProcs(o.work)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "\nbench: %v: stopping\n", s)
		ps.stopAll()
		os.Exit(130)
	}()
	switch {
	case o.scale && (o.simconn == "" || o.scaleConnectors < 1 || o.scaleChanges < 1):
		err = errors.New("-scale needs -simconn BINARY, and -scale-connectors and -scale-changes at least 1")
	case o.scale:
		err = runScale(o, ps)
	case o.ab != "":
		err = runAB(o, ps)
	default:
		err = run(o, ps)
	}
	ps.stopAll()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: FAILED:", err)
		os.Exit(1)
	}
}

// env is the running system under test.
type env struct {
	app, gateway, connector *proc
	direct, gh, gh2         *target
	signed                  *target // nil without -sso
	kcd, kcdPass            *target // nil without the Kerberos lab
	lab                     *kcdlab.Lab
	tcp                     *tcpEnv // nil without -sso
}

func run(o options, ps *procs) error {
	e, err := setUp(o, ps)
	if err != nil {
		return err
	}
	bulkBytes, err := sizeOf(o.bulkSize)
	if err != nil {
		return err
	}
	load := runWrk
	if o.loadgen == "go" {
		load = runGoLoad
	}
	fig := figures{}
	say := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...) }

	time.Sleep(time.Second) // let start-up garbage settle
	idleGW, _ := readProcStat(e.gateway.pid())
	idleCN, _ := readProcStat(e.connector.pid())
	fig["gateway_rss_idle_mib"] = mib(idleGW.rssKiB)
	fig["connector_rss_idle_mib"] = mib(idleCN.rssKiB)

	small := loadSpec{path: "/bytes/100", body: 100, conns: o.conns, threads: o.threads, duration: o.duration}
	large := loadSpec{path: "/bytes/1m", body: 1 << 20, conns: o.conns, threads: o.threads, duration: o.duration}
	warm := small
	warm.duration = 2 * time.Second
	for _, t := range []*target{e.direct, e.gh} {
		say("warming up %s", t.name)
		if _, err := load(t, warm); err != nil {
			return fmt.Errorf("warm-up %s: %w", t.name, err)
		}
	}

	pids := []int{e.app.pid(), e.gateway.pid(), e.connector.pid()}
	loadRSS := map[int]int64{}
	for _, sc := range []struct {
		key  string
		spec loadSpec
	}{{"small", small}, {"large", large}} {
		// Direct and Gatehouse alternate for o.rounds rounds; the round
		// with the median ratio is reported, so that the machine's drift
		// between two runs weighs as little as it can.
		var rounds []round
		for i := range o.rounds {
			var rd round
			for _, t := range []*target{e.direct, e.gh} {
				say("%s: %s %s, %d connections, %s (round %d of %d)", t.name, sc.key, sc.spec.path, sc.spec.conns, sc.spec.duration, i+1, o.rounds)
				m, err := measure(e, t, sc.spec, pids, t == e.gh && sc.key == "large", loadRSS, load)
				if err != nil {
					return fmt.Errorf("%s %s: %w", t.name, sc.key, err)
				}
				if t == e.direct {
					rd.direct = m
				} else {
					rd.gh = m
				}
			}
			fig[fmt.Sprintf("ratio_%s_rps_round%d", sc.key, i+1)] = rd.ratio()
			rounds = append(rounds, rd)
		}
		med := medianRound(rounds)
		for _, t := range []struct {
			prefix string
			m      measured
		}{{"direct_", med.direct}, {"gh_", med.gh}} {
			prefix := t.prefix + sc.key + "_"
			r := t.m.load
			fig[prefix+"rps"] = r.rps
			fig[prefix+"p50_ms"] = ms(r.p50)
			fig[prefix+"p99_ms"] = ms(r.p99)
			fig[prefix+"mbps"] = r.mbps()
			fig[prefix+"requests"] = float64(r.requests)
		}
		if sc.key == "small" {
			fig["direct_small_cpu_s_per_10k"] = med.direct.per10k(med.direct.cpu[0])
			fig["gh_small_cpu_s_per_10k"] = med.gh.per10k(med.gh.cpu[0] + med.gh.cpu[1] + med.gh.cpu[2])
			fig["gh_small_tunnel_cpu_s_per_10k"] = med.gh.per10k(med.gh.cpu[1] + med.gh.cpu[2])
		}
	}
	if err := signOnRuns(e, small, fig, load, say); err != nil { // signon.go
		return err
	}
	// A failed KCD run (its lab is a separate Apache and KDC) is reported
	// after the main table rather than instead of it.
	var kcdErr error
	if e.kcd != nil {
	kcdRuns:
		for _, run := range []struct {
			key  string
			t    *target
			path string
		}{{"kcd_pass_rps", e.kcdPass, "/index.html"}, {"kcd_public_rps", e.kcd, "/index.html"}, {"kcd_private_rps", e.kcd, "/private/whoami.shtml"}} {
			say("%s: %s", run.t.name, run.path)
			r, err := load(run.t, loadSpec{path: run.path, conns: o.conns, threads: o.threads, duration: o.duration})
			if err != nil {
				kcdErr = fmt.Errorf("KCD scenario (%s %s): %w", run.t.name, run.path, err)
				delete(fig, "kcd_pass_rps") // no partial KCD figures
				delete(fig, "kcd_public_rps")
				break kcdRuns
			}
			fig[run.key] = r.rps
		}
		if kcdErr == nil {
			fig["ratio_kcd_vs_passthrough"] = fig["kcd_public_rps"] / fig["kcd_pass_rps"]
		}
		_ = e.lab.Stop()
	}
	fig["rounds"] = float64(o.rounds)
	fig["gateway_rss_load_mib"] = mib(loadRSS[e.gateway.pid()])
	fig["connector_rss_load_mib"] = mib(loadRSS[e.connector.pid()])

	// The downloads alternate in rounds too: one direct download is as
	// exposed to the machine's drift as one load run.
	bulkPath := "/bytes/" + o.bulkSize
	var bulks []bulkRound
	for i := range o.rounds {
		var br bulkRound
		for _, b := range []struct {
			v *float64
			t *target
		}{{&br.direct, e.direct}, {&br.gh, e.gh}, {&br.gh2, e.gh2}} {
			say("%s: one %s download on a single stream (round %d of %d)", b.t.name, o.bulkSize, i+1, o.rounds)
			v, err := bulk(b.t, bulkPath, bulkBytes)
			if err != nil {
				return fmt.Errorf("%s bulk: %w", b.t.name, err)
			}
			*b.v = v
		}
		fig[fmt.Sprintf("ratio_bulk_round%d", i+1)] = br.ratio()
		bulks = append(bulks, br)
	}
	mb := medianBy(bulks, bulkRound.ratio)
	fig["direct_bulk_mbps"], fig["gh_bulk_mbps"], fig["gh_bulk_h2_mbps"] = mb.direct, mb.gh, mb.gh2
	if e.tcp != nil {
		if err := runTCP(o, e, fig, say); err != nil {
			return fmt.Errorf("TCP scenario: %w", err)
		}
	}

	endGW, _ := readProcStat(e.gateway.pid())
	endCN, _ := readProcStat(e.connector.pid())
	fig["gateway_hwm_mib"] = mib(endGW.hwmKiB)
	fig["connector_hwm_mib"] = mib(endCN.hwmKiB)
	for _, k := range []string{"small", "large"} {
		fig["ratio_"+k+"_rps"] = fig["gh_"+k+"_rps"] / fig["direct_"+k+"_rps"]
		fig["ratio_"+k+"_mbps"] = fig["gh_"+k+"_mbps"] / fig["direct_"+k+"_mbps"]
		fig["ratio_"+k+"_p50"] = fig["gh_"+k+"_p50_ms"] / fig["direct_"+k+"_p50_ms"]
		fig["ratio_"+k+"_p99"] = fig["gh_"+k+"_p99_ms"] / fig["direct_"+k+"_p99_ms"]
	}
	fig["ratio_bulk"] = fig["gh_bulk_mbps"] / fig["direct_bulk_mbps"]
	fig["ratio_bulk_h2"] = fig["gh_bulk_h2_mbps"] / fig["direct_bulk_mbps"]
	fig["loadgen_wrk"] = map[bool]float64{true: 1, false: 0}[o.loadgen == "wrk"]
	fig["cpus"] = float64(runtime.NumCPU())

	report(o, fig)
	if o.out != "" {
		b, _ := json.MarshalIndent(fig, "", "  ")
		if err := os.WriteFile(o.out, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing BENCH_OUT: %w", err)
		}
		say("figures written to %s", o.out)
	}
	return kcdErr
}

// setUp starts the demo app, a gateway and an enrolled connector on
// loopback and waits until a request goes all the way through.
func setUp(o options, ps *procs) (*env, error) {
	bin := func(name string) string { return filepath.Join(o.bin, name) }
	for _, b := range []string{"demoapp", "gatehouse", "gatehouse-connector"} {
		if _, err := os.Stat(bin(b)); err != nil {
			return nil, fmt.Errorf("%s: %w (run 'make build' first)", bin(b), err)
		}
	}
	var ports [3]int
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	appPort, publicPort, tunnelPort := ports[0], ports[1], ports[2]
	e := &env{}
	var err error

	e.app, err = ps.start("demoapp", bin("demoapp"), "--addr", fmt.Sprintf("127.0.0.1:%d", appPort))
	if err != nil {
		return nil, err
	}
	e.direct = &target{name: "direct", base: fmt.Sprintf("http://127.0.0.1:%d", appPort), client: directClient()}
	if err := waitUntil("demo app", 20*time.Second, []*proc{e.app}, func() error { return e.direct.probe("/bytes/100", 100) }); err != nil {
		return nil, err
	}

	dataDir := filepath.Join(o.work, "data")
	cfg := filepath.Join(o.work, "gatehouse.yaml")
	text := fmt.Sprintf(configTemplate, dataDir, publicPort, tunnelPort, appPort)
	var kcd string
	if o.sso != "" {
		if e.lab = startKCDLab(func(f string, a ...any) { fmt.Fprintf(os.Stderr, "bench: "+f+"\n", a...) }); e.lab != nil {
			kcd = kcdApps(e.lab)
		}
		if e.tcp, err = startTCPSink(); err != nil {
			return nil, err
		}
		extra, err := signedConfig(o.sso, appPort, kcd+tcpAppConfig(e.tcp.sink.Addr().String()))
		if err != nil {
			return nil, err
		}
		text += extra
	}
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		return nil, err
	}
	e.gateway, err = ps.start("gateway", bin("gatehouse"), "serve", "--config", cfg)
	if err != nil {
		return nil, err
	}
	caFile := filepath.Join(dataDir, "dev-tls", "dev-ca.pem")
	publicAddr := fmt.Sprintf("127.0.0.1:%d", publicPort)
	if err := waitGateway("gateway", e.gateway, caFile, publicPort, tunnelPort); err != nil {
		return nil, err
	}
	token, err := enrollToken(bin("gatehouse"), cfg)
	if err != nil {
		return nil, err
	}
	// The token goes by environment, not argv: ps shows argv to everyone.
	e.connector, err = ps.startEnv("connector", []string{"GATEHOUSE_TOKEN=" + token}, bin("gatehouse-connector"),
		"--state", filepath.Join(o.work, "connector"), "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	for _, h2 := range []bool{false, true} {
		c, err := gatewayClient(caFile, "demo.localhost", h2)
		if err != nil {
			return nil, err
		}
		t := &target{name: "gatehouse", base: "https://" + publicAddr, host: "demo.localhost", client: c}
		if h2 {
			t.name = "gatehouse (HTTP/2)"
			e.gh2 = t
		} else {
			e.gh = t
		}
	}
	if err := waitUntil("a request through the connector", 30*time.Second, []*proc{e.app, e.gateway, e.connector}, func() error {
		return e.gh.probe("/bytes/100", 100)
	}); err != nil {
		return nil, err
	}
	if o.sso != "" {
		c, err := gatewayClient(caFile, "signed.localhost", false)
		if err != nil {
			return nil, err
		}
		e.signed = &target{name: "gatehouse (signed in, header sign-on)", base: "https://" + publicAddr, host: "signed.localhost", client: c}
		if err := waitUntil("a signed-in request", 30*time.Second, []*proc{e.gateway, e.connector}, func() error { return signIn(e.signed) }); err != nil {
			return nil, err
		}
		if e.lab != nil {
			for _, name := range []string{"kcd", "kcdpass"} {
				c, err := gatewayClient(caFile, name+".localhost", false)
				if err != nil {
					return nil, err
				}
				t := &target{name: "gatehouse (" + name + ")", base: "https://" + publicAddr, host: name + ".localhost", client: c}
				if name == "kcd" {
					e.kcd = t
				} else {
					e.kcdPass = t
				}
			}
			if err := waitUntil("a KCD request", 30*time.Second, []*proc{e.gateway, e.connector}, func() error { return kcdSignIn(e.kcd) }); err != nil {
				return nil, err
			}
		}
		if err := e.tcp.startTCPClient(o, ps, caFile, publicAddr, []*proc{e.gateway, e.connector}); err != nil {
			return nil, err
		}
	}
	return e, nil
}

const configTemplate = `# written by bench/ for one benchmark run
data_dir: %s
listen:
  public: 127.0.0.1:%d
  tunnel: 127.0.0.1:%d
tls:
  mode: self-signed
log:
  level: warn
connector_groups:
  - name: bench
apps:
  - name: demo
    host: demo.localhost
    group: bench
    auth: passthrough
    backend:
      url: http://127.0.0.1:%d
`

func sizeOf(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1<<10, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "m"):
		mult, s = 1<<20, strings.TrimSuffix(s, "m")
	case strings.HasSuffix(s, "g"):
		mult, s = 1<<30, strings.TrimSuffix(s, "g")
	}
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil || n <= 0 {
		return 0, errors.New("-bulk: want a size such as 100m or 1g")
	}
	return n * mult, nil
}

func cpuOf(pids []int) []time.Duration {
	out := make([]time.Duration, len(pids))
	for i, pid := range pids {
		if st, err := readProcStat(pid); err == nil {
			out[i] = st.cpu
		}
	}
	return out
}

func mib(kib int64) float64           { return float64(kib) / 1024 }
func ms(d time.Duration) float64      { return float64(d) / float64(time.Millisecond) }
func ratio(gh, direct float64) string { return fmt.Sprintf("%.2f", gh/direct) }

// figures are the results by their JSON name.
type figures map[string]float64

func report(o options, f figures) {
	gen := "wrk -t" + fmt.Sprint(o.threads)
	if o.loadgen != "wrk" {
		gen = "Go fallback load generator (wrk unavailable)"
	}
	fmt.Printf("\nGatehouse benchmark: demo app direct (HTTP) vs through gateway + connector (HTTPS), %d CPUs\n", runtime.NumCPU())
	fmt.Printf("load: %s, %d connections, %s per run; bulk: one %s download, HTTP/1.1 unless noted\n", gen, o.conns, o.duration, o.bulkSize)
	fmt.Printf("each scenario: %d rounds of direct then Gatehouse; the round with the median ratio is shown\n\n", o.rounds)
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "scenario\tpath\treq/s\tp50 ms\tp99 ms\tMB/s\tvs direct\t")
	for _, s := range []struct{ key, label string }{{"small", "100 B"}, {"large", "1 MiB"}} {
		for _, p := range []struct{ prefix, name string }{{"direct_", "direct"}, {"gh_", "gatehouse"}} {
			k := p.prefix + s.key + "_"
			r := "1.00"
			if p.prefix == "gh_" {
				r = ratio(f[k+"rps"], f["direct_"+s.key+"_rps"])
			}
			fmt.Fprintf(w, "%s\t%s\t%.0f\t%.2f\t%.2f\t%.1f\t%s\t\n", s.label, p.name, f[k+"rps"], f[k+"p50_ms"], f[k+"p99_ms"], f[k+"mbps"], r)
		}
	}
	fmt.Fprintf(w, "%s bulk\tdirect\t-\t-\t-\t%.1f\t1.00\t\n", o.bulkSize, f["direct_bulk_mbps"])
	fmt.Fprintf(w, "%s bulk\tgatehouse\t-\t-\t-\t%.1f\t%s\t\n", o.bulkSize, f["gh_bulk_mbps"], ratio(f["gh_bulk_mbps"], f["direct_bulk_mbps"]))
	fmt.Fprintf(w, "%s bulk\tgatehouse h2\t-\t-\t-\t%.1f\t%s\t\n", o.bulkSize, f["gh_bulk_h2_mbps"], ratio(f["gh_bulk_h2_mbps"], f["direct_bulk_mbps"]))
	w.Flush()
	for _, s := range []struct{ key, label string }{{"small_rps", "100 B"}, {"large_rps", "1 MiB"}, {"bulk", o.bulkSize + " bulk"}} {
		fmt.Printf("%s ratio by round:", s.label)
		for i := 1; i <= o.rounds; i++ {
			fmt.Printf(" %.3f", f[fmt.Sprintf("ratio_%s_round%d", s.key, i)])
		}
		fmt.Println()
	}

	fmt.Println()
	w = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "memory (MiB)\tVmRSS idle\tVmRSS max under 1 MiB load\tVmHWM\t")
	for _, p := range []string{"gateway", "connector"} {
		fmt.Fprintf(w, "%s\t%.1f\t%.1f\t%.1f\t\n", p, f[p+"_rss_idle_mib"], f[p+"_rss_load_mib"], f[p+"_hwm_mib"])
	}
	w.Flush()
	fmt.Printf("\nCPU seconds per 10k small requests: direct (demo app) %.2f; through Gatehouse %.2f (gateway + connector %.2f, demo app the rest)\n",
		f["direct_small_cpu_s_per_10k"], f["gh_small_cpu_s_per_10k"], f["gh_small_tunnel_cpu_s_per_10k"])
	reportSignOn(f) // signon.go
	if f["kcd_pass_rps"] > 0 {
		fmt.Printf("Kerberos constrained delegation (lab Apache behind the connector; alice's session cookie):\n"+
			"  passthrough /index.html %.0f req/s; KCD app /index.html %.0f req/s (ratio_kcd_vs_passthrough=%.3f); KCD app /private/whoami.shtml (Apache checks the ticket) %.0f req/s\n",
			f["kcd_pass_rps"], f["kcd_public_rps"], f["ratio_kcd_vs_passthrough"], f["kcd_private_rps"])
	}
	reportTCP(o, f)
	fmt.Printf("ratios: ratio_small_rps=%.3f ratio_large_rps=%.3f ratio_bulk=%.3f (ratio_bulk_h2=%.3f) ratio_tcp=%.3f\n\n",
		f["ratio_small_rps"], f["ratio_large_rps"], f["ratio_bulk"], f["ratio_bulk_h2"], f["ratio_tcp"])
}
