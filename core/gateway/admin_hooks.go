package gateway

import (
	"crypto/tls"
	"strings"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/core/proxy"
	"github.com/gatehouse/gatehouse/core/wasm"
)

// How the gateway's parts report to the metrics of Options.Admin. Without
// an Admin, none of them reports anything and the request path pays
// nothing.

// instrument wraps the store (timed, and a failed call asks the admin
// listener for a store probe) and has the plug-in host report its calls.
func (o Options) instrument() Options {
	m := o.Admin.Metrics()
	if m == nil {
		return o
	}
	o.Store = m.Store(o.Store, o.Admin.storeFailed)
	o.Plugins.Observer = m
	return o
}

// appObserver measures the requests routed to app (nil without metrics).
func (g *Gateway) appObserver(app string) proxy.Observer {
	if a := g.opts.Admin.Metrics().App(app); a != nil {
		return a
	}
	return nil
}

// filterObservers gives each loaded WASM filter its metrics (nil without
// metrics).
func (a *Admin) filterObservers() func(app, filter string) wasm.FilterObserver {
	m := a.Metrics()
	if m == nil {
		return nil
	}
	return func(app, filter string) wasm.FilterObserver { return m.Filter(app, filter) }
}

// watchCertificates wraps the public listener's GetCertificate: the
// expiry of the certificate served for each published host goes to the
// metrics (a name that no app publishes never makes a series, and a host
// a reload removed loses its series at the next handshake).
func (g *Gateway) watchCertificates(tc *tls.Config) {
	certs := g.opts.Admin.Metrics().Certificates()
	if certs == nil || tc == nil || tc.GetCertificate == nil {
		return
	}
	get := tc.GetCertificate
	var version atomic.Uint64
	tc.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		c, err := get(hello)
		s := g.snap.Load()
		if version.Swap(s.version) != s.version {
			certs.Forget(s.table.IsAppHost)
		}
		if err == nil && c != nil && c.Leaf != nil {
			// A wildcard app's names share one series, its host's: names made
			// up under a wildcard must not each make one (wildcard.go).
			if host := s.hostKey(strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")); host != "" {
				certs.Served(host, c.Leaf, c.Leaf.NotAfter)
			}
		}
		return c, err
	}
}
