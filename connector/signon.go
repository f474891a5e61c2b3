package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/tunnel"
)

// signOn is an app's Injector: an entry of the connector's catalog, a
// built-in plug-in this binary serves as a child process ("gatehouse-connector
// plugin serve NAME") or an executable the connector's operator pinned.
type signOn struct {
	inj *pluginhost.Injector
	// inject is inj.Inject (a test's fake Injector in unit tests).
	inject func(context.Context, sdk.InjectRequest) (sdk.InjectResult, error)
	err    error // why the plug-in could not start: requests fail closed
	// refusal is err as the gateway gets it, which then sends the app's
	// requests to other connectors.
	refusal *tunnel.SignOnRefusal

	// gen names this start of the plug-in in the reuse cache: a config
	// change starts a new one, so results of the old config are never
	// served again.
	gen    uint64
	cache  *reuseCache // the connector's (signoncache.go); nil for a refused plug-in
	spares spareStats  // whether its plug-in makes spares (spares.go)
}

// signOnGens numbers signOn starts across the process.
var signOnGens atomic.Uint64

// startSignOn starts the app's Injector, if it has one. A failure is kept
// (and logged) rather than returned: it is reported to the gateway, the
// app's requests fail closed, and the connector keeps serving its other
// apps.
func (t *transports) startSignOn(c tunnel.AppConfig) *signOn {
	if c.SignOn == nil {
		return nil
	}
	cat := t.catalog
	if cat == nil {
		cat = NewCatalog()
	}
	entry, missing := cat.lookup(c.SignOn.Plugin)
	if missing != "" {
		return t.refuse(c, "sign_on.plugin", missing)
	}
	inj := t.plugins.Injector(entry, pluginhost.Use{App: c.Name, Config: c.SignOn.Config, Keys: c.SignOn.Keys})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := inj.Open(ctx); err != nil {
		_ = inj.Close()
		field, msg := refusalOf(err)
		return t.refuse(c, field, msg)
	}
	if t.reuse == nil {
		t.reuse = newReuseCache(maxReuseEntries, maxReuseBytes)
	}
	return &signOn{inj: inj, inject: inj.Inject, gen: signOnGens.Add(1), cache: t.reuse}
}

// refuse records why app c's sign-on cannot run, with every value of its
// config that could be a secret taken out of the message.
func (t *transports) refuse(c tunnel.AppConfig, field, msg string) *signOn {
	msg = redact(strings.TrimPrefix(msg, fmt.Sprintf("plug-in %q: ", c.SignOn.Plugin)), c.SignOn.Config)
	r := tunnel.SignOnRefusal{App: c.Name, Plugin: c.SignOn.Plugin, Field: field, Message: msg}
	log := t.log
	if log == nil {
		log = slog.Default()
	}
	log.Error("sign-on refused: the gateway sends this app's requests to other connectors of the group",
		"app", r.App, "plugin", r.Plugin, "field", r.Field, "error", r.Message)
	return &signOn{refusal: &r, err: fmt.Errorf("sign-on plug-in %q for app %q was refused: %s: %s", r.Plugin, r.App, r.Field, r.Message)}
}

// close stops the plug-in after grace, so requests in flight can finish;
// at once (and before returning) when grace is 0.
func (s *signOn) close(grace time.Duration) {
	if s != nil && s.cache != nil {
		// Its results belong to the old config. A request still admitted
		// by it during grace may add one back; nothing looks it up again,
		// and it leaves at its expiry or when the cache needs the room.
		s.cache.dropGen(s.gen)
	}
	switch {
	case s == nil || s.inj == nil:
	case grace == 0:
		_ = s.inj.Close()
	default:
		time.AfterFunc(grace, func() { _ = s.inj.Close() })
	}
}

// errIdentity marks a request refused because its identity did not check out.
var errIdentity = errors.New("identity refused")

// errAskCredentials means the sign-on plug-in needs the user to enter
// credentials (the password vault has none that work).
var errAskCredentials = errors.New("the sign-on plug-in asks the user for credentials")

// admit checks a request's identity for app a and runs its Injector on
// out. Without an error, out may go to the backend; a backend answer with
// status *rejectStatus (when set) means it refused the injected credentials.
func (s *session) admit(ctx context.Context, a *app, hdr tunnel.RequestHeader, out *http.Request, rejectStatus *int) error {
	if !a.cfg.Identity {
		return nil
	}
	if len(hdr.Envelope) == 0 {
		return fmt.Errorf("%w: the app has sign-in but the request carries no identity envelope", errIdentity)
	}
	now := time.Now()
	env, sum, err := s.c.envelopes.open(hdr.Envelope, a.cfg.Name, now)
	if err != nil {
		return fmt.Errorf("%w: %w", errIdentity, err)
	}
	if a.signOn == nil {
		return nil
	}
	if a.signOn.err != nil {
		return a.signOn.err
	}
	key := reuseKey{gen: a.signOn.gen, app: a.cfg.Name, backend: out.URL.Host, session: env.Session, sum: sum}
	res, ok, ask, own, err := a.signOn.cache.take(ctx, key)
	if err != nil { // it waited for a refill (spares.go) until ctx ended
		return fmt.Errorf("sign-on plug-in %q: %w", a.cfg.SignOn.Plugin, err)
	}
	if ok { // a reused result, or a spare (spares.go)
		s.c.metrics.signOnCall(a.cfg.SignOn.Plugin, true)
		applyResult(res, out, rejectStatus)
		return nil
	}
	if own != nil { // this request refills the key's spares
		defer a.signOn.cache.endRefill(key, own)
	}
	s.c.metrics.signOnCall(a.cfg.SignOn.Plugin, false)
	ask = a.signOn.sparesAsk(ask)
	res, err = a.signOn.inject(ctx, sdk.InjectRequest{
		Identity: env.Identity, Method: out.Method, URL: out.URL.String(), Header: out.Header, Secret: hdr.Secret,
		SessionExpires: env.Expires, Spares: ask,
	})
	if err != nil {
		return fmt.Errorf("sign-on plug-in %q: %w", a.cfg.SignOn.Plugin, err)
	}
	if res.AskCredentials {
		return errAskCredentials
	}
	applyResult(res, out, rejectStatus)
	if res.ReuseFor > 0 {
		exp := now.Add(res.ReuseFor)
		if env.Expires.Before(exp) {
			exp = env.Expires // never past the session
		}
		res.Spares, res.SparesFor = nil, 0 // a reused result needs none
		a.signOn.cache.put(key, res, exp)
	} else if a.signOn.cache != nil {
		a.signOn.keepSpares(s.log, a.cfg.SignOn.Plugin, key, res, ask, now, env.Expires)
	}
	return nil
}

// applyResult changes out's header as res says and notes its RejectStatus.
func applyResult(res sdk.InjectResult, out *http.Request, rejectStatus *int) {
	res.Apply(out.Header)
	if res.RejectStatus != 0 {
		*rejectStatus = res.RejectStatus
	}
}

// forgetSignOn drops the reused sign-on result, or the spares, of the
// session behind hdr when the backend answered status and the result's
// plug-in asked for that (sdk.InjectResult.ForgetOn): the session's next
// request calls the plug-in again. Most answers cost one bit test.
func (s *session) forgetSignOn(a *app, hdr *tunnel.RequestHeader, out *http.Request, status int) {
	so := a.signOn
	if so == nil || so.cache == nil || !so.cache.forgetsStatus(status) || len(hdr.Envelope) == 0 {
		return
	}
	env, sum, err := s.c.envelopes.open(hdr.Envelope, a.cfg.Name, time.Now())
	if err != nil {
		return // an envelope that no longer checks out finds no result either
	}
	key := reuseKey{gen: so.gen, app: a.cfg.Name, backend: out.URL.Host, session: env.Session, sum: sum}
	if so.cache.forget(key, status) {
		s.log.Debug("sign-on result forgotten: the backend refused it", "app", a.cfg.Name, "status", status)
	}
}
