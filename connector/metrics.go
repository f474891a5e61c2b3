package connector

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
)

// maxMetricNames bounds the apps and plug-ins the connector counts (the
// gateway's config names them; this only guards memory).
const maxMetricNames = 1024

// metrics are the connector's own counters, cumulative since it started
// (a nil *metrics counts nothing).
// It never listens: its heartbeats carry a snapshot (tunnel.ConnectorMetrics)
// and the gateway exposes them, labelled by connector and group.
type metrics struct {
	start   string   // this process's run, so the gateway can tell a restart
	apps    sync.Map // app name → *appCounters
	plugins sync.Map // plug-in name → *pluginCounters
	names   atomic.Int32
}

type appCounters struct {
	requests atomic.Uint64
	errors   [5]atomic.Uint64 // by kind, in tunnel.BackendErrKinds order
	buckets  []atomic.Uint64  // len(tunnel.BackendBuckets)+1
	sumNanos atomic.Int64
}

type pluginCounters struct{ failures, restarts, calls, reused atomic.Uint64 }

func newMetrics() *metrics {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], rand.Uint64())
	return &metrics{start: hex.EncodeToString(b[:])}
}

// app returns app name's counters; nil past the bound.
func (m *metrics) app(name string) *appCounters {
	if v, ok := m.apps.Load(name); ok {
		return v.(*appCounters)
	}
	if m.names.Add(1) > maxMetricNames {
		m.names.Add(-1)
		return nil
	}
	v, loaded := m.apps.LoadOrStore(name, &appCounters{buckets: make([]atomic.Uint64, len(tunnel.BackendBuckets)+1)})
	if loaded {
		m.names.Add(-1)
	}
	return v.(*appCounters)
}

func (m *metrics) plugin(name string) *pluginCounters {
	if v, ok := m.plugins.Load(name); ok {
		return v.(*pluginCounters)
	}
	if m.names.Add(1) > maxMetricNames {
		m.names.Add(-1)
		return nil
	}
	v, loaded := m.plugins.LoadOrStore(name, &pluginCounters{})
	if loaded {
		m.names.Add(-1)
	}
	return v.(*pluginCounters)
}

// backend counts one backend call of app: its time to the response head
// (d), its status, or the error that ended it.
func (m *metrics) backend(app string, d time.Duration, status int, err error) {
	if m == nil {
		return
	}
	a := m.app(app)
	if a == nil {
		return
	}
	a.requests.Add(1)
	switch {
	case err != nil:
		a.errors[errKindIndex(err)].Add(1)
		return
	case status >= 500:
		a.errors[4].Add(1) // tunnel.BackendErr5xx
	}
	s := d.Seconds()
	i := sort.SearchFloat64s(tunnel.BackendBuckets, s) // first bound >= s
	a.buckets[i].Add(1)
	a.sumNanos.Add(int64(d))
}

// errKindIndex sorts a backend call's failure into tunnel.BackendErrKinds
// (the 5xx kind excepted).
func errKindIndex(err error) int {
	var ne net.Error
	var op *net.OpError
	var rh tls.RecordHeaderError
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return 1
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &hn), errors.As(err, &rh), errors.As(err, new(tls.AlertError)), isPinError(err):
		return 2
	case errors.As(err, &op) && op.Op == "dial":
		return 0
	}
	return 3
}

// signOnFailed counts a request refused because plug-in failed.
func (m *metrics) signOnFailed(plugin string) {
	if m == nil {
		return
	}
	if p := m.plugin(plugin); p != nil {
		p.failures.Add(1)
	}
}

// signOnCall counts a request's sign-on: a call to the plug-in, or a
// result it let the connector reuse (signoncache.go).
func (m *metrics) signOnCall(plugin string, reused bool) {
	if m == nil {
		return
	}
	switch p := m.plugin(plugin); {
	case p == nil:
	case reused:
		p.reused.Add(1)
	default:
		p.calls.Add(1)
	}
}

// PluginCall implements pluginhost.Observer: failures are counted where
// they refuse a request (signOnFailed).
func (m *metrics) PluginCall(plugin, app, method string, d time.Duration, err error) {}

// PluginRestart implements pluginhost.Observer.
func (m *metrics) PluginRestart(plugin, app string) {
	if p := m.plugin(plugin); p != nil {
		p.restarts.Add(1)
	}
}

// snapshot is what the next heartbeat carries; nil before anything was
// counted.
func (m *metrics) snapshot() *tunnel.ConnectorMetrics {
	if m == nil {
		return nil
	}
	out := &tunnel.ConnectorMetrics{Start: m.start}
	m.apps.Range(func(k, v any) bool {
		a := v.(*appCounters)
		am := tunnel.AppMetrics{App: k.(string), Requests: a.requests.Load(), Buckets: make([]uint64, len(a.buckets)),
			Sum: time.Duration(a.sumNanos.Load()).Seconds()}
		for i := range a.errors {
			if n := a.errors[i].Load(); n > 0 {
				if am.Errors == nil {
					am.Errors = map[string]uint64{}
				}
				am.Errors[tunnel.BackendErrKinds[i]] = n
			}
		}
		for i := range a.buckets {
			am.Buckets[i] = a.buckets[i].Load()
		}
		out.Apps = append(out.Apps, am)
		return true
	})
	m.plugins.Range(func(k, v any) bool {
		p := v.(*pluginCounters)
		out.SignOn = append(out.SignOn, tunnel.PluginMetrics{Plugin: k.(string), Failures: p.failures.Load(), Restarts: p.restarts.Load(),
			Calls: p.calls.Load(), Reused: p.reused.Load()})
		return true
	})
	if len(out.Apps) == 0 && len(out.SignOn) == 0 {
		return nil
	}
	return out
}

// isPinError: the backend's certificate did not match pin_sha256 (apps.go).
func isPinError(err error) bool {
	return strings.Contains(err.Error(), "does not match the pinned")
}

// refused counts a request refused before the backend because its app's
// sign-on plug-in failed (not a missing or bad identity, and not a
// plug-in asking the user for credentials).
func (m *metrics) refused(a *app, err error) {
	if a.cfg.SignOn == nil || errors.Is(err, errIdentity) || errors.Is(err, errAskCredentials) || errors.Is(err, errBadLabel) {
		return
	}
	m.signOnFailed(a.cfg.SignOn.Plugin)
}
