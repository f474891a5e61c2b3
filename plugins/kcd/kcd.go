// Package kcd is the Kerberos constrained delegation Injector: it signs the
// user in to a backend that uses Integrated Windows Authentication, with an
// `Authorization: Negotiate` ticket in the user's name, without ever having
// the user's password.
//
// With its own account's keytab, the connector asks the KDC for a ticket to
// itself in the user's name (S4U2Self, protocol transition), then trades it
// for a ticket to the backend's SPN (S4U2Proxy). The KDC decides both: the
// account must be trusted for protocol transition and may delegate only to
// the SPNs of its delegation list. Tickets are cached per (user, SPN) until
// shortly before they end; concurrent requests for one pair share one KDC
// exchange. See README.md for its config.
package kcd

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gatehouse/gatehouse/plugins/kcd/internal/s4u"
	"github.com/gatehouse/gatehouse/sdk"
)

// Plugin is the kcd plug-in, for sdk.Serve.
func Plugin() sdk.Plugin {
	return sdk.Plugin{Injector: func(ctx context.Context, req sdk.ConfigureRequest) (sdk.Injector, error) {
		return New(req)
	}}
}

// injector is one app's configured kcd Injector.
type injector struct {
	spn    string
	mapper mapper
	cache  *ticketCache
	log    *slog.Logger
	now    func() time.Time
	// delegate gets a ticket from the KDC; the client's Delegate, or a
	// wrapper of it in tests that count KDC exchanges.
	delegate func(ctx context.Context, user s4u.User) (*s4u.Ticket, error)
}

var _ sdk.Injector = (*injector)(nil)

// New builds the Injector for one app from its config. It reads the keytab
// and krb5.conf but does not talk to the KDC: the first request does.
func New(req sdk.ConfigureRequest) (sdk.Injector, error) {
	return newInjector(req, time.Now)
}

// newInjector is New with a clock for ticket expiry; nil means time.Now.
func newInjector(req sdk.ConfigureRequest, now func() time.Time) (*injector, error) {
	if now == nil {
		now = time.Now
	}
	s, err := decode(req)
	if err != nil || req.CheckOnly {
		return nil, err // checked: the host closes the plug-in at once
	}
	log := req.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.client.Now, s.client.Log = now, log
	client, err := s4u.New(s.client)
	if err != nil {
		return nil, err
	}
	in := &injector{spn: s.spn.PrincipalNameString(), mapper: s.mapper, log: log, now: now}
	in.delegate = func(ctx context.Context, user s4u.User) (*s4u.Ticket, error) {
		return client.Delegate(ctx, user, s.spn)
	}
	in.cache = newTicketCache(in.fetch, now, s.timeout, s.cacheSize)
	if fi, err := os.Stat(s.keytab); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("kcd: users other than the connector's have access to the keytab; chmod 600 it", "keytab", s.keytab, "mode", fi.Mode().Perm().String())
	}
	log.Info("kcd: configured", "spn", in.spn, "principal", client.Service(), "identity", in.mapper.setting)
	return in, nil
}

// sparesFor is how long the spare tokens of one call stay usable at the
// connector: far inside Kerberos' 5-minute clock-skew window, so a spare
// used at its end still carries an authenticator time the backend accepts
// (and its replay cache still remembers), with room for clocks that differ
// by a few minutes.
const sparesFor = 60 * time.Second

// Inject sets Authorization to a Negotiate token in the user's name for the
// app's SPN, replacing whatever the client sent. Without a ticket (no user
// to map, the KDC refuses) it fails, so the request never reaches the
// backend unauthenticated. Asked for spares, it makes that many more
// tokens from the same ticket (spares).
func (in *injector) Inject(ctx context.Context, req sdk.InjectRequest) (sdk.InjectResult, error) {
	user, err := in.mapper.user(req.Identity)
	if err != nil {
		return sdk.InjectResult{}, err
	}
	t, err := in.cache.get(ctx, ticketKey{user: user, spn: in.spn})
	if err != nil {
		return sdk.InjectResult{}, err
	}
	auth, err := t.Negotiate()
	if err != nil {
		return sdk.InjectResult{}, err
	}
	res := sdk.InjectResult{
		Remove: []string{"Authorization"},
		Set:    http.Header{"Authorization": {auth}},
	}
	in.spares(&res, t, min(req.Spares, sdk.MaxSpares))
	return res, nil
}

// spares adds n spare tokens from t to res: each is a fresh authenticator,
// which a backend accepts once, and depends on nothing but the user and
// the SPN, so the connector may hand each to one later request of the
// session. None when t ends within sparesFor: a spare must stay good for
// as long as the connector may keep it. A backend's 401 drops the rest
// (ForgetOn).
func (in *injector) spares(res *sdk.InjectResult, t *s4u.Ticket, n int) {
	if n <= 0 || !in.now().Add(sparesFor).Before(t.Expires) {
		return
	}
	for range n {
		auth, err := t.Negotiate()
		if err != nil {
			in.log.Warn("kcd: no spare token", "user", t.Client(), "error", err)
			break
		}
		res.Spares = append(res.Spares, http.Header{"Authorization": {auth}})
	}
	if len(res.Spares) > 0 {
		res.SparesFor, res.ForgetOn = sparesFor, []int{http.StatusUnauthorized}
	}
}

// fetch gets a new ticket from the KDC for a cache miss.
func (in *injector) fetch(ctx context.Context, k ticketKey) (*s4u.Ticket, error) {
	start := time.Now()
	t, err := in.delegate(ctx, k.user)
	if err != nil {
		in.log.Warn("kcd: no ticket", "user", k.user.Name, "spn", k.spn, "error", err)
		return nil, err
	}
	if !in.now().Before(t.Expires) {
		return nil, fmt.Errorf("the KDC issued %s a ticket to %s that ends at once (%v); check the ticket lifetime policy", t.Client(), k.spn, t.EndTime)
	}
	in.log.Debug("kcd: ticket", "user", t.Client(), "spn", k.spn, "ends", t.EndTime, "took", time.Since(start).Round(time.Microsecond))
	return t, nil
}
