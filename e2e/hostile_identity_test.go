package e2e

// Hostile identity protocols: OpenID Connect callbacks that are not the
// user's own, bearer JWTs that are not the provider's, and SAML answers
// that are replayed, wrapped, re-addressed or out of date. Each case runs
// against a real provider (plugins/oidc/oplab, plugins/saml/idplab) and
// checks that the backend received nothing for the attack.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
	"github.com/gatehouse/gatehouse/plugins/saml/idplab"
	dsig "github.com/russellhaering/goxmldsig"
)

// browserClient is a client with a cookie jar that does not follow
// redirects, as the sign-in cases need to see each step.
func browserClient(g *gatewayProc) *http.Client {
	c := g.client(false)
	c.Jar, _ = cookiejar.New(nil)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// openHTML GETs u as a browser navigation.
func openHTML(t testing.TB, c *http.Client, u string, header ...string) response {
	t.Helper()
	return getWith(t, c, u, append([]string{"Accept", "text/html"}, header...)...)
}

// beginSignIn starts a sign-in at app in c; it returns where the gateway
// sends the browser and the state cookie it set.
func beginSignIn(t testing.TB, c *http.Client, app string) (string, *http.Cookie) {
	t.Helper()
	r := openHTML(t, c, "https://"+app+".localhost/.gatehouse/auth/"+app+"/start?return=%2Fx")
	if r.Status != http.StatusFound {
		t.Fatalf("start at %s: %d %q", app, r.Status, r.Body)
	}
	for _, sc := range (&http.Response{Header: r.Header}).Cookies() {
		if sc.Name == "__Host-gatehouse-state."+app {
			return r.Header.Get("Location"), sc
		}
	}
	t.Fatalf("start at %s set no state cookie: %q", app, r.Header.Values("Set-Cookie"))
	return "", nil
}

// refusedUntouched checks a refusal page: its status, a title word, and
// that the backend received nothing since n.
func refusedUntouched(rec *recorder, n int, r response, status int, title string) (string, bool) {
	got := rec.since(n)
	obs := fmt.Sprintf("client got %d %q; backend got %d", r.Status, pageTitle(r.Body), len(got))
	return obs, r.Status == status && strings.Contains(r.Body, title) && len(got) == 0
}

// pageTitle is the <title> of an HTML page, or the start of the body.
func pageTitle(body string) string {
	if _, rest, ok := strings.Cut(body, "<title>"); ok {
		if title, _, ok := strings.Cut(rest, "</title>"); ok {
			return title
		}
	}
	return clip(body, 40)
}

// TestHostileOIDC: callbacks and bearer tokens against a real OpenID
// provider whose signing key the test holds, so that it can also make
// tokens the provider's JWKS vouches for.
func TestHostileOIDC(t *testing.T) {
	key := rsaKey(t)
	callback := func(app string) string { return "https://" + app + ".localhost/.gatehouse/auth/" + app + "/callback" }
	op := startOIDCProvider(t, oplab.Options{RedirectURIs: []string{callback("app"), callback("other")}, SigningKey: key})
	rec := newRecorder(t)
	base := gwConfig{Groups: []string{"default"}, LogLevel: "debug", // debug: the plug-ins' reasons for a refusal
		Plugins: "  - {name: oidc, builtin: true}\n  - {name: header, builtin: true}\n"}
	var apps []appSpec
	for _, name := range []string{"app", "other"} {
		apps = append(apps, appSpec{Name: name, Host: name + ".localhost", Group: "default", URL: rec.URL,
			Auth: fmt.Sprintf("{plugin: oidc, config: {issuer: %q, client_id: %s, client_secret: %s, scopes: [openid, profile, email, groups], bearer: {audience: %q}}}",
				op.Issuer, oplab.ClientID, oplab.ClientSecret, op.APIAudience),
			SignOn: `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}"}}}`,
		})
	}
	g := startGatewayWith(t, base, apps)
	enrollConnector(t, g, "connector", "default")
	atOP := func(t testing.TB, authURL, user string) *url.URL {
		t.Helper()
		cb, err := op.Browser(nil).SignIn(context.Background(), authURL, user, oplab.Password)
		if err != nil {
			t.Fatalf("signing in at the provider: %v", err)
		}
		return cb
	}

	// The control: alice signs in, and the backend sees her.
	alice := browserClient(g)
	authURL, aliceState := beginSignIn(t, alice, "app")
	aliceCB := atOP(t, authURL, oplab.Alice)
	if r := openHTML(t, alice, aliceCB.String()); r.Status != http.StatusSeeOther {
		t.Fatalf("alice's callback: %d %q", r.Status, r.Body)
	}
	eventually(t, "alice's request through the connector", func() bool {
		return openHTML(t, alice, "https://app.localhost/x").Status == http.StatusOK
	})
	if last, _ := rec.last(); headerNamed(last.Header, "X-Remote-User")[0] != oplab.Alice {
		t.Fatalf("the backend saw %q, want alice", last.Header)
	}

	hostile(t, "oidc", "callback whose state is not the state cookie's (login CSRF)", "400 Sign-in failed; backend untouched, no session", func(t *testing.T) (string, bool) {
		attacker := browserClient(g)
		aURL, _ := beginSignIn(t, attacker, "app")
		attackerCB := atOP(t, aURL, oplab.Bob) // the attacker's own code and state
		victim := browserClient(g)
		beginSignIn(t, victim, "app")
		n := rec.count()
		obs, ok := refusedUntouched(rec, n, openHTML(t, victim, attackerCB.String()), http.StatusBadRequest, "Sign-in failed")
		openHTML(t, victim, "https://app.localhost/x")
		return obs + fmt.Sprintf("; after the victim's next page, backend got %d", len(rec.since(n))), ok && len(rec.since(n)) == 0
	})
	hostile(t, "oidc", "callback without a state cookie", "400 Sign-in expired; backend untouched", func(t *testing.T) (string, bool) {
		b := browserClient(g)
		aURL, _ := beginSignIn(t, b, "app")
		cb := atOP(t, aURL, oplab.Alice)
		n := rec.count()
		return refusedUntouched(rec, n, openHTML(t, browserClient(g), cb.String()), http.StatusBadRequest, "Sign-in expired")
	})
	hostile(t, "oidc", "callback replayed with a copy of its state cookie", "400 Sign-in already used; backend untouched", func(t *testing.T) (string, bool) {
		n := rec.count()
		return refusedUntouched(rec, n, openHTML(t, g.client(false), aliceCB.String(), "Cookie", aliceState.Name+"="+aliceState.Value),
			http.StatusBadRequest, "Sign-in already used")
	})
	hostile(t, "oidc", "ID token whose nonce is not the sign-in's", "401 Sign-in failed (nonce); backend untouched", func(t *testing.T) (string, bool) {
		b := browserClient(g)
		aURL, _ := beginSignIn(t, b, "app")
		u, err := url.Parse(aURL)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query() // the gateway's state and PKCE challenge, the attacker's nonce
		q.Set("nonce", "attackers-nonce")
		u.RawQuery = q.Encode()
		cb := atOP(t, u.String(), oplab.Alice)
		n := rec.count()
		obs, ok := refusedUntouched(rec, n, openHTML(t, b, cb.String()), http.StatusUnauthorized, "Sign-in failed")
		g.log().waitLines(t, "the nonce refusal logged", 1, "nonce does not match")
		return obs, ok
	})
	hostile(t, "oidc", "state cookie of another app at this app's callback", "400 Sign-in expired; backend untouched", func(t *testing.T) (string, bool) {
		b := browserClient(g)
		oURL, otherState := beginSignIn(t, b, "other")
		cb := atOP(t, oURL, oplab.Alice)
		n := rec.count()
		return refusedUntouched(rec, n, openHTML(t, g.client(false), callback("app")+"?"+cb.RawQuery,
			"Cookie", "__Host-gatehouse-state.app="+otherState.Value), http.StatusBadRequest, "Sign-in expired")
	})
	hostile(t, "oidc", "error= and a script injected into the callback", "403 Sign-in refused, the script not echoed; backend untouched", func(t *testing.T) (string, bool) {
		b := browserClient(g)
		aURL, _ := beginSignIn(t, b, "app")
		u, _ := url.Parse(aURL)
		q := url.Values{"state": {u.Query().Get("state")}, "code": {"stolen"}, "error": {"access_denied"},
			"error_description": {`<script>alert(1)</script>`}}
		n := rec.count()
		r := openHTML(t, b, callback("app")+"?"+q.Encode())
		obs, ok := refusedUntouched(rec, n, r, http.StatusForbidden, "Sign-in refused")
		return obs, ok && !strings.Contains(r.Body, "<script>alert")
	})
	hostile(t, "oidc", "callback naming another issuer (mix-up, RFC 9207)", "400 Sign-in failed; backend untouched", func(t *testing.T) (string, bool) {
		b := browserClient(g)
		aURL, _ := beginSignIn(t, b, "app")
		cb := atOP(t, aURL, oplab.Alice)
		q := cb.Query()
		q.Set("iss", "https://evil.example.test")
		cb.RawQuery = q.Encode()
		n := rec.count()
		return refusedUntouched(rec, n, openHTML(t, b, cb.String()), http.StatusBadRequest, "Sign-in failed")
	})

	hostileBearer(t, g, op, key, rec)
}

// hostileBearer: API clients' JWTs that the provider did not issue for
// this app, now.
func hostileBearer(t *testing.T, g *gatewayProc, op *oplab.OP, key *rsa.PrivateKey, rec *recorder) {
	c := g.client(false)
	now := time.Now()
	claims := func(edit func(map[string]any)) map[string]any {
		m := map[string]any{"iss": op.Issuer, "aud": op.APIAudience, "sub": "robot", "client_id": oplab.RobotID,
			"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
		if edit != nil {
			edit(m)
		}
		return m
	}
	rs256 := map[string]any{"alg": "RS256", "typ": "JWT", "kid": oplab.SigningKeyID}
	call := func(t testing.TB, token string) response {
		return getWith(t, c, "https://app.localhost/v1", "Authorization", "Bearer "+token)
	}
	// The controls: the provider's own token, and one the test signs with
	// the provider's key, are let in; so each refusal below is for the one
	// thing the case changes.
	robot, err := op.RobotToken(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{robot, signJWT(t, rs256, claims(nil), key)} {
		if r := call(t, tok); r.Status != http.StatusOK {
			t.Fatalf("a valid bearer token: %d %q", r.Status, r.Body)
		}
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	stranger := rsaKey(t)
	for _, tc := range []struct {
		name, token, why string
	}{
		{"alg none", jwtPart(t, map[string]any{"alg": "none", "typ": "JWT"}) + "." + jwtPart(t, claims(nil)) + ".", "signature algorithm"},
		{"HS256 keyed with the provider's public key (key confusion)",
			hs256(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": oplab.SigningKeyID}, claims(nil), pubPEM), "signature algorithm"},
		{"another audience", signJWT(t, rs256, claims(func(m map[string]any) { m["aud"] = "https://other.example.test" }), key), "audience"},
		{"another issuer", signJWT(t, rs256, claims(func(m map[string]any) { m["iss"] = "https://evil.example.test" }), key), "issued by a different provider"},
		{"expired", signJWT(t, rs256, claims(func(m map[string]any) {
			m["iat"], m["exp"] = now.Add(-time.Hour).Unix(), now.Add(-10*time.Minute).Unix()
		}), key), "expired"},
		{"signed by a key not in the JWKS", signJWT(t, rs256, claims(nil), stranger), "signature"},
		{"kid naming no key of the JWKS", signJWT(t, map[string]any{"alg": "RS256", "typ": "JWT", "kid": "no-such-key"}, claims(nil), stranger), "signature"},
	} {
		hostile(t, "bearer", tc.name, "401 (WWW-Authenticate: Bearer), refused for "+tc.why+"; backend untouched", func(t *testing.T) (string, bool) {
			n := rec.count()
			r := call(t, tc.token)
			wa := r.Header.Get("Www-Authenticate")
			got := len(rec.since(n))
			logged := g.log().waitLines(t, "the refusal logged", 1, "request_id="+r.Header.Get("X-Request-Id"), "reason=")[0]
			_, reason, _ := strings.Cut(logged, "reason=")
			return fmt.Sprintf("client got %d; backend got %d; %s", r.Status, got, clip(reason, 90)),
				r.Status == http.StatusUnauthorized && strings.HasPrefix(wa, "Bearer") && got == 0 && strings.Contains(reason, tc.why)
		})
	}
	hostile(t, "bearer", "30 tokens naming made-up keys, one after another", "all 401; the gateway fetches the provider's JWKS at most twice for them", func(t *testing.T) (string, bool) {
		before, err := op.JWKSFetches(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		n := rec.count()
		refused := 0
		for i := range 30 {
			tok := signJWT(t, map[string]any{"alg": "RS256", "typ": "JWT", "kid": fmt.Sprintf("made-up-%d", i)}, claims(nil), stranger)
			if call(t, tok).Status == http.StatusUnauthorized {
				refused++
			}
		}
		after, err := op.JWKSFetches(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		got := len(rec.since(n))
		return fmt.Sprintf("%d of 30 refused; the provider's JWKS fetched %d times for them (%d before); backend got %d", refused, after-before, before, got),
			refused == 30 && before > 0 && after-before <= 2 && got == 0
	})
}

func rsaKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func jwtPart(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// signJWT is an RS256 JWT of header and claims signed with key.
func signJWT(t testing.TB, header, claims map[string]any, key *rsa.PrivateKey) string {
	t.Helper()
	input := jwtPart(t, header) + "." + jwtPart(t, claims)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// hs256 is an HS256 JWT with secret as the HMAC key.
func hs256(t testing.TB, header, claims map[string]any, secret []byte) string {
	t.Helper()
	input := jwtPart(t, header) + "." + jwtPart(t, claims)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// TestHostileSAML: answers a SimpleSAMLphp IdP really signed, then
// replayed or rearranged; and answers the test signs with the IdP's own
// key, to show that what is refused is refused for what the case changes.
func TestHostileSAML(t *testing.T) {
	idp := startSAMLIdP(context.Background(), t)
	dir := t.TempDir()
	keyFile, certFile := filepath.Join(dir, "sp.key"), filepath.Join(dir, "sp.crt")
	writeRSAPair(t, keyFile, certFile)
	rec := newRecorder(t)
	base := gwConfig{Groups: []string{"default"}, LogLevel: "debug", // debug: the plug-in's reasons for a refusal
		Plugins: "  - {name: saml, builtin: true}\n  - {name: header, builtin: true}\n"}
	g := startGatewayWith(t, base, []appSpec{{Name: "app", Host: "app.localhost", Group: "default", URL: rec.URL,
		Auth:   fmt.Sprintf("{plugin: saml, config: {idp_metadata_url: %q, sp_key_file: %q, sp_cert_file: %q}}", idp.MetadataURL, keyFile, certFile),
		SignOn: `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}", X-Remote-Groups: "{{join .Groups}}"}}}`,
	}})
	enrollConnector(t, g, "connector", "default")
	md := get(t, g.client(false), "https://app.localhost/.gatehouse/auth/app/callback?metadata")
	if md.Status != http.StatusOK {
		t.Fatalf("SP metadata: %d %q", md.Status, md.Body)
	}
	if err := idp.Trust([]byte(md.Body)); err != nil {
		t.Fatal(err)
	}
	idpCert, err := tls.LoadX509KeyPair(filepath.Join(idp.Dir, "cert", "idp.crt"), filepath.Join(idp.Dir, "cert", "idp.key"))
	if err != nil {
		t.Fatalf("the IdP's key pair: %v", err)
	}

	// signedIn starts a sign-in in a fresh browser and has alice sign in at
	// the IdP: the browser, and the IdP's form and its Response XML.
	signedIn := func(t testing.TB) (*http.Client, *idplab.Post, []byte) {
		t.Helper()
		b := browserClient(g)
		loc, _ := beginSignIn(t, b, "app")
		post, err := idp.Browser().SignIn(context.Background(), loc, idplab.Alice, idplab.Password)
		if err != nil {
			t.Fatalf("signing in at the IdP: %v", err)
		}
		xml, err := base64.StdEncoding.DecodeString(post.Form.Get("SAMLResponse"))
		if err != nil {
			t.Fatal(err)
		}
		return b, post, xml
	}
	postForm := func(t testing.TB, b *http.Client, form url.Values) response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "https://app.localhost/.gatehouse/auth/app/callback", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "text/html")
		r, err := do(t, b, req)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	postXML := func(t testing.TB, b *http.Client, xml []byte) response {
		return postForm(t, b, url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(xml)}})
	}
	// user is who the backend sees b as, "" if the backend is not reached.
	user := func(t testing.TB, b *http.Client) string {
		n := rec.count()
		r := openHTML(t, b, "https://app.localhost/x")
		if got := rec.since(n); r.Status == http.StatusOK && len(got) == 1 {
			return strings.Join(headerNamed(got[0].Header, "X-Remote-User"), ",")
		}
		return ""
	}

	// The controls: the IdP's answer signs alice in; so does one the test
	// re-signs with the IdP's key, unchanged.
	b, post, _ := signedIn(t)
	if r := postForm(t, b, post.Form); r.Status != http.StatusSeeOther {
		t.Fatalf("the IdP's answer: %d %q", r.Status, r.Body)
	}
	eventually(t, "alice through the connector", func() bool { return user(t, b) == idplab.Alice })
	b2, _, x2 := signedIn(t)
	if r := postXML(t, b2, resignAssertion(t, x2, idpCert, nil)); r.Status != http.StatusSeeOther || user(t, b2) != idplab.Alice {
		t.Fatalf("an answer re-signed with the IdP's key, unchanged: %d %q", r.Status, r.Body)
	}
	// And the IdP's answer without the Response's own signature (the
	// wrapping cases drop it): the assertion's signature is enough.
	b3, _, x3 := signedIn(t)
	doc := parseXML(t, x3)
	doc.Root().RemoveChild(doc.Root().FindElement("./Signature"))
	if r := postXML(t, b3, serialize(t, doc)); r.Status != http.StatusSeeOther || user(t, b3) != idplab.Alice {
		t.Fatalf("the IdP's answer without the Response signature: %d %q", r.Status, r.Body)
	}

	// refused posts xml from a fresh sign-in and expects a refusal, no
	// session, and nothing at the backend.
	refused := func(status int, title string, edit func(t testing.TB, xml []byte) []byte) func(t *testing.T) (string, bool) {
		return func(t *testing.T) (string, bool) {
			b, _, xml := signedIn(t)
			n := rec.count()
			r := postXML(t, b, edit(t, xml))
			obs, ok := refusedUntouched(rec, n, r, status, title)
			logged := g.log().waitLines(t, "the refusal logged", 1, "request_id="+r.Header.Get("X-Request-Id"), "reason=")[0]
			_, reason, _ := strings.Cut(logged, "reason=")
			who := user(t, b)
			return obs + fmt.Sprintf("; then backend saw user %q; %s", who, clip(reason, 100)), ok && who == ""
		}
	}
	hostile(t, "saml", "Response replayed: again, with a copy of its state cookie, with a fresh state", "400 Sign-in expired / 400 Sign-in already used / 401; backend untouched", func(t *testing.T) (string, bool) {
		b, post, _ := signedIn(t)
		var state string
		for _, c := range b.Jar.Cookies(&url.URL{Scheme: "https", Host: "app.localhost", Path: "/"}) {
			if c.Name == "__Host-gatehouse-state.app" {
				state = c.Value
			}
		}
		if r := postForm(t, b, post.Form); r.Status != http.StatusSeeOther {
			t.Fatalf("the first post: %d %q", r.Status, r.Body)
		}
		n := rec.count()
		again := postForm(t, b, post.Form) // the state cookie is gone
		req, _ := http.NewRequest(http.MethodPost, "https://app.localhost/.gatehouse/auth/app/callback", strings.NewReader(post.Form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", "__Host-gatehouse-state.app="+state)
		withCopy, err := do(t, g.client(false), req)
		if err != nil {
			t.Fatal(err)
		}
		fresh := browserClient(g)
		beginSignIn(t, fresh, "app")
		withFresh := postForm(t, fresh, post.Form)
		got := len(rec.since(n))
		obs := fmt.Sprintf("again %d, with the cookie's copy %d %q, with a fresh state %d; backend got %d, fresh browser's user %q",
			again.Status, withCopy.Status, pageTitle(withCopy.Body), withFresh.Status, got, user(t, fresh))
		return obs, again.Status == http.StatusBadRequest && withCopy.Status == http.StatusBadRequest &&
			strings.Contains(withCopy.Body, "already used") && withFresh.Status == http.StatusUnauthorized && got == 0
	})
	for _, xsw := range []struct{ name, how string }{
		{"evil unsigned assertion before the signed one", "before"},
		{"evil unsigned assertion after the signed one", "after"},
		{"signed assertion wrapped inside the evil one", "inside"},
		{"evil assertion with the signed one's ID, the original in its Signature", "object"},
		{"signed Response wrapped in an evil Response's Extensions", "extensions"},
	} {
		hostile(t, "saml", "signature wrapping: "+xsw.name, "401 Sign-in failed; not signed in as admin; backend untouched",
			refused(http.StatusUnauthorized, "Sign-in failed", func(t testing.TB, xml []byte) []byte { return wrapSignature(t, xml, xsw.how) }))
	}
	hostile(t, "saml", "assertion for another audience, signed by the IdP", "401 Sign-in failed; backend untouched",
		refused(http.StatusUnauthorized, "Sign-in failed", func(t testing.TB, xml []byte) []byte {
			return resignAssertion(t, xml, idpCert, func(a *etree.Element) {
				a.FindElement("./Conditions/AudienceRestriction/Audience").SetText("https://other.localhost")
			})
		}))
	hostile(t, "saml", "expired assertion, signed by the IdP", "401 Sign-in failed; backend untouched",
		refused(http.StatusUnauthorized, "Sign-in failed", func(t testing.TB, xml []byte) []byte {
			return resignAssertion(t, xml, idpCert, func(a *etree.Element) {
				past := func(d time.Duration) string { return time.Now().Add(-d).UTC().Format(time.RFC3339) }
				a.CreateAttr("IssueInstant", past(20*time.Minute))
				c := a.FindElement("./Conditions")
				c.CreateAttr("NotBefore", past(20*time.Minute))
				c.CreateAttr("NotOnOrAfter", past(10*time.Minute))
				a.FindElement("./Subject/SubjectConfirmation/SubjectConfirmationData").CreateAttr("NotOnOrAfter", past(10*time.Minute))
				a.FindElement("./AuthnStatement").CreateAttr("AuthnInstant", past(20*time.Minute))
			})
		}))
	hostile(t, "saml", "Response and assertion unsigned", "401 Sign-in failed; backend untouched",
		refused(http.StatusUnauthorized, "Sign-in failed", func(t testing.TB, xml []byte) []byte {
			doc := parseXML(t, xml)
			for _, s := range doc.FindElements("//Signature") {
				s.Parent().RemoveChild(s)
			}
			return serialize(t, doc)
		}))
	hostile(t, "saml", "comment inside the signed NameID (alice<!---->.evil.test)", "signed in as the whole NameID alice.evil.test, or refused; never as alice", func(t *testing.T) (string, bool) {
		b, _, xml := signedIn(t)
		signed := resignAssertion(t, xml, idpCert, func(a *etree.Element) {
			a.FindElement("./Subject/NameID").SetText("alice.evil.test")
		})
		commented := bytes.Replace(signed, []byte(">alice.evil.test<"), []byte(">alice<!---->.evil.test<"), 1)
		if bytes.Equal(commented, signed) {
			t.Fatal("no NameID to put a comment in")
		}
		n := rec.count()
		r := postXML(t, b, commented)
		atCallback := len(rec.since(n))
		who := user(t, b)
		return fmt.Sprintf("callback %d; backend got %d at the callback, then saw user %q", r.Status, atCallback, who),
			atCallback == 0 && who != idplab.Alice && (who == "" || who == "alice.evil.test")
	})
	hostile(t, "saml", "RelayState pointing to another site", "303 to the path the sign-in started from; backend untouched", func(t *testing.T) (string, bool) {
		var locs []string
		ok := true
		for _, evil := range []string{"https://evil.example.test/", "//evil.example.test/x", "/\\evil.example.test"} {
			b, post, _ := signedIn(t)
			post.Form.Set("RelayState", evil)
			n := rec.count()
			r := postForm(t, b, post.Form)
			loc := r.Header.Get("Location")
			locs = append(locs, fmt.Sprintf("%d %s", r.Status, loc))
			ok = ok && r.Status == http.StatusSeeOther && loc == "/x" && len(rec.since(n)) == 0
		}
		return "redirected to " + strings.Join(locs, ", ") + "; backend untouched", ok
	})
}

func parseXML(t testing.TB, xml []byte) *etree.Document {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xml); err != nil {
		t.Fatalf("parsing the Response: %v", err)
	}
	return doc
}

func serialize(t testing.TB, doc *etree.Document) []byte {
	t.Helper()
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// resignAssertion drops every signature of the Response xml, applies edit
// to its assertion and signs the assertion again with the IdP's key pair,
// as the IdP would have signed what edit makes.
func resignAssertion(t testing.TB, xml []byte, idpCert tls.Certificate, edit func(a *etree.Element)) []byte {
	t.Helper()
	doc := parseXML(t, xml)
	resp := doc.Root()
	for _, s := range doc.FindElements("//Signature") {
		s.Parent().RemoveChild(s)
	}
	a := resp.FindElement("./Assertion")
	if a == nil {
		t.Fatal("the Response has no Assertion")
	}
	if edit != nil {
		edit(a)
	}
	// The assertion declares the namespaces it uses, so that it is
	// canonicalised alike in the Response and on its own.
	for _, ns := range resp.Attr {
		if ns.Space == "xmlns" && a.SelectAttr("xmlns:"+ns.Key) == nil {
			a.CreateAttr("xmlns:"+ns.Key, ns.Value)
		}
	}
	ctx := dsig.NewDefaultSigningContext(dsig.TLSCertKeyStore(idpCert))
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		t.Fatal(err)
	}
	signed, err := ctx.SignEnveloped(a)
	if err != nil {
		t.Fatalf("signing the assertion: %v", err)
	}
	// The schema wants the Signature right after the Issuer. (goxmldsig
	// appends it without making signed its parent: cut it off by hand.)
	sig, ok := signed.Child[len(signed.Child)-1].(*etree.Element)
	if !ok || sig.Tag != "Signature" {
		t.Fatal("goxmldsig did not append the Signature")
	}
	signed.Child = signed.Child[:len(signed.Child)-1]
	signed.InsertChildAt(signed.FindElement("./Issuer").Index()+1, sig)
	resp.InsertChildAt(a.Index(), signed)
	resp.RemoveChild(a)
	return serialize(t, doc)
}

// wrapSignature rearranges a Response the IdP signed so that its signed
// assertion (or the signed Response) is still there and still verifies,
// beside or around an unsigned assertion for "admin" (XML signature
// wrapping, XSW). how says where the signed part goes.
func wrapSignature(t testing.TB, xml []byte, how string) []byte {
	t.Helper()
	doc := parseXML(t, xml)
	resp := doc.Root()
	if how == "extensions" {
		evilDoc := parseXML(t, xml)
		evil := evilDoc.Root()
		evil.CreateAttr("ID", "_evil-response")
		evil.RemoveChild(evil.FindElement("./Signature"))
		makeEvil(evil.FindElement("./Assertion"))
		ext := etree.NewElement("samlp:Extensions")
		ext.AddChild(resp.Copy())
		evil.InsertChildAt(evil.FindElement("./Issuer").Index()+1, ext)
		return serialize(t, evilDoc)
	}
	// The Response's own signature would cover the rearrangement: drop it
	// (an assertion signature alone is enough for a Response).
	resp.RemoveChild(resp.FindElement("./Signature"))
	signed := resp.FindElement("./Assertion")
	evil := signed.Copy()
	makeEvil(evil)
	switch how {
	case "before":
		resp.InsertChildAt(signed.Index(), evil)
	case "after":
		resp.InsertChildAt(signed.Index()+1, evil)
	case "inside":
		resp.InsertChildAt(signed.Index(), evil)
		resp.RemoveChild(signed)
		evil.AddChild(signed)
	case "object":
		evil.CreateAttr("ID", signed.SelectAttrValue("ID", ""))
		sig := signed.FindElement("./Signature").Copy()
		object := etree.NewElement("ds:Object")
		object.AddChild(signed.Copy())
		sig.AddChild(object)
		evil.InsertChildAt(evil.FindElement("./Issuer").Index()+1, sig)
		resp.InsertChildAt(signed.Index(), evil)
		resp.RemoveChild(signed)
	default:
		t.Fatalf("unknown wrapping %q", how)
	}
	return serialize(t, doc)
}

// makeEvil turns a copy of the signed assertion into an unsigned one for
// admin, in group admins, with its own ID.
func makeEvil(a *etree.Element) {
	if s := a.FindElement("./Signature"); s != nil {
		a.RemoveChild(s)
	}
	a.CreateAttr("ID", "_evil-assertion")
	a.FindElement("./Subject/NameID").SetText("admin")
	for _, v := range a.FindElements("./AttributeStatement/Attribute/AttributeValue") {
		v.SetText("admins")
	}
}
