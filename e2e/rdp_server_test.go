package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// rdpTools are the Debian binaries the RDP test runs (scripts/install-rdp.sh).
type rdpTools struct {
	xrdp, xfreerdp, xvfb, xwd string
}

// findRDPTools returns the tools, or the name of the first one missing.
func findRDPTools() (rdpTools, string) {
	var tl rdpTools
	for _, f := range []struct {
		dst  *string
		name string
	}{{&tl.xrdp, "xrdp"}, {&tl.xfreerdp, "xfreerdp"}, {&tl.xvfb, "Xvfb"}, {&tl.xwd, "xwd"}} {
		p, err := exec.LookPath(f.name)
		if err != nil {
			if _, serr := os.Stat("/usr/sbin/" + f.name); serr != nil {
				return tl, f.name
			}
			p = "/usr/sbin/" + f.name
		}
		*f.dst = p
	}
	return tl, ""
}

// xrdpServer is a real xrdp on loopback: in the foreground (--nodaemon),
// with its own xrdp.ini, key and certificate in a temporary directory, so
// it needs no system service, no xrdp-sesman (only needed after a login)
// and writes nothing outside the directory. It runs as the test's user
// (root here); with fork=false it serves connections in its own process.
type xrdpServer struct {
	addr    string
	logFile string // xrdp's log (its console is block-buffered in a pipe)
	proc    *proc
}

// lines returns xrdp's log lines that contain every one of subs.
func (s *xrdpServer) lines(subs ...string) []string {
	b, _ := os.ReadFile(s.logFile)
	var l logBuffer
	_, _ = l.Write(b)
	return l.lines(subs...)
}

// tail returns at most the last n bytes of xrdp's log.
func (s *xrdpServer) tail(n int) string {
	b, _ := os.ReadFile(s.logFile)
	if len(b) > n {
		return "…" + string(b[len(b)-n:])
	}
	return string(b)
}

// The login screen's colours the test sets in xrdp.ini (blue: the
// desktop and the title bar; grey: the login window) and then finds in the
// screenshot: proof the pixels came from xrdp.
const (
	xrdpBlueRGB = "009cb5"
	xrdpGreyRGB = "dedede"
)

func startXRDP(t *testing.T, bin string) *xrdpServer {
	t.Helper()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeXRDPCert(t, cert, key)
	s := &xrdpServer{addr: freeAddr(t), logFile: filepath.Join(dir, "xrdp.log")}
	ini := fmt.Sprintf(`[Globals]
ini_version=1
fork=false
port=tcp://%s
tcp_nodelay=true
security_layer=tls
crypt_level=high
certificate=%s
key_file=%s
ssl_protocols=TLSv1.2, TLSv1.3
max_bpp=32
allow_channels=true
bitmap_cache=true
bitmap_compression=true
bulk_compression=true
new_cursors=true
use_fastpath=both
blue=%[4]s
grey=%[5]s
ls_top_window_bg_color=%[4]s
ls_bg_color=%[5]s
ls_title=Gatehouse RDP test
ls_width=350
ls_height=430
[Logging]
LogFile=%[6]s
LogLevel=INFO
EnableSyslog=false
EnableConsole=true
ConsoleLevel=INFO
[Channels]
rdpdr=true
rdpsnd=true
drdynvc=true
cliprdr=true
rail=true
[Xorg]
name=Xorg
lib=libxup.so
username=ask
password=ask
ip=127.0.0.1
port=-1
code=20
`, s.addr, cert, key, xrdpBlueRGB, xrdpGreyRGB, s.logFile)
	cfg := filepath.Join(dir, "xrdp.ini")
	must(t, os.WriteFile(cfg, []byte(ini), 0o600))
	s.proc = startProc(t, "xrdp", bin, "--nodaemon", "--config", cfg)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- xrdp's log file ----\n%s", s.tail(16<<10))
		}
	})
	_, port, _ := net.SplitHostPort(s.addr)
	eventually(t, "xrdp to listen", func() bool {
		s.proc.requireAlive(t)
		return len(s.lines("listening to port "+port)) > 0
	})
	return s
}

// writeXRDPCert writes an RSA key and a self-signed certificate for
// xrdp's TLS (xfreerdp runs with /cert:ignore: the certificate of the RDP
// server is not what this test is about).
func writeXRDPCert(t *testing.T, certFile, keyFile string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: serial(t), Subject: pkix.Name{CommonName: "xrdp e2e"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	must(t, err)
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600))
}

// startMerged is startProc with extra environment and stdout and stderr in
// one log (FreeRDP's WLog writes errors to stderr, the rest to stdout).
func startMerged(t *testing.T, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Env = append(append(os.Environ(), "GATEHOUSE_TOKEN="), env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("---- %s (pid %d) log ----\n%s", p.name, p.pid(), p.log.tail(32<<10))
		}
	})
	return p
}
