// Command bench measures Gatehouse against the limit and against a
// reference: the same load generator hits a minimal backend
// (bench/backend) directly (plain HTTP, as an internal client would),
// through nginx terminating TLS in front of it (nginx.go; the reference
// path a user would assemble without Gatehouse) and through a gateway
// and a connector on loopback (HTTPS on the public side, as users see
// it), in one run, interleaved, and reports each through-Gatehouse
// figure as a ratio to direct and to nginx-TLS. Absolute numbers move
// with the machine's load; compare ratios from one run. Each scenario
// runs in rounds (direct, nginx-TLS, then Gatehouse) and reports the
// median of the rounds' ratios, with every round's ratio beside it.
//
//	go build -o /tmp/bench ./bench && go build -o /tmp/backend ./bench/backend &&
//	/tmp/bench -bin bin -backend /tmp/backend [-nginx /usr/sbin/nginx] -work DIR [-out FILE]
//
// bench/run.sh (make bench) builds it, picks the load generator, installs
// nginx when missing, and cleans up. Scenarios: 100-byte and 1 MiB
// responses at 64 connections (wrk -t2 -c64 -d10s --latency), one 1 GiB
// download on a single stream, 64 x 1 MiB responses in flight at once
// (the gateway's and connector's peak RSS; reference.go, rss.go), and one
// 512 MiB upload over a TCP app (tcp.go). It also reports the gateway's
// and connector's memory (VmRSS idle and the largest under load, VmHWM)
// and CPU per 10k small requests.
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
	backend                 string // the minimal backend (bench/backend)
	nginx                   string // nginx binary for the reference path ("" = off)
	rssConns                int
	rssSize                 string
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
	flag.StringVar(&o.backend, "backend", "", "the minimal backend binary (go build ./bench/backend; run.sh does): the ratio scenarios' backend (required)")
	flag.StringVar(&o.nginx, "nginx", "", "nginx binary: adds the reference path, nginx terminating TLS in front of the same backend (run.sh passes it)")
	flag.IntVar(&o.rssConns, "rss-conns", 64, "RSS scenario: responses in flight at once, one connection each")
	flag.StringVar(&o.rssSize, "rss-size", "1m", "RSS scenario: the size of each response")
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
	if _, err := sizeOf(o.rssSize); err != nil || o.rssConns < 1 {
		fmt.Fprintf(os.Stderr, "bench: -rss-size %q: want a size such as 1m, and -rss-conns at least 1\n", o.rssSize)
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
	nginx                   *proc   // nil without -nginx
	ng                      *target // nginx TLS in front of the backend; nil without -nginx
	ng2                     *target // the same nginx over HTTP/2 (bulk only); nil without -nginx
	nginxWorkers            []int
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
	for _, t := range e.loadTargets() {
		say("warming up %s", t.name)
		if _, err := load(t, warm); err != nil {
			return fmt.Errorf("warm-up %s: %w", t.name, err)
		}
	}

	if err := rssScenario(o, e, fig, say); err != nil { // reference.go
		return fmt.Errorf("RSS scenario: %w", err)
	}
	pids := e.pids()
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
			for _, t := range e.loadTargets() {
				say("%s: %s %s, %d connections, %s (round %d of %d)", t.name, sc.key, sc.spec.path, sc.spec.conns, sc.spec.duration, i+1, o.rounds)
				m, err := measure(e, t, sc.spec, pids, t == e.gh && sc.key == "large", loadRSS, load)
				if err != nil {
					return fmt.Errorf("%s %s: %w", t.name, sc.key, err)
				}
				switch t {
				case e.direct:
					rd.direct = m
				case e.ng:
					rd.nginx = m
				default:
					rd.gh = m
				}
			}
			fig[fmt.Sprintf("ratio_%s_rps_round%d", sc.key, i+1)] = rd.ratio()
			if e.ng != nil {
				fig[fmt.Sprintf("ratio_%s_vs_nginx_tls_round%d", sc.key, i+1)] = rd.vsNginx()
			}
			rounds = append(rounds, rd)
		}
		med := medianRound(rounds)
		if e.ng != nil {
			fig["ratio_"+sc.key+"_vs_nginx_tls"] = medianRatio(rounds, round.vsNginx)
			fig["ratio_nginx_tls_"+sc.key+"_rps"] = medianRatio(rounds, round.nginxRatio)
		}
		for _, t := range []struct {
			prefix string
			m      measured
		}{{"direct_", med.direct}, {"nginx_", med.nginx}, {"gh_", med.gh}} {
			if t.prefix == "nginx_" && e.ng == nil {
				continue
			}
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
			if e.ng != nil {
				var ng time.Duration
				for _, c := range med.nginx.cpu[3:] {
					ng += c
				}
				fig["nginx_small_cpu_s_per_10k"] = med.nginx.per10k(med.nginx.cpu[0] + ng)
				fig["nginx_small_proxy_cpu_s_per_10k"] = med.nginx.per10k(ng)
			}
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
		}{{&br.direct, e.direct}, {&br.nginx, e.ng}, {&br.nginx2, e.ng2}, {&br.gh, e.gh}, {&br.gh2, e.gh2}} {
			if b.t == nil {
				continue
			}
			say("%s: one %s download on a single stream (round %d of %d)", b.t.name, o.bulkSize, i+1, o.rounds)
			v, err := bulk(b.t, bulkPath, bulkBytes)
			if err != nil {
				return fmt.Errorf("%s bulk: %w", b.t.name, err)
			}
			*b.v = v
		}
		fig[fmt.Sprintf("ratio_bulk_round%d", i+1)] = br.ratio()
		if e.ng != nil {
			fig[fmt.Sprintf("ratio_bulk_vs_nginx_tls_round%d", i+1)] = br.vsNginx()
		}
		bulks = append(bulks, br)
	}
	mb := medianBy(bulks, bulkRound.ratio)
	fig["direct_bulk_mbps"], fig["gh_bulk_mbps"], fig["gh_bulk_h2_mbps"] = mb.direct, mb.gh, mb.gh2
	if e.ng != nil {
		fig["nginx_bulk_mbps"] = mb.nginx
		fig["ratio_bulk_vs_nginx_tls"] = medianRatio(bulks, bulkRound.vsNginx)
		fig["ratio_bulk_h2_vs_nginx_tls"] = medianRatio(bulks, bulkRound.h2VsNginx)
		// What the same client gets from nginx over HTTP/2 against
		// HTTP/1.1: the reference for Gatehouse's own h2/h1 ratio, since
		// the client's HTTP/2 costs CPU on the same machine.
		fig["nginx_bulk_h2_mbps"] = mb.nginx2
		fig["ratio_nginx_bulk_h2_vs_h1"] = medianRatio(bulks, bulkRound.nginxH2VsH1)
		fig["ratio_nginx_tls_bulk"] = medianRatio(bulks, bulkRound.nginxRatio)
	}
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
	fig["ratio_bulk_h2_vs_h1"] = medianRatio(bulks, bulkRound.h2VsH1)
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
	if o.backend == "" {
		return nil, errors.New("-backend is required: the minimal backend (go build -o DIR/backend ./bench/backend; bench/run.sh does)")
	}
	if _, err := os.Stat(o.backend); err != nil {
		return nil, fmt.Errorf("-backend: %w", err)
	}
	for _, b := range []string{"gatehouse", "gatehouse-connector"} {
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

	e.app, err = ps.start("backend", o.backend, "--addr", fmt.Sprintf("127.0.0.1:%d", appPort))
	if err != nil {
		return nil, err
	}
	e.direct = &target{name: "direct", base: fmt.Sprintf("http://127.0.0.1:%d", appPort), client: directClient()}
	if err := waitUntil("the bench backend", 20*time.Second, []*proc{e.app}, func() error { return e.direct.probe("/bytes/100", 100) }); err != nil {
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
	if o.nginx != "" { // reference.go
		if e.nginx, e.ng, e.nginxWorkers, err = startNginx(o.nginx, o.work, filepath.Dir(caFile), appPort, []*proc{e.app}, ps); err != nil {
			return nil, err
		}
		c, err := gatewayClient(caFile, "demo.localhost", true)
		if err != nil {
			return nil, err
		}
		e.ng2 = &target{name: "nginx TLS (HTTP/2)", base: e.ng.base, host: e.ng.host, client: c}
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

func mib(kib int64) float64      { return float64(kib) / 1024 }
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// figures are the results by their JSON name.
type figures map[string]float64

func report(o options, f figures) {
	gen := "wrk -t" + fmt.Sprint(o.threads)
	if o.loadgen != "wrk" {
		gen = "Go fallback load generator (wrk unavailable)"
	}
	ng := f["nginx_small_rps"] > 0
	fmt.Printf("\nGatehouse benchmark: minimal backend direct (HTTP)%s vs through gateway + connector (HTTPS), %d CPUs\n",
		map[bool]string{true: ", through nginx terminating TLS (HTTPS)", false: " (no nginx reference path)"}[ng], runtime.NumCPU())
	fmt.Printf("load: %s, %d connections, %s per run; bulk: one %s download, HTTP/1.1 unless noted\n", gen, o.conns, o.duration, o.bulkSize)
	fmt.Printf("each scenario: %d rounds of direct, nginx-TLS, Gatehouse; each ratio is the median of the rounds' ratios,\n"+
		"req/s, latencies and MB/s are those of the round with the median ratio to direct\n\n", o.rounds)
	printRatioTable(o, f, ng) // reference.go

	fmt.Println()
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "memory (MiB)\tVmRSS idle\tpeak, %.0f x %.0f MiB in flight\tVmRSS max under 1 MiB load\tVmHWM\t\n", f["rss_conns"], f["rss_size_mib"])
	for _, p := range []string{"gateway", "connector"} {
		fmt.Fprintf(w, "%s\t%.1f\t%.1f\t%.1f\t%.1f\t\n", p, f[p+"_rss_idle_mib"], f[p+"_rss_peak_mib"], f[p+"_rss_load_mib"], f[p+"_hwm_mib"])
	}
	if ng {
		fmt.Fprintf(w, "nginx (master + workers)\t-\t%.1f\t-\t-\t\n", f["nginx_rss_peak_mib"])
	}
	w.Flush()
	fmt.Printf("\nCPU seconds per 10k small requests: direct (backend) %.2f; through Gatehouse %.2f (gateway + connector %.2f, backend the rest)\n",
		f["direct_small_cpu_s_per_10k"], f["gh_small_cpu_s_per_10k"], f["gh_small_tunnel_cpu_s_per_10k"])
	if ng {
		fmt.Printf("  through nginx-TLS %.2f (nginx %.2f, backend the rest)\n", f["nginx_small_cpu_s_per_10k"], f["nginx_small_proxy_cpu_s_per_10k"])
	}
	reportSignOn(f) // signon.go
	if f["kcd_pass_rps"] > 0 {
		fmt.Printf("Kerberos constrained delegation (lab Apache behind the connector; alice's session cookie):\n"+
			"  passthrough /index.html %.0f req/s; KCD app /index.html %.0f req/s (ratio_kcd_vs_passthrough=%.3f); KCD app /private/whoami.shtml (Apache checks the ticket) %.0f req/s\n",
			f["kcd_pass_rps"], f["kcd_public_rps"], f["ratio_kcd_vs_passthrough"], f["kcd_private_rps"])
	}
	reportTCP(o, f)
	fmt.Printf("ratios: ratio_small_rps=%.3f ratio_large_rps=%.3f ratio_bulk=%.3f (ratio_bulk_h2=%.3f) ratio_tcp=%.3f\n",
		f["ratio_small_rps"], f["ratio_large_rps"], f["ratio_bulk"], f["ratio_bulk_h2"], f["ratio_tcp"])
	if ng {
		fmt.Printf("vs nginx-TLS: ratio_small_vs_nginx_tls=%.3f ratio_large_vs_nginx_tls=%.3f ratio_bulk_vs_nginx_tls=%.3f (ratio_bulk_h2_vs_nginx_tls=%.3f)\n",
			f["ratio_small_vs_nginx_tls"], f["ratio_large_vs_nginx_tls"], f["ratio_bulk_vs_nginx_tls"], f["ratio_bulk_h2_vs_nginx_tls"])
	}
	fmt.Printf("HTTP/2 against HTTP/1.1 bulk, one client: Gatehouse ratio_bulk_h2_vs_h1=%.3f", f["ratio_bulk_h2_vs_h1"])
	if ng {
		fmt.Printf("; nginx-TLS ratio_nginx_bulk_h2_vs_h1=%.3f (%.0f against %.0f MB/s)", f["ratio_nginx_bulk_h2_vs_h1"], f["nginx_bulk_h2_mbps"], f["nginx_bulk_mbps"])
	}
	fmt.Println()
	fmt.Printf("memory: gateway_rss_peak_mib=%.1f connector_rss_peak_mib=%.1f\n\n", f["gateway_rss_peak_mib"], f["connector_rss_peak_mib"])
}
