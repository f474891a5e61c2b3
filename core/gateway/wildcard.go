package gateway

import (
	"cmp"
	"crypto/tls"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/internal/wildcard"
)

// hostKey is the table's HostKey, for the reserved paths' Mux: the app
// host (exact or wildcard) that serves a host name.
func (s *snapshot) hostKey(host string) string { return s.table.HostKey(host) }

// appCert returns the cert_file certificate of the app host that serves
// host: an app published on host itself, else the wildcard app that
// covers it (a wildcard certificate from files); nil: none, tls.mode
// decides.
func (s *snapshot) appCert(host string) *tls.Certificate {
	if key := s.table.HostKey(host); key != "" {
		return s.appCerts[key]
	}
	return nil
}

// wildcardLimit returns, for a host served by a wildcard app, the app's
// host and its limit of new certificates per hour (acme.Options.Wildcard);
// "" for a host published exactly or not at all.
func (s *snapshot) wildcardLimit(host string) (string, int) {
	key := s.table.HostKey(host)
	if !wildcard.IsPattern(key) {
		return "", 0
	}
	for _, a := range s.cfg.Apps {
		if a.Host == key {
			return key, cmp.Or(int(a.Wildcard.NewCertificatesPerHour), config.DefaultNewCertificatesPerHour)
		}
	}
	return "", 0
}
