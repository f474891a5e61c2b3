// Package header is the header Injector: it tells a backend who the user is
// with identity headers rendered from Go templates and, optionally, a
// signed JWT assertion (ES256) the backend can verify against the
// gateway's JWKS. See README.md for its config.
package header

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"text/template"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

// Plugin is the header plug-in, for sdk.Serve or the gateway's built-ins.
func Plugin() sdk.Plugin {
	return sdk.Plugin{Injector: func(ctx context.Context, req sdk.ConfigureRequest) (sdk.Injector, error) {
		return New(req, time.Now)
	}}
}

// injector is one app's configured header Injector.
type injector struct {
	headers []headerTemplate
	remove  []string
	jwt     *signer // nil: no assertion
}

type headerTemplate struct {
	name string
	tmpl *template.Template
}

var _ sdk.Injector = (*injector)(nil)

// New builds the Injector for one app from its config; now is its clock.
func New(req sdk.ConfigureRequest, now func() time.Time) (sdk.Injector, error) {
	cfg, err := decode(req)
	if err != nil {
		return nil, err
	}
	in := &injector{}
	removed := map[string]bool{}
	addRemove := func(name string) {
		if name = http.CanonicalHeaderKey(name); !removed[name] {
			removed[name] = true
			in.remove = append(in.remove, name)
		}
	}
	for _, name := range sortedKeys(cfg.Headers) {
		t, err := compile(name, cfg.Headers[name], cfg.GroupSeparator)
		if err != nil {
			return nil, err
		}
		in.headers = append(in.headers, headerTemplate{name: http.CanonicalHeaderKey(name), tmpl: t})
		addRemove(name)
	}
	for _, name := range cfg.Remove {
		addRemove(name)
	}
	if cfg.JWT != nil {
		if in.jwt, err = newSigner(req, *cfg.JWT, now); err != nil {
			return nil, err
		}
		addRemove(cfg.JWT.Header)
	}
	return in, nil
}

// Inject removes every header it manages, then sets the rendered ones. A
// value that would be empty is left out; one with a line break is an
// error, so the request fails instead of reaching the backend with a
// header the user could shape.
func (in *injector) Inject(_ context.Context, req sdk.InjectRequest) (sdk.InjectResult, error) {
	res := sdk.InjectResult{Remove: in.remove, Set: make(http.Header, len(in.headers)+1)}
	data := templateData{req.Identity}
	var b strings.Builder
	for _, h := range in.headers {
		b.Reset()
		if err := h.tmpl.Execute(&b, data); err != nil {
			return sdk.InjectResult{}, fmt.Errorf("rendering header %s: %w", h.name, err)
		}
		v := b.String()
		if strings.ContainsAny(v, "\r\n\x00") {
			return sdk.InjectResult{}, fmt.Errorf("header %s for %q would contain a line break or NUL; refusing the request", h.name, req.Identity.Subject)
		}
		if v != "" {
			res.Set[h.name] = []string{v}
		}
	}
	// The headers depend on the identity alone: the connector may reuse
	// them for the session.
	res.ReuseFor = reuseFor
	if in.jwt != nil {
		now := in.jwt.now()
		tok, exp, err := in.jwt.sign(req.Identity, req.SessionExpires, now)
		if err != nil {
			return sdk.InjectResult{}, err
		}
		res.Set[in.jwt.header] = []string{tok}
		// Reused until a quarter of the assertion's lifetime is left, so
		// it is signed again only then; a backend that refuses it (401)
		// gets a fresh one on the session's next request.
		res.ReuseFor = reuseOf(now, exp)
		res.ForgetOn = []int{http.StatusUnauthorized}
	}
	return res, nil
}

// reuseFor is how long the connector may reuse a result without a JWT
// (never past the session: the connector sees to that).
const reuseFor = 5 * time.Minute

// reuseOf is how long a result whose assertion was signed at now and
// expires at exp may be reused: until a quarter of its lifetime is left.
func reuseOf(now, exp time.Time) time.Duration {
	if d := exp.Sub(now) * 3 / 4; d > 0 {
		return d
	}
	return 0
}

// templateData is what a header template sees: the identity's fields
// (.Subject, .UPN, .Email, .Name, .Groups, .AMR, .Claims) and .Claim.
type templateData struct{ sdk.Identity }

// Claim is claim name as text, "" if the identity has none.
func (d templateData) Claim(name string) string {
	v, ok := d.Claims[name]
	if !ok || v == nil {
		return ""
	}
	return fmt.Sprint(v)
}
