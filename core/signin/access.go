package signin

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/core/device"
	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/core/policy"
	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/target"
	"github.com/gatehouse/gatehouse/internal/httphead"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/tunnel"
)

// A Store is where sessions are revoked and sign-ins recorded.
type Store interface {
	// Revocation: the subject's revocation line, and whether session id
	// ("" for none yet) was signed out, in one read.
	Revocation(ctx context.Context, subject, id string) (before time.Time, signedOut bool, err error)
	// Sign-outs: a session revoked until it would have expired.
	RevokeSession(ctx context.Context, id string, expires time.Time) error
	AddSignIn(ctx context.Context, s store.SignIn) error
	// TryLock marks sign-in states used: a state's lock can be taken once.
	TryLock(ctx context.Context, name, owner string, now, expires time.Time) (bool, error)
}

// verdict is what checking a session said.
type verdict int

const (
	pass   verdict = iota // the request may go on
	reauth                // the user must sign in again (revoked, too old)
	done                  // answered (denied, or the check could not be made)
)

// check decides whether the user of session s may make request r: the
// session must not be revoked, and the app's access policy must allow it.
// It returns the user's identity with the verdict.
func (a *App) check(w http.ResponseWriter, r *http.Request, rid string, s session.Session, now time.Time) (sdk.Identity, verdict) {
	id, err := a.Gate.identities.get(s)
	if err != nil {
		a.Gate.Logger.Error("session refused: its identity envelope does not decode", "app", a.Name, "request_id", rid, "error", err)
		return sdk.Identity{}, reauth
	}
	if v := a.revoked(w, r, rid, id, s); v != pass {
		return id, v
	}
	return id, a.allowed(w, r, rid, id, s, now)
}

// revoked checks the store: the subject's revocation line, against when
// the user signed in or, if earlier, when the token they signed in with
// was issued (its "iat" claim: a bearer token from before a revocation
// stays revoked however often it is presented), and the session's own
// sign-out.
func (a *App) revoked(w http.ResponseWriter, r *http.Request, rid string, id sdk.Identity, s session.Session) verdict {
	// s.ID is "" for a token presented now, before its session exists.
	before, gone, err := a.Gate.revocation(r.Context(), id.Subject, s.ID)
	if err != nil {
		a.unavailable(w, r, rid, err)
		return done
	}
	if issued(s, id).Before(before) {
		a.Gate.Logger.Info("session revoked: signing in again", "app", a.Name, "request_id", rid, "subject", id.Subject, "session", s.ID)
		return reauth
	}
	if gone {
		a.Gate.Logger.Info("session signed out: signing in again", "app", a.Name, "request_id", rid, "subject", id.Subject, "session", s.ID)
		return reauth
	}
	return pass
}

// revocation is Store.Revocation, or Revocations' answer (see Gate).
func (g *Gate) revocation(ctx context.Context, subject, id string) (time.Time, bool, error) {
	if g.Revocations != nil && g.MemoryFirst && g.Revocations.Current() {
		before, gone := g.Revocations.Revocation(subject, id)
		return before, gone, nil
	}
	before, gone, err := g.Store.Revocation(ctx, subject, id)
	if err != nil && g.Revocations != nil {
		g.Logger.Debug("revocation check: the store failed; answering from the revocations held in memory", "error", err)
		before, gone = g.Revocations.Revocation(subject, id)
		return before, gone, nil
	}
	return before, gone, err
}

// issued is when the credential behind session s was issued: the sign-in,
// or the identity's "iat" claim if that is earlier.
func issued(s session.Session, id sdk.Identity) time.Time {
	t := s.IssuedAt
	var iat float64
	switch v := id.Claims["iat"].(type) {
	case float64:
		iat = v
	case json.Number:
		iat, _ = v.Float64()
	case int64:
		iat = float64(v)
	}
	if iat > 0 && time.Unix(int64(iat), 0).Before(t) {
		t = time.Unix(int64(iat), 0)
	}
	return t
}

// allowed applies the app's access policy to the request of session s.
func (a *App) allowed(w http.ResponseWriter, r *http.Request, rid string, id sdk.Identity, s session.Session, now time.Time) verdict {
	if a.Policy == nil || a.Policy.Empty() {
		return pass
	}
	ip := ClientIP(r)
	d := a.Policy.Decide(policy.Input{Identity: id, SignedIn: s.IssuedAt, ClientIP: ip,
		Method: r.Method, Host: httphead.HostName(r.Host), Path: target.Policy(r.URL.Path, a.FoldPathCase), Now: now,
		Device: device.FromContext(r.Context())}) // verified by the gateway (core/gateway/device.go)
	if d.Allow {
		a.Gate.Logger.Debug("access allowed", "app", a.Name, "request_id", rid, "subject", id.Subject, "rule", d.Rule)
		return pass
	}
	if d.Reauth {
		a.Gate.Logger.Info("access needs a new sign-in", "app", a.Name, "request_id", rid, "subject", id.Subject, "rule", d.Rule, "reason", d.Reason)
		return reauth
	}
	a.Gate.Logger.Info("access denied", "app", a.Name, "request_id", rid, "subject", id.Subject, "rule", d.Rule, "reason", d.Reason, "client_ip", ip.String())
	a.record(r, store.SignIn{Subject: id.Subject, Result: "denied", Reason: d.Rule + ": " + d.Reason}, d.Rule)
	errorpage.Write(w, r, errorpage.Page{Status: http.StatusForbidden, Title: "Access denied",
		Text: "You are signed in, but this app's access policy does not let you in. Ask your IT team if you need access.", RequestID: rid,
		Links: []errorpage.Link{{Text: "Sign in as someone else", Href: reserved.SignOut(a.Name)}}})
	return done
}

// record writes to the sign-in log; a failure is logged, not fatal. Only
// outcomes of identified users are stored, and at most one identical
// record a minute; what nobody can be held to (a wrong key, a replayed
// state) is counted in memory and logged (see signinlog.go), so a client
// cannot grow the store by sending requests. reason is the metrics'
// name for a refusal ("" for none; see metrics.go).
func (a *App) record(r *http.Request, s store.SignIn, reason string) {
	s.At, s.App, s.Plugin, s.ClientIP = a.Gate.Now(), a.Name, a.Plugin, ClientIP(r).String()
	s.Device = device.FromContext(r.Context()).Label()
	if s.Subject == "" {
		a.unidentified(s.Result, reason)
		return
	}
	a.count(s.Result, reason)
	if !a.Gate.recent.first(s) {
		return
	}
	if err := a.Gate.Store.AddSignIn(context.WithoutCancel(r.Context()), s); err != nil {
		a.Gate.recent.forget(s) // not stored: the next identical record must be
		a.Gate.Logger.Error("sign-in log: cannot record", "app", a.Name, "error", err)
	}
}

// ClientIP is the address r came from (IPv4 unmapped), or the zero Addr
// when its RemoteAddr is not an address.
func ClientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}

// identities caches the identity of each session (sessions are immutable),
// so a request costs a map lookup, not a JSON decode.
type identities struct {
	mu sync.Mutex
	m  map[string]sdk.Identity
}

const maxIdentities = 10000

func (c *identities) get(s session.Session) (sdk.Identity, error) {
	c.mu.Lock()
	id, ok := c.m[s.ID]
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	e, err := tunnel.ReadEnvelope(s.Envelope)
	if err != nil {
		return sdk.Identity{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxIdentities {
		c.m = map[string]sdk.Identity{}
	}
	c.m[s.ID] = e.Identity
	return e.Identity, nil
}
