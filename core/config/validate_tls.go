package config

import (
	"crypto/tls"
	"crypto/x509"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
)

func (l *loader) checkTLS(c *Config) {
	switch c.TLS.Mode {
	case "self-signed", "acme":
		for _, f := range []struct{ key, path string }{
			{"tls.cert_file", c.TLS.CertFile},
			{"tls.key_file", c.TLS.KeyFile},
		} {
			if f.path != "" {
				l.errorf(f.key, "only used with mode: files; remove it, or set tls.mode: files")
			}
		}
	case "files":
		cert := l.readFile("tls.cert_file", c.TLS.CertFile, "required with mode: files; give the PEM certificate chain served on listen.public")
		key := l.readFile("tls.key_file", c.TLS.KeyFile, "required with mode: files; give the PEM private key of cert_file")
		if cert != nil && key != nil {
			if _, err := tls.X509KeyPair(cert, key); err != nil {
				l.errorf("tls.cert_file", "%q and key_file %q do not load as a certificate and key pair: %v",
					l.written("tls.cert_file"), l.written("tls.key_file"), err)
			}
		}
	default:
		l.errorf("tls.mode", "%q is not a TLS mode (use self-signed, files or acme)", c.TLS.Mode)
		return
	}
	if c.TLS.Mode == "acme" {
		l.checkACME(c)
	} else if l.present("tls.acme") {
		l.errorf("tls.acme", "only used with mode: acme; remove it, or set tls.mode: acme")
	}
}

// checkACME validates tls.acme and loads its ca_roots.
func (l *loader) checkACME(c *Config) {
	a := &c.TLS.ACME
	if u, err := url.Parse(a.Directory); err != nil || u.Scheme != "https" || u.Host == "" {
		l.errorf("tls.acme.directory", "%q is not an https:// URL (write the ACME directory URL, e.g. %s)", a.Directory, defaultACMEDirectory)
	}
	if a.Email != "" {
		if addr, err := mail.ParseAddress(a.Email); err != nil || addr.Address != a.Email {
			l.errorf("tls.acme.email", "%q is not an e-mail address (write e.g. admin@example.com, or leave it out)", a.Email)
		}
	}
	if a.CARoots != "" {
		if pem := l.readFile("tls.acme.ca_roots", a.CARoots, ""); pem != nil {
			if !x509.NewCertPool().AppendCertsFromPEM(pem) {
				l.errorf("tls.acme.ca_roots", "%q holds no PEM certificate (give the CA certificates that sign the ACME directory's HTTPS)", l.written("tls.acme.ca_roots"))
			} else {
				a.CARootsPEM = pem
			}
		}
	}
	for i, ch := range a.Challenges {
		key := "tls.acme.challenges[" + strconv.Itoa(i) + "]"
		switch {
		case ch != "http-01" && ch != "tls-alpn-01":
			l.errorf(key, "%q is not a supported challenge (use http-01 or tls-alpn-01)", ch)
		case slices.Index(a.Challenges, ch) < i:
			l.errorf(key, "%q is listed twice; remove one", ch)
		case ch == "http-01" && c.Listen.HTTP == "":
			l.errorf(key, "http-01 needs listen.http (e.g. \":80\"), where the CA fetches the challenge; set it, or remove http-01")
		}
	}
}
