package samlidp

// The handler of /.gatehouse/saml/APP/*: metadata, sso and launch.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"html/template"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"time"

	"github.com/crewjam/saml"
	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/sdk"
)

// Users tells who is signed in to the app (core/signin's App): with ok
// false it has answered, sending the browser to ret to sign in, or
// refusing as a request to the app would be refused.
type Users interface {
	User(w http.ResponseWriter, r *http.Request, ret string) (sdk.Identity, bool)
}

// Options configure one app's IdP.
type Options struct {
	App     string
	SP      *saml.EntityDescriptor // from ParseSP
	Subject Subject
	Keys    *Keys
	// Lifetime is how long an assertion is valid (NotOnOrAfter).
	Lifetime time.Duration
	// LaunchRelayState is the RelayState of IdP-initiated sign-ins.
	LaunchRelayState string
	Users            Users
	Logger           *slog.Logger
}

// IdP is one app's SAML identity provider; it is an http.Handler for the
// app's reserved.SAML paths.
type IdP struct {
	o   Options
	log *log.Logger // for crewjam/saml
}

// New returns the IdP of o.
func New(o Options) (*IdP, error) {
	if o.SP == nil || o.Keys == nil || o.Users == nil || o.Lifetime <= 0 {
		return nil, errors.New("samlidp: SP, Keys, Users and Lifetime are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Subject.Secret = o.Keys.Secret
	return &IdP{o: o, log: slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn)}, nil
}

// LaunchPath is the path (on the app's host) that signs the user in to
// app's service provider, IdP-initiated: what the portal links to.
func LaunchPath(app string) string { return reserved.SAMLLaunch(app) }

// ServeHTTP implements http.Handler.
func (p *IdP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	idp := p.provider(w, r)
	switch path.Base(r.URL.Path) {
	case reserved.SAMLMetadataAction:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			break
		}
		p.serveMetadata(w, r, idp)
		return
	case reserved.SAMLSSOAction:
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			break
		}
		idp.ServeSSO(w, r)
		return
	case reserved.SAMLLaunchAction:
		if r.Method != http.MethodGet {
			break
		}
		idp.ServeIDPInitiated(w, r, p.o.SP.EntityID, p.o.LaunchRelayState)
		return
	}
	reserved.NotFound(w, r, w.Header().Get("X-Request-Id"))
}

// provider is the crewjam/saml IdP for r: its URLs are on the host (and
// port) the browser used, which the reserved mux has checked is the app's.
func (p *IdP) provider(w http.ResponseWriter, r *http.Request) *saml.IdentityProvider {
	base := url.URL{Scheme: "https", Host: r.Host}
	at := func(action string) url.URL { u := base; u.Path = reserved.SAML(p.o.App, action); return u }
	lifetime := p.o.Lifetime
	format := nameIDFormats[p.o.Subject.Format]
	if format == "" {
		format = saml.PersistentNameIDFormat
	}
	return &saml.IdentityProvider{
		Key: p.o.Keys.Key, Certificate: p.o.Keys.Cert, Logger: p.log,
		MetadataURL: at(reserved.SAMLMetadataAction), SSOURL: at(reserved.SAMLSSOAction),
		ServiceProviderProvider: p, SessionProvider: sessions{p}, ValidDuration: &lifetime,
		NameIDFormats: []saml.NameIDFormat{format}, ResponseWriter: p, OnError: p.onError,
		SignatureMethod: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", RejectSHA1Signatures: true,
	}
}

// serveMetadata serves the IdP's metadata with the HTTP-Redirect
// SingleSignOnService only: a POST-binding request that arrives without a
// session could not be carried through the sign-in (its return address
// is a URL), so SPs are told to redirect.
func (p *IdP) serveMetadata(w http.ResponseWriter, r *http.Request, idp *saml.IdentityProvider) {
	md := idp.Metadata()
	for i := range md.IDPSSODescriptors {
		d := &md.IDPSSODescriptors[i]
		var keep []saml.Endpoint
		for _, e := range d.SingleSignOnServices {
			if e.Binding == saml.HTTPRedirectBinding {
				keep = append(keep, e)
			}
		}
		d.SingleSignOnServices = keep
	}
	b, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		p.onError(w, r, http.StatusInternalServerError, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/samlmetadata+xml")
	h.Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(b)
}

// GetServiceProvider implements saml.ServiceProviderProvider: the app's
// one SP.
func (p *IdP) GetServiceProvider(_ *http.Request, id string) (*saml.EntityDescriptor, error) {
	if id != p.o.SP.EntityID {
		return nil, os.ErrNotExist
	}
	return p.o.SP, nil
}

// onError answers what crewjam/saml could not complete, on a Gatehouse page.
func (p *IdP) onError(w http.ResponseWriter, r *http.Request, status int, err error) {
	rid := w.Header().Get("X-Request-Id")
	p.o.Logger.Warn("saml idp: request refused", "app", p.o.App, "path", r.URL.Path, "status", status, "error", err, "request_id", rid)
	text := "The app's sign-in request could not be read or is not valid. Open the app again; if this goes on, tell its administrator."
	if status >= 500 {
		text = "The sign-in to the app could not be completed. Try again; if this goes on, tell its administrator."
	}
	errorpage.Write(w, r, errorpage.Page{Status: status, Title: "Sign-in to the app failed", Text: text, RequestID: rid})
}

// sessions gives crewjam/saml the signed-in user.
type sessions struct{ p *IdP }

// GetSession implements saml.SessionProvider.
func (s sessions) GetSession(w http.ResponseWriter, r *http.Request, req *saml.IdpAuthnRequest) *saml.Session {
	p := s.p
	id, ok := p.o.Users.User(w, r, reserved.StartReturn(p.o.App, r.URL.RequestURI()))
	if !ok {
		return nil
	}
	nameID, format, err := p.o.Subject.nameID(id, p.o.SP.EntityID)
	if err != nil {
		rid := w.Header().Get("X-Request-Id")
		p.o.Logger.Warn("saml idp: no NameID for the user", "app", p.o.App, "subject", id.Subject, "error", err, "request_id", rid)
		errorpage.Write(w, r, errorpage.Page{Status: http.StatusForbidden, Title: "Cannot sign you in to this app",
			Text: "Gatehouse cannot sign you in to this app: " + err.Error() + ". Ask your administrator.", RequestID: rid})
		return nil
	}
	now := req.Now
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	sess := &saml.Session{ID: hex.EncodeToString(b), CreateTime: now, ExpireTime: now.Add(p.o.Lifetime),
		Index: hex.EncodeToString(b), NameID: nameID, NameIDFormat: format,
		CustomAttributes: p.o.Subject.attributes(id)}
	if !id.Expiry.IsZero() && id.Expiry.Before(sess.ExpireTime) {
		sess.ExpireTime = id.Expiry
	}
	return sess
}

// WriteResponse implements saml.ResponseWriter: a page whose form posts
// the signed Response to the SP's assertion consumer service; a script
// submits it, and without scripts the user presses the button.
func (p *IdP) WriteResponse(w http.ResponseWriter, req *saml.IdpAuthnRequest) error {
	form, err := req.PostBinding()
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	sp := ""
	if req.ServiceProviderMetadata != nil {
		sp = req.ServiceProviderMetadata.EntityID
	}
	p.o.Logger.Info("saml idp: assertion issued", "app", p.o.App, "sp", sp, "acs", form.URL,
		"idp_initiated", req.Request.ID == "", "request_id", h.Get("X-Request-Id"))
	return postForm.Execute(w, struct {
		App string
		saml.IdpAuthnRequestForm
	}{p.o.App, form})
}

var postForm = template.Must(template.New("post").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing you in</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:2rem 1rem;color:#1b1f24}main{max-width:32rem;margin:auto}
button{font:inherit;padding:.5rem 1.25rem;border:0;border-radius:6px;background:#0b5cad;color:#fff;cursor:pointer}
button:focus-visible{outline:3px solid #f0a000;outline-offset:2px}</style></head>
<body><main><h1>Signing you in to {{.App}}</h1>
<form method="post" action="{{.URL}}" id="saml">
<input type="hidden" name="SAMLResponse" value="{{.SAMLResponse}}">
{{if .RelayState}}<input type="hidden" name="RelayState" value="{{.RelayState}}">{{end}}
<p>If nothing happens, press Continue.</p>
<button type="submit">Continue</button></form></main>
<script>document.getElementById("saml").submit()</script>
</body></html>
`))
