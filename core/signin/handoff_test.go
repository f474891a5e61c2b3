package signin

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/policy"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/sdk"
)

// handoffStore keeps locks, sign-outs and sign-in records, as the real
// stores do.
type handoffStore struct {
	mu      sync.Mutex
	locks   map[string]bool
	revoked map[string]bool
	signIns []store.SignIn
}

func (s *handoffStore) Revocation(_ context.Context, _, id string) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Time{}, s.revoked[id], nil
}
func (s *handoffStore) RevokeSession(_ context.Context, id string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked[id] = true
	return nil
}
func (s *handoffStore) AddSignIn(_ context.Context, r store.SignIn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signIns = append(s.signIns, r)
	return nil
}
func (s *handoffStore) TryLock(_ context.Context, name, _ string, _, _ time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks[name] {
		return false, nil
	}
	s.locks[name] = true
	return true, nil
}

// handoffRig is a portal and two apps (hr, wiki) on one gateway.
type handoffRig struct {
	now       time.Time
	st        *handoffStore
	log       *bytes.Buffer
	portal    *Portal
	hr, wiki  *App
	auth      *countingAuth
	portalJar string // the portal's session cookie, "name=value"
}

func newHandoffRig(t *testing.T, identity sdk.Identity, hrAccess config.Access) *handoffRig {
	t.Helper()
	rig := &handoffRig{now: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC), log: &bytes.Buffer{},
		st: &handoffStore{locks: map[string]bool{}, revoked: map[string]bool{}}, auth: &countingAuth{}}
	sealer, _ := session.NewSealer(make([]byte, 32))
	_, priv, _ := ed25519.GenerateKey(nil)
	gate := &Gate{Sealer: sealer, Envelope: priv, Store: rig.st, Logger: slog.New(slog.NewTextHandler(rig.log, nil)),
		Now: func() time.Time { return rig.now }}
	pol, err := policy.Compile(hrAccess)
	if err != nil {
		t.Fatal(err)
	}
	in := &App{Name: config.PortalApp, Host: "apps.example.com", Prefix: "/", Plugin: "p", Auth: rig.auth, Lifetime: 8 * time.Hour, Gate: gate}
	rig.hr = &App{Name: "hr", Host: "hr.example.com", Prefix: "/", Plugin: "p", Auth: rig.auth, Lifetime: time.Hour, Policy: pol, Gate: gate, Portal: in.Host}
	rig.wiki = &App{Name: "wiki", Host: "wiki.example.com", Prefix: "/", Plugin: "p", Auth: rig.auth, Lifetime: time.Hour, Gate: gate, Portal: in.Host}
	rig.portal = &Portal{App: in, Targets: map[string]PortalTarget{"hr": {Host: "hr.example.com", Prefix: "/"}, "wiki": {Host: "wiki.example.com", Prefix: "/"}}}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "https://apps.example.com/", nil)
	if _, err := in.signIn(w, r, sdk.Authenticated(identity), "rid"); err != nil {
		t.Fatal(err)
	}
	c := w.Result().Cookies()[0]
	rig.portalJar = c.Name + "=" + c.Value
	return rig
}

// handoff is the portal's answer to one browser: the handoff address
// and the nonce cookie its app host gave that browser.
type handoff struct {
	u      *url.URL
	cookie *http.Cookie
}

// sso starts a sign-in to app on its host (which sends the browser to the
// portal with a nonce), asks the portal for the handoff, and returns it.
func (rig *handoffRig) sso(t *testing.T, app, ret string) handoff {
	t.Helper()
	a := map[string]*App{"hr": rig.hr, "wiki": rig.wiki}[app]
	w := httptest.NewRecorder()
	a.Start(w, httptest.NewRequest("GET", "https://"+a.Host+"/.gatehouse/auth/"+app+"/start?return="+url.QueryEscape(ret), nil))
	var h handoff
	for _, c := range w.Result().Cookies() {
		if c.Name == handoffCookie(app) {
			h.cookie = c
		}
	}
	if w.Code != http.StatusSeeOther || h.cookie == nil || !h.cookie.Secure || !h.cookie.HttpOnly || h.cookie.Path != "/" ||
		h.cookie.SameSite != http.SameSiteLaxMode || h.cookie.MaxAge <= 0 || !GatewayCookie(h.cookie.Name) {
		t.Fatalf("start: status %d, cookies %v; want 303 and a Secure, HttpOnly, Lax, short-lived gateway cookie", w.Code, w.Result().Cookies())
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil || loc.Host != "apps.example.com" || loc.Path != "/.gatehouse/sso" || loc.Query().Get("n") != h.cookie.Value {
		t.Fatalf("start sends the browser to %q, want the portal's SSO with the cookie's nonce", w.Header().Get("Location"))
	}
	r := httptest.NewRequest("GET", loc.RequestURI(), nil)
	r.Host = loc.Host
	r.Header.Set("Cookie", rig.portalJar)
	w = httptest.NewRecorder()
	rig.portal.SSO(w, r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("sso: status %d, want 303: %s", w.Code, w.Body)
	}
	if h.u, err = url.Parse(w.Header().Get("Location")); err != nil {
		t.Fatal(err)
	}
	return h
}

// take opens a handoff address on app, with the Host of hostHeader, from
// the browser that asked for it (with its nonce cookie).
func take(app *App, h handoff, hostHeader string) *httptest.ResponseRecorder {
	return takeWith(app, h.u, hostHeader, h.cookie)
}

// takeWith opens a handoff address on app, with the Host of hostHeader
// and cookie (if any).
func takeWith(app *App, u *url.URL, hostHeader string, cookie *http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "https://"+hostHeader+u.RequestURI(), nil)
	r.Header.Set("Accept", "text/html")
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	w.Header().Set("X-Request-Id", "rid-1")
	app.Handoff(w, r)
	return w
}

// admit sends a request with the cookies w set to app.
func admit(app *App, w *httptest.ResponseRecorder) bool {
	r := httptest.NewRequest("GET", "https://"+app.Host+"/x", nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	_, ok := app.Admit(httptest.NewRecorder(), r, "rid")
	return ok
}

// The portal's session signs the user in to two app hosts, each with the
// portal's session id, without the plug-in being asked; signing out at
// the portal (revoking that id) locks both.
func TestHandoffSharesTheSession(t *testing.T) {
	rig := newHandoffRig(t, sdk.Identity{Subject: "alice", AMR: []string{"pwd", "mfa"}}, config.Access{Groups: []string{}})
	calls := rig.auth.calls.Load()
	h := rig.sso(t, "hr", "/reports?y=1#s")
	u := h.u
	if u.Scheme != "https" || u.Host != "hr.example.com" || u.Path != "/.gatehouse/auth/hr/handoff" || u.Query().Get("return") != "/reports?y=1#s" {
		t.Fatalf("sso sends the browser to %s", u)
	}
	w := take(rig.hr, h, "hr.example.com")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/reports?y=1#s" {
		t.Fatalf("handoff: %d to %q: %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	w2 := take(rig.wiki, rig.sso(t, "wiki", "/"), "wiki.example.com")
	if w2.Code != http.StatusSeeOther {
		t.Fatalf("wiki handoff: %d: %s", w2.Code, w2.Body)
	}
	portalID := sessionID(t, rig.portal.App, "apps.example.com", rig.portalJar)
	for _, c := range []struct {
		app *App
		w   *httptest.ResponseRecorder
	}{{rig.hr, w}, {rig.wiki, w2}} {
		var ck *http.Cookie
		for _, x := range c.w.Result().Cookies() {
			if x.Name == sessionCookie(c.app.Name) {
				ck = x
			} else if x.Name != handoffCookie(c.app.Name) || x.MaxAge >= 0 {
				t.Errorf("%s: the handoff set %v; want only the session, and the nonce cookie cleared", c.app.Name, x)
			}
		}
		if ck == nil {
			t.Fatalf("%s: no session cookie", c.app.Name)
		}
		if id := sessionID(t, c.app, c.app.Host, ck.Name+"="+ck.Value); id != portalID {
			t.Errorf("%s: session %q, want the portal's %q", c.app.Name, id, portalID)
		}
		if !admit(c.app, c.w) {
			t.Errorf("%s: the handed-off session is not admitted", c.app.Name)
		}
	}
	if rig.auth.calls.Load() != calls {
		t.Errorf("the plug-in was asked %d times; the handoff must not ask it", rig.auth.calls.Load()-calls)
	}
	_ = rig.st.RevokeSession(context.Background(), portalID, rig.now.Add(time.Hour)) // the portal's sign-out
	if admit(rig.hr, w) || admit(rig.wiki, w2) {
		t.Error("after the portal's session was signed out, an app host still admits its session")
	}
}

func sessionID(t *testing.T, app *App, host, jar string) string {
	t.Helper()
	_, v, _ := strings.Cut(jar, "=")
	s, err := app.Gate.Sealer.OpenSession(app.Name, host, v, app.Gate.Now())
	if err != nil {
		t.Fatalf("%s: %v", app.Name, err)
	}
	return s.ID
}

// Every hostile handoff is refused with a page, a warning in the log and
// (for a token that names a user) a sign-in record; none sets a cookie
// (a replay, whose nonce matched, only clears the nonce cookie).
func TestHandoffRefusals(t *testing.T) {
	rig := newHandoffRig(t, sdk.Identity{Subject: "alice"}, config.Access{})
	refused := func(name string, w *httptest.ResponseRecorder, why string, recorded bool) {
		t.Helper()
		for _, c := range w.Result().Cookies() {
			if c.Name != handoffCookie("hr") || c.MaxAge >= 0 {
				t.Errorf("%s: the refusal set the cookie %v", name, c)
			}
		}
		if w.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, w.Code)
		}
		if !strings.Contains(w.Body.String(), "Request ID") && !strings.Contains(w.Body.String(), "request id") {
			t.Errorf("%s: the page has no request id: %s", name, w.Body)
		}
		if !strings.Contains(rig.log.String(), "level=WARN msg=\"handoff refused: "+why) {
			t.Errorf("%s: no warning %q in the log:\n%s", name, why, rig.log)
		}
		n := 0
		for _, s := range rig.st.signIns {
			if s.Result == "failed" && strings.Contains(s.Reason, why) && s.Subject == "alice" {
				n++
			}
		}
		if recorded != (n > 0) {
			t.Errorf("%s: %d sign-in records with %q; want recorded=%v", name, n, why, recorded)
		}
		rig.log.Reset()
	}
	h := rig.sso(t, "hr", "/")
	if w := take(rig.hr, h, "hr.example.com"); w.Code != http.StatusSeeOther {
		t.Fatalf("first use: %d", w.Code)
	}
	refused("replayed", take(rig.hr, h, "hr.example.com"), "the token was used before", true)

	h = rig.sso(t, "hr", "/")
	u := h.u
	refused("other host", take(rig.hr, h, "hr2.example.com"), "the token is not valid here", false)
	refused("other app", takeWith(rig.wiki, u, "wiki.example.com", &http.Cookie{Name: handoffCookie("wiki"), Value: h.cookie.Value}),
		"the token is not valid here", false)

	q := u.Query()
	tok := []byte(q.Get("token"))
	tok[len(tok)/2] ^= 1
	q.Set("token", string(tok))
	forged := *u
	forged.RawQuery = q.Encode()
	refused("altered", takeWith(rig.hr, &forged, "hr.example.com", h.cookie), "the token is not valid here", false)
	q.Set("token", rig.hr.Gate.Sealer.Seal(handoffPurpose("hr", "hr.example.com"), []byte(`{"j":"x"}`)))
	forged.RawQuery = q.Encode()
	refused("malformed", takeWith(rig.hr, &forged, "hr.example.com", h.cookie), "the token is malformed", false)
	other, _ := session.NewSealer(bytes.Repeat([]byte{1}, 32)) // another gateway's key
	q.Set("token", other.Seal(handoffPurpose("hr", "hr.example.com"),
		[]byte(`{"j":"x","s":"y","id":{"sub":"alice"},"e":"2030-01-01T00:00:00Z","n":"`+h.cookie.Value+`"}`)))
	forged.RawQuery = q.Encode()
	refused("forged", takeWith(rig.hr, &forged, "hr.example.com", h.cookie), "the token is not valid here", false)

	rig.now = rig.now.Add(handoffTTL) // h is still unused: only its age refuses it
	refused("expired", take(rig.hr, h, "hr.example.com"), "the token has expired", true)
}

// Login CSRF: a token the portal made for one browser (the attacker's,
// for his own account) is refused in another browser, without the nonce
// cookie or with one of its own, and logged; the token still works in
// the browser that asked for it, which a refusal elsewhere does not
// disturb.
func TestHandoffBoundToTheBrowser(t *testing.T) {
	rig := newHandoffRig(t, sdk.Identity{Subject: "mallory"}, config.Access{})
	h := rig.sso(t, "hr", "/")
	mine := rig.sso(t, "hr", "/") // the victim's own pending sign-in: a nonce of its own
	for name, c := range map[string]*http.Cookie{"no cookie": nil, "another browser's cookie": mine.cookie,
		"a malformed cookie": {Name: handoffCookie("hr"), Value: "x"}, "an empty cookie": {Name: handoffCookie("hr"), Value: ""},
		"the nonce under another app's name": {Name: handoffCookie("wiki"), Value: h.cookie.Value}} {
		w := takeWith(rig.hr, h.u, "hr.example.com", c)
		if w.Code != http.StatusBadRequest || len(w.Result().Cookies()) != 0 {
			t.Errorf("%s: status %d, cookies %v; want 400 and none (the victim's pending nonce kept)", name, w.Code, w.Result().Cookies())
		}
		if !strings.Contains(rig.log.String(), `level=WARN msg="handoff refused: the sign-in was not started in this browser"`) {
			t.Errorf("%s: no warning in the log:\n%s", name, rig.log)
		}
		rig.log.Reset()
	}
	n := 0
	for _, s := range rig.st.signIns {
		if s.Subject == "mallory" && s.Result == "failed" && strings.Contains(s.Reason, "not started in this browser") {
			n++
		}
	}
	if n == 0 { // identical records in a row are stored once
		t.Error("no sign-in record of the refusals")
	}
	if w := take(rig.hr, h, "hr.example.com"); w.Code != http.StatusSeeOther {
		t.Errorf("the token in the browser that asked for it: %d, want 303: %s", w.Code, w.Body)
	}
	if w := take(rig.hr, mine, "hr.example.com"); w.Code != http.StatusSeeOther {
		t.Errorf("the victim's own handoff: %d, want 303: %s", w.Code, w.Body)
	}
}

// The portal mints a token only for a handoff that started on the app
// host: an SSO request without a well-formed nonce is refused, logged,
// and pointed at the app's own sign-in start.
func TestSSOWithoutNonce(t *testing.T) {
	rig := newHandoffRig(t, sdk.Identity{Subject: "alice"}, config.Access{})
	for _, n := range []string{"", "&n=", "&n=abc", "&n=" + strings.Repeat("a", 26), "&n=" + strings.Repeat("A", 27)} {
		r := httptest.NewRequest("GET", "https://apps.example.com/.gatehouse/sso?app=hr&return=%2Fx"+n, nil)
		r.Header.Set("Cookie", rig.portalJar)
		r.Header.Set("Accept", "text/html")
		w := httptest.NewRecorder()
		rig.portal.SSO(w, r)
		if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" ||
			!strings.Contains(w.Body.String(), `href="https://hr.example.com/.gatehouse/auth/hr/start?return=%2Fx"`) {
			t.Errorf("sso with %q: %d to %q, want 400 linking to the app's start:\n%s", n, w.Code, w.Header().Get("Location"), w.Body)
		}
		if !strings.Contains(rig.log.String(), "level=WARN") || !strings.Contains(rig.log.String(), "no nonce") {
			t.Errorf("sso with %q: no warning in the log:\n%s", n, rig.log)
		}
		rig.log.Reset()
	}
}

// An app whose access policy wants MFA the portal's sign-in did not have
// sends the user to its identity provider instead of taking the handoff.
func TestHandoffStrongerSignInGoesToTheIdP(t *testing.T) {
	rig := newHandoffRig(t, sdk.Identity{Subject: "bob", AMR: []string{"pwd"}}, config.Access{RequireMFA: true})
	calls := rig.auth.calls.Load()
	w := take(rig.hr, rig.sso(t, "hr", "/"), "hr.example.com")
	if rig.auth.calls.Load() != calls+1 {
		t.Fatalf("the plug-in was asked %d times, want once (a sign-in at the IdP)", rig.auth.calls.Load()-calls)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie("hr") && c.MaxAge >= 0 {
			t.Fatalf("a session cookie was set without the MFA the app wants: %v", c)
		}
	}
}

// Without a portal session, the portal signs the user in first and comes
// back to the handoff; an app host's sign-in starts at the portal.
func TestHandoffWithoutPortalSession(t *testing.T) {
	rig := newHandoffRig(t, sdk.Identity{Subject: "alice"}, config.Access{})
	nonce := strings.Repeat("A", 26)
	r := httptest.NewRequest("GET", "https://apps.example.com/.gatehouse/sso?app=hr&return=%2Fx&n="+nonce, nil)
	w := httptest.NewRecorder()
	rig.portal.SSO(w, r)
	want := "/.gatehouse/auth/_portal/start?return=" + url.QueryEscape("/.gatehouse/sso?app=hr&return=%2Fx&n="+nonce)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != want {
		t.Fatalf("sso without a session: %d to %q, want 303 to %q", w.Code, w.Header().Get("Location"), want)
	}
	r = httptest.NewRequest("GET", "https://hr.example.com:8443/.gatehouse/auth/hr/start?return=%2Fa%3Fb%23c", nil)
	w = httptest.NewRecorder()
	rig.hr.Start(w, r)
	want = "https://apps.example.com:8443/.gatehouse/sso?app=hr&return=%2Fa%3Fb%23c&n="
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), want) {
		t.Fatalf("start: %d to %q, want 303 to %q", w.Code, w.Header().Get("Location"), want)
	}
	r = httptest.NewRequest("GET", "https://apps.example.com/.gatehouse/sso?app=nope", nil)
	r.Header.Set("Cookie", rig.portalJar)
	w = httptest.NewRecorder()
	rig.portal.SSO(w, r)
	if w.Code != http.StatusNotFound {
		t.Fatalf("sso for an app the portal does not serve: %d, want 404", w.Code)
	}
}
