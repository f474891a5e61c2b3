// Package acme obtains and renews the public listener's certificates from
// an ACME CA with caddyserver/certmagic, for the hosts of configured apps
// only: a certificate is asked for at the first TLS handshake for a host
// (on demand) after the live config says the host is published, so a
// handshake for any other name is refused before any ACME traffic.
//
// Certificates, keys and the ACME account are kept in the gateway's store
// (see Storage), so gateway nodes sharing a store share them, and certmagic
// takes a store lock before obtaining one, so two nodes never obtain the
// same certificate twice. certmagic's zap logs go to the gateway's slog
// logger. The names of a wildcard app get certificates the same way, one
// per name, with a limit on new ones per hour (wildcard.go).
package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/store"
)

// ErrNotPublished is the handshake error for a host no app publishes.
var ErrNotPublished = errors.New("host is not published by any app")

// errorEvery is how often a failure for one host is logged at most.
const errorEvery = time.Minute

// Options configure a Manager.
type Options struct {
	ACME config.ACME
	// PublicAddr and HTTPAddr are the bound listeners' addresses (HTTPAddr
	// "" without listen.http): the CA reaches TLS-ALPN-01 on the first and
	// HTTP-01 on the second, which the gateway serves itself.
	PublicAddr, HTTPAddr string
	Store                store.Store
	Logger               *slog.Logger
	// Published reports whether the live config publishes host.
	Published func(host string) bool
	// Wildcard returns, for a host a wildcard app serves, that app's
	// host ("*.apps.example.com") and how many new certificates its names
	// may get per hour on this node; "" for any other host. nil: none.
	Wildcard func(host string) (pattern string, perHour int)
	Now      func() time.Time // nil: time.Now
}

// Manager hands out certificates for published hosts.
type Manager struct {
	log       *slog.Logger
	now       func() time.Time
	published func(string) bool
	cache     *certmagic.Cache
	cfg       *certmagic.Config
	issuer    *certmagic.ACMEIssuer

	mu        sync.Mutex
	lastError map[string]time.Time // by host, for rate-limited logging

	limits *issueLimits // new certificates per wildcard app (wildcard.go)
}

// New builds a Manager. Stop releases its background work.
func New(opts Options) (*Manager, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Manager{log: opts.Logger, now: opts.Now, published: opts.Published, lastError: map[string]time.Time{},
		limits: newIssueLimits(opts.Wildcard, opts.Now, opts.Logger)}
	storage, err := NewStorage(opts.Store, opts.Now, opts.Logger)
	if err != nil {
		return nil, err
	}
	var roots *x509.CertPool
	if len(opts.ACME.CARootsPEM) > 0 {
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(opts.ACME.CARootsPEM) {
			return nil, errors.New("acme: tls.acme.ca_roots holds no certificate")
		}
	}
	listenHost, tlsPort, err := splitPort(opts.PublicAddr)
	if err != nil {
		return nil, fmt.Errorf("acme: listen.public: %w", err)
	}
	httpPort := 0
	if opts.HTTPAddr != "" {
		if _, httpPort, err = splitPort(opts.HTTPAddr); err != nil {
			return nil, fmt.Errorf("acme: listen.http: %w", err)
		}
	}
	zl := newZapLogger(opts.Logger.With("component", "certmagic"))
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return m.cfg, nil },
		Logger:           zl,
	})
	m.cfg = certmagic.New(m.cache, certmagic.Config{
		Storage: storage,
		Logger:  zl,
		OnDemand: &certmagic.OnDemandConfig{DecisionFunc: func(_ context.Context, name string) error {
			if !m.published(strings.ToLower(name)) {
				return fmt.Errorf("%q: %w", name, ErrNotPublished)
			}
			return nil
		}},
		OnEvent: m.limits.onEvent,
	})
	m.issuer = certmagic.NewACMEIssuer(m.cfg, certmagic.ACMEIssuer{
		CA:                      opts.ACME.Directory,
		Email:                   opts.ACME.Email,
		Agreed:                  true,
		TrustedRoots:            roots,
		ListenHost:              listenHost,
		AltTLSALPNPort:          tlsPort,
		AltHTTPPort:             httpPort,
		DisableHTTPChallenge:    !slices.Contains(opts.ACME.Challenges, "http-01") || httpPort == 0,
		DisableTLSALPNChallenge: !slices.Contains(opts.ACME.Challenges, "tls-alpn-01"),
		Logger:                  zl,
	})
	m.cfg.Issuers = []certmagic.Issuer{m.issuer}
	return m, nil
}

// splitPort returns addr's host and numeric port.
func splitPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	return host, port, nil
}

// handshakeWait bounds how long a handshake waits for a certificate being
// obtained: certmagic retries an unreachable CA for minutes, and the
// client would time out long before (the obtain goes on in the
// background and the certificate serves the next handshake). It stays
// below the public listener's 10 s handshake deadline.
const handshakeWait = 8 * time.Second

// GetCertificate is tls.Config.GetCertificate: it answers TLS-ALPN-01
// challenges and serves, loads or obtains the certificate of a published
// host. Failures are logged at most once a minute per host.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	type result struct {
		c   *tls.Certificate
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := m.cfg.GetCertificate(hello)
		done <- result{c, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(handshakeWait):
		r.err = fmt.Errorf("no certificate for %q within %s: still trying the ACME CA", hello.ServerName, handshakeWait)
	}
	if r.err != nil && hello.ServerName != "" && !slices.Contains(hello.SupportedProtos, "acme-tls/1") {
		m.logFailure(hello.ServerName, r.err)
	}
	return r.c, r.err
}

func (m *Manager) logFailure(host string, err error) {
	if errors.Is(err, ErrWildcardLimit) {
		return // logged when refused (wildcard.go)
	}
	if errors.Is(err, ErrNotPublished) {
		m.log.Debug("tls: refused a handshake for an unpublished host", "host", host)
		return
	}
	now := m.now()
	m.mu.Lock()
	last, seen := m.lastError[host]
	if !seen || now.Sub(last) >= errorEvery {
		m.lastError[host] = now
		seen = false
	}
	m.mu.Unlock()
	if !seen {
		m.log.Error("acme: no certificate for host; handshakes for it fail until the CA can be reached (logged once a minute per host)",
			"host", host, "error", err)
	}
}

// HTTPChallengeHandler answers ACME HTTP-01 challenges and passes every
// other request to next.
func (m *Manager) HTTPChallengeHandler(next http.Handler) http.Handler {
	return m.issuer.HTTPChallengeHandler(next)
}

// Stop ends certmagic's background maintenance.
func (m *Manager) Stop() { m.cache.Stop() }
