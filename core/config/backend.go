package config

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// checkBackend validates an app's backend at key ("apps[0].backend"),
// normalising the pin and server name and loading the CA file into b.CA.
func (l *loader) checkBackend(key string, b *Backend) {
	https, urlOK := false, false
	if b.URL == "" {
		l.errorf(key+".url", "missing: the backend's internal base URL, e.g. http://10.0.0.5:8080")
	} else if u, msg := checkBackendURL(b.URL); msg != "" {
		l.errorf(key+".url", "%s", msg)
	} else {
		b.URL = u.Scheme + b.URL[len(u.Scheme):] // "HTTP://" → "http://"
		https, urlOK = u.Scheme == "https", true
	}
	if urlOK && !https {
		for _, f := range []struct{ name, value string }{
			{"ca_file", b.CAFile}, {"pin_sha256", b.PinSHA256}, {"server_name", b.ServerName},
		} {
			if f.value != "" {
				l.errorf(key+"."+f.name, "only used with https:// backends, and url is %q; remove it or use https://", b.URL)
			}
		}
		return
	}

	if b.CAFile != "" {
		if data := l.readFile(key+".ca_file", b.CAFile, ""); data != nil {
			if msg := checkCAPEM(data); msg != "" {
				l.errorf(key+".ca_file", "%q %s", l.written(key+".ca_file"), msg)
			} else {
				b.CA = data
			}
		}
	}
	if b.PinSHA256 != "" {
		if pin, msg := normalisePin(b.PinSHA256); msg != "" {
			l.errorf(key+".pin_sha256", "%s", msg)
		} else {
			b.PinSHA256 = pin
		}
	}
	if b.ServerName != "" {
		if name, msg := checkServerName(b.ServerName); msg != "" {
			l.errorf(key+".server_name", "%s", msg)
		} else {
			b.ServerName = name
		}
	}
}

// checkBackendURL checks an absolute http or https base URL and returns it
// parsed.
func checkBackendURL(s string) (u *url.URL, problem string) {
	if !strings.Contains(s, "://") {
		return nil, fmt.Sprintf("%q is not an absolute URL; write it with a scheme, e.g. %q", s, "http://"+s)
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Sprintf("%q is not a valid URL: %v", s, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Sprintf("%q: scheme %q is not supported; use http:// or https://", s, u.Scheme)
	case u.User != nil:
		return nil, fmt.Sprintf("%q contains user credentials; remove them (the URL is sent to connectors and must not carry secrets)", s)
	case u.Hostname() == "":
		return nil, fmt.Sprintf("%q has no host (write e.g. http://10.0.0.5:8080)", s)
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Sprintf(`%q has a query; a backend URL is a base URL, so remove the "?..." part`, s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return nil, fmt.Sprintf(`%q has a fragment; remove the "#..." part`, s)
	}
	return u, ""
}

// checkCAPEM checks that data is PEM holding only certificates, at least one.
func checkCAPEM(data []byte) string {
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Sprintf("holds a %q PEM block; a CA file holds only CA certificates (remove it)", block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Sprintf("holds a certificate that does not parse (#%d): %v", n+1, err)
		}
		n++
	}
	if n == 0 {
		return `holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----" blocks)`
	}
	return ""
}

// normalisePin accepts 64 hex digits, in any case and with optional
// colons, and returns them in lower case without colons.
func normalisePin(s string) (string, string) {
	p := strings.ToLower(strings.ReplaceAll(s, ":", ""))
	const how = "(the hex SHA-256 of the backend certificate's DER, e.g. from: openssl x509 -in cert.pem -outform der | sha256sum)"
	if strings.Trim(p, "0123456789abcdef") != "" {
		return "", fmt.Sprintf("%q is not hexadecimal; want 64 hex digits, colons allowed %s", s, how)
	}
	if len(p) != 64 {
		return "", fmt.Sprintf("%q has %d hex digits, want 64 %s", s, len(p), how)
	}
	return p, ""
}
