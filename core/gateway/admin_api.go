package gateway

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/metrics"
	"github.com/gatehouse/gatehouse/tunnel"
)

// The read-only admin API, JSON under /api/v1/ on the admin listener, for
// the console and the CLI. Each answer is an object, so fields can be
// added without breaking a client:
//
//	/api/v1/status      version, config version, file, hash and time applied, certificates, readiness, the nodes sharing the store,
//	                    the change feed's latest seq whose revocations this node answers from memory (changes.applied_seq)
//	/api/v1/apps        each app: host, prefix, group, auth, sign-on, filters, serving (its group has an active connector here)
//	/api/v1/connectors  each enrolled or attached connector: group, host name, version, address, state, sessions, streams in flight, last seen,
//	                    tunnel RTT, and its sign-on report (plug-ins, apps accepted and refused) when attached here
//	/api/v1/groups      each connector group: apps, in use, up, connectors by state
//
// Connector states are this node's view: active, inactive (heartbeats
// missed), draining, or offline (enrolled, no session to this node).

type apiApp struct {
	Name       string   `json:"name"`
	Host       string   `json:"host"`
	PathPrefix string   `json:"path_prefix"`
	Group      string   `json:"group"`
	Auth       string   `json:"auth"`              // the Authenticator plug-in, or "passthrough"
	SignOn     string   `json:"sign_on,omitempty"` // the Injector plug-in
	Filters    []string `json:"filters"`
	Serving    bool     `json:"serving"`
}

type apiConnector struct {
	ID              string     `json:"id"`
	Group           string     `json:"group"`
	Hostname        string     `json:"hostname,omitempty"`
	Version         string     `json:"version,omitempty"`
	Address         string     `json:"address,omitempty"`
	State           string     `json:"state"`
	Sessions        int        `json:"sessions"`
	StreamsInFlight int64      `json:"streams_in_flight"`
	LastSeen        *time.Time `json:"last_seen,omitempty"`
	EnrolledAt      *time.Time `json:"enrolled_at,omitempty"`
	// RTTSeconds is the tunnel's latest round trip (absent: not attached
	// here, or not measured yet).
	RTTSeconds float64 `json:"rtt_seconds,omitempty"`
	// SignOn is its latest sign-on report (absent: not attached here, or
	// a version that reports none).
	SignOn *apiSignOn `json:"sign_on,omitempty"`
	// Update is its latest update by a rollout (rollout.go; absent: none).
	Update *apiUpdate `json:"update,omitempty"`
}

// apiSignOn is what a connector reported with its latest ready.
type apiSignOn struct {
	Plugins  []apiPlugin            `json:"plugins"`  // its catalog
	Accepted []string               `json:"accepted"` // the apps whose sign-on it runs
	Refused  []tunnel.SignOnRefusal `json:"refused"`  // why it runs no other's
}

type apiPlugin struct {
	Name    string `json:"name"`
	Builtin bool   `json:"builtin,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
}

type apiGroup struct {
	Name       string         `json:"name"`
	Apps       []string       `json:"apps"`
	InUse      bool           `json:"in_use"` // an app uses it
	Up         bool           `json:"up"`     // it has an active connector on this node
	Active     int            `json:"active"`
	Connectors map[string]int `json:"connectors"` // by state
}

func (a *Admin) api(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/status", a.withGateway(func(g *Gateway, r *http.Request) any {
		s := g.snap.Load()
		return map[string]any{"version": g.opts.Version, "config_version": s.version, "config_file": s.cfg.Path,
			"config_sha256": s.cfg.SHA256, "config_applied_at": s.built.UTC(),
			"certificates": apiCertificates(a, s), "readiness": a.readyBody(a.ready.snapshot()),
			"node": s.cfg.Cluster.NodeID, "nodes": g.apiNodes(),
			"changes": map[string]int64{"applied_seq": g.cluster.revocations.Applied()}}
	}))
	mux.HandleFunc("GET /api/v1/apps", a.withGateway(func(g *Gateway, r *http.Request) any {
		return map[string]any{"apps": g.apiApps()}
	}))
	mux.HandleFunc("GET /api/v1/groups", a.withGateway(func(g *Gateway, r *http.Request) any {
		return map[string]any{"groups": g.apiGroups()}
	}))
	mux.HandleFunc("GET /api/v1/connectors", a.withGateway(func(g *Gateway, r *http.Request) any {
		conns, err := g.apiConnectors(r.Context())
		out := map[string]any{"connectors": conns}
		if err != nil {
			out["store_error"] = err.Error() // the attached connectors are listed all the same
		}
		return out
	}))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such endpoint (GET /api/v1/status, apps, connectors or groups)"})
	})
}

// withGateway answers with f's value once a gateway is attached, 503
// before.
func (a *Admin) withGateway(f func(g *Gateway, r *http.Request) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g := a.gw.Load()
		if g == nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "the gateway's state is not loaded yet", "readiness": a.readyBody(a.ready.snapshot())})
			return
		}
		writeJSON(w, http.StatusOK, f(g, r))
	}
}

// connectorView is what the metrics and the API know of the groups and
// the connectors attached to this node.
func (g *Gateway) connectorView() ([]metrics.Group, []metrics.Connector) {
	cfg := g.snap.Load().cfg
	used := map[string]bool{}
	for _, a := range cfg.Apps {
		used[a.Group] = true
	}
	groups := make([]metrics.Group, 0, len(cfg.ConnectorGroups))
	for _, cg := range cfg.ConnectorGroups {
		groups = append(groups, metrics.Group{Name: cg.Name, InUse: used[cg.Name]})
	}
	list := g.reg.List()
	conns := make([]metrics.Connector, len(list))
	for i, s := range list {
		conns[i] = metrics.Connector{ID: s.ID, Group: s.Group, Active: s.Active, Sessions: s.Sessions, Draining: s.Draining, InFlight: s.InFlight, RTT: s.RTT}
	}
	return groups, conns
}

// upGroups are the groups with an active connector on this node.
func upGroups(conns []metrics.Connector) map[string]bool {
	up := map[string]bool{}
	for _, c := range conns {
		up[c.Group] = up[c.Group] || c.Serving()
	}
	return up
}

func (g *Gateway) apiApps() []apiApp {
	cfg := g.snap.Load().cfg
	_, conns := g.connectorView()
	up := upGroups(conns)
	out := make([]apiApp, 0, len(cfg.Apps))
	for _, a := range cfg.Apps {
		app := apiApp{Name: a.Name, Host: a.Host, PathPrefix: a.PathPrefix, Group: a.Group, Auth: a.Auth.Plugin,
			SignOn: a.SignOn.Plugin, Filters: []string{}, Serving: up[a.Group]}
		if a.Auth.Passthrough {
			app.Auth = "passthrough"
		}
		for _, f := range a.Filters {
			app.Filters = append(app.Filters, f.Filter)
		}
		out = append(out, app)
	}
	return out
}

func (g *Gateway) apiGroups() []apiGroup {
	cfg := g.snap.Load().cfg
	groups, conns := g.connectorView()
	out := make([]apiGroup, 0, len(groups))
	for _, gr := range groups {
		ag := apiGroup{Name: gr.Name, Apps: []string{}, InUse: gr.InUse, Connectors: map[string]int{}}
		for _, s := range metrics.States {
			ag.Connectors[s] = 0
		}
		for _, a := range cfg.Apps {
			if a.Group == gr.Name {
				ag.Apps = append(ag.Apps, a.Name)
			}
		}
		for _, c := range conns {
			if c.Group == gr.Name {
				ag.Connectors[c.State()]++
			}
		}
		ag.Active = ag.Connectors["active"]
		ag.Up = ag.Active > 0
		out = append(out, ag)
	}
	return out
}

// apiConnectors lists the enrolled connectors (from the store) with this
// node's view of each; a connector attached here that the store does not
// list (yet, or the store failed: err) is listed too.
func (g *Gateway) apiConnectors(ctx context.Context) ([]apiConnector, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	enrolled, err := g.opts.Store.ListConnectors(ctx)
	_, conns := g.connectorView()
	reports := g.reg.SignOnReports()
	attached := map[string]metrics.Connector{}
	for _, c := range conns {
		attached[c.ID] = c
	}
	out := make([]apiConnector, 0, max(len(enrolled), len(conns)))
	for _, e := range enrolled {
		ac := apiConnector{ID: e.ID, Group: e.Group, Hostname: e.Hostname, Version: e.Version, Address: e.Addr, State: "offline",
			LastSeen: timePtr(e.LastSeen), EnrolledAt: timePtr(e.CreatedAt)}
		if c, ok := attached[e.ID]; ok {
			ac.attached(c, reports)
			delete(attached, e.ID)
		}
		out = append(out, ac)
	}
	for _, c := range conns {
		if _, ok := attached[c.ID]; ok {
			ac := apiConnector{ID: c.ID, Group: c.Group}
			ac.attached(c, reports)
			out = append(out, ac)
		}
	}
	slices.SortStableFunc(out, func(a, b apiConnector) int {
		if a.Group != b.Group {
			return cmp.Compare(a.Group, b.Group)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	g.addUpdates(ctx, out) // rollout.go
	return out, err
}

// attached fills in this node's view of connector c.
func (ac *apiConnector) attached(c metrics.Connector, reports map[string]tunnel.SignOnReport) {
	ac.State, ac.Sessions, ac.StreamsInFlight, ac.RTTSeconds = c.State(), c.Sessions, c.InFlight, c.RTT.Seconds()
	rep, ok := reports[c.ID]
	if !ok {
		return
	}
	so := &apiSignOn{Plugins: make([]apiPlugin, 0, len(rep.Plugins)), Accepted: rep.Accepted, Refused: rep.Refused}
	for _, p := range rep.Plugins {
		so.Plugins = append(so.Plugins, apiPlugin(p))
	}
	if so.Accepted == nil {
		so.Accepted = []string{}
	}
	if so.Refused == nil {
		so.Refused = []tunnel.SignOnRefusal{}
	}
	ac.SignOn = so
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

type apiCert struct {
	Host     string    `json:"host"`
	NotAfter time.Time `json:"not_after"`
}

// apiCertificates: the certificate served for each published host (as
// the metrics recorded at its latest handshake), and tls.cert_file's.
func apiCertificates(a *Admin, s *snapshot) []apiCert {
	out := []apiCert{}
	for host, exp := range a.metrics.Certificates().Expiries() {
		out = append(out, apiCert{Host: host, NotAfter: exp.UTC()})
	}
	if s.cert != nil && s.cert.Leaf != nil {
		out = append(out, apiCert{Host: "tls.cert_file (" + strings.Join(s.cert.Leaf.DNSNames, ", ") + ")", NotAfter: s.cert.Leaf.NotAfter.UTC()})
	}
	slices.SortFunc(out, func(x, y apiCert) int { return cmp.Or(x.NotAfter.Compare(y.NotAfter), cmp.Compare(x.Host, y.Host)) })
	return out
}
