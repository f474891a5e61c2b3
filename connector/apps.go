package connector

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/internal/fastpath/leanclient"
	"github.com/gatehouse/gatehouse/internal/fastpath/rawsock"
	"github.com/gatehouse/gatehouse/internal/fingerprint"
	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/tunnel"
)

// app is one backend as a session knows it.
type app struct {
	cfg    tunnel.AppConfig
	base   *url.URL
	rt     *http.Transport
	lean   *leanclient.Client // plain-http backends: small bodyless requests (fastpath.LeanClient)
	signOn *signOn            // the app's Injector; nil without sign_on
}

// roundTrip sends out on the lean path when it may, else on the Transport.
func (a *app) roundTrip(out *http.Request) (*http.Response, error) {
	if a.lean != nil && leanclient.Eligible(out) {
		return a.lean.RoundTrip(out)
	}
	return a.rt.RoundTrip(guardReuse(out)) // reuse.go
}

// appTable is one session's view of the gateway's config, replaced whole.
type appTable struct {
	version uint64
	apps    map[string]*app
	changed chan struct{} // closed when a newer table replaces this one
}

// transports shares backend connection pools across a connector's
// sessions: one *http.Transport per app, rebuilt when its config changes.
type transports struct {
	plugins pluginhost.Host // starts the apps' Injectors
	catalog *Catalog        // the Injectors it may start
	log     *slog.Logger
	fast    fastpath.Set
	mu      sync.Mutex
	m       map[string]*app
	reuse   *reuseCache // sign-on results the Injectors let us reuse (signoncache.go)
}

// signOnGrace is how long a replaced Injector keeps serving requests that
// started before a config change.
const signOnGrace = 30 * time.Second

func (t *transports) get(c tunnel.AppConfig) (*app, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a, ok := t.m[c.Name]; ok && fingerprint.Same(a.cfg, c) {
		return a, nil
	}
	a, err := newApp(c, t.fast)
	if err != nil {
		return nil, err
	}
	a.signOn = t.startSignOn(c)
	if old, ok := t.m[c.Name]; ok {
		old.close(signOnGrace)
	}
	if t.m == nil {
		t.m = map[string]*app{}
	}
	t.m[c.Name] = a
	return a, nil
}

// close releases the app's idle connections and, after grace, its Injector.
func (a *app) close(grace time.Duration) {
	if a.rt != nil { // nil for a TCP app
		a.rt.CloseIdleConnections()
	}
	if a.lean != nil {
		a.lean.CloseIdle()
	}
	a.signOn.close(grace)
}

// closeAll closes every app (the connector is stopping).
func (t *transports) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for name, a := range t.m {
		a.close(0)
		delete(t.m, name)
	}
}

// newApp builds an app's clients: an http.Transport, and the fast paths
// fp allows.
func newApp(c tunnel.AppConfig, fp fastpath.Set) (*app, error) {
	if c.TCP != "" {
		return &app{cfg: c}, nil // a TCP app dials c.TCP itself (tcp.go)
	}
	raw, err := sampleURL(c) // wildcard.go: a {label} template
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("app %q: backend URL %q is not an absolute http(s) URL", c.Name, c.URL)
	}
	tc, err := backendTLS(c)
	if err != nil {
		return nil, fmt.Errorf("app %q: %w", c.Name, err)
	}
	dial := (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	if fp.On(fastpath.RawSock) {
		dial = rawsock.Dialer(dial)
	}
	rt := &http.Transport{
		Proxy:                 nil, // backends are on the local network: ignore HTTP_PROXY
		DialContext:           dial,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConnsPerHost:   512, // sized for the concurrency a connector serves
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: time.Duration(c.TimeoutMillis) * time.Millisecond,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true, // pass Accept-Encoding and bodies through untouched
		WriteBufferSize:       64 << 10,
		ReadBufferSize:        64 << 10,
	}
	rt.MaxResponseHeaderBytes = maxRespHead // a header flood gets a 502, as on the lean path
	a := &app{cfg: c, base: u, rt: rt}
	if u.Scheme == "http" && fp.On(fastpath.LeanClient) && raw == c.URL { // not a template: one backend address
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "80")
		}
		a.lean = newLean(host, rt)
	}
	return a, nil
}

// backendTLS trusts the app's CA bundle (or the system roots) and, with a
// pin, also requires the leaf's SHA-256. A pin alone accepts a
// self-signed backend certificate: the pin is the identity.
func backendTLS(c tunnel.AppConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if len(c.CAPEM) > 0 {
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(c.CAPEM) {
			return nil, errors.New("backend CA bundle holds no certificate")
		}
	}
	if c.PinSHA256 == "" {
		return tc, nil
	}
	want, err := hex.DecodeString(c.PinSHA256)
	if err != nil || len(want) != sha256.Size {
		return nil, errors.New("backend pin is not 64 hex characters")
	}
	tc.InsecureSkipVerify = len(c.CAPEM) == 0 // chain checked by the pin alone
	tc.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("backend sent no certificate")
		}
		got := sha256.Sum256(cs.PeerCertificates[0].Raw)
		if !bytes.Equal(got[:], want) {
			return fmt.Errorf("backend certificate sha256 %x does not match the pinned %x", got, want)
		}
		return nil
	}
	return tc, nil
}

// lookup returns the app for a request routed with config version v,
// waiting up to wait for this session's config to catch up.
func (s *session) lookup(ctx context.Context, name string, v uint64, wait time.Duration) *app {
	if t := s.apps.Load(); t.version >= v {
		return t.apps[name]
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		t := s.apps.Load()
		if t.version >= v {
			return t.apps[name]
		}
		select {
		case <-t.changed:
		case <-timer.C:
			return t.apps[name]
		case <-ctx.Done():
			return nil
		}
	}
}
