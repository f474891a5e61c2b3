package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// loadResult is what one load-generator run measured.
type loadResult struct {
	requests  int64
	seconds   float64
	rps       float64
	p50, p99  time.Duration
	bytesRead int64 // body and headers
}

func (r loadResult) mbps() float64 { return float64(r.bytesRead) / r.seconds / 1e6 }

// loadSpec is one load scenario against one target.
type loadSpec struct {
	path     string // e.g. /bytes/100
	body     int64  // expected body size
	conns    int
	threads  int
	duration time.Duration
}

// runWrk runs wrk and parses its report. It fails on non-2xx/3xx
// answers, on socket errors, and on responses smaller than the body.
func runWrk(t *target, s loadSpec) (loadResult, error) {
	args := []string{
		"-t" + strconv.Itoa(s.threads), "-c" + strconv.Itoa(s.conns),
		"-d" + strconv.Itoa(int(s.duration.Seconds())) + "s", "--latency",
	}
	if t.host != "" {
		args = append(args, "-H", "Host: "+t.host)
	}
	for k, vs := range t.header {
		for _, v := range vs {
			args = append(args, "-H", k+": "+v)
		}
	}
	args = append(args, t.base+s.path)
	cmd := exec.Command("wrk", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the bench
	out, err := cmd.CombinedOutput()
	if err != nil {
		return loadResult{}, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	r, err := parseWrk(string(out))
	if err != nil {
		return r, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	// wrk prints the total read with two decimals ("11.67GB"): allow 1 %
	// for that rounding; an error page is far smaller than the body.
	if r.requests > 0 && r.bytesRead/r.requests < s.body*99/100 {
		return r, fmt.Errorf("wrk %s: %d bytes per response, want at least the %d-byte body (error pages?)\n%s",
			strings.Join(args, " "), r.bytesRead/r.requests, s.body, out)
	}
	return r, nil
}

var (
	wrkTotal   = regexp.MustCompile(`(\d+) requests in ([\d.]+)(us|ms|s|m), ([\d.]+)([KMGT]?B) read`)
	wrkPercent = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$`)
	wrkSocket  = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

func parseWrk(out string) (loadResult, error) {
	var r loadResult
	m := wrkTotal.FindStringSubmatch(out)
	if m == nil {
		return r, errors.New("no request total in wrk's output")
	}
	r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	r.seconds = parseDur(m[2], m[3]).Seconds()
	r.bytesRead = int64(parseSize(m[4], m[5]))
	if r.requests == 0 || r.seconds == 0 {
		return r, errors.New("wrk completed no request")
	}
	r.rps = float64(r.requests) / r.seconds
	for _, p := range wrkPercent.FindAllStringSubmatch(out, -1) {
		d := parseDur(p[2], p[3])
		if p[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if r.p50 == 0 || r.p99 == 0 {
		return r, errors.New("no latency distribution in wrk's output (--latency)")
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		return r, fmt.Errorf("%s responses were not 2xx or 3xx", m[1])
	}
	if m := wrkSocket.FindStringSubmatch(out); m != nil {
		return r, fmt.Errorf("socket errors: connect %s, read %s, write %s, timeout %s", m[1], m[2], m[3], m[4])
	}
	return r, nil
}

func parseDur(num, unit string) time.Duration {
	f, _ := strconv.ParseFloat(num, 64)
	switch unit {
	case "us":
		return time.Duration(f * float64(time.Microsecond))
	case "ms":
		return time.Duration(f * float64(time.Millisecond))
	case "m":
		return time.Duration(f * float64(time.Minute))
	}
	return time.Duration(f * float64(time.Second))
}

// parseSize reads wrk's binary units (KB is 1024 bytes).
func parseSize(num, unit string) float64 {
	f, _ := strconv.ParseFloat(num, 64)
	return f * map[string]float64{"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}[unit]
}

// runGoLoad is the fallback when wrk cannot be installed: a closed loop
// of s.conns workers, each with its own keep-alive connection.
func runGoLoad(t *target, s loadSpec) (loadResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.duration)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var bytes int64
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range s.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			var n int64
			buf := make([]byte, 64<<10)
			for ctx.Err() == nil {
				t0 := time.Now()
				resp, err := t.get(ctx, s.path)
				if err != nil {
					if ctx.Err() == nil {
						mu.Lock()
						firstErr = cmpErr(firstErr, err)
						mu.Unlock()
					}
					break
				}
				got, err := io.CopyBuffer(io.Discard, resp.Body, buf)
				resp.Body.Close()
				if ctx.Err() != nil {
					break
				}
				if err != nil || resp.StatusCode != 200 || got != s.body {
					mu.Lock()
					firstErr = cmpErr(firstErr, fmt.Errorf("%s: %d body bytes, %v", resp.Status, got, err))
					mu.Unlock()
					break
				}
				mine = append(mine, time.Since(t0))
				n += got
			}
			mu.Lock()
			lat = append(lat, mine...)
			bytes += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	if firstErr != nil {
		return loadResult{}, firstErr
	}
	if len(lat) == 0 {
		return loadResult{}, errors.New("no request completed")
	}
	slices.Sort(lat)
	return loadResult{
		requests: int64(len(lat)), seconds: elapsed, rps: float64(len(lat)) / elapsed,
		p50: lat[len(lat)/2], p99: lat[len(lat)*99/100], bytesRead: bytes,
	}, nil
}

func cmpErr(old, new error) error {
	if old != nil {
		return old
	}
	return new
}

// bulk downloads one large body on a single stream and returns MB/s.
func bulk(t *target, path string, size int64) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	resp, err := t.get(ctx, path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.CopyBuffer(io.Discard, resp.Body, make([]byte, 256<<10))
	elapsed := time.Since(start).Seconds()
	if err != nil {
		return 0, fmt.Errorf("%s%s after %d bytes: %w", t.base, path, n, err)
	}
	if resp.StatusCode != 200 || n != size {
		return 0, fmt.Errorf("%s%s: %s with %d bytes, want 200 with %d", t.base, path, resp.Status, n, size)
	}
	return float64(n) / elapsed / 1e6, nil
}
