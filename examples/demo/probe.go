package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
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
		case err := <-d.provDown:
			return d.providerFailed(err)
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

// signedIn is a probe that proves sign-in works end to end: with an access
// token the provider gives the robot client, a request for base+"headers"
// reaches the demo app, which sees the robot as X-Remote-User (put there
// by header sign-on at the connector); without a token the gateway answers
// 401 itself.
func signedIn(client *http.Client, base string, op *oplab.OP) probe {
	var token string // fetched once, valid for 10 minutes
	return func(ctx context.Context) error {
		if token == "" {
			t, err := op.RobotToken(ctx, plainClient.Transport)
			if err != nil {
				return fmt.Errorf("getting the robot's access token: %w", err)
			}
			token = t
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"headers", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		var seen struct {
			Headers http.Header `json:"headers"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&seen)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%sheaders with the robot's token answered %s", base, resp.Status)
		}
		if err != nil {
			return fmt.Errorf("%sheaders: %w", base, err)
		}
		if user := seen.Headers.Get("X-Remote-User"); user != oplab.RobotID {
			return fmt.Errorf("the demo app saw X-Remote-User %q, want %q", user, oplab.RobotID)
		}

		req, err = http.NewRequestWithContext(ctx, http.MethodGet, base, nil)
		if err != nil {
			return err
		}
		if resp, err = client.Do(req); err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			return fmt.Errorf("%s without a token answered %s, want 401 Unauthorized", base, resp.Status)
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
