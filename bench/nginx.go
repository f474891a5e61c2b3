package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/pki"
)

// The reference path: nginx (the Debian package; scripts/install-nginx.sh)
// terminating TLS on loopback in front of the same minimal backend the
// ratios use, with a certificate of the same kind as the gateway's (ECDSA
// P-256, issued by the gateway's development CA, chain leaf + CA). It is
// what a user would assemble without Gatehouse, minus any tunnel, so the
// figures ×nginx-TLS say how far the tunnel, identity and policy are from
// plain TLS termination on this machine, in this run.

// nginxConf renders nginx's configuration: everything under dir (pid,
// logs, temp paths), `daemon off;` so that the bench manages the
// process, HTTP/1.1 and HTTP/2 over TLS on 127.0.0.1:port, and a
// keep-alive upstream to the backend on 127.0.0.1:backendPort. Proxy
// buffering stays on, in memory only (proxy_max_temp_file_size 0):
// nginx streams a large body as the gateway does, never through a file.
func nginxConf(dir string, port, backendPort int, certFile, keyFile string) string {
	p := func(name string) string { return strconv.Quote(filepath.Join(dir, name)) }
	return fmt.Sprintf(`# written by bench/ for one benchmark run
daemon off;
master_process on;
worker_processes auto;
pid %[1]s;
error_log %[2]s warn;

events {
    worker_connections 4096;
}

http {
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path %[3]s;
    proxy_temp_path %[4]s;
    fastcgi_temp_path %[5]s;
    uwsgi_temp_path %[6]s;
    scgi_temp_path %[7]s;
    keepalive_requests 1000000;
    keepalive_timeout 75s;

    upstream backend {
        server 127.0.0.1:%[8]d;
        keepalive 128;
    }

    server {
        listen 127.0.0.1:%[9]d ssl http2;
        server_name demo.localhost;
        ssl_certificate %[10]q;
        ssl_certificate_key %[11]q;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:bench:1m;

        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_buffering on;
            proxy_buffer_size 64k;
            proxy_buffers 8 64k;
            proxy_busy_buffers_size 128k;
            proxy_max_temp_file_size 0;
        }
    }
}
`, p("nginx.pid"), p("error.log"), p("temp/body"), p("temp/proxy"), p("temp/fastcgi"), p("temp/uwsgi"), p("temp/scgi"),
		backendPort, port, certFile, keyFile)
}

// writeNginxCert issues a server certificate for demo.localhost from the
// gateway's development CA (in caDir) and writes it, with the CA as its
// chain as the gateway sends it, and its key into dir.
func writeNginxCert(caDir, dir string) (certFile, keyFile string, err error) {
	certPEM, err1 := os.ReadFile(filepath.Join(caDir, "dev-ca.pem"))
	keyPEM, err2 := os.ReadFile(filepath.Join(caDir, "dev-ca-key.pem"))
	if err1 != nil || err2 != nil {
		return "", "", fmt.Errorf("nginx certificate: reading the gateway's development CA in %s: %v %v", caDir, err1, err2)
	}
	ca, err := pki.ParseCA(certPEM, keyPEM)
	if err != nil {
		return "", "", fmt.Errorf("nginx certificate: %w", err)
	}
	c, err := ca.IssueServer([]string{"demo.localhost"}, 24*time.Hour, time.Now())
	if err != nil {
		return "", "", fmt.Errorf("nginx certificate: %w", err)
	}
	var chain []byte
	for _, der := range c.Certificate {
		chain = append(chain, pki.CertPEM(der)...)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		return "", "", fmt.Errorf("nginx certificate key: %w", err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, chain, 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// startNginx writes nginx's directory (work/nginx), starts it in the
// foreground under ps and waits until it proxies a request to the
// backend. It returns the process, the target (HTTPS, Host
// demo.localhost, trusting the development CA) and the workers' pids.
func startNginx(nginxBin, work, caDir string, backendPort int, watch []*proc, ps *procs) (*proc, *target, []int, error) {
	dir := filepath.Join(work, "nginx")
	if err := os.MkdirAll(filepath.Join(dir, "temp"), 0o755); err != nil {
		return nil, nil, nil, err
	}
	certFile, keyFile, err := writeNginxCert(caDir, dir)
	if err != nil {
		return nil, nil, nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, nil, nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(dir, port, backendPort, certFile, keyFile)), 0o644); err != nil {
		return nil, nil, nil, err
	}
	// -e: the error log before the config is read, instead of /var/log/nginx.
	p, err := ps.start("nginx", nginxBin, "-p", dir+"/", "-c", conf, "-e", filepath.Join(dir, "error.log"))
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := gatewayClient(filepath.Join(caDir, "dev-ca.pem"), "demo.localhost", false)
	if err != nil {
		return nil, nil, nil, err
	}
	t := &target{name: "nginx TLS", base: fmt.Sprintf("https://127.0.0.1:%d", port), host: "demo.localhost", client: c}
	if err := waitUntil("nginx", 20*time.Second, append(watch, p), func() error { return t.probe("/bytes/100", 100) }); err != nil {
		return nil, nil, nil, fmt.Errorf("%w (error log: %s)", err, tail(filepath.Join(dir, "error.log"), 10))
	}
	workers := childPids(p.pid())
	if len(workers) == 0 {
		return nil, nil, nil, fmt.Errorf("nginx (pid %d) has no worker process", p.pid())
	}
	return p, t, workers, nil
}

// childPids lists the processes whose parent is ppid, from /proc.
func childPids(ppid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if pp, ok := parsePPID(string(b)); ok && pp == ppid {
			out = append(out, pid)
		}
	}
	return out
}

// parsePPID reads the parent pid from the text of /proc/PID/stat: the
// second field after the command name, which is in parentheses and may
// hold spaces and parentheses itself.
func parsePPID(stat string) (int, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(f[1])
	return n, err == nil
}
