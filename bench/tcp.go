package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The TCP scenario: one bulk upload (-tcp-bulk, default 512m) on one
// connection to a TCP sink in this program, direct and through a TCP app
// (`gatehouse connect --listen` → gateway WebSocket → connector → the
// same sink). The client half-closes when it has sent everything; the
// sink answers with the byte count it read, and the time is taken when
// that answer arrives, so both paths are timed to the last byte at the
// backend. It needs the custom-SSO plug-in (-sso): a TCP app needs sign-in.

// tcpToken is the bearer token of the TCP app (apikeys, header
// Authorization).
const tcpToken = "bench-tcp-token"

// tcpEnv is the TCP scenario's sink and client.
type tcpEnv struct {
	sink   net.Listener
	listen string // gatehouse connect --listen
	client *proc
}

// startTCPSink listens on loopback; every connection is read to its end,
// then answered with the byte count.
func startTCPSink() (*tcpEnv, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				n, err := io.CopyBuffer(io.Discard, c, make([]byte, 256<<10))
				if err == nil {
					fmt.Fprintf(c, "%d\n", n)
				}
			}()
		}
	}()
	return &tcpEnv{sink: ln}, nil
}

// tcpAppConfig is the TCP app's entry in apps.
func tcpAppConfig(sink string) string {
	key := sha256.Sum256([]byte("Bearer " + tcpToken))
	return fmt.Sprintf(`  - name: tcp
    host: tcp.localhost
    group: bench
    auth: {plugin: apikeys, config: {header: Authorization, keys: [{sha256: %s, subject: bench, groups: [staff]}]}}
    tcp: {backend: %q}
`, hex.EncodeToString(key[:]), sink)
}

// startTCPClient starts gatehouse connect --listen for the TCP app and
// waits until an upload goes through it.
func (te *tcpEnv) startTCPClient(o options, ps *procs, caFile, publicAddr string, watch []*proc) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	te.listen = fmt.Sprintf("127.0.0.1:%d", port)
	tokFile := filepath.Join(o.work, "tcp-token")
	if err := os.WriteFile(tokFile, []byte(tcpToken), 0o600); err != nil {
		return err
	}
	te.client, err = ps.start("connect", filepath.Join(o.bin, "gatehouse"), "connect", "https://tcp.localhost",
		"--listen", te.listen, "--token-file", tokFile, "--ca-file", caFile, "--connect-to", publicAddr)
	if err != nil {
		return err
	}
	return waitUntil("an upload through gatehouse connect", 30*time.Second, append(watch, te.client), func() error {
		_, err := tcpUpload(te.listen, 1<<20)
		return err
	})
}

// tcpUpload sends size bytes on one connection to addr, half-closes, and
// returns MB/s once the sink has answered with the right count.
func tcpUpload(addr string, size int64) (float64, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Minute))
	buf := make([]byte, 256<<10)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	start := time.Now()
	for left := size; left > 0; {
		n, err := c.Write(buf[:min(int64(len(buf)), left)])
		if err != nil {
			return 0, fmt.Errorf("upload to %s after %d bytes: %w", addr, size-left, err)
		}
		left -= int64(n)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return 0, err
	}
	ans, err := io.ReadAll(io.LimitReader(c, 64))
	elapsed := time.Since(start).Seconds()
	if err != nil {
		return 0, fmt.Errorf("upload to %s: reading the sink's answer: %w", addr, err)
	}
	if got, err := strconv.ParseInt(strings.TrimSpace(string(ans)), 10, 64); err != nil || got != size {
		return 0, fmt.Errorf("upload to %s: the sink read %q bytes, want %d", addr, ans, size)
	}
	return float64(size) / elapsed / 1e6, nil
}

// runTCP runs the TCP rounds (direct, then through Gatehouse) and adds
// the figures: the round with the median ratio and every round's ratio.
// Memory is not sampled here: the processes still hold what the earlier
// scenarios made resident (e2e TestTCPUpload bounds it on fresh ones).
func runTCP(o options, e *env, fig figures, say func(string, ...any)) error {
	size, err := sizeOf(o.tcpBulk) // checked in main
	if err != nil {
		return err
	}
	type tcpRound struct{ direct, gh float64 }
	var rounds []tcpRound
	for i := range o.rounds {
		var r tcpRound
		say("TCP: one %s upload direct to the sink (round %d of %d)", o.tcpBulk, i+1, o.rounds)
		if r.direct, err = tcpUpload(e.tcp.sink.Addr().String(), size); err != nil {
			return err
		}
		say("TCP: one %s upload through gatehouse connect (round %d of %d)", o.tcpBulk, i+1, o.rounds)
		if r.gh, err = tcpUpload(e.tcp.listen, size); err != nil {
			return err
		}
		fig[fmt.Sprintf("ratio_tcp_round%d", i+1)] = r.gh / r.direct
		rounds = append(rounds, r)
	}
	m := medianBy(rounds, func(r tcpRound) float64 { return r.gh / r.direct })
	fig["direct_tcp_mbps"], fig["gh_tcp_mbps"], fig["ratio_tcp"] = m.direct, m.gh, m.gh/m.direct
	return nil
}

// reportTCP prints the TCP scenario's lines, if it ran.
func reportTCP(o options, f figures) {
	if f["gh_tcp_mbps"] == 0 {
		fmt.Println("TCP app: not measured (it needs the custom-SSO plug-in, -sso: a TCP app needs sign-in)")
		return
	}
	fmt.Printf("TCP app, one %s upload on one connection (gatehouse connect --listen, WebSocket, tunnel, connector):\n"+
		"  direct %.1f MB/s; through Gatehouse %.1f MB/s: ratio_tcp=%.3f; by round:", o.tcpBulk, f["direct_tcp_mbps"], f["gh_tcp_mbps"], f["ratio_tcp"])
	for i := 1; i <= o.rounds; i++ {
		fmt.Printf(" %.3f", f[fmt.Sprintf("ratio_tcp_round%d", i)])
	}
	fmt.Println()
}
