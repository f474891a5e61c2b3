package e2e

// The hostile suite's "redirect" and "session" classes: return addresses
// that a browser would follow to another origin (on sign-in start, the
// callback and the vault page), sessions that must be over (signed out,
// on this node or another sharing the store; expired; tampered; another
// app's; a bearer token after its user's sessions were revoked), floods
// that must not grow the store, and a vault form over its size limit. Each
// case reads what the backend received or what the store holds.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/secrets"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/tunnel"
)

// hsKey is the API key that signs alice in to every app of the lab.
const hsKey = "k-hostile-session-alice"

// evilReturns are return addresses that are, or decode or resolve to,
// another origin once a browser (or a decoding backend) reads them; each
// must come back as the app's own page ("/"), never passed on.
var evilReturns = []string{
	`/./\evil.example`,
	`/x/../\evil.example`,
	`/.//\evil.example`,
	`/x/./../\evil.example`,
	`/a/b/../../\evil.example`,
	`/./\\evil.example/path?x=1`,
	`/x/..\evil.example`,
	`/%2e/\evil.example`,
	`/.%2e/\evil.example`,
	`/%2F/evil.example`,
	`/%5Cevil.example`,
	`/./%5C%5Cevil.example`,
	`/%09/evil.example`,
}

// sessionLab is one gateway (and connector) with three apps signed in by
// API key: "app" and "other" (header sign-on) and "vault" (the password
// vault, Basic), all served by one recording backend.
type sessionLab struct {
	g      *gatewayProc
	rec    *recorder
	c      *http.Client // follows no redirects
	st     *sqlite.DB   // the gateway's store, opened beside it
	config func(public, tunnel, dataDir string) string
}

func startSessionLab(t *testing.T) *sessionLab {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "vault.key")
	out, errOut, code := runCmd(t, "", connectorBin, "vault-key", "--out", keyFile)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) < 3 {
		t.Fatalf("vault-key: exit %d %q %q", code, out, errOut)
	}
	pub := lines[len(lines)-1]
	sum := sha256.Sum256([]byte(hsKey))
	auth := fmt.Sprintf("{plugin: apikeys, config: {keys: [{sha256: %s, subject: alice}]}}", hex.EncodeToString(sum[:]))
	header := `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}"}}}`
	base := gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf(
		"  - {name: apikeys, path: %q, sha256: %s}\n  - {name: header, builtin: true}\n  - {name: vault, builtin: true}\n",
		customSSOBin, fileSum(t, customSSOBin))}
	l := &sessionLab{rec: newRecorder(t)}
	apps := []appSpec{
		{Name: "app", Host: "app.localhost", Group: "default", URL: l.rec.URL, Auth: auth, SignOn: header},
		{Name: "other", Host: "other.localhost", Group: "default", URL: l.rec.URL, Auth: auth, SignOn: header},
		{Name: "vault", Host: "vault.localhost", Group: "default", URL: l.rec.URL, Auth: auth,
			SignOn: fmt.Sprintf("{plugin: vault, config: {mode: basic, key_file: %q}}", keyFile)},
	}
	l.config = func(public, tunnel, dataDir string) string {
		text := specYAML(base, apps, public, tunnel, dataDir)
		i := strings.LastIndex(text, "    backend:\n") // the vault app's, the last
		return text[:i] + fmt.Sprintf("    vault: {public_key: %q}\n", pub) + text[i:]
	}
	l.g = newGateway(t, base)
	l.g.writeConfigText(l.config(l.g.public, l.g.tunnel, l.g.dataDir))
	l.g.start()
	enrollConnector(t, l.g, "connector", "default")
	l.c = l.g.client(false)
	l.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	eventually(t, "alice signed in through the connector", func() bool {
		return getWith(t, l.c, "https://app.localhost/", "X-Api-Key", hsKey).Status == http.StatusOK
	})
	st, err := sqlite.Open(t.Context(), filepath.Join(l.g.dataDir, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	l.st = st
	return l
}

// sessionCookieOf returns "name=value" of app's session cookie in r, or "".
func sessionCookieOf(r response, app string) string {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "__Host-gatehouse."+app && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	return ""
}

// signIn signs alice in to app with the API key and returns her cookie.
func (l *sessionLab) signIn(t *testing.T, app string) string {
	t.Helper()
	r := getWith(t, l.c, "https://"+app+".localhost/", "X-Api-Key", hsKey)
	cookie := sessionCookieOf(r, app)
	if cookie == "" {
		t.Fatalf("signing in to %s: %d, no session cookie in %q", app, r.Status, r.Header["Set-Cookie"])
	}
	return cookie
}

// reached sends a GET with cookie and reports what the backend received
// from it: its URI and X-Remote-User, or "nothing".
func (l *sessionLab) reached(t *testing.T, c *http.Client, u, cookie string) (string, int) {
	t.Helper()
	n := l.rec.count()
	r := getWith(t, c, u, "Cookie", cookie)
	got := l.rec.since(n)
	if len(got) == 0 {
		return "nothing", r.Status
	}
	return fmt.Sprintf("%d request(s), %s as %q", len(got), got[0].URI, strings.Join(headerNamed(got[0].Header, "X-Remote-User"), ",")), r.Status
}

// signInRows is how many records the sign-in log holds.
func (l *sessionLab) signInRows(t *testing.T) int {
	t.Helper()
	rows, err := l.st.ListSignIns(t.Context(), 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	return len(rows)
}

// sameOrigin reports whether a browser at https://HOST/ following
// Location loc stays on HOST: after dropping what browsers strip (tabs,
// line breaks, outer spaces) and reading "\" as "/", loc must be a path
// that starts with exactly one "/".
func sameOrigin(loc string) bool {
	loc = strings.TrimFunc(loc, func(r rune) bool { return r <= ' ' })
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(loc)
	end := strings.IndexAny(loc, "?#")
	if end < 0 {
		end = len(loc)
	}
	p := strings.ReplaceAll(loc[:end], `\`, "/")
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//")
}

// redirectCase checks one open-redirect attempt: r must be a 303 to the
// app's own page "/" (the return refused), and following it with cookie
// must reach the backend at "/".
func (l *sessionLab) redirectCase(t *testing.T, host string, r response, cookie string) (string, bool) {
	t.Helper()
	loc := r.Header.Get("Location")
	obs := fmt.Sprintf("%d Location %q", r.Status, loc)
	if !sameOrigin(loc) {
		return obs + ": another origin", false
	}
	if cookie == "" {
		return obs + "; no session to follow it with", false
	}
	got, _ := l.reached(t, l.c, "https://"+host+strings.SplitN(loc, "#", 2)[0], cookie)
	return obs + "; backend got " + got, r.Status == http.StatusSeeOther && loc == "/" && strings.HasPrefix(got, `1 request(s), / as "alice"`)
}

func TestHostileSessionAPIKey(t *testing.T) {
	l := startSessionLab(t)
	for _, evil := range evilReturns {
		hostile(t, "redirect", "sign-in start, return "+evil, "303 to / on this host; backend gets /", func(t *testing.T) (string, bool) {
			r := getWith(t, l.c, "https://app.localhost/.gatehouse/auth/app/start?return="+url.QueryEscape(evil), "X-Api-Key", hsKey)
			return l.redirectCase(t, "app.localhost", r, sessionCookieOf(r, "app"))
		})
	}
	// The callback, with a state the gateway sealed (its key read from the
	// store) holding the return address as given: the callback's own
	// check is what stands between it and the Location.
	sealer, set := labSealer(t, l.st)
	for _, evil := range evilReturns[:5] {
		hostile(t, "redirect", "callback, state return "+evil, "303 to / on this host; backend gets /", func(t *testing.T) (string, bool) {
			st := sealer.SealState("app", "app.localhost", session.State{ID: rand.Text(), Return: evil, Expires: time.Now().Add(5 * time.Minute)})
			r := getWith(t, l.c, "https://app.localhost/.gatehouse/auth/app/callback", "X-Api-Key", hsKey, "Cookie", "__Host-gatehouse-state.app="+st)
			return l.redirectCase(t, "app.localhost", r, sessionCookieOf(r, "app"))
		})
	}
	vaultCases(t, l)
	sessionCases(t, l, sealer, set)
	hostile(t, "session", "sign-out on one node, copied cookie on another (shared store)", "backend gets nothing from node B", func(t *testing.T) (string, bool) {
		b := newGateway(t, gwConfig{Groups: []string{"default"}})
		b.writeConfigText(l.config(b.public, b.tunnel, b.dataDir) + fmt.Sprintf("store:\n  path: %q\n", filepath.Join(l.g.dataDir, "gatehouse.db")))
		b.start()
		enrollConnector(t, b, "connector-b", "default")
		cb := b.client(false)
		cookie := l.signIn(t, "app")
		var before string
		eventually(t, "node B serving alice's session", func() bool {
			before, _ = l.reached(t, cb, "https://app.localhost/b", cookie)
			return strings.HasPrefix(before, "1 request(s), /b")
		})
		getWith(t, l.c, "https://app.localhost/.gatehouse/auth/app/signout", "Cookie", cookie)
		after, status := l.reached(t, cb, "https://app.localhost/b", cookie)
		return fmt.Sprintf("before sign-out node B's backend got %s; after: %d, %s", before, status, after), after == "nothing"
	})
}

// labSealer is a sealer with the gateway's own cookie key, and its keys.
func labSealer(t *testing.T, st *sqlite.DB) (*session.Sealer, *secrets.Set) {
	t.Helper()
	set, err := secrets.Load(t.Context(), st, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := session.NewSealer(set.Cookie)
	if err != nil {
		t.Fatal(err)
	}
	return sealer, set
}

// vaultCases: the vault page's return address, and its form's limits.
func vaultCases(t *testing.T, l *sessionLab) {
	post := func(t *testing.T, cookie string, form url.Values) response {
		req, _ := http.NewRequest(http.MethodPost, "https://vault.localhost/.gatehouse/auth/vault/credentials", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://vault.localhost")
		req.Header.Set("Cookie", cookie)
		r, err := do(t, l.c, req)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	stored := func(t *testing.T) string {
		_, err := l.st.GetCredential(t.Context(), "vault", "alice")
		switch {
		case errors.Is(err, store.ErrNotFound):
			return "nothing"
		case err != nil:
			t.Fatal(err)
		}
		return "sealed credentials"
	}
	hostile(t, "redirect", "vault page without a session, return "+evilReturns[1], "303 to / on this host", func(t *testing.T) (string, bool) {
		r := getWith(t, l.c, "https://vault.localhost/.gatehouse/auth/vault/credentials?return="+url.QueryEscape(evilReturns[1]))
		loc := r.Header.Get("Location")
		return fmt.Sprintf("%d Location %q", r.Status, loc), r.Status == http.StatusSeeOther && loc == "/"
	})
	cookie := l.signIn(t, "vault")
	hostile(t, "session", "vault form over 16 KiB", "413; the store holds nothing", func(t *testing.T) (string, bool) {
		r := post(t, cookie, url.Values{"action": {"save"}, "username": {"alice-vault"}, "password": {strings.Repeat("p", 20<<10)}, "return": {"/"}})
		s := stored(t)
		return fmt.Sprintf("%d; store holds %s", r.Status, s), r.Status == http.StatusRequestEntityTooLarge && s == "nothing"
	})
	hostile(t, "session", "vault form with an empty password", "400; the store holds nothing", func(t *testing.T) (string, bool) {
		r := post(t, cookie, url.Values{"action": {"save"}, "username": {"alice-vault"}, "password": {""}, "return": {"/"}})
		s := stored(t)
		return fmt.Sprintf("%d; store holds %s", r.Status, s), r.Status == http.StatusBadRequest && s == "nothing"
	})
	hostile(t, "redirect", "vault form saved, return "+evilReturns[0], "303 to /; backend gets / with the saved password", func(t *testing.T) (string, bool) {
		r := post(t, cookie, url.Values{"action": {"save"}, "username": {"alice-vault"}, "password": {"pw-1"}, "return": {evilReturns[0]}})
		loc := r.Header.Get("Location")
		obs := fmt.Sprintf("%d Location %q; store holds %s", r.Status, loc, stored(t))
		if !sameOrigin(loc) {
			return obs + ": another origin", false
		}
		n := l.rec.count()
		getWith(t, l.c, "https://vault.localhost"+loc, "Cookie", cookie)
		got := l.rec.since(n)
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice-vault:pw-1"))
		if len(got) != 1 {
			return obs + fmt.Sprintf("; backend got %d requests", len(got)), false
		}
		auth := strings.Join(headerNamed(got[0].Header, "Authorization"), ",")
		return obs + fmt.Sprintf("; backend got %s with the saved password: %v", got[0].URI, auth == want),
			r.Status == http.StatusSeeOther && loc == "/" && got[0].URI == "/" && auth == want
	})
}

// sessionCases: sessions that must be over, cookies that must not work,
// and floods that must not grow the store.
func sessionCases(t *testing.T, l *sessionLab, sealer *session.Sealer, set *secrets.Set) {
	hostile(t, "session", "copied cookie after sign-out", "backend gets nothing", func(t *testing.T) (string, bool) {
		cookie := l.signIn(t, "app")
		before, _ := l.reached(t, l.c, "https://app.localhost/mine", cookie)
		out := getWith(t, l.c, "https://app.localhost/.gatehouse/auth/app/signout", "Cookie", cookie)
		after, status := l.reached(t, l.c, "https://app.localhost/mine", cookie)
		return fmt.Sprintf("before: %s; sign-out %d; after: %d, %s", before, out.Status, status, after),
			strings.HasPrefix(before, "1 request(s)") && out.Status == http.StatusOK && after == "nothing"
	})
	hostile(t, "session", "session cookie attributes", "__Host-, Path=/, no Domain, Secure, HttpOnly, SameSite=Lax", func(t *testing.T) (string, bool) {
		r := getWith(t, l.c, "https://app.localhost/", "X-Api-Key", hsKey)
		var attrs string
		for _, line := range r.Header["Set-Cookie"] {
			if strings.HasPrefix(line, "__Host-gatehouse.app=") {
				_, attrs, _ = strings.Cut(line, ";") // the value is a secret
			}
		}
		ok := attrs != "" && !strings.Contains(strings.ToLower(attrs), "domain=")
		for _, attr := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
			ok = ok && strings.Contains(attrs, attr)
		}
		return "Set-Cookie __Host-gatehouse.app=…;" + attrs, ok
	})
	forge := func(expires time.Time) string {
		now := time.Now()
		s := session.Session{ID: rand.Text(), IssuedAt: now.Add(-time.Hour), Expires: expires}
		env, err := tunnel.SignEnvelope(set.Envelope, tunnel.Envelope{App: "app", Session: s.ID, IssuedAt: s.IssuedAt, Expires: expires,
			Identity: sdk.Identity{Subject: "alice"}})
		if err != nil {
			t.Fatal(err)
		}
		s.Envelope = env
		v, err := sealer.SealSession("app", "app.localhost", s)
		if err != nil {
			t.Fatal(err)
		}
		return "__Host-gatehouse.app=" + v
	}
	hostile(t, "session", "expired session (sealed with the gateway's key)", "backend gets nothing; the same unexpired gets in", func(t *testing.T) (string, bool) {
		live, _ := l.reached(t, l.c, "https://app.localhost/live", forge(time.Now().Add(time.Hour)))
		expired, status := l.reached(t, l.c, "https://app.localhost/expired", forge(time.Now().Add(-time.Second)))
		return fmt.Sprintf("unexpired: %s; expired: %d, %s", live, status, expired), strings.HasPrefix(live, "1 request(s)") && expired == "nothing"
	})
	hostile(t, "session", "tampered session cookie (one bit flipped)", "backend gets nothing", func(t *testing.T) (string, bool) {
		cookie := l.signIn(t, "app")
		name, v, _ := strings.Cut(cookie, "=")
		var got []string
		for _, i := range []int{0, len(v) / 2, len(v) - 2} { // not the last: its low bits may be padding
			b := []byte(v)
			b[i] ^= 0x01
			r, _ := l.reached(t, l.c, "https://app.localhost/tampered", name+"="+string(b))
			got = append(got, r)
		}
		ok := true
		for _, g := range got {
			ok = ok && g == "nothing"
		}
		return "backend got " + strings.Join(got, " / "), ok
	})
	hostile(t, "session", "another app's session cookie", "backend gets nothing (as is, or renamed)", func(t *testing.T) (string, bool) {
		other := l.signIn(t, "other")
		_, v, _ := strings.Cut(other, "=")
		asIs, _ := l.reached(t, l.c, "https://app.localhost/cross", other)
		renamed, _ := l.reached(t, l.c, "https://app.localhost/cross", "__Host-gatehouse.app="+v)
		return fmt.Sprintf("as is: %s; renamed: %s", asIs, renamed), asIs == "nothing" && renamed == "nothing"
	})
	floodCases(t, l)
}

// floodCases: requests nobody can be held to must not grow the store;
// a signed-in client's leave a bounded trail.
func floodCases(t *testing.T, l *sessionLab) {
	const n, workers = 500, 8
	flood := func(t *testing.T, header func(i int) []string) (failed int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		next := make(chan int)
		for range workers {
			wg.Go(func() {
				for i := range next {
					req := mustRequest(t, "https://app.localhost/flood")
					h := header(i)
					for j := 0; j+1 < len(h); j += 2 {
						req.Header.Set(h[j], h[j+1])
					}
					ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
					_, err := do(t, l.c, req.WithContext(ctx))
					cancel()
					if err != nil {
						mu.Lock()
						failed++
						mu.Unlock()
					}
				}
			})
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
		return failed
	}
	hostile(t, "session", fmt.Sprintf("anonymous flood of %d requests (wrong keys, none)", n), "sign-in log unchanged; backend gets nothing", func(t *testing.T) (string, bool) {
		rows, seen := l.signInRows(t), l.rec.count()
		failed := flood(t, func(i int) []string {
			if i%2 == 0 {
				return []string{"X-Api-Key", fmt.Sprintf("guess-%d", i)}
			}
			return nil
		})
		added, got := l.signInRows(t)-rows, l.rec.count()-seen
		return fmt.Sprintf("%d rows added to the sign-in log, backend got %d, %d requests failed", added, got, failed), added == 0 && got == 0 && failed == 0
	})
	hostile(t, "session", fmt.Sprintf("signed-in API client, %d requests without its cookie", n), "at most 1 sign-in row; backend gets all", func(t *testing.T) (string, bool) {
		rows, seen := l.signInRows(t), l.rec.count()
		failed := flood(t, func(int) []string { return []string{"X-Api-Key", hsKey} })
		added, got := l.signInRows(t)-rows, l.rec.count()-seen
		return fmt.Sprintf("%d rows added to the sign-in log, backend got %d, %d requests failed", added, got, failed), added <= 1 && got == n && failed == 0
	})
}

// TestHostileSessionBearer runs against a real OpenID provider: a bearer
// token issued before "gatehouse sessions revoke" must stay refused, and a
// return address survives a real sign-in only as a path on this host.
func TestHostileSessionBearer(t *testing.T) {
	op := startOIDCProvider(t, oplab.Options{RedirectURIs: []string{"https://api.localhost/.gatehouse/auth/api/callback"}})
	rec := newRecorder(t)
	base := gwConfig{Groups: []string{"default"}, Plugins: "  - {name: oidc, builtin: true}\n  - {name: header, builtin: true}\n"}
	g := startGatewayWith(t, base, []appSpec{{Name: "api", Host: "api.localhost", Group: "default", URL: rec.URL,
		Auth: fmt.Sprintf("{plugin: oidc, config: {issuer: %q, client_id: %s, client_secret: %s, scopes: [openid, profile, email, groups], bearer: {audience: %q}}}",
			op.Issuer, oplab.ClientID, oplab.ClientSecret, op.APIAudience),
		SignOn: `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}"}}}`,
	}})
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	token, err := op.RobotToken(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "a bearer request through the connector", func() bool {
		return getWith(t, c, "https://api.localhost/v1", "Authorization", "Bearer "+token).Status == http.StatusOK
	})

	hostile(t, "session", "bearer token issued before sessions revoke", "401; backend gets nothing; a newer token gets in", func(t *testing.T) (string, bool) {
		n := rec.count()
		getWith(t, c, "https://api.localhost/before", "Authorization", "Bearer "+token)
		before := len(rec.since(n))
		out, errOut, code := runCmd(t, g.dir, gatehouseBin, "sessions", "revoke", "--config", g.configPath, "--user", oplab.RobotID)
		if code != 0 {
			t.Fatalf("sessions revoke: exit %d %q %q", code, out, errOut)
		}
		n = rec.count()
		r := getWith(t, c, "https://api.localhost/after", "Authorization", "Bearer "+token)
		after := len(rec.since(n))
		fresh := 0
		eventually(t, "a token issued after the revocation to get in", func() bool {
			tok, err := op.RobotToken(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if getWith(t, c, "https://api.localhost/fresh", "Authorization", "Bearer "+tok).Status == http.StatusOK {
				fresh++
			}
			return fresh > 0
		})
		return fmt.Sprintf("before: backend got %d; after revoke: %d %q, backend got %d", before, r.Status, r.Header.Get("Www-Authenticate"), after),
			before == 1 && r.Status == http.StatusUnauthorized && after == 0
	})

	evil := evilReturns[1]
	hostile(t, "redirect", "callback of a real sign-in, return "+evil, "303 to / on this host; backend gets / as alice", func(t *testing.T) (string, bool) {
		b := g.client(false)
		b.Jar, _ = cookiejar.New(nil)
		b.CheckRedirect = c.CheckRedirect
		r := getWith(t, b, "https://api.localhost/.gatehouse/auth/api/start?return="+url.QueryEscape(evil), "Accept", "text/html")
		if r.Status != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), op.Issuer) {
			t.Fatalf("start: %d Location %q, want a redirect to the provider", r.Status, r.Header.Get("Location"))
		}
		cb, err := op.Browser(nil).SignIn(t.Context(), r.Header.Get("Location"), oplab.Alice, oplab.Password)
		if err != nil {
			t.Fatalf("signing in at the provider: %v", err)
		}
		r = getWith(t, b, cb.String(), "Accept", "text/html")
		loc := r.Header.Get("Location")
		obs := fmt.Sprintf("%d Location %q", r.Status, loc)
		if !sameOrigin(loc) {
			return obs + ": another origin", false
		}
		n := rec.count()
		getWith(t, b, "https://api.localhost"+loc)
		got := rec.since(n)
		if len(got) != 1 {
			return obs + fmt.Sprintf("; backend got %d requests", len(got)), false
		}
		user := strings.Join(headerNamed(got[0].Header, "X-Remote-User"), ",")
		return obs + fmt.Sprintf("; backend got %s as %q", got[0].URI, user), r.Status == http.StatusSeeOther && loc == "/" && got[0].URI == "/" && user == oplab.Alice
	})
}
