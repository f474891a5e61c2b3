package connector

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
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
	err error // why the plug-in could not start: requests fail closed
	// refusal is err as the gateway gets it, which then sends the app's
	// requests to other connectors.
	refusal *tunnel.SignOnRefusal

	mu    sync.Mutex
	reuse map[[sha256.Size]byte]reusable // results the plug-in let us reuse, by envelope hash
}

type reusable struct {
	res     sdk.InjectResult
	expires time.Time
}

// maxReuse bounds the reusable results kept per app.
const maxReuse = 10000

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
	return &signOn{inj: inj}
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
	if res, ok := a.signOn.reused(sum, now); ok {
		res.Apply(out.Header)
		return nil
	}
	res, err := a.signOn.inj.Inject(ctx, sdk.InjectRequest{
		Identity: env.Identity, Method: out.Method, URL: out.URL.String(), Header: out.Header, Secret: hdr.Secret,
	})
	if err != nil {
		return fmt.Errorf("sign-on plug-in %q: %w", a.cfg.SignOn.Plugin, err)
	}
	if res.AskCredentials {
		return errAskCredentials
	}
	res.Apply(out.Header)
	if res.RejectStatus != 0 {
		*rejectStatus = res.RejectStatus
	}
	if res.ReuseFor > 0 {
		exp := now.Add(res.ReuseFor)
		if env.Expires.Before(exp) {
			exp = env.Expires
		}
		a.signOn.keep(sum, res, exp)
	}
	return nil
}

// reused returns a result the plug-in allowed to reuse for this session.
func (s *signOn) reused(sum [sha256.Size]byte, now time.Time) (sdk.InjectResult, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.reuse[sum]
	if ok && !now.Before(r.expires) {
		delete(s.reuse, sum)
		ok = false
	}
	return r.res, ok
}

func (s *signOn) keep(sum [sha256.Size]byte, res sdk.InjectResult, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reuse == nil || len(s.reuse) >= maxReuse {
		s.reuse = map[[sha256.Size]byte]reusable{} // simple and bounded: a full cache starts over
	}
	s.reuse[sum] = reusable{res: res, expires: expires}
}
