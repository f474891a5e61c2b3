package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// probe checks once whether a component is ready; nil means ready.
type probe func(ctx context.Context) error

// waitReady runs check every 200 ms until it succeeds. It gives up when p
// (or any other child) exits, when the start-up timeout passes, or when ctx
// is done (the user pressed Ctrl-C; it then returns ctx.Err()).
func (d *demo) waitReady(ctx context.Context, p *proc, what string, check probe) error {
	deadline := time.Now().Add(d.opts.startTimeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := check(pctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return d.failed(p, fmt.Sprintf("%s within %s (last try: %v)", what, d.opts.startTimeout, err))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case q := <-d.exits:
			return d.failed(q, "exited during start-up ("+q.exitStatus()+")")
		case <-tick.C:
		}
	}
}

// httpOK is a probe that GETs url with client and wants a 200.
func httpOK(client *http.Client, url string) probe {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered %s", url, resp.Status)
		}
		return nil
	}
}

// tlsAnswers is a probe that completes a TLS handshake with the gateway's
// public port for host, verified against the development CA in caFile
// (which the gateway writes before it listens).
func tlsAnswers(caFile, host string, port int) probe {
	return func(ctx context.Context) error {
		pool, err := loadCA(caFile)
		if err != nil {
			return err
		}
		d := tls.Dialer{Config: &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}}
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// gatewayClient returns an HTTP client that trusts the development CA and
// dials 127.0.0.1:port whatever the URL's host, like curl --resolve.
func gatewayClient(caFile string, port int) (*http.Client, error) {
	pool, err := loadCA(caFile)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var dialer net.Dialer
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		DisableKeepAlives: true,
	}}, nil
}

// plainClient is for the demo app itself: no proxy, no keep-alive.
var plainClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

func loadCA(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the development CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no certificate", file)
	}
	return pool, nil
}
