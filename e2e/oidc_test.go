package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
)

// Sign-in at a real OpenID provider (panva oidc-provider), driven like a
// browser without JavaScript: the start page, the provider's login form,
// the callback, and the app through the connector with the identity the
// provider asserted. The #fragment of the address the user opened
// survives the round trip; a replayed callback, an open redirect and a
// user the policy refuses never reach the backend.
func TestOIDCSignIn(t *testing.T) {
	op := startOIDCProvider(t, oplab.Options{RedirectURIs: []string{"https://app.localhost/.gatehouse/auth/app/callback"}})
	backend := newIdentityBackend(t, "app")
	base := gwConfig{Groups: []string{"default"}, Plugins: "  - {name: oidc, builtin: true}\n  - {name: header, builtin: true}\n"}
	g := startGatewayWith(t, base, []appSpec{{Name: "app", Host: "app.localhost", Group: "default", URL: backend.URL,
		Auth:   fmt.Sprintf("{plugin: oidc, config: {issuer: %q, client_id: %s, client_secret: %s, scopes: [openid, profile, email, groups]}}", op.Issuer, oplab.ClientID, oplab.ClientSecret),
		Access: "{require_mfa: true}",
		SignOn: `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}", X-Remote-Groups: "{{join .Groups}}"}}}`,
	}})
	enrollConnector(t, g, "connector", "default")

	newBrowser := func() *http.Client {
		c := g.client(false)
		c.Jar, _ = cookiejar.New(nil)
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return c
	}
	open := func(b *http.Client, u string) response {
		return getWith(t, b, u, "Accept", "text/html,application/xhtml+xml")
	}
	// signIn does what the start page's script and the user do; it also
	// returns the state cookie the sign-in started with.
	signIn := func(b *http.Client, path, fragment, user string) (callback *url.URL, state []*http.Cookie, final response) {
		r := open(b, "https://app.localhost"+path)
		m := regexp.MustCompile(`location.replace\("([^"]+)"`).FindStringSubmatch(r.Body)
		if r.Status != 200 || m == nil {
			t.Fatalf("opening %s without a session: %d %q, want the start page", path, r.Status, r.Body)
		}
		start := strings.ReplaceAll(m[1], `\/`, "/") + "?return=" + url.QueryEscape(path+fragment)
		r = open(b, "https://app.localhost"+start)
		if r.Status != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), op.Issuer) {
			t.Fatalf("start: %d Location %q, want a redirect to the provider", r.Status, r.Header.Get("Location"))
		}
		state = (&http.Response{Header: r.Header}).Cookies()
		cb, err := op.Browser(nil).SignIn(context.Background(), r.Header.Get("Location"), user, oplab.Password)
		if err != nil {
			t.Fatalf("signing in at the provider: %v", err)
		}
		return cb, state, open(b, cb.String())
	}

	alice := newBrowser()
	cb, aliceState, r := signIn(alice, "/reports?year=2026", "#section-2", oplab.Alice)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/reports?year=2026#section-2" {
		t.Fatalf("callback: %d Location %q, want 303 to the page opened, fragment included (%s)", r.Status, r.Header.Get("Location"), r.Body)
	}
	s := decodeSeen(t, open(alice, "https://app.localhost/reports?year=2026"))
	if s.User != oplab.Alice || !strings.Contains(s.Groups, "engineering") {
		t.Fatalf("backend saw %+v, want alice and her groups from the provider", s)
	}

	t.Run("replayed callback", func(t *testing.T) {
		before := backend.hits.Load()
		replay := newBrowser()
		// The attacker holds the callback URL and alice's state cookie.
		u, _ := url.Parse("https://app.localhost/")
		replay.Jar.SetCookies(u, aliceState)
		requireErrorPage(t, open(replay, cb.String()), http.StatusBadRequest, "Sign-in already used")
		if n := backend.hits.Load() - before; n != 0 {
			t.Fatalf("backend saw %d requests", n)
		}
	})
	t.Run("forged state", func(t *testing.T) {
		before := backend.hits.Load()
		forger := newBrowser()
		u, _ := url.Parse("https://app.localhost/")
		forged := *aliceState[0]
		v := []byte(forged.Value)
		v[len(v)/2] ^= 0x01 // another base64 character: the seal no longer opens
		forged.Value = string(v)
		forger.Jar.SetCookies(u, []*http.Cookie{&forged})
		requireErrorPage(t, open(forger, cb.String()), http.StatusBadRequest, "Sign-in expired")
		if n := backend.hits.Load() - before; n != 0 {
			t.Fatalf("backend saw %d requests", n)
		}
	})
	t.Run("open redirect refused", func(t *testing.T) {
		b := newBrowser()
		_, _, r := signIn(b, "/x", "", oplab.Alice)
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/x" {
			t.Fatalf("callback: %d %q", r.Status, r.Header.Get("Location"))
		}
		for _, evil := range []string{"//evil.example/x", "/\\evil.example", "https://evil.example/"} {
			r := open(b, "https://app.localhost/.gatehouse/auth/app/start?return="+url.QueryEscape(evil))
			loc := r.Header.Get("Location")
			if strings.Contains(loc, "evil.example") && !strings.HasPrefix(loc, op.Issuer) {
				t.Fatalf("start with return %q redirected to %q", evil, loc)
			}
		}
	})
	t.Run("MFA required: bob signed in with a password only", func(t *testing.T) {
		before := backend.hits.Load()
		bob := newBrowser()
		_, _, r := signIn(bob, "/reports", "", oplab.Bob)
		if r.Status != http.StatusSeeOther {
			t.Fatalf("callback: %d %q", r.Status, r.Body)
		}
		requireErrorPage(t, open(bob, "https://app.localhost/reports"), http.StatusForbidden, "Access denied")
		if n := backend.hits.Load() - before; n != 0 {
			t.Fatalf("backend saw %d requests", n)
		}
	})
}

// API clients send the provider's JWT access tokens: a valid one reaches
// the backend as the robot client; one for another audience, an unsigned
// one (alg none) or garbage never does.
func TestOIDCBearerTokens(t *testing.T) {
	op := startOIDCProvider(t, oplab.Options{RedirectURIs: []string{"https://api.localhost/.gatehouse/auth/api/callback"}})
	backend := newIdentityBackend(t, "api")
	base := gwConfig{Groups: []string{"default"}, Plugins: "  - {name: oidc, builtin: true}\n  - {name: header, builtin: true}\n"}
	auth := func(audience string) string {
		return fmt.Sprintf("{plugin: oidc, config: {issuer: %q, client_id: %s, client_secret: %s, bearer: {audience: %q}}}", op.Issuer, oplab.ClientID, oplab.ClientSecret, audience)
	}
	signOn := `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}"}}}`
	g := startGatewayWith(t, base, []appSpec{
		{Name: "api", Host: "api.localhost", Group: "default", URL: backend.URL, Auth: auth(op.APIAudience), SignOn: signOn},
		{Name: "other", Host: "other.localhost", Group: "default", URL: backend.URL, Auth: auth("https://other.example.test"), SignOn: signOn},
	})
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	token, err := op.RobotToken(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "a bearer request through the connector", func() bool {
		return getWith(t, c, "https://api.localhost/v1", "Authorization", "Bearer "+token).Status == 200
	})
	if s := decodeSeen(t, getWith(t, c, "https://api.localhost/v1", "Authorization", "Bearer "+token)); s.User == "" {
		t.Fatalf("backend saw no identity: %+v", s)
	}
	parts := strings.Split(token, ".")
	unsigned := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	for _, tc := range []struct{ name, url, auth string }{
		{"no token", "https://api.localhost/v1", ""},
		{"another audience", "https://other.localhost/v1", "Bearer " + token},
		{"alg none", "https://api.localhost/v1", "Bearer " + unsigned},
		{"signature changed", "https://api.localhost/v1", "Bearer " + parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))},
		{"garbage", "https://api.localhost/v1", "Bearer not-a-jwt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := backend.hits.Load()
			var r response
			if tc.auth == "" {
				r = getWith(t, c, tc.url)
			} else {
				r = getWith(t, c, tc.url, "Authorization", tc.auth)
			}
			if r.Status != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("Www-Authenticate"), "Bearer") {
				t.Fatalf("%d %v %q, want 401 with WWW-Authenticate: Bearer", r.Status, r.Header.Get("Www-Authenticate"), r.Body)
			}
			if n := backend.hits.Load() - before; n != 0 {
				t.Fatalf("backend saw %d requests", n)
			}
		})
	}
}
