package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The scale mode (-scale; ./bench/run.sh --scale): one real gateway
// (bin/gatehouse, SQLite store) and -scale-connectors simulated connectors
// with 2 sessions each in one other process (bench/simconn), each enrolled
// with its own one-time token from `gatehouse token create` and speaking
// the real tunnel protocol, heartbeats every second. It reports the
// gateway's memory and CPU over a steady window of heartbeats, the time a
// config change takes to reach every session (SIGHUP to each session's
// ready, timed by the simulator), and the reload of a 10,000-app config.

const (
	scaleRSSTarget = 1 << 30         // bytes: the gateway's peak RSS
	scalePushLimit = 2 * time.Second // a config change reaches every session
	scaleBigApps   = 10000
)

func runScale(o options, ps *procs) error {
	say := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "bench: scale: "+format+"\n", a...) }
	var ports [3]int
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return err
		}
		ports[i] = p
	}
	sc := scaleConfig{dir: o.work, public: ports[0], tunnel: ports[1], admin: ports[2]}
	cfg := filepath.Join(o.work, "gatehouse.yaml")
	if err := writeAtomic(cfg, sc.text(0, 0)); err != nil {
		return err
	}
	gw, err := ps.start("gateway", filepath.Join(o.bin, "gatehouse"), "serve", "--config", cfg)
	if err != nil {
		return err
	}
	caFile := filepath.Join(o.work, "data", "dev-tls", "dev-ca.pem")
	if err := waitGateway("gateway", gw, caFile, sc.public, sc.tunnel, sc.admin); err != nil {
		return err
	}
	n := o.scaleConnectors
	say("creating %d enrollment tokens with 'gatehouse token create'", n)
	t := time.Now()
	tokFile, err := scaleTokens(filepath.Join(o.bin, "gatehouse"), cfg, o.work, n)
	if err != nil {
		return err
	}
	fig := figures{"scale_connectors": float64(n), "scale_sessions": float64(2 * n), "scale_tokens_s": time.Since(t).Seconds()}
	say("enrolling %d connectors and opening %d sessions (bench/simconn)", n, 2*n)
	sim, err := startSim(ps, o, tokFile)
	if err != nil {
		return err
	}
	line, err := sim.read(5 * time.Minute)
	if err != nil {
		return err
	}
	var up int
	var upS float64
	if _, err := fmt.Sscanf(line, "up %d %f", &up, &upS); err != nil || up != 2*n {
		return fmt.Errorf("simconn: %q, want every one of %d sessions up (log: %s)", line, 2*n, sim.p.log)
	}
	fig["scale_enroll_up_s"] = upS
	watch := []*proc{gw, sim.p}
	if err := scaleSteady(o, gw, sim, watch, fig, say); err != nil {
		return err
	}
	for i := range o.scaleChanges {
		app := fmt.Sprintf("change%d", i+1)
		say("config change %d of %d: app %s added to the connectors' group, SIGHUP", i+1, o.scaleChanges, app)
		if err := scalePush(gw, sim, cfg, sc.text(i+1, 0), app, fig, fmt.Sprintf("scale_push%d_", i+1), nil); err != nil {
			return err
		}
	}
	say("reloading a config with %d apps", scaleBigApps)
	if err := scaleBig(gw, sim, cfg, sc, o.scaleChanges, fig); err != nil {
		return err
	}
	for _, p := range watch {
		if err := p.alive(); err != nil {
			return err
		}
	}
	end, _ := readProcStat(gw.pid())
	fig["scale_gateway_hwm_mib"] = mib(end.hwmKiB)
	simEnd, _ := readProcStat(sim.p.pid())
	fig["scale_simconn_hwm_mib"] = mib(simEnd.hwmKiB)
	reportScale(o, fig)
	if o.out != "" {
		return writeFigures(o, fig)
	}
	return nil
}

// scaleSteady samples the gateway once a second over o.scaleWindow of
// heartbeats only.
func scaleSteady(o options, gw *proc, sim *simProc, watch []*proc, fig figures, say func(string, ...any)) error {
	time.Sleep(3 * time.Second) // the enrollment burst's garbage settles
	say("steady window: %s of heartbeats from %d sessions", o.scaleWindow, 2*o.scaleConnectors)
	first, _ := readProcStat(gw.pid())
	simFirst, _ := readProcStat(sim.p.pid())
	start := time.Now()
	var sum, peak int64
	samples := 0
	for time.Since(start) < o.scaleWindow {
		time.Sleep(time.Second)
		for _, p := range watch {
			if err := p.alive(); err != nil {
				return err
			}
		}
		st, _ := readProcStat(gw.pid())
		sum += st.rssKiB
		peak = max(peak, st.rssKiB)
		samples++
	}
	last, _ := readProcStat(gw.pid())
	simLast, _ := readProcStat(sim.p.pid())
	secs := time.Since(start).Seconds()
	fig["scale_window_s"] = secs
	fig["scale_gateway_rss_steady_mib"] = mib(sum / int64(max(samples, 1)))
	fig["scale_gateway_rss_window_max_mib"] = mib(peak)
	fig["scale_gateway_hwm_after_enroll_mib"] = mib(last.hwmKiB)
	fig["scale_gateway_cpu_ms_per_s"] = float64((last.cpu - first.cpu).Milliseconds()) / secs
	fig["scale_simconn_cpu_ms_per_s"] = float64((simLast.cpu - simFirst.cpu).Milliseconds()) / secs
	fig["scale_simconn_rss_mib"] = mib(simLast.rssKiB)
	return nil
}

// scalePush writes text to cfg, signals the gateway and has the simulator
// time each session's ready for the config that holds app.
// onSignal, if set, is called with T0 just before the signal.
func scalePush(gw *proc, sim *simProc, cfg, text, app string, fig figures, prefix string, onSignal func(time.Time)) error {
	if line, err := sim.ask("arm "+app, time.Minute); err != nil || line != "armed" {
		return fmt.Errorf("simconn: arm: %q %v", line, err)
	}
	if err := writeAtomic(cfg, text); err != nil {
		return err
	}
	t0 := time.Now()
	if onSignal != nil {
		onSignal(t0)
	}
	if err := gw.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		return err
	}
	line, err := sim.ask(fmt.Sprintf("await %d", t0.UnixNano()), 2*time.Minute)
	if err != nil {
		return err
	}
	var got int
	var p50, maxMS float64
	if _, err := fmt.Sscanf(line, "got %d %f %f", &got, &p50, &maxMS); err != nil {
		return fmt.Errorf("simconn: %s (log: %s)", line, sim.p.log)
	}
	fig[prefix+"p50_ms"], fig[prefix+"max_ms"], fig[prefix+"sessions"] = p50, maxMS, float64(got)
	return nil
}

// scaleBig reloads a config with scaleBigApps apps: one more for the
// connectors' group, the rest in groups without connectors. It times
// SIGHUP to the gateway's "config reloaded" log line, and the push as
// scalePush does. Then it times one GET /api/v1/status.
func scaleBig(gw *proc, sim *simProc, cfg string, sc scaleConfig, changes int, fig figures) error {
	text := sc.text(changes+1, scaleBigApps-2-changes)
	fig["scale_big_config_bytes"] = float64(len(text))
	var t0 time.Time
	if err := scalePush(gw, sim, cfg, text, fmt.Sprintf("change%d", changes+1), fig, "scale_big_push_", func(t time.Time) { t0 = t }); err != nil {
		return err
	}
	var at time.Time
	if err := waitUntil("the gateway's config reloaded log line", time.Minute, []*proc{gw}, func() error {
		var err error
		at, err = reloadedAt(gw.log, scaleBigApps)
		return err
	}); err != nil {
		return err
	}
	fig["scale_big_reload_ms"] = ms(at.Sub(t0))
	st, _ := readProcStat(gw.pid())
	fig["scale_gateway_rss_big_mib"] = mib(st.rssKiB)
	fig["scale_gateway_hwm_big_mib"] = mib(st.hwmKiB)
	t := time.Now()
	if err := adminStatus(sc.admin); err != nil {
		return err
	}
	fig["scale_big_status_ms"] = ms(time.Since(t))
	st, _ = readProcStat(gw.pid())
	fig["scale_gateway_hwm_big_status_mib"] = mib(st.hwmKiB)
	return nil
}

// reloadedAt is the time of the gateway's last "config reloaded" log line
// (JSON) for a config of apps apps.
func reloadedAt(logFile string, apps int) (time.Time, error) {
	b, err := os.ReadFile(logFile)
	if err != nil {
		return time.Time{}, err
	}
	var last time.Time
	for line := range strings.Lines(string(b)) {
		var l struct {
			Time time.Time `json:"time"`
			Msg  string    `json:"msg"`
			Apps int       `json:"apps"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "config reloaded" && l.Apps == apps {
			last = l.Time
		}
	}
	if last.IsZero() {
		return last, fmt.Errorf("no \"config reloaded\" line for %d apps in %s yet", apps, logFile)
	}
	return last, nil
}

func adminStatus(port int) error {
	c := http.Client{Timeout: time.Minute}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/status", port))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("admin API status: %s", resp.Status)
	}
	return nil
}

// writeAtomic replaces file with text by renaming a new file over it, so
// the gateway never reads it half-written.
func writeAtomic(file, text string) error {
	tmp := file + ".new"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// scaleTokens creates n one-time tokens with the CLI, two at a time, and
// writes them to a file only its owner reads.
func scaleTokens(gatehouse, cfg, work string, n int) (string, error) {
	toks := make([]string, n)
	errs := make(chan error, 2)
	for w := range 2 {
		go func() {
			for i := w; i < n; i += 2 {
				tok, err := enrollToken(gatehouse, cfg)
				if err != nil {
					errs <- err
					return
				}
				toks[i] = tok
			}
			errs <- nil
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			return "", err
		}
	}
	file := filepath.Join(work, "tokens")
	return file, os.WriteFile(file, []byte(strings.Join(toks, "\n")+"\n"), 0o600)
}

// simProc is the simulator and its command pipes.
type simProc struct {
	p     *proc
	in    io.WriteCloser
	lines chan string
}

func startSim(ps *procs, o options, tokFile string) (*simProc, error) {
	logFile := filepath.Join(ps.work, "simconn.log")
	f, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(o.simconn, "-tokens", tokFile, "-state", filepath.Join(o.work, "connectors"), "-sessions", "2")
	cmd.Stderr = f
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p, err := ps.register("simconn", cmd, logFile, f)
	if err != nil {
		return nil, err
	}
	s := &simProc{p: p, in: in, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
	}()
	return s, nil
}

// read waits for the simulator's next line.
func (s *simProc) read(timeout time.Duration) (string, error) {
	select {
	case line, ok := <-s.lines:
		if !ok {
			<-s.p.done
			return "", s.p.alive()
		}
		return line, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("simconn said nothing for %s (log: %s)", timeout, s.p.log)
	}
}

// ask sends one command line and reads the answer.
func (s *simProc) ask(cmd string, timeout time.Duration) (string, error) {
	if _, err := fmt.Fprintln(s.in, cmd); err != nil {
		return "", fmt.Errorf("simconn: %w", err)
	}
	return s.read(timeout)
}
