package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Half-close and a long upload through the real client: `gatehouse
// connect` sends a text "eof" when its input ends, the gateway passes it
// on as a yamux FIN and the connector CloseWrites the backend, which then
// answers. The backend is a hash sink: it reads each connection to EOF
// and answers "BYTES SHA256HEX\n".

// tcpUploadSize is the long upload of must-show 3.
const tcpUploadSize = 1 << 30

func TestTCPHalfClose(t *testing.T) {
	sink := newHashSink(t)
	g, conn, addr := startTCPClientSetup(t, sink.addr)

	t.Run("--listen: the local write side's close reaches the backend", func(t *testing.T) {
		for _, msg := range []string{"", "hello", strings.Repeat("x", 3<<20+7)} {
			c, err := net.Dial("tcp", addr)
			must(t, err)
			_, err = io.WriteString(c, msg)
			must(t, err)
			must(t, c.(*net.TCPConn).CloseWrite()) // the backend answers only after EOF
			got, err := io.ReadAll(c)
			c.Close()
			must(t, err)
			if want := sinkAnswer([]byte(msg)); string(got) != want {
				t.Fatalf("sent %d bytes: the backend answered %q, want %q", len(msg), got, want)
			}
		}
	})

	t.Run("--stdio: standard input's end reaches the backend", func(t *testing.T) {
		data := []byte("nc-style: send, then wait for the answer\n")
		cmd := exec.Command(gatehouseBin, "connect", "https://sink.localhost", "--stdio", "--token", "tok-alice",
			"--ca-file", g.devCAFile(), "--connect-to", g.public)
		var out, errOut bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(data), &out, &errOut
		if err := cmd.Run(); err != nil { // it exits once the backend has answered and closed
			t.Fatalf("gatehouse connect --stdio: %v\n%s", err, errOut.String())
		}
		if want := sinkAnswer(data); out.String() != want {
			t.Fatalf("stdout %q, want %q", out.String(), want)
		}
	})
	conn.log.waitLines(t, "the connector's access lines", 4, "msg=access", "app=sink", "method=TCP", "end=client_closed")
	g.proc.log.waitLines(t, "the gateway's access lines", 4, "msg=access", "app=sink", "user=alice", "end=backend_closed")
}

// TestTCPUpload moves 1 GiB through `gatehouse connect --listen`, the
// gateway and the connector to the hash sink, checks its SHA-256, and
// samples the gateway's and connector's RSS every 100 ms meanwhile.
func TestTCPUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: moves 1 GiB through gatehouse connect, gateway and connector")
	}
	sink := newHashSink(t)
	g, conn, addr := startTCPClientSetup(t, sink.addr)
	procs := []*proc{g.proc, conn.proc}
	stop := make(chan struct{})
	peaks := make([]int64, len(procs))
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			for i, p := range procs {
				peaks[i] = max(peaks[i], vmRSS(p.pid()))
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	c, err := net.Dial("tcp", addr)
	must(t, err)
	defer c.Close()
	gen := &generator{left: tcpUploadSize, rng: rand.NewChaCha8([32]byte{21}), sum: sha256.New()}
	start := time.Now()
	n, err := io.CopyBuffer(c, gen, make([]byte, 64<<10))
	if err != nil {
		t.Fatalf("upload: %v after %d bytes", err, n)
	}
	must(t, c.(*net.TCPConn).CloseWrite())
	got, err := io.ReadAll(c)
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	must(t, err)
	if want := fmt.Sprintf("%d %s\n", tcpUploadSize, hex.EncodeToString(gen.sum.Sum(nil))); string(got) != want {
		t.Fatalf("the backend answered %q, want %q", got, want)
	}
	t.Logf("1 GiB through gatehouse connect in %v (%.0f MiB/s)", elapsed.Round(time.Millisecond), float64(tcpUploadSize>>20)/elapsed.Seconds())
	for i, p := range procs {
		p.requireAlive(t)
		hwm := vmHWM(t, p.pid())
		t.Logf("%s: max sampled RSS %.1f MiB, peak RSS (VmHWM) %.1f MiB", p.name, mib(peaks[i]), mib(hwm))
		if peaks[i] == 0 {
			t.Errorf("%s: no RSS sample was read", p.name)
		}
		if max(peaks[i], hwm) >= rssLimit {
			t.Errorf("%s: RSS reached %.1f MiB, over %d MiB, while carrying 1 GiB", p.name, mib(max(peaks[i], hwm)), rssLimit>>20)
		}
	}
	conn.log.waitLines(t, "the connector's access line", 1, "msg=access", "app=sink", "bytes_in="+strconv.Itoa(tcpUploadSize))
}

// startTCPClientSetup starts a gateway with the TCP app "sink" at
// sink.localhost (bearer token tok-alice) for backend, a connector, and
// `gatehouse connect --listen`; it returns the address it listens on
// once a connection through it reaches the backend.
func startTCPClientSetup(t *testing.T, backend string) (*gatewayProc, *connectorProc, string) {
	t.Helper()
	sum := sha256.Sum256([]byte("Bearer tok-alice"))
	auth := fmt.Sprintf("{plugin: apikeys, config: {header: Authorization, keys: [{sha256: %s, subject: alice, groups: [admins]}]}}", hex.EncodeToString(sum[:]))
	base := gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf("  - {name: apikeys, path: %q, sha256: %s}\n", customSSOBin, fileSum(t, customSSOBin))}
	g := startGatewayWith(t, base, []appSpec{{Name: "sink", Host: "sink.localhost", Group: "default", Auth: auth,
		Access: "{groups: [admins]}", TCP: fmt.Sprintf("{backend: %q}", backend)}})
	conn := enrollConnector(t, g, "connector", "default")
	addr := freeAddr(t)
	client := startProc(t, "connect", gatehouseBin, "connect", "https://sink.localhost", "--listen", addr,
		"--token", "tok-alice", "--ca-file", g.devCAFile(), "--connect-to", g.public)
	t.Cleanup(client.kill)
	eventually(t, "a connection through gatehouse connect to reach the backend", func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		defer c.Close()
		_ = c.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(c)
		return string(b) == sinkAnswer(nil)
	})
	return g, conn, addr
}

// hashSink reads each connection to EOF, then answers with the byte
// count and SHA-256 and closes.
type hashSink struct{ addr string }

func newHashSink(t *testing.T) *hashSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				h := sha256.New()
				n, err := io.CopyBuffer(h, c, make([]byte, 64<<10))
				if err == nil {
					fmt.Fprintf(c, "%d %s\n", n, hex.EncodeToString(h.Sum(nil)))
				}
			}()
		}
	}()
	return &hashSink{addr: ln.Addr().String()}
}

func sinkAnswer(b []byte) string {
	s := sha256.Sum256(b)
	return fmt.Sprintf("%d %s\n", len(b), hex.EncodeToString(s[:]))
}

// vmRSS is pid's resident set size now, 0 if it cannot be read.
func vmRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
