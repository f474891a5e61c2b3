package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/pki"
)

func TestNginxConf(t *testing.T) {
	dir := "/tmp/bench work/nginx"
	conf := nginxConf(dir, 41001, 42002, dir+"/cert.pem", dir+"/key.pem")
	for _, want := range []string{
		"daemon off;",
		"listen 127.0.0.1:41001 ssl http2;",
		"server 127.0.0.1:42002;",
		"proxy_pass http://backend;",
		"proxy_http_version 1.1;",
		"proxy_max_temp_file_size 0;",
		"access_log off;",
		`pid "/tmp/bench work/nginx/nginx.pid";`,
		`error_log "/tmp/bench work/nginx/error.log" warn;`,
		`ssl_certificate "/tmp/bench work/nginx/cert.pem";`,
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
	// Every path nginx writes or reads is under dir: none in /var or /etc.
	paths := regexp.MustCompile(`"(/[^"]*)"`).FindAllStringSubmatch(conf, -1)
	if len(paths) < 9 {
		t.Fatalf("%d quoted paths in the config, want the pid, log, 5 temp paths, certificate and key", len(paths))
	}
	for _, p := range paths {
		if !strings.HasPrefix(p[1], dir+"/") {
			t.Errorf("path %q is outside %s", p[1], dir)
		}
	}
	if strings.Contains(conf, "/var/") || strings.Contains(conf, "/etc/") {
		t.Errorf("config names a system path:\n%s", conf)
	}
}

// TestNginxConfAccepted has the real nginx check the rendered config
// (nginx -t), with a certificate from a development CA.
func TestNginxConfAccepted(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/nginx"); err != nil {
			t.Skip("nginx is not installed (scripts/install-nginx.sh, make tools)")
		}
	}
	dir := t.TempDir()
	caDir := newDevCA(t)
	cert, key, err := writeNginxCert(caDir, dir)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(dir, 41001, 42002, cert, key)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "temp"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-t", "-p", dir+"/", "-c", conf, "-e", filepath.Join(dir, "error.log")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "test is successful") {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}

func newDevCA(t *testing.T) string {
	caDir := t.TempDir()
	_, certPEM, keyPEM, err := pki.NewCA("test CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(caDir, "dev-ca.pem"), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(caDir, "dev-ca-key.pem"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return caDir
}

// TestNginxCert: the certificate nginx gets is of the gateway's kind:
// ECDSA P-256, for demo.localhost, chained to the development CA, which
// it sends with the leaf.
func TestNginxCert(t *testing.T) {
	caDir := newDevCA(t)
	certFile, keyFile, err := writeNginxCert(caDir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(pair.Certificate) != 2 {
		t.Fatalf("chain of %d certificates, want leaf + CA", len(pair.Certificate))
	}
	k, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || k.Curve != elliptic.P256() {
		t.Fatalf("key %T, want ECDSA P-256", pair.PrivateKey)
	}
	caPEM, _ := os.ReadFile(filepath.Join(caDir, "dev-ca.pem"))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "demo.localhost"}); err != nil {
		t.Fatalf("leaf does not verify for demo.localhost against the CA: %v", err)
	}
	if _, err := writeNginxCertMissing(t); err == nil {
		t.Fatal("writeNginxCert without a CA: no error")
	}
}

func writeNginxCertMissing(t *testing.T) (string, error) {
	c, _, err := writeNginxCert(t.TempDir(), t.TempDir())
	return c, err
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tgatehouse\nVmPeak:\t 2000000 kB\nVmHWM:\t  262144 kB\nVmRSS:\t  131072 kB\nThreads:\t12\nVmSwap:\t0 kB\n"
	rss, hwm := parseStatus(strings.NewReader(status))
	if rss != 131072 || hwm != 262144 {
		t.Errorf("parseStatus: VmRSS %d, VmHWM %d; want 131072, 262144", rss, hwm)
	}
	if rss, hwm := parseStatus(strings.NewReader("VmRSS: lots kB\nVmHWM: 12\n")); rss != 0 || hwm != 0 {
		t.Errorf("parseStatus of malformed lines: %d, %d; want 0, 0", rss, hwm)
	}
	if mib(262144) != 256 {
		t.Errorf("mib(262144) = %v, want 256", mib(262144))
	}
	if got := sumPeaks(map[int]int64{1: 100, 2: 50, 3: 7}, []int{1, 2, 9}); got != 150 {
		t.Errorf("sumPeaks = %d, want 150", got)
	}
}

func TestParsePPID(t *testing.T) {
	for stat, want := range map[string]int{
		"4242 (nginx) S 4200 4242 4242 0 -1":                      4200,
		"4243 (nginx: worker (x) process) S 4242 4242 4242 0 -1 ": 4242,
	} {
		if got, ok := parsePPID(stat); !ok || got != want {
			t.Errorf("parsePPID(%q) = %d, %v; want %d", stat, got, ok, want)
		}
	}
	for _, stat := range []string{"", "12 (x", "12 (x) S", "12 (x) S notanumber"} {
		if _, ok := parsePPID(stat); ok {
			t.Errorf("parsePPID(%q): ok, want not", stat)
		}
	}
	if kids := childPids(os.Getppid()); len(kids) == 0 {
		t.Errorf("childPids of this test's parent: none, want at least this process")
	}
}

func TestRatiosVsNginx(t *testing.T) {
	r := func(direct, nginx, gh float64) round {
		m := func(rps float64) measured { return measured{load: loadResult{rps: rps}} }
		return round{direct: m(direct), nginx: m(nginx), gh: m(gh)}
	}
	rounds := []round{r(100, 50, 20), r(100, 40, 30), r(200, 100, 50)}
	// x direct: 0.2, 0.3, 0.25; x nginx: 0.4, 0.75, 0.5; nginx x direct: 0.5, 0.4, 0.5.
	if got := medianRatio(rounds, round.ratio); got != 0.25 {
		t.Errorf("median x direct = %v, want 0.25", got)
	}
	if got := medianRatio(rounds, round.vsNginx); got != 0.5 {
		t.Errorf("median x nginx-TLS = %v, want 0.5", got)
	}
	if got := medianRatio(rounds, round.nginxRatio); got != 0.5 {
		t.Errorf("median nginx x direct = %v, want 0.5", got)
	}
	bulks := []bulkRound{{direct: 1000, nginx: 500, gh: 100, gh2: 50}, {direct: 1000, nginx: 400, gh: 200, gh2: 300}}
	if got := medianRatio(bulks, bulkRound.vsNginx); got != 0.2 {
		t.Errorf("median bulk x nginx-TLS = %v, want 0.2 (the lower middle)", got)
	}
	if got := medianRatio(bulks, bulkRound.h2VsNginx); got != 0.1 {
		t.Errorf("median bulk h2 x nginx-TLS = %v, want 0.1", got)
	}
}

// TestRatioKeys: the table reads the figures under the JSON names the
// run writes them.
func TestRatioKeys(t *testing.T) {
	for _, tc := range []struct{ prefix, scenario, direct, nginx string }{
		{"gh_", "small", "ratio_small_rps", "ratio_small_vs_nginx_tls"},
		{"gh_", "large", "ratio_large_rps", "ratio_large_vs_nginx_tls"},
		{"gh_", "bulk", "ratio_bulk", "ratio_bulk_vs_nginx_tls"},
		{"gh_h2_", "bulk", "ratio_bulk_h2", "ratio_bulk_h2_vs_nginx_tls"},
		{"nginx_", "small", "ratio_nginx_tls_small_rps", ""},
		{"nginx_", "bulk", "ratio_nginx_tls_bulk", ""},
		{"direct_", "small", "", ""},
	} {
		d, n := ratioKeys(tc.prefix, tc.scenario)
		if d != tc.direct || n != tc.nginx {
			t.Errorf("ratioKeys(%q, %q) = %q, %q; want %q, %q", tc.prefix, tc.scenario, d, n, tc.direct, tc.nginx)
		}
	}
	for _, tc := range []struct {
		scenario, vs, want string
	}{{"small", "", "ratio_small_rps_round2"}, {"bulk", "", "ratio_bulk_round2"}, {"large", "_vs_nginx_tls", "ratio_large_vs_nginx_tls_round2"}} {
		if got := roundKey(tc.scenario, tc.vs, 2); got != tc.want {
			t.Errorf("roundKey(%q, %q, 2) = %q, want %q", tc.scenario, tc.vs, got, tc.want)
		}
	}
	f := figures{"ratio_small_rps": 0.25, "ratio_small_vs_nginx_tls": 0.5}
	if d, n := ratioCells(f, "gh_", "small", true); d != "0.25" || n != "0.50" {
		t.Errorf("ratioCells gatehouse small = %q, %q", d, n)
	}
	if d, n := ratioCells(f, "nginx_", "small", true); n != "1.00" || d != "0.00" {
		t.Errorf("ratioCells nginx small = %q, %q", d, n)
	}
	if _, n := ratioCells(f, "gh_", "small", false); n != "-" {
		t.Errorf("ratioCells without nginx: %q, want -", n)
	}
}
