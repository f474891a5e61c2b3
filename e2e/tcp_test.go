package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"
)

// TCP apps end to end: a real gateway and connector, a TCP echo backend
// and a real OpenSSH sshd. The client side is a WebSocket client in the
// test speaking the wire contract of `gatehouse connect` (reserved.TCP,
// subprotocol gatehouse-tcp, Authorization: Bearer).
func TestTCPApps(t *testing.T) {
	echo := newTCPEcho(t)
	sum := sha256.Sum256([]byte("Bearer tok-alice"))
	auth := fmt.Sprintf("{plugin: apikeys, config: {header: Authorization, keys: [{sha256: %s, subject: alice, groups: [admins]}]}}", hex.EncodeToString(sum[:]))
	base := gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf("  - {name: apikeys, path: %q, sha256: %s}\n", customSSOBin, fileSum(t, customSSOBin))}
	sshd := startSSHD(t)
	apps := []appSpec{
		{Name: "echo", Host: "echo.localhost", Group: "default", Auth: auth, Access: "{groups: [admins]}",
			TCP: fmt.Sprintf("{backend: %q, recheck: 1s}", echo.addr)},
		{Name: "denied", Host: "denied.localhost", Group: "default", Auth: auth, Access: "{groups: [nobody]}",
			TCP: fmt.Sprintf("{backend: %q}", echo.addr)},
	}
	if sshd != nil {
		apps = append(apps, appSpec{Name: "ssh", Host: "ssh.localhost", Group: "default", Auth: auth, TCP: fmt.Sprintf("{backend: %q}", sshd.addr)})
	}
	g := startGatewayWith(t, base, apps)
	conn := enrollConnector(t, g, "connector", "default")
	dial := func(host, token string) (net.Conn, *http.Response, error) {
		h := http.Header{}
		if token != "" {
			h.Set("Authorization", "Bearer "+token)
		}
		ws, resp, err := websocket.Dial(context.Background(), "https://"+host+"/.gatehouse/tcp", &websocket.DialOptions{
			HTTPClient: g.client(false), HTTPHeader: h, Subprotocols: []string{"gatehouse-tcp"}})
		if err != nil {
			return nil, resp, err
		}
		if ws.Subprotocol() != "gatehouse-tcp" {
			t.Fatalf("subprotocol %q", ws.Subprotocol())
		}
		ws.SetReadLimit(-1)
		return websocket.NetConn(context.Background(), ws, websocket.MessageBinary), resp, nil
	}
	eventually(t, "the connector to serve the echo app", func() bool {
		c, _, err := dial("echo.localhost", "tok-alice")
		if err != nil {
			return false
		}
		defer c.Close()
		_, _ = c.Write([]byte("ping"))
		b := make([]byte, 4)
		_, err = io.ReadFull(c, b)
		return err == nil && string(b) == "ping"
	})

	t.Run("echo round trip of 4 MiB with checksums", func(t *testing.T) {
		c, _, err := dial("echo.localhost", "tok-alice")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		data := make([]byte, 4<<20)
		_, _ = rand.Read(data)
		go func() { _, _ = c.Write(data) }()
		got := make([]byte, len(data))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("reading the echo: %v", err)
		}
		if sha256.Sum256(got) != sha256.Sum256(data) {
			t.Fatal("the echo's checksum differs from what was sent")
		}
	})

	t.Run("no session: 401 and the backend sees no connection", func(t *testing.T) {
		before := echo.accepted.Load()
		for _, tok := range []string{"", "tok-wrong"} {
			_, resp, err := dial("echo.localhost", tok)
			if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("token %q: want 401, got %v %v", tok, status(resp), err)
			}
		}
		if n := echo.accepted.Load() - before; n != 0 {
			t.Fatalf("the backend saw %d connections", n)
		}
	})

	t.Run("access denied: 403", func(t *testing.T) {
		before := echo.accepted.Load()
		_, resp, err := dial("denied.localhost", "tok-alice")
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("want 403, got %v %v", status(resp), err)
		}
		if n := echo.accepted.Load() - before; n != 0 {
			t.Fatalf("the backend saw %d connections", n)
		}
	})

	t.Run("other paths of a TCP app's host are a 404 page", func(t *testing.T) {
		r := getWith(t, g.client(false), "https://echo.localhost/", "Authorization", "Bearer tok-alice")
		if r.Status != http.StatusNotFound || !strings.Contains(r.Body, "gatehouse connect") {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	})

	t.Run("sessions revoke closes an open connection", func(t *testing.T) {
		c, _, err := dial("echo.localhost", "tok-alice")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 1)
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := runCmd(t, g.dir, gatehouseBin, "sessions", "revoke", "--config", g.configPath, "--user", "alice")
		if code != 0 {
			t.Fatalf("sessions revoke: exit %d %q %q", code, out, errOut)
		}
		ended := make(chan error, 1)
		go func() { _, err := c.Read(b); ended <- err }() // blocks until the gateway closes it
		if err := <-ended; err == nil {
			t.Fatal("read a byte after revocation")
		}
		g.proc.log.waitLines(t, "the gateway's access line", 1, "msg=access", "app=echo", "user=alice", "end=revoked")
		conn.log.waitLines(t, "the connector's access line", 1, "msg=access", "app=echo", "method=TCP", "end=")
	})

	t.Run("ssh runs a command through the tunnel", func(t *testing.T) {
		if sshd == nil {
			t.Skip("OpenSSH is not installed (make tools runs scripts/install-ssh.sh)")
		}
		before := sshd.log.Count("Connection from")
		if _, resp, err := dial("ssh.localhost", ""); err == nil || status(resp) != http.StatusUnauthorized {
			t.Fatalf("without a session: want 401, got %v %v", status(resp), err)
		}
		if n := sshd.log.Count("Connection from"); n != before {
			t.Fatalf("sshd logged %d connections without a session", n-before)
		}
		// A new token: alice's earlier ones were revoked above. The
		// real client, as ssh's ProxyCommand, carries the connection.
		proxy := fmt.Sprintf("%s connect https://ssh.localhost --stdio --token tok-alice --ca-file %s --connect-to %s",
			gatehouseBin, g.devCAFile(), g.public)
		out := sshd.run(t, "-o", "ProxyCommand="+proxy)
		if strings.TrimSpace(out) != "hello from sshd" {
			t.Fatalf("ssh printed %q", out)
		}
	})

	t.Run("gatehouse connect --listen carries each local connection", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		addr := ln.Addr().String()
		ln.Close()
		client := startProc(t, "connect", gatehouseBin, "connect", "https://echo.localhost", "--listen", addr,
			"--token", "tok-alice", "--ca-file", g.devCAFile(), "--connect-to", g.public)
		defer client.kill()
		eventually(t, "gatehouse connect to listen", func() bool {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
		for i := range 3 {
			c, err := net.Dial("tcp", addr)
			must(t, err)
			msg := []byte(fmt.Sprintf("connection %d through gatehouse connect", i))
			_, err = c.Write(msg)
			must(t, err)
			got := make([]byte, len(msg))
			_, err = io.ReadFull(c, got)
			must(t, err)
			c.Close()
			if !bytes.Equal(got, msg) {
				t.Fatalf("echo returned %q, want %q", got, msg)
			}
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func status(r *http.Response) int {
	if r == nil {
		return 0
	}
	return r.StatusCode
}

// tcpEcho echoes every connection and counts them.
type tcpEcho struct {
	addr     string
	accepted atomic.Int64
}

func newTCPEcho(t *testing.T) *tcpEcho {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	e := &tcpEcho{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.accepted.Add(1)
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return e
}

// sshServer is a real sshd on loopback with a key made for the test.
type sshServer struct {
	addr, dir, key string
	log            *logBuffer
}

// startSSHD starts sshd, or returns nil when OpenSSH is not installed.
func startSSHD(t *testing.T) *sshServer {
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		return nil
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		return nil
	}
	dir := t.TempDir()
	s := &sshServer{addr: freeAddr(t), dir: dir, key: filepath.Join(dir, "id")}
	for _, args := range [][]string{
		{"-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "host")},
		{"-q", "-t", "ed25519", "-N", "", "-f", s.key},
	} {
		if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
	}
	pub, err := os.ReadFile(s.key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600))
	_, port, _ := net.SplitHostPort(s.addr)
	cfg := filepath.Join(dir, "sshd_config")
	must(t, os.WriteFile(cfg, fmt.Appendf(nil, "ListenAddress 127.0.0.1\nHostKey %s\nPidFile %s\nAuthorizedKeysFile %s\nStrictModes no\n"+
		"PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin prohibit-password\nLogLevel VERBOSE\n",
		filepath.Join(dir, "host"), filepath.Join(dir, "sshd.pid"), filepath.Join(dir, "authorized_keys")), 0o600))
	_ = os.MkdirAll("/run/sshd", 0o755) // sshd's privilege separation directory
	p := startProc(t, "sshd", "/usr/sbin/sshd", "-D", "-e", "-f", cfg, "-p", port)
	s.log = &p.log
	p.log.waitLines(t, "sshd to listen", 1, "Server listening on 127.0.0.1")
	return s
}

// run runs "echo hello from sshd" over ssh with the extra options opts
// (the ProxyCommand that carries the connection).
func (s *sshServer) run(t *testing.T, opts ...string) string {
	var stdout, stderr bytes.Buffer
	args := append([]string{"-F", "/dev/null", "-i", s.key, "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"}, opts...)
	cmd := exec.Command("ssh", append(args, "root@ssh.localhost", "echo hello from sshd")...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ssh: %v\n%s", err, stderr.String())
	}
	return stdout.String()
}
