package metrics

import (
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SignIn counts one sign-in outcome of app; a refusal (reason not "")
// is counted among the denials too. result and reason come from fixed
// lists (see the package doc), never from a client or a plug-in.
func (m *Metrics) SignIn(app, result, reason string) {
	if m == nil {
		return
	}
	m.signins.WithLabelValues(app, result).Inc()
	if reason != "" {
		m.denials.WithLabelValues(app, reason).Inc()
	}
}

// PluginCall records one call to a plug-in (pluginhost.Observer).
func (m *Metrics) PluginCall(plugin, app, method string, d time.Duration, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.pluginCalls.WithLabelValues(plugin, app, method, result).Inc()
	m.pluginSeconds.WithLabelValues(plugin, method).Observe(d.Seconds())
}

// PluginRestart counts a restarted plug-in process (pluginhost.Observer).
func (m *Metrics) PluginRestart(plugin, app string) {
	if m != nil {
		m.pluginRestarts.WithLabelValues(plugin, app).Inc()
	}
}

// Filter is one WASM filter's metrics in one app's chain, resolved once.
// It implements wasm.FilterObserver.
type Filter struct {
	seconds prometheus.Observer
	traps   prometheus.Counter
}

// Filter returns the metrics of filter in app's chain; nil when m is nil.
func (m *Metrics) Filter(app, filter string) *Filter {
	if m == nil {
		return nil
	}
	return &Filter{seconds: m.wasmSeconds.WithLabelValues(app, filter), traps: m.wasmTraps.WithLabelValues(app, filter)}
}

// GuestCall records one call into the guest.
func (f *Filter) GuestCall(d time.Duration, trapped bool) {
	f.seconds.Observe(d.Seconds())
	if trapped {
		f.traps.Inc()
	}
}

// SessionOpened counts a tunnel session of a connector attached.
func (m *Metrics) SessionOpened(connector, group string) {
	if m != nil {
		m.sessionsOpened.WithLabelValues(connector, group).Inc()
	}
}

// Certificates remembers the certificate last served for each host, so
// that a handshake costs a map read unless the certificate changed.
type Certificates struct {
	m    *Metrics
	seen sync.Map // host → served
}

type served struct {
	key      any // the leaf's pointer identity
	notAfter time.Time
}

// Certificates returns the certificate expiry recorder (the same one
// each time); nil when m is nil.
func (m *Metrics) Certificates() *Certificates {
	if m == nil {
		return nil
	}
	return m.certs
}

// Expiries returns when the certificate last served for each host
// expires (for the admin console); nil for a nil Certificates.
func (c *Certificates) Expiries() map[string]time.Time {
	if c == nil {
		return nil
	}
	out := map[string]time.Time{}
	c.seen.Range(func(k, v any) bool {
		out[k.(string)] = v.(served).notAfter
		return true
	})
	return out
}

// Served records that host (published, lower case) was served a
// certificate whose leaf is identified by key and expires at notAfter.
func (c *Certificates) Served(host string, key any, notAfter time.Time) {
	if c == nil {
		return
	}
	if prev, ok := c.seen.Load(host); ok && prev.(served).key == key {
		return
	}
	c.seen.Store(strings.Clone(host), served{key, notAfter})
	c.m.certExpiry.WithLabelValues(host).Set(float64(notAfter.Unix()))
}

// Forget drops the hosts that keep says are no longer published.
func (c *Certificates) Forget(keep func(host string) bool) {
	if c == nil {
		return
	}
	c.seen.Range(func(k, _ any) bool {
		if h := k.(string); !keep(h) {
			c.seen.Delete(h)
			c.m.certExpiry.DeleteLabelValues(h)
		}
		return true
	})
}
