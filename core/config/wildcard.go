package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/wildcard"
)

// DefaultNewCertificatesPerHour bounds, by default, the ACME certificates
// one gateway node obtains per hour for the names of one wildcard app.
const DefaultNewCertificatesPerHour = 10

// Wildcard holds the settings of a wildcard app (host "*.suffix").
type Wildcard struct {
	// NewCertificatesPerHour is, in tls.mode acme, how many new
	// certificates one gateway node may obtain per hour for names under
	// this wildcard (renewals do not count). Absent or 0:
	// DefaultNewCertificatesPerHour. At most 1000.
	NewCertificatesPerHour Count `yaml:"new_certificates_per_hour,omitempty"`
}

// checkWildcardHost checks a host written with "*" (h is s in lower case):
// "*." then a DNS name of at least two labels.
func checkWildcardHost(s, h string) (string, string) {
	suffix, ok := strings.CutPrefix(h, "*.")
	if !ok || strings.Contains(suffix, "*") {
		return "", fmt.Sprintf(`%q: a wildcard host is "*." and a domain, e.g. "*.apps.example.com"; "*" stands for exactly one whole label, the first`, s)
	}
	if msg := dnsNameProblem(suffix); msg != "" {
		return "", fmt.Sprintf("%q is not a valid wildcard host: %s", s, msg)
	}
	if !strings.Contains(suffix, ".") {
		return "", fmt.Sprintf("%q covers a whole top-level domain; write a wildcard under a domain of your own, e.g. %q", s, "*.apps.example."+suffix)
	}
	return h, ""
}

// checkAppBackend checks a web app's backend; a wildcard app's URL may
// use {label}, which is checked with a sample label in its place.
func (l *loader) checkAppBackend(key string, a *App) {
	tmpl := a.Backend.URL
	if !wildcard.HasTemplate(tmpl) && !strings.ContainsAny(tmpl, "{}") {
		l.checkBackend(key+".backend", &a.Backend)
		return
	}
	if !wildcard.IsPattern(a.Host) {
		l.errorf(key+".backend.url", `%q has a placeholder; {label} is only for wildcard apps (host "*.example.com"): remove it or make the host a wildcard`, tmpl)
		return
	}
	sample := wildcard.Expand(tmpl, "label")
	if strings.ContainsAny(sample, "{}") {
		l.errorf(key+".backend.url", `%q: the only placeholder is {label} (the label the user's host name has in place of "*")`, tmpl)
		return
	}
	if i := strings.Index(tmpl, "://"); i < 0 || strings.Index(tmpl, wildcard.Placeholder) < i {
		l.errorf(key+".backend.url", "%q: {label} may stand in the host or the path of the URL, not its scheme", tmpl)
		return
	}
	if strings.Contains(tmpl, ":"+wildcard.Placeholder) {
		l.errorf(key+".backend.url", "%q: {label} may stand in the host or the path of the URL, not its port", tmpl)
		return
	}
	b := a.Backend
	b.URL = sample
	l.checkBackend(key+".backend", &b)
	b.URL = strings.ToLower(tmpl[:strings.Index(tmpl, "://")]) + tmpl[strings.Index(tmpl, "://"):]
	a.Backend = b
}

// checkWildcardApp checks what only a wildcard app may have and what it
// may not: the wildcard settings, a TCP backend, a certificate file that
// does not cover its names.
func (l *loader) checkWildcardApp(key string, a *App) {
	if !wildcard.IsPattern(a.Host) {
		if l.present(key + ".wildcard") {
			l.errorf(key+".wildcard", "only for a wildcard app (host \"*.example.com\"); host is %q: remove wildcard", a.Host)
		}
		return
	}
	if a.TCP != nil {
		l.errorf(key+".host", "%q: a TCP app needs a host of its own; wildcard hosts are for web apps", a.Host)
	}
	switch n := a.Wildcard.NewCertificatesPerHour; {
	case n < 0 || n > 1000:
		l.errorf(key+".wildcard.new_certificates_per_hour", "%d is out of range: give 1 to 1000 new certificates per hour (absent: %d)", n, DefaultNewCertificatesPerHour)
	case n == 0:
		a.Wildcard.NewCertificatesPerHour = DefaultNewCertificatesPerHour
	}
	if a.CertFile == "" || a.KeyFile == "" {
		return
	}
	if c, err := tls.LoadX509KeyPair(a.CertFile, a.KeyFile); err == nil {
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if sample := "label" + a.Host[1:]; err == nil && leaf.VerifyHostname(sample) != nil {
			l.errorf(key+".cert_file", "%q does not cover the names of host %q (it is not valid for e.g. %q): give a certificate for %q",
				l.written(key+".cert_file"), a.Host, sample, a.Host)
		}
	}
}
