package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/core/device"
	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/core/proxy"
	"github.com/gatehouse/gatehouse/core/signin"
	"github.com/gatehouse/gatehouse/internal/httphead"
)

// Device-based access (access.require_device, docs/DEVICES.md): the
// public TLS handshake asks for a client certificate only when the
// client names (SNI) a host that has an app with require_device, and
// such a host's handshakes never resume a session (a session made
// without a certificate would otherwise come back without one). Each
// request to such an app is checked before sign-in: the connection must
// have been opened for the request's host (421 otherwise, as for HTTP/2
// connection coalescing), and its certificate must verify against the
// app's device CA and CRL (a 403 page otherwise). The device then rides
// in the request's context: the access rule sees it as device.*, and the
// sign-in log records it.

// devices is one snapshot's device requirements.
type devices struct {
	apps  map[string]*device.Verifier // by app name
	hosts map[string]*device.Verifier // by app host (as the route table keys it)
	pools map[string]*x509.CertPool   // by app host: the CAs the handshake names
	tls   sync.Map                    // app host → *tls.Config, made at its first handshake
	log   *slog.Logger
}

// loadDevices reads the CA and CRL files of every app with
// require_device (an unreadable or bad one fails the config) into
// s.devices.
func (g *Gateway) loadDevices(s *snapshot) error {
	d := &devices{apps: map[string]*device.Verifier{}, hosts: map[string]*device.Verifier{},
		pools: map[string]*x509.CertPool{}, log: g.log}
	first := map[string]int{} // host → index of its first app with require_device
	for i, a := range s.cfg.Apps {
		rd := a.Access.RequireDevice
		if rd == nil {
			continue
		}
		if j, ok := first[a.Host]; ok {
			if o := s.cfg.Apps[j].Access.RequireDevice; o.CAFile != rd.CAFile || o.CRLFile != rd.CRLFile {
				return fmt.Errorf("%s: apps[%d].access.require_device: app %q names other files than app %q on the same host %s; the apps of one host share its TLS handshake, so they must name the same ca_file and crl_file",
					s.cfg.Path, i, a.Name, s.cfg.Apps[j].Name, a.Host)
			}
		} else {
			first[a.Host] = i
		}
		v, err := device.New(device.Options{CAFile: rd.CAFile, CRLFile: rd.CRLFile, Now: g.opts.Clock.Now, Logger: g.log.With("app", a.Name)})
		if err != nil {
			return fmt.Errorf("%s: apps[%d].access.require_device.%w", s.cfg.Path, i, err)
		}
		if err := v.Check(g.opts.Clock.Now()); err != nil { // fails closed at run time; said now
			g.log.Error("device certificates: the revocation list cannot be used; the app refuses every device until it can",
				"app", a.Name, "crl_file", rd.CRLFile, "error", err)
		}
		d.apps[a.Name] = v
		if d.hosts[a.Host] == nil { // one verifier per host: the files are the same
			d.hosts[a.Host] = v
			d.pools[a.Host] = v.Pool()
		}
	}
	s.devices = d
	return nil
}

// deviceTLS is the public tls.Config's GetConfigForClient: base with a
// request for a client certificate, for hosts that need one; nil (base
// as it is) for every other host.
func (g *Gateway) deviceTLS(base *tls.Config) func(*tls.ClientHelloInfo) (*tls.Config, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		s := g.snap.Load()
		if s.devices == nil || len(s.devices.pools) == 0 || slices.Contains(hello.SupportedProtos, "acme-tls/1") {
			return nil, nil
		}
		host := s.table.HostKey(strings.TrimSuffix(strings.ToLower(hello.ServerName), "."))
		pool := s.devices.pools[host]
		if pool == nil {
			return nil, nil
		}
		if c, ok := s.devices.tls.Load(host); ok {
			return c.(*tls.Config), nil
		}
		c := base.Clone()
		c.GetConfigForClient = nil
		// Requested, not required: a client without a certificate gets
		// the 403 page that says what to do, not a failed handshake. The
		// certificate is verified per request (the CRL can change).
		c.ClientAuth = tls.RequestClientCert
		c.ClientCAs = pool
		c.SessionTicketsDisabled = true
		actual, _ := s.devices.tls.LoadOrStore(host, c)
		return actual.(*tls.Config), nil
	}
}

// wrap puts app's device check in front of its sign-in (nil devices or an
// app without require_device: guard unchanged).
func (d *devices) wrap(app string, guard *signin.App) proxy.Guard {
	v := d.apps[app]
	if v == nil {
		return guard
	}
	return &deviceGuard{inner: guard, v: v, app: app, log: d.log}
}

// reserved lets the reserved paths of a host with device apps (sign-in
// callback, vault page, handoff, SAML) see the device when it verifies
// (every device app of a host names the same files); without one they go
// on as they are, and the access policy refuses where it applies.
func (d *devices) reserved(next http.Handler, hostKey func(string) string) http.Handler {
	if len(d.hosts) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := httphead.HostName(r.Host)
		if v := d.hosts[hostKey(host)]; v != nil && r.TLS != nil && len(r.TLS.PeerCertificates) > 0 &&
			strings.EqualFold(strings.TrimSuffix(r.TLS.ServerName, "."), host) {
			if dev, err := v.Verify(r.TLS.PeerCertificates); err == nil {
				r = r.WithContext(device.NewContext(r.Context(), dev))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// deviceGuard checks the device before the app's sign-in.
type deviceGuard struct {
	inner proxy.Guard
	v     *device.Verifier
	app   string
	log   *slog.Logger
}

func (dg *deviceGuard) Admit(w http.ResponseWriter, r *http.Request, rid string) (signin.Admission, bool) {
	host := httphead.HostName(r.Host)
	if r.TLS == nil || !strings.EqualFold(strings.TrimSuffix(r.TLS.ServerName, "."), host) {
		sni := ""
		if r.TLS != nil {
			sni = r.TLS.ServerName
		}
		dg.log.Info("device check: the connection was not opened for this host", "app", dg.app, "request_id", rid, "host", host, "sni", sni)
		errorpage.Write(w, r, errorpage.Page{Status: http.StatusMisdirectedRequest, Title: "Wrong connection", RequestID: rid,
			Text: "This app checks your device when the connection opens, and this connection was opened for another address. Open the address again; your browser will make a new connection."})
		return signin.Admission{}, false
	}
	dev, err := dg.v.Verify(r.TLS.PeerCertificates)
	if err != nil {
		dg.refuse(w, r, rid, err)
		return signin.Admission{}, false
	}
	dg.log.Debug("device check passed", "app", dg.app, "request_id", rid, "device", dev.Label())
	return dg.inner.Admit(w, r.WithContext(device.NewContext(r.Context(), dev)), rid)
}

// refuse answers a request whose device did not pass with a page that
// says what to do.
func (dg *deviceGuard) refuse(w http.ResponseWriter, r *http.Request, rid string, err error) {
	p := errorpage.Page{Status: http.StatusForbidden, Title: "This app needs a registered device", RequestID: rid}
	var what string
	switch {
	case errors.Is(err, device.ErrNoCertificate):
		what = "Your browser did not present a device certificate. Open this app on a company device that has its device certificate installed (choose it if your browser asks), or ask your IT team to register this device."
	case errors.Is(err, device.ErrRevoked):
		what = "This device's certificate has been revoked, so the device can no longer open this app. Ask your IT team to register the device again."
	case errors.Is(err, device.ErrExpired):
		what = "This device's certificate has expired or is not valid yet. Ask your IT team to renew it, or check the device's clock."
	case errors.Is(err, device.ErrCRL):
		p.Status, p.Title = http.StatusServiceUnavailable, "Device check unavailable"
		what = "Gatehouse cannot check device certificates right now, so it lets no device in. Try again later; if this goes on, tell your IT team."
	default: // another CA, not for client authentication
		what = "The certificate your browser presented is not a device certificate from your organisation. Choose the device certificate when your browser asks (restart the browser to be asked again), or ask your IT team to register this device."
	}
	p.Text = what
	level := slog.LevelInfo
	if p.Status >= 500 {
		level = slog.LevelError
	}
	dg.log.Log(r.Context(), level, "device check refused", "app", dg.app, "request_id", rid, "status", p.Status, "reason", err.Error())
	errorpage.Write(w, r, p)
}

// Recheck is proxy.Rechecker, for a TCP app's open connection: the
// device is verified again (a CRL that now names it ends the
// connection), then the session and policy as the app's sign-in checks
// them.
func (dg *deviceGuard) Recheck(r *http.Request, rid string, adm signin.Admission) error {
	rc, ok := dg.inner.(proxy.Rechecker)
	if !ok || r.TLS == nil {
		return signin.ErrUncheckable
	}
	dev, err := dg.v.Verify(r.TLS.PeerCertificates)
	if err != nil {
		dg.log.Info("device check refused an open connection", "app", dg.app, "request_id", rid, "reason", err.Error())
		if errors.Is(err, device.ErrCRL) {
			return signin.ErrUncheckable
		}
		return signin.ErrDenied
	}
	return rc.Recheck(r.WithContext(device.NewContext(r.Context(), dev)), rid, adm)
}
