package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/internal/freeport"
)

// proc is one child process: the demo app, the gateway or the connector.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string // file holding its stdout and stderr
	done chan struct{}
	err  error // set before done is closed
}

// procs starts children and stops every one of them, whatever happens.
type procs struct {
	work    string
	mu      sync.Mutex
	list    []*proc
	pidFile *os.File
}

func newProcs(work string) (*procs, error) {
	f, err := os.OpenFile(filepath.Join(work, "pids"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &procs{work: work, pidFile: f}, nil
}

// start runs bin with args, logging to work/NAME.log. Each child gets its
// own process group and is killed if this program dies first.
func (ps *procs) start(name, bin string, args ...string) (*proc, error) {
	return ps.startEnv(name, nil, bin, args...)
}

// startEnv is start with extra environment variables.
func (ps *procs) startEnv(name string, env []string, bin string, args ...string) (*proc, error) {
	logFile := filepath.Join(ps.work, name+".log")
	f, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	if dir := os.Getenv("BENCH_PROFILE_DIR"); dir != "" { // a CPU profile per child (internal/profile)
		cmd.Env = append(append(os.Environ(), env...), "GATEHOUSE_CPUPROFILE="+filepath.Join(dir, name+".pprof"))
	}
	return ps.register(name, cmd, logFile, f)
}

// register starts cmd, whose output the caller has set up (f is closed
// when it exits), as the child name.
func (ps *procs) register(name string, cmd *exec.Cmd, logFile string, f *os.File) (*proc, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logFile, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	ps.mu.Lock()
	ps.list = append(ps.list, p)
	fmt.Fprintln(ps.pidFile, cmd.Process.Pid)
	ps.mu.Unlock()
	return p, nil
}

// stopAll stops the children in reverse order: SIGTERM, then SIGKILL
// after a grace period.
func (ps *procs) stopAll() {
	ps.mu.Lock()
	list := ps.list
	ps.list = nil
	ps.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		p := list[i]
		select {
		case <-p.done:
			continue
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second): // the gateway drains for up to 10 s
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	ps.pidFile.Close()
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// alive returns an error naming the process and its log's tail if it exited.
func (p *proc) alive() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v); last lines of %s:\n%s", p.name, p.err, p.log, tail(p.log, 15))
	default:
		return nil
	}
}

func tail(file string, n int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// freePort is a port on 127.0.0.1 that nothing listens on now.
func freePort() (int, error) { return freeport.TCP() }

func dialTCP(port int) (net.Conn, error) {
	return net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
}

// waitUntil polls check until it succeeds, a watched process dies, or
// the timeout passes.
func waitUntil(what string, timeout time.Duration, watch []*proc, check func() error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		for _, p := range watch {
			if err := p.alive(); err != nil {
				return fmt.Errorf("waiting for %s: %w", what, err)
			}
		}
		if last = check(); last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %w", what, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// target is one path to the demo app: direct or through the gateway.
type target struct {
	name   string      // "direct" or "gatehouse"
	base   string      // URL scheme://addr
	host   string      // Host header ("" = from the URL)
	header http.Header // sent with every request (a session cookie)
	client *http.Client
}

func (t *target) get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", t.base+path, nil)
	if err != nil {
		return nil, err
	}
	if t.host != "" {
		req.Host = t.host
	}
	for k, v := range t.header {
		req.Header[k] = v
	}
	return t.client.Do(req)
}

// probe fetches path and checks for a 200 with exactly want body bytes.
func (t *target) probe(path string, want int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := t.get(ctx, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || n != want {
		return fmt.Errorf("%s%s: %s with %d body bytes, want 200 with %d", t.base, path, resp.Status, n, want)
	}
	return nil
}

// gatewayClient trusts the gateway's development CA and names the app's
// host by SNI, as a browser that was told to trust the CA does. h2 picks
// HTTP/2 (as browsers use) instead of HTTP/1.1 (as wrk uses).
func gatewayClient(caFile, serverName string, h2 bool) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading the development CA: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, errors.New("development CA file holds no certificate")
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots, ServerName: serverName},
		ForceAttemptHTTP2:   h2,
		MaxIdleConnsPerHost: 64,
		ReadBufferSize:      256 << 10,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr}, nil
}

func directClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, ReadBufferSize: 256 << 10, DisableCompression: true}}
}

// procStat is a process's memory and CPU use from /proc.
type procStat struct {
	rssKiB, hwmKiB int64
	cpu            time.Duration // user + system
}

var clockTick = 100.0 // USER_HZ; 100 on every Linux this runs on

func readProcStat(pid int) (procStat, error) {
	var s procStat
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	s.rssKiB, s.hwmKiB = parseStatus(f)
	f.Close()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	fields := strings.Fields(rest)
	if len(fields) > 12 {
		utime, _ := strconv.ParseFloat(fields[11], 64)
		stime, _ := strconv.ParseFloat(fields[12], 64)
		s.cpu = time.Duration((utime + stime) / clockTick * float64(time.Second))
	}
	return s, nil
}

// parseStatus reads VmRSS and VmHWM, in KiB, from the text of
// /proc/PID/status (0 for a line it lacks).
func parseStatus(r io.Reader) (rssKiB, hwmKiB int64) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != "VmRSS" && k != "VmHWM" {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || n < 0 {
			continue
		}
		if k == "VmRSS" {
			rssKiB = n
		} else {
			hwmKiB = n
		}
	}
	return rssKiB, hwmKiB
}

// rssSampler records the largest VmRSS of some processes while it runs.
type rssSampler struct {
	stop chan struct{}
	done chan struct{}
	max  map[int]int64
}

func sampleRSS(pids ...int) *rssSampler { return sampleRSSEvery(100*time.Millisecond, pids...) }

// sampleRSSEvery is sampleRSS at another interval.
func sampleRSSEvery(every time.Duration, pids ...int) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{}), max: map[int]int64{}}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			for _, pid := range pids {
				if st, err := readProcStat(pid); err == nil && st.rssKiB > s.max[pid] {
					s.max[pid] = st.rssKiB
				}
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) finish() map[int]int64 {
	close(s.stop)
	<-s.done
	return s.max
}

// waitGateway waits until gateway g has written its development CA and
// accepts connections on each of ports.
func waitGateway(name string, g *proc, caFile string, ports ...int) error {
	return waitUntil(name, 30*time.Second, []*proc{g}, func() error {
		if _, err := os.Stat(caFile); err != nil {
			return err
		}
		for _, port := range ports {
			c, err := dialTCP(port)
			if err != nil {
				return err
			}
			c.Close()
		}
		return nil
	})
}

// enrollToken creates a one-time enrollment token for the group "bench"
// with the gatehouse binary and the gateway's config file.
func enrollToken(gatehouse, cfg string) (string, error) {
	var stderr strings.Builder
	cmd := exec.Command(gatehouse, "token", "create", "--config", cfg, "--group", "bench", "--ttl", "10m")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("gatehouse token create: %w: %s", err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}
