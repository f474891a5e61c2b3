package registry

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/tunnel"
	"github.com/hashicorp/yamux"
)

// An app with sign-on reaches only connector sessions that run its
// sign-on plug-in with its current config: each ready a connector sends
// says which apps' sign-on it accepted (tunnel.SignOnReport), and
// DialApp picks among those sessions only. A request is never sent to a
// connector that refused the app's sign-on, nor to one that has not yet
// answered the config that changed it.

// SignOnNeed is what an app with sign_on asks of a session.
type SignOnNeed struct {
	Plugin string
	// Builtin says the plug-in is built into the connectors: one that
	// reports nothing (a version older than sign-on reports) runs it.
	Builtin bool
	// Since is the first config version in which the app's connector
	// config was what it is now: a session whose latest ready is older
	// has not answered for it yet.
	Since uint64
}

// defaultSignOnWait bounds how long a request waits for sessions to
// answer a config that changed its app (the connector waits as long for a
// config); Registry.signOnWait is it but in tests.
const defaultSignOnWait = 5 * time.Second

// SetSignOns replaces the apps' needs (by app name) on a config change.
// Call it before requests are routed with the new config and before
// connectors get it.
func (r *Registry) SetSignOns(needs map[string]SignOnNeed) { r.needs.Store(&needs) }

// Report records what session s's connector said with its ready for
// config version: its sign-on report, nil from a connector that sends none.
func (r *Registry) Report(s *yamux.Session, version uint64, rep *tunnel.SignOnReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ts := r.sessions[s]
	if ts == nil {
		return
	}
	ts.version, ts.signOn = version, rep
	ts.accepted, ts.refused = nil, nil
	if rep != nil {
		ts.accepted = make(map[string]bool, len(rep.Accepted))
		for _, app := range rep.Accepted {
			ts.accepted[app] = true
		}
		ts.refused = make(map[string]tunnel.SignOnRefusal, len(rep.Refused))
		for _, ref := range rep.Refused {
			ts.refused[ref.App] = ref
		}
	}
	close(r.reported)
	r.reported = make(chan struct{})
}

// verdict gathers, during a pick, why sessions could not take an app.
type verdict struct {
	pending   bool // a session has not answered the app's current config yet
	refusal   *tunnel.SignOnRefusal
	connector string // whose refusal
}

// serves reports whether s runs app's sign-on as need asks; the caller
// holds Registry.mu.
func (s *session) serves(c *connector, app string, need *SignOnNeed, v *verdict) bool {
	switch {
	case need == nil:
		return true
	case s.version < need.Since:
		v.pending = true
		return false
	case s.signOn == nil && need.Builtin:
		return true
	case s.signOn == nil:
		v.refuse(c.id, tunnel.SignOnRefusal{App: app, Plugin: need.Plugin, Field: "sign_on.plugin",
			Message: "this connector is a version that does not report its sign-on plug-ins, so it gets only apps with built-in ones: upgrade it"})
		return false
	case s.accepted[app]:
		return true
	}
	ref, ok := s.refused[app]
	if !ok {
		ref = tunnel.SignOnRefusal{App: app, Plugin: need.Plugin, Field: "sign_on", Message: "the connector did not report this app's sign-on"}
	}
	v.refuse(c.id, ref)
	return false
}

func (v *verdict) refuse(connector string, ref tunnel.SignOnRefusal) {
	if v.refusal == nil {
		v.refusal, v.connector = &ref, connector
	}
}

// usable reports whether one of c's sessions may get a new request for
// app; the caller holds Registry.mu.
func (c *connector) usable(app string, need *SignOnNeed, v *verdict) bool {
	for _, s := range c.sessions {
		if s.usable(c, app, need, v) {
			return true
		}
	}
	return false
}

// usable reports whether s may get a new request for app.
func (s *session) usable(c *connector, app string, need *SignOnNeed, v *verdict) bool {
	return !s.draining && s.serves(c, app, need, v)
}

// SignOnError means that no active connector of the group runs an app's
// sign-on: each refused it (the first refusal is quoted) or has not
// answered its current config in time. It wraps ErrNoConnector.
type SignOnError struct {
	Group, App, Plugin string
	Connector          string // whose refusal is quoted
	Refusal            *tunnel.SignOnRefusal
	Waited             time.Duration // for sessions to answer the app's config, when none refused
}

func (e *SignOnError) Error() string {
	if e.Refusal == nil {
		return fmt.Sprintf("no connector in group %q has confirmed sign-on plug-in %q for app %q since its config changed (waited %s)",
			e.Group, e.Plugin, e.App, e.Waited)
	}
	return fmt.Sprintf("no connector in group %q accepted sign-on plug-in %q for app %q: %s: %s (connector %s)",
		e.Group, e.Plugin, e.App, e.Refusal.Field, e.Refusal.Message, e.Connector)
}

func (e *SignOnError) Unwrap() error { return ErrNoConnector }

// Page is the answer to a request the error stopped: a 503 that says why.
// It names the group, plug-in, app and the refused field, but not the
// connector's message (it may name paths and checksums on the connector's
// host): that is in the gateway's log and in "gatehouse connectors".
func (e *SignOnError) Page() errorpage.Page {
	why := fmt.Sprintf("no connector in group %q has confirmed sign-on plug-in %q for app %q since its config changed", e.Group, e.Plugin, e.App)
	if e.Refusal != nil {
		why = fmt.Sprintf("no connector in group %q accepted sign-on plug-in %q for app %q (connector %s refused %s)",
			e.Group, e.Plugin, e.App, e.Connector, e.Refusal.Field)
	}
	return errorpage.Page{Status: http.StatusServiceUnavailable, Title: "Sign-in to the app unavailable",
		Text: "Gatehouse cannot sign you in to this app: " + why + ". An administrator sees the full reason with \"gatehouse connectors\"."}
}

// DialApp is DialGroup for a request to app: with sign-on, only sessions
// that run the app's sign-on are picked. While none does but some have not
// answered the app's current config, it waits for them (up to 5 s).
func (r *Registry) DialApp(ctx context.Context, group, app string, avoid []string, reuse bool) (net.Conn, string, func(), error) {
	var need *SignOnNeed
	if app != "" {
		if n, ok := (*r.needs.Load())[app]; ok {
			need = &n
		}
	}
	var timeout <-chan time.Time
	for attempt := 0; attempt < 4; {
		c, s, v, reported := r.pick(group, app, need, avoid)
		if c == nil {
			if need == nil || (!v.pending && v.refusal == nil) {
				return nil, "", nil, fmt.Errorf("%w in group %q", ErrNoConnector, group)
			}
			if v.pending {
				if timeout == nil {
					t := time.NewTimer(r.signOnWait)
					defer t.Stop()
					timeout = t.C
				}
				select {
				case <-reported:
					continue
				case <-ctx.Done():
					return nil, "", nil, ctx.Err()
				case <-timeout:
				}
			}
			return nil, "", nil, &SignOnError{Group: group, App: app, Plugin: need.Plugin, Connector: v.connector, Refusal: v.refusal, Waited: r.signOnWait}
		}
		attempt++
		st, err := r.open(s, reuse)
		s.opening.Done()
		if err != nil {
			c.inflight.Add(-1)
			avoid = append(avoid, c.id) // dying session: try the next connector
			continue
		}
		c.inUse.add(st)
		return st, c.id, func() { c.inUse.remove(st); c.inflight.Add(-1) }, nil
	}
	return nil, "", nil, fmt.Errorf("%w in group %q (every session failed to open a stream)", ErrNoConnector, group)
}
