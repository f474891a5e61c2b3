// Command simconn simulates many connectors in one process for the scale
// benchmark (bench -scale; ./bench/run.sh --scale). Each connector enrolls
// for real with a one-time token (connector.Enroll: the enrollment protocol
// and the state directory a real connector writes), then keeps -sessions
// TLS 1.3 + yamux tunnels to the gateway with the real control protocol of
// package tunnel: hello, config, ready, and a heartbeat every interval the
// config sets. It relays no requests: request streams the gateway opens are
// closed at once (the benchmark sends none).
//
// It talks to the bench program over stdin and stdout, one line each:
//
//	stdout: "up N SECONDS"        every session has acknowledged its first config
//	stdin:  "arm APP"             watch for a config that holds app APP
//	stdout: "armed"
//	stdin:  "await T0"            wait until every session has acknowledged (sent
//	                              ready for) a config that holds APP; T0 is the
//	                              Unix nanoseconds the change was made at
//	stdout: "got N P50_MS MAX_MS" the time from T0 to each session's ready, or
//	        "fail REASON"
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/connector"
	"github.com/gatehouse/gatehouse/tunnel"
)

func main() {
	tokens := flag.String("tokens", "", "file with one enrollment token per line (required)")
	stateDir := flag.String("state", "", "directory for the connectors' state directories (required)")
	sessions := flag.Int("sessions", 2, "tunnels per connector")
	parallel := flag.Int("parallel", 8, "enrollments and dials at the same time")
	flag.Parse()
	if *tokens == "" || *stateDir == "" || *sessions < 1 || *parallel < 1 {
		fmt.Fprintln(os.Stderr, "simconn: -tokens FILE and -state DIR are required; -sessions and -parallel at least 1")
		os.Exit(2)
	}
	if err := run(*tokens, *stateDir, *sessions, *parallel); err != nil {
		fmt.Fprintln(os.Stderr, "simconn:", err)
		fmt.Println("fail", err)
		os.Exit(1)
	}
}

func run(tokenFile, stateDir string, perConn, parallel int) error {
	b, err := os.ReadFile(tokenFile)
	if err != nil {
		return err
	}
	toks := strings.Fields(string(b))
	if len(toks) == 0 {
		return fmt.Errorf("%s holds no token", tokenFile)
	}
	ctx := context.Background()
	start := time.Now()
	sim := &sim{}
	err = each(len(toks), parallel, func(i int) error {
		dir := filepath.Join(stateDir, fmt.Sprintf("c%04d", i))
		st, err := connector.Enroll(ctx, toks[i], dir, nil, "bench-simconn")
		if err != nil {
			return fmt.Errorf("connector %d: %w", i, err)
		}
		cfg, err := tunnelTLS(dir)
		if err != nil {
			return err
		}
		for n := range perConn {
			sim.add(&session{id: st.ConnectorID, n: n, addr: st.Gateways[0], tls: cfg, sim: sim})
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "simconn: %d connectors enrolled in %s\n", len(toks), time.Since(start).Round(time.Millisecond))
	err = each(len(sim.all), parallel, func(i int) error { return sim.all[i].start(ctx) })
	if err != nil {
		return err
	}
	if err := sim.wait(func(s *session) bool { return s.acked.Load() > 0 }, 2*time.Minute); err != nil {
		return err
	}
	fmt.Printf("up %d %.3f\n", len(sim.all), time.Since(start).Seconds())
	return sim.commands(bufio.NewScanner(os.Stdin))
}

// each runs f(0..n-1), at most parallel at a time, and returns the first error.
func each(n, parallel int, f func(int) error) error {
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		first error
		mu    sync.Mutex
	)
	for range min(parallel, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := f(i); err != nil {
					mu.Lock()
					first = cmpOr(first, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// tunnelTLS is the client TLS config a connector builds from its state
// directory: its certificate, and only the pinned gateway CA as root.
func tunnelTLS(dir string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "gateway-ca.pem"))
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s: the pinned CA file holds no certificate", dir)
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: roots,
		ServerName: tunnel.ServerName, NextProtos: []string{tunnel.ProtoTunnel},
	}, nil
}

// sim is every simulated session.
type sim struct {
	mu      sync.Mutex
	all     []*session
	failed  atomic.Int64
	lastErr atomic.Value // error text of the last session that ended
}

func (m *sim) add(s *session) {
	m.mu.Lock()
	m.all = append(m.all, s)
	m.mu.Unlock()
}

// wait polls until done holds for every session, one ended, or timeout.
func (m *sim) wait(done func(*session) bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if n := m.failed.Load(); n > 0 {
			return fmt.Errorf("%d sessions ended: %v", n, m.lastErr.Load())
		}
		if !slices.ContainsFunc(m.all, func(s *session) bool { return !done(s) }) {
			return nil
		}
		if time.Now().After(deadline) {
			left := 0
			for _, s := range m.all {
				if !done(s) {
					left++
				}
			}
			return fmt.Errorf("%d of %d sessions not there after %s", left, len(m.all), timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// commands answers the bench program's arm and await lines until stdin
// closes.
func (m *sim) commands(in *bufio.Scanner) error {
	for in.Scan() {
		f := strings.Fields(in.Text())
		switch {
		case len(f) == 2 && f[0] == "arm":
			for _, s := range m.all {
				s.arm(f[1])
			}
			fmt.Println("armed")
		case len(f) == 2 && f[0] == "await":
			t0, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				fmt.Println("fail bad T0:", err)
				continue
			}
			if err := m.wait(func(s *session) bool { return s.markedAt.Load() != 0 }, time.Minute); err != nil {
				fmt.Println("fail", err)
				continue
			}
			lat := make([]time.Duration, 0, len(m.all))
			for _, s := range m.all {
				lat = append(lat, time.Duration(s.markedAt.Load()-t0))
			}
			slices.Sort(lat)
			fmt.Printf("got %d %.1f %.1f\n", len(lat), ms(lat[len(lat)/2]), ms(lat[len(lat)-1]))
		default:
			fmt.Println("fail want: arm APP, or await T0")
		}
	}
	return in.Err()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

var quiet = slog.New(slog.DiscardHandler)
