package signin

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/sdk"
)

// signOutAuth is countingAuth that can sign out at its provider.
type signOutAuth struct {
	countingAuth
	got sdk.SignOutRequest
	loc string
	err error
}

func (s *signOutAuth) SignOut(_ context.Context, req sdk.SignOutRequest) (sdk.SignOutResult, error) {
	s.got = req
	return sdk.SignOutResult{Location: s.loc}, s.err
}

// revokingStore records the sessions revoked.
type revokingStore struct {
	memStore
	mu      sync.Mutex
	revoked []string
}

func (s *revokingStore) RevokeSession(_ context.Context, id string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = append(s.revoked, id)
	return nil
}

type signOutFixture struct {
	app   *App
	store *revokingStore
	now   *time.Time
}

func newSignOutFixture(auth Authenticator) signOutFixture {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	sealer, _ := session.NewSealer(make([]byte, 32))
	_, priv, _ := ed25519.GenerateKey(nil)
	st := &revokingStore{}
	gate := &Gate{Sealer: sealer, Envelope: priv, Store: st, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
	return signOutFixture{app: &App{Name: "hr", Host: "hr.example.com", Prefix: "/hr", Plugin: "p", Auth: auth, Lifetime: time.Hour, Gate: gate}, store: st, now: &now}
}

// signIn signs in with the API key and returns the session cookie.
func (f signOutFixture) signIn(t *testing.T) *http.Cookie {
	t.Helper()
	r := httptest.NewRequest("GET", "https://hr.example.com/hr/x", nil)
	r.Header.Set("X-Key", "k")
	w := httptest.NewRecorder()
	if _, ok := f.app.Admit(w, r, "rid"); !ok {
		t.Fatalf("sign-in: %d", w.Code)
	}
	return w.Result().Cookies()[0]
}

func (f signOutFixture) do(method, target string, c *http.Cookie, form url.Values) *httptest.ResponseRecorder {
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	r.Header.Set("Accept", "text/html")
	if c != nil {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	w.Header().Set("X-Request-Id", "rid-1")
	if strings.Contains(target, "/signedout") {
		f.app.SignedOut(w, r)
	} else {
		f.app.SignOut(w, r)
	}
	return w
}

const (
	saysProvider = "and of your sign-in at your organisation's identity provider"
	saysLocal    = "may still be open"
	saysFailed   = "could not be ended"
)

// Signing out revokes the session, clears the cookie and sends the
// browser to the provider's sign-out with a return to the "Signed out"
// page and a sealed state; that page, given the state back (GET or
// POST), says the provider's session ended too, and only then.
func TestSignOutAtProviderAndBack(t *testing.T) {
	auth := &signOutAuth{loc: "https://idp.example/logout?client_id=hr"}
	f := newSignOutFixture(auth)
	c := f.signIn(t)
	w := f.do("GET", "https://hr.example.com/.gatehouse/auth/hr/signout", c, nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != auth.loc {
		t.Fatalf("sign-out answered %d to %q, want 303 to the provider's %q", w.Code, w.Header().Get("Location"), auth.loc)
	}
	if len(f.store.revoked) != 1 {
		t.Errorf("revoked %v, want the one session", f.store.revoked)
	}
	if cs := w.Result().Cookies(); len(cs) != 1 || cs[0].Name != c.Name || cs[0].MaxAge >= 0 {
		t.Errorf("cookies set %v, want %s cleared", cs, c.Name)
	}
	if auth.got.Identity.Subject != "alice" || auth.got.ReturnURL != "https://hr.example.com/.gatehouse/auth/hr/signedout" || len(auth.got.State) < 20 {
		t.Fatalf("the plug-in was asked %+v: want alice, the signed-out URL and a state", auth.got)
	}
	state := auth.got.State
	page := func(w *httptest.ResponseRecorder, want string) {
		t.Helper()
		body := w.Body.String()
		if w.Code != http.StatusOK || !strings.Contains(body, "<title>Signed out</title>") || !strings.Contains(body, want) ||
			!strings.Contains(body, `<a href="/hr">Sign in again</a>`) {
			t.Errorf("signed-out page %d, want 200, %q and a link to sign in again:\n%s", w.Code, want, body)
		}
	}
	page(f.do("GET", "https://hr.example.com/.gatehouse/auth/hr/signedout?state="+url.QueryEscape(state), nil, nil), saysProvider)
	page(f.do("POST", "https://hr.example.com/.gatehouse/auth/hr/signedout", nil, url.Values{"RelayState": {state}}), saysProvider)
	page(f.do("GET", "https://hr.example.com/.gatehouse/auth/hr/signedout", nil, nil), saysLocal)
	// Nothing in the address can send the user elsewhere.
	hostile := f.do("GET", "https://hr.example.com/.gatehouse/auth/hr/signedout?return=https://evil.example/&post_logout_redirect_uri=https://evil.example/&state="+url.QueryEscape(state), nil, nil)
	page(hostile, saysProvider)
	if strings.Contains(hostile.Body.String(), "evil.example") || hostile.Header().Get("Location") != "" {
		t.Errorf("the Signed out page took an address from its query:\n%s", hostile.Body.String())
	}
	tampered := "A" + state[1:]
	if tampered == state {
		tampered = "B" + state[1:]
	}
	page(f.do("GET", "https://hr.example.com/.gatehouse/auth/hr/signedout?state="+url.QueryEscape(tampered), nil, nil), saysLocal)
	page(f.do("GET", "https://other.example.com/.gatehouse/auth/hr/signedout?state="+url.QueryEscape(state), nil, nil), saysLocal)
	*f.now = f.now.Add(signOutTTL)
	page(f.do("GET", "https://hr.example.com/.gatehouse/auth/hr/signedout?state="+url.QueryEscape(state), nil, nil), saysLocal)
	if w := f.do("PUT", "https://hr.example.com/.gatehouse/auth/hr/signedout", nil, nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d, want 405", w.Code)
	}
}

// Without a plug-in that signs out at its provider, or when it answers
// no address, the page comes at once; a plug-in that fails gets a page
// that says the provider's session may still be open.
func TestSignOutWithoutProvider(t *testing.T) {
	for _, tc := range []struct {
		name string
		auth Authenticator
		want string
	}{
		{"no capability", &countingAuth{}, saysLocal},
		{"no address", &signOutAuth{}, saysLocal},
		{"plug-in fails", &signOutAuth{err: errors.New("provider down")}, saysFailed},
	} {
		f := newSignOutFixture(tc.auth)
		c := f.signIn(t)
		w := f.do("GET", "https://hr.example.com/.gatehouse/auth/hr/signout", c, nil)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), tc.want) || len(f.store.revoked) != 1 {
			t.Errorf("%s: %d, revoked %v, want 200 saying %q:\n%s", tc.name, w.Code, f.store.revoked, tc.want, w.Body.String())
		}
	}
	// No session at all: the provider is still asked (its own session
	// may be open), with no identity.
	auth := &signOutAuth{loc: "https://idp.example/logout"}
	f := newSignOutFixture(auth)
	if w := f.do("GET", "https://hr.example.com/.gatehouse/auth/hr/signout", nil, nil); w.Code != http.StatusSeeOther || auth.got.Identity.Subject != "" {
		t.Errorf("sign-out without a session: %d, identity %+v; want 303 and no identity", w.Code, auth.got.Identity)
	}
}

// The session cookie takes the app's SameSite; a Strict app ends a
// sign-in with a page that continues from its own site.
func TestSessionCookieSameSite(t *testing.T) {
	for _, tc := range []struct {
		mode string
		want http.SameSite
	}{{"", http.SameSiteLaxMode}, {"lax", http.SameSiteLaxMode}, {"strict", http.SameSiteStrictMode}, {"none", http.SameSiteNoneMode}} {
		f := newSignOutFixture(&countingAuth{})
		f.app.SameSite = SameSiteMode(tc.mode)
		c := f.signIn(t)
		if c.SameSite != tc.want || !c.Secure || !c.HttpOnly || !strings.HasPrefix(c.Name, "__Host-") {
			t.Errorf("same_site %q: cookie %+v, want SameSite %v, Secure, HttpOnly, __Host-", tc.mode, c, tc.want)
		}
		w := httptest.NewRecorder()
		f.app.land(w, "/hr/a?b=1&c=2", "rid")
		switch {
		case tc.want == http.SameSiteStrictMode:
			if body := w.Body.String(); w.Code != http.StatusOK || !strings.Contains(body, `<meta http-equiv="refresh" content="0;url=/hr/a?b=1&amp;c=2">`) ||
				!strings.Contains(body, `href="/hr/a?b=1&amp;c=2"`) {
				t.Errorf("strict: landing %d, want a page that refreshes to the return path:\n%s", w.Code, body)
			}
		case w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/hr/a?b=1&c=2":
			t.Errorf("same_site %q: landing %d to %q, want 303", tc.mode, w.Code, w.Header().Get("Location"))
		}
	}
}
