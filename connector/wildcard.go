package connector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/gatehouse/gatehouse/internal/httphead"
	"github.com/gatehouse/gatehouse/internal/wildcard"
	"github.com/gatehouse/gatehouse/tunnel"
)

// sampleURL returns an app's backend URL, and for a wildcard app's
// template ("https://{label}.corp.local") the URL with a sample label, to
// be checked as a URL. Such an app has no lean client, whose backend
// address is fixed.
func sampleURL(c tunnel.AppConfig) (string, error) {
	if !wildcard.HasTemplate(c.URL) {
		return c.URL, nil
	}
	if !wildcard.IsPattern(c.ExternalHost) {
		return "", fmt.Errorf("app %q: backend URL %q uses %s, but host %q is not a wildcard", c.Name, c.URL, wildcard.Placeholder, c.ExternalHost)
	}
	return wildcard.Expand(c.URL, "label"), nil
}

// errBadLabel refuses a request whose host does not fill its wildcard
// app's "*" with one valid label (400 bad_request).
var errBadLabel = errors.New("bad wildcard label")

// admitHost refuses a request for a wildcard app with a {label} template
// whose host (the Host the gateway routed by) gives no valid label, and
// then admits it as admit does.
func (s *session) admitHost(ctx context.Context, a *app, hdr tunnel.RequestHeader, host string, out *http.Request, rejectStatus *int) error {
	if _, err := a.label(host); err != nil {
		return fmt.Errorf("%w: %w", errBadLabel, err)
	}
	return s.admit(ctx, a, hdr, out, rejectStatus)
}

// label returns the label the request's host fills the wildcard app's
// "*" with, checked again here (the gateway routed by it): one host-name
// label, letters, digits and "-", no dot, no "%". Apps without a URL
// template need none.
func (a *app) label(hostHeader string) (string, error) {
	if !wildcard.HasTemplate(a.cfg.URL) {
		return "", nil
	}
	host := httphead.HostName(hostHeader)
	l, ok := wildcard.Label(a.cfg.ExternalHost, host)
	if !ok {
		return "", fmt.Errorf("host %q does not fill wildcard %q with one valid label", host, a.cfg.ExternalHost)
	}
	return l, nil
}

// baseFor returns the backend base URL for a request with label (from
// label): the template expanded, or the app's fixed URL.
func (a *app) baseFor(label string) *url.URL {
	if label == "" {
		return a.base
	}
	u, err := url.Parse(wildcard.Expand(a.cfg.URL, label))
	if err != nil { // cannot happen: the template parsed with a sample label
		return a.base
	}
	return u
}
