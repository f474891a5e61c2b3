package gateway

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/core/acme"
)

// Listen binds the public, tunnel and (with listen.http) HTTP listeners,
// and in tls.mode acme prepares certificate management for them.
func (g *Gateway) Listen() error {
	cfg := g.snap.Load().cfg
	var err error
	if g.publicLn, err = net.Listen("tcp", cfg.Listen.Public); err != nil {
		return fmt.Errorf("listen.public %s: %w", cfg.Listen.Public, err)
	}
	if g.tunnelLn, err = net.Listen("tcp", cfg.Listen.Tunnel); err != nil {
		g.publicLn.Close()
		return fmt.Errorf("listen.tunnel %s: %w", cfg.Listen.Tunnel, err)
	}
	if cfg.Listen.HTTP != "" {
		if g.httpLn, err = net.Listen("tcp", cfg.Listen.HTTP); err != nil {
			g.publicLn.Close()
			g.tunnelLn.Close()
			return fmt.Errorf("listen.http %s: %w", cfg.Listen.HTTP, err)
		}
	}
	if cfg.TLS.Mode == "acme" {
		if g.acme, err = acme.New(acme.Options{
			ACME: cfg.TLS.ACME, PublicAddr: g.PublicAddr(), HTTPAddr: g.HTTPAddr(),
			Store: g.opts.Store, Logger: g.log,
			Published: func(host string) bool { return g.snap.Load().published(host) },
			Wildcard:  func(host string) (string, int) { return g.snap.Load().wildcardLimit(host) },
		}); err != nil {
			g.closeListeners()
			return fmt.Errorf("tls.mode acme: %w", err)
		}
	}
	return nil
}

func (g *Gateway) closeListeners() {
	for _, ln := range []net.Listener{g.publicLn, g.tunnelLn, g.httpLn} {
		if ln != nil {
			ln.Close()
		}
	}
}

func (g *Gateway) publicTLS() *tls.Config {
	protos := []string{"h2", "http/1.1"}
	if g.acme != nil {
		protos = append(protos, "acme-tls/1")
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: protos, GetCertificate: g.certificate}
	c.GetConfigForClient = g.deviceTLS(c) // client certificates for device apps' hosts only: device.go
	return c
}

// certificate picks the certificate for a handshake: an app's own
// cert_file first, then what tls.mode says (ACME, files, development CA).
func (g *Gateway) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	s := g.snap.Load()
	host := strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")
	if c := s.appCert(host); c != nil && !slices.Contains(hello.SupportedProtos, "acme-tls/1") {
		return c, nil
	}
	switch {
	case g.acme != nil:
		return g.acme.GetCertificate(hello)
	case s.cert != nil:
		return s.cert, nil
	case g.dev != nil:
		return g.dev.GetCertificate(hello)
	}
	return nil, errors.New("no certificate configured")
}
