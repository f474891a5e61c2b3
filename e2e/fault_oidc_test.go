package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/freeport"
	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
)

// oidcBrowser signs users in at the lab's OpenID provider through the
// gateway, the way TestOIDCSignIn's browser does.
type oidcBrowser struct {
	t  *testing.T
	g  *gatewayProc
	op func() *oplab.OP // the provider running now
}

func (b oidcBrowser) client() *http.Client {
	c := b.g.client(false)
	c.Jar, _ = cookiejar.New(nil)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func (b oidcBrowser) open(c *http.Client, u string) (response, error) {
	req := mustRequest(b.t, u)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	return do(b.t, c, req)
}

// authorize opens the app without a session and follows the start page
// to the provider: it returns the browser and the provider's address.
func (b oidcBrowser) authorize() (*http.Client, string, error) {
	c := b.client()
	r, err := b.open(c, "https://app.localhost/home")
	if err != nil {
		return nil, "", err
	}
	m := regexp.MustCompile(`location.replace\("([^"]+)"`).FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		return nil, "", fmt.Errorf("opening the app without a session: %d %q, want the start page", r.Status, short(r.Body, 200))
	}
	if r, err = b.open(c, "https://app.localhost"+strings.ReplaceAll(m[1], `\/`, "/")+"?return=/home"); err != nil {
		return nil, "", err
	}
	loc := r.Header.Get("Location")
	if r.Status != http.StatusFound || !strings.HasPrefix(loc, b.op().Issuer) {
		return nil, "", fmt.Errorf("start: %d Location %q %q, want a redirect to the provider", r.Status, loc, short(r.Body, 200))
	}
	return c, loc, nil
}

// signIn does a whole sign-in of user and returns the session cookie.
func (b oidcBrowser) signIn(user string) (string, error) {
	c, auth, err := b.authorize()
	if err != nil {
		return "", err
	}
	cb, err := b.op().Browser(nil).SignIn(context.Background(), auth, user, oplab.Password)
	if err != nil {
		return "", fmt.Errorf("at the provider: %w", err)
	}
	r, err := b.open(c, cb.String())
	if err != nil {
		return "", err
	}
	if r.Status != http.StatusSeeOther {
		return "", fmt.Errorf("callback: %d %q", r.Status, short(r.Body, 300))
	}
	u, _ := url.Parse("https://app.localhost/")
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == "__Host-gatehouse.app" {
			return k.Name + "=" + k.Value, nil
		}
	}
	return "", errors.New("the callback set no session cookie")
}

// Fault 4: the identity provider stops. Sessions it issued before keep
// working (no request fails); a sign-in whose callback arrives while it is
// down fails closed with a clear page; once it is back, sign-in works
// again within 5 s.
func faultIdPStopped(t *testing.T) {
	port, err := freeport.TCP()
	if err != nil {
		t.Fatal(err)
	}
	const callback = "https://app.localhost/.gatehouse/auth/app/callback"
	startOP := func() *oplab.OP {
		return startOIDCProvider(t, oplab.Options{RedirectURIs: []string{callback}, Port: port})
	}
	op := startOP()
	be := newFaultBackend(t, "app")
	base := faultBase(t)
	base.Plugins = "  - {name: oidc, builtin: true}\n  - {name: header, builtin: true}\n"
	g := startGatewayWith(t, base, []appSpec{{Name: "app", Host: "app.localhost", Group: "default", URL: be.URL,
		Auth:   fmt.Sprintf("{plugin: oidc, config: {issuer: %q, client_id: %s, client_secret: %s, scopes: [openid, profile]}}", op.Issuer, oplab.ClientID, oplab.ClientSecret),
		SignOn: `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}"}, jwt: {}}}`,
	}})
	conn := enrollConnector(t, g, "connector-a", "default")
	g.log().waitLines(t, "the connector's sessions attached", 2, "connector session ready", "connector="+conn.id(t))
	be.id.loadJWKS(t, g.client(false), "https://app.localhost/.gatehouse/jwks.json")
	b := oidcBrowser{t: t, g: g, op: func() *oplab.OP { return op }}
	var cookie string
	eventually(t, "alice's sign-in at the provider", func() bool {
		cookie, err = b.signIn(oplab.Alice)
		return err == nil
	})
	alice := faultClient{c: g.client(false), user: oplab.Alice, cookie: cookie}
	// Bob has a code from the provider, not yet redeemed, when it stops.
	bobBrowser, auth, err := b.authorize()
	if err != nil {
		t.Fatal(err)
	}
	bobCallback, err := op.Browser(nil).SignIn(context.Background(), auth, oplab.Bob, oplab.Password)
	if err != nil {
		t.Fatal(err)
	}

	l := startLoad(t, 4, func(w, i int) shot { return alice.get(t, fmt.Sprintf("https://app.localhost/o?w=%d&i=%d", w, i)) })
	l.waitOK(t, "load before the fault", 100)
	faultAt := time.Now()
	if err := op.Stop(); err != nil {
		t.Fatal(err)
	}
	hits := be.hits.Load()
	r, err := b.open(bobBrowser, bobCallback.String())
	if err != nil {
		t.Fatal(err)
	}
	if r.Status < 500 || !strings.Contains(r.Body, "Sign-in unavailable") && !strings.Contains(r.Body, "Sign-in failed") {
		t.Errorf("a callback while the provider is down: %d %q, want a 5xx page that says sign-in is unavailable", r.Status, short(r.Body, 300))
	}
	if sc := r.Header.Values("Set-Cookie"); strings.Contains(strings.Join(sc, ";"), "__Host-gatehouse.app=") &&
		!strings.Contains(strings.Join(sc, ";"), "__Host-gatehouse.app=;") {
		t.Errorf("a callback while the provider is down set a session cookie: %q", sc)
	}
	l.waitOK(t, "sessions served while the provider is down", 200)
	if n := be.hits.Load() - hits; n == 0 {
		t.Fatal("the backend saw no request while the provider was down")
	}

	op = startOP()
	backAt := time.Now()
	var signedInAt time.Time
	attempts := 0
	eventually(t, "a new sign-in after the provider came back", func() bool {
		attempts++
		if _, err := b.signIn(oplab.Bob); err != nil {
			t.Logf("sign-in %d after the provider came back: %v", attempts, err)
			return false
		}
		signedInAt = time.Now()
		return true
	})
	sent, failed, _ := l.summary(t, faultAt)
	rec := signedInAt.Sub(backAt)
	if rec > recoveryBound {
		t.Errorf("sign-in worked again %v after the provider came back, want within %v", rec.Round(time.Millisecond), recoveryBound)
	}
	record(t, faultRow{Fault: "IdP stopped", Sent: sent + 1 + attempts, Failed: len(failed) + 1 + attempts - 1,
		Slowest: l.slowest(faultAt), Recovery: rec.Round(time.Millisecond).String() + " (sign-in)", Lost: fmt.Sprintf("nothing; sessions 0 failed of %d", sent)})
	if len(failed) > 0 {
		t.Errorf("%d requests of a signed-in session failed while the provider was down:\n%s", len(failed), describe(failed))
	}
}
