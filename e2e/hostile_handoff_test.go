package e2e

// The hostile suite's "handoff" class: the portal's single-use,
// audience-bound handoff tokens (core/signin/handoff.go) replayed, used on
// another app's host, expired, forged, altered, malformed, posted,
// carrying a return address to another origin, or delivered to another
// browser than the one that asked for it (login CSRF). Each refusal must reach
// no backend, set no session cookie, and leave a warning in the
// gateway's log (and, for a token that names a user, a sign-in record).

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
)

// handoffLab: a portal at apps.localhost and two apps ("app", "other")
// that sign in with the same API-key plug-in, served by one recording
// backend through a real connector.
type handoffLab struct {
	g      *gatewayProc
	rec    *recorder
	c      *http.Client // follows no redirects
	portal string       // the portal's session cookie, name=value
	sealer *session.Sealer
	st     *sqlite.DB
}

func startHandoffLab(t *testing.T) *handoffLab {
	t.Helper()
	sum := sha256.Sum256([]byte(hsKey))
	auth := fmt.Sprintf("{plugin: apikeys, config: {keys: [{sha256: %s, subject: alice}]}}", hex.EncodeToString(sum[:]))
	header := `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}"}}}`
	base := gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf("  - {name: apikeys, path: %q, sha256: %s}\n  - {name: header, builtin: true}\n",
		customSSOBin, fileSum(t, customSSOBin))}
	l := &handoffLab{rec: newRecorder(t)}
	apps := []appSpec{
		{Name: "app", Host: "app.localhost", Group: "default", URL: l.rec.URL, Auth: auth, SignOn: header},
		{Name: "other", Host: "other.localhost", Group: "default", URL: l.rec.URL, Auth: auth, SignOn: header},
	}
	l.g = startGatewayExtra(t, base, apps, "portal:\n  host: apps.localhost\n  auth: "+auth+"\n")
	enrollConnector(t, l.g, "connector", "default")
	l.c = l.g.client(false)
	l.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	eventually(t, "alice signed in through the connector", func() bool {
		return getWith(t, l.c, "https://app.localhost/", "X-Api-Key", hsKey).Status == http.StatusOK
	})
	r := getWith(t, l.c, "https://apps.localhost/.gatehouse/auth/_portal/start?return=/", "X-Api-Key", hsKey)
	if l.portal = sessionCookieOf(r, "_portal"); l.portal == "" {
		t.Fatalf("signing in at the portal: %d, no session cookie in %q", r.Status, r.Header["Set-Cookie"])
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(l.g.dataDir, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	l.st = st
	l.sealer, _ = labSealer(t, st)
	return l
}

// mint starts a sign-in to app on its own host, as a browser would (the
// host sends it to the portal with a nonce, and gives it the nonce in a
// cookie), asks the portal for the handoff, and returns the address the
// portal sends the browser to and the nonce cookie ("name=value").
func (l *handoffLab) mint(t *testing.T, app, ret string) (*url.URL, string) {
	t.Helper()
	r := getWith(t, l.c, "https://"+app+".localhost/.gatehouse/auth/"+app+"/start?return="+url.QueryEscape(ret), "Accept", "text/html")
	nonce := cookieNamed(r, "__Host-gatehouse-handoff."+app)
	sso, err := url.Parse(r.Header.Get("Location"))
	if r.Status != http.StatusSeeOther || nonce == "" || err != nil || sso.Host != "apps.localhost" || sso.Query().Get("n") == "" ||
		!strings.HasSuffix(nonce, "="+sso.Query().Get("n")) {
		t.Fatalf("starting a sign-in to %s: %d to %q, Set-Cookie %q; want 303 to the portal with the nonce of the cookie",
			app, r.Status, r.Header.Get("Location"), r.Header["Set-Cookie"])
	}
	r = getWith(t, l.c, sso.String(), "Cookie", l.portal)
	u, err := url.Parse(r.Header.Get("Location"))
	if r.Status != http.StatusSeeOther || err != nil || u.Query().Get("token") == "" {
		t.Fatalf("the portal's handoff to %s: %d to %q, want 303 with a token", app, r.Status, r.Header.Get("Location"))
	}
	return u, nonce
}

// cookieNamed is the cookie name=value r sets, "" if none.
func cookieNamed(r response, name string) string {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	return ""
}

// use opens a handoff address (on the host it names, or host if set)
// with the nonce cookie (if any), and reports the answer and the session
// cookie it set.
func (l *handoffLab) use(t *testing.T, u *url.URL, host, nonce string) (r response, cookie string) {
	t.Helper()
	return l.useIn(t, l.c, u, host, nonce)
}

// useIn is use from client c.
func (l *handoffLab) useIn(t *testing.T, c *http.Client, u *url.URL, host, nonce string) (r response, cookie string) {
	t.Helper()
	if host == "" {
		host = u.Hostname()
	}
	app, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/.gatehouse/auth/"), "/")
	h := []string{"Accept", "text/html"}
	if nonce != "" {
		h = append(h, "Cookie", nonce)
	}
	r = getWith(t, c, "https://"+host+u.Path+"?"+u.RawQuery, h...)
	return r, sessionCookieOf(r, app)
}

// refused checks a refusal: 400 with a request id, no cookie, nothing at
// the backend, and a warning naming why in the log (n such lines so far).
func (l *handoffLab) refused(t *testing.T, r response, cookie, why string, n int) (string, bool) {
	t.Helper()
	lines := l.g.log().waitLines(t, "the refusal in the log", n, "level=WARN", `msg="handoff refused: `+why)
	ok := r.Status == http.StatusBadRequest && cookie == "" && strings.Contains(r.Body, "Request ID") && len(lines) >= n
	return fmt.Sprintf("%d, cookie %v, %d warning(s) %q", r.Status, cookie != "", len(lines), why), ok
}

// signInRecord reports whether the sign-in log holds a failed record of
// alice's with reason holding why.
func (l *handoffLab) signInRecord(t *testing.T, why string) bool {
	t.Helper()
	found := false
	eventually(t, "the sign-in record", func() bool {
		rows, err := l.st.ListSignIns(t.Context(), 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range rows {
			found = found || (s.Subject == "alice" && s.Result == "failed" && strings.Contains(s.Reason, why))
		}
		return found
	})
	return found
}

func TestHostileHandoff(t *testing.T) {
	l := startHandoffLab(t)
	const class = "handoff"
	first, firstNonce := l.mint(t, "app", "/a?b=1")
	hostile(t, class, "first use of a handoff token", "303 to /a?b=1 with a session; backend gets alice", func(t *testing.T) (string, bool) {
		r, cookie := l.use(t, first, "", firstNonce)
		after, _ := l.reachedApp(t, "https://app.localhost/a?b=1", cookie)
		return fmt.Sprintf("%d to %q; backend got %s", r.Status, r.Header.Get("Location"), after),
			r.Status == http.StatusSeeOther && r.Header.Get("Location") == "/a?b=1" && cookie != "" && strings.Contains(after, `"alice"`)
	})
	hostile(t, class, "handoff token replayed", "400, no session, WARN and a sign-in record", func(t *testing.T) (string, bool) {
		r, cookie := l.use(t, first, "", firstNonce)
		obs, ok := l.refused(t, r, cookie, "the token was used before", 1)
		return obs, ok && l.signInRecord(t, "the token was used before")
	})
	hostile(t, class, "handoff token for app used on other's host", "400, no session, WARN", func(t *testing.T) (string, bool) {
		u, nonce := l.mint(t, "app", "/")
		u.Path = "/.gatehouse/auth/other/handoff"
		r, cookie := l.use(t, u, "other.localhost", strings.Replace(nonce, ".app=", ".other=", 1))
		return l.refused(t, r, cookie, "the token is not valid here", 1)
	})
	hostile(t, class, "handoff token expired (sealed with the gateway's key)", "400, no session, WARN and a sign-in record", func(t *testing.T) (string, bool) {
		u, nonce := l.mint(t, "app", "/")
		q := u.Query()
		q.Set("token", l.seal(t, "app", "app.localhost", time.Now().Add(-time.Second), nonce))
		u.RawQuery = q.Encode()
		r, cookie := l.use(t, u, "", nonce)
		obs, ok := l.refused(t, r, cookie, "the token has expired", 1)
		return obs, ok && l.signInRecord(t, "the token has expired")
	})
	hostile(t, class, "handoff token forged (another key)", "400, no session, WARN", func(t *testing.T) (string, bool) {
		other, _ := session.NewSealer(make([]byte, 32))
		u, nonce := l.mint(t, "app", "/")
		q := u.Query()
		q.Set("token", other.Seal("handoff\x00app\x00app.localhost", l.tokenJSON(t, time.Now().Add(time.Minute), nonce)))
		u.RawQuery = q.Encode()
		r, cookie := l.use(t, u, "", nonce)
		return l.refused(t, r, cookie, "the token is not valid here", 2)
	})
	hostile(t, class, "handoff token with one bit flipped", "400, no session, WARN", func(t *testing.T) (string, bool) {
		u, nonce := l.mint(t, "app", "/")
		q := u.Query()
		tok := []byte(q.Get("token"))
		tok[len(tok)/2] ^= 0x01
		q.Set("token", string(tok))
		u.RawQuery = q.Encode()
		r, cookie := l.use(t, u, "", nonce)
		return l.refused(t, r, cookie, "the token is not valid here", 3)
	})
	hostile(t, class, "handoff token malformed or missing", "400, no session, WARN", func(t *testing.T) (string, bool) {
		var obs []string
		ok := true
		_, nonce := l.mint(t, "app", "/")
		for i, raw := range []string{"token=%25%25%25", "token=", "", "token=" + l.sealer.Seal("handoff\x00app\x00app.localhost", []byte(`{"j":"x"}`))} {
			u := &url.URL{Scheme: "https", Host: "app.localhost", Path: "/.gatehouse/auth/app/handoff", RawQuery: raw}
			r, cookie := l.use(t, u, "", nonce)
			why := []string{"the token is not valid here", "no token", "no token", "the token is malformed"}[i]
			n := map[int]int{0: 4, 1: 1, 2: 2, 3: 1}[i]
			o, k := l.refused(t, r, cookie, why, n)
			obs, ok = append(obs, o), ok && k
		}
		return strings.Join(obs, "; "), ok
	})
	hostile(t, class, "handoff with a return address to another origin", "303 to / on the app's host", func(t *testing.T) (string, bool) {
		u, nonce := l.mint(t, "app", "/")
		q := u.Query()
		q.Set("return", "//evil.example/x") // not sealed: the handoff checks it itself
		u.RawQuery = q.Encode()
		r, cookie := l.use(t, u, "", nonce)
		return fmt.Sprintf("%d to %q", r.Status, r.Header.Get("Location")), r.Status == http.StatusSeeOther && r.Header.Get("Location") == "/" && cookie != ""
	})
	hostile(t, class, "handoff POSTed", "400, no session, WARN", func(t *testing.T) (string, bool) {
		u, nonce := l.mint(t, "app", "/")
		req, _ := http.NewRequest(http.MethodPost, u.String(), nil)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Cookie", nonce)
		r, err := do(t, l.c, req)
		if err != nil {
			t.Fatal(err)
		}
		return l.refused(t, r, sessionCookieOf(r, "app"), "not a GET", 1)
	})
	hostile(t, class, "token delivered to another browser (login CSRF)",
		"400, no session, WARN and a sign-in record, in a client without the nonce cookie and in one with its own; the token still works where it was asked for",
		func(t *testing.T) (string, bool) {
			u, nonce := l.mint(t, "app", "/")       // alice (the attacker) asks for a handoff to her own account
			_, victimNonce := l.mint(t, "app", "/") // the victim's own pending sign-in, in its browser
			victim := l.g.client(false)
			victim.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			const why = "the sign-in was not started in this browser"
			var obs []string
			ok := true
			for i, ck := range []string{"", victimNonce} {
				r, cookie := l.useIn(t, victim, u, "", ck)
				o, k := l.refused(t, r, cookie, why, i+1)
				obs, ok = append(obs, o), ok && k
			}
			r, cookie := l.use(t, u, "", nonce)
			obs = append(obs, fmt.Sprintf("in the browser that asked: %d, cookie %v", r.Status, cookie != ""))
			return strings.Join(obs, "; "), ok && l.signInRecord(t, why) && r.Status == http.StatusSeeOther && cookie != ""
		})
	// The portal's own input: its search box, echoed on the page.
	for _, q := range []string{`"><script>alert(1)</script>`, strings.Repeat("x", 32<<10)} {
		name := "portal search with markup"
		if len(q) > 100 {
			name = "portal search of 32 KiB"
		}
		hostile(t, "portal", name, "200, the list page, the query escaped", func(t *testing.T) (string, bool) {
			r := getWith(t, l.c, "https://apps.localhost/?q="+url.QueryEscape(q), "Cookie", l.portal, "Accept", "text/html")
			raw := strings.Contains(r.Body, "<script>alert(1)")
			return fmt.Sprintf("%d, raw markup %v, %d bytes", r.Status, raw, len(r.Body)),
				r.Status == http.StatusOK && !raw && strings.Contains(r.Body, "match")
		})
	}
}

// reachedApp sends a GET with cookie and reports what the backend got.
func (l *handoffLab) reachedApp(t *testing.T, u, cookie string) (string, int) {
	t.Helper()
	n := l.rec.count()
	r := getWith(t, l.c, u, "Cookie", cookie)
	got := l.rec.since(n)
	if len(got) == 0 {
		return "nothing", r.Status
	}
	return fmt.Sprintf("%s as %q", got[0].URI, strings.Join(headerNamed(got[0].Header, "X-Remote-User"), ",")), r.Status
}

// tokenJSON is a handoff token's contents for alice (the layout of
// core/signin's handoffToken), expiring at exp, for the browser with the
// nonce cookie ("name=value").
func (l *handoffLab) tokenJSON(t *testing.T, exp time.Time, nonce string) []byte {
	t.Helper()
	_, n, _ := strings.Cut(nonce, "=")
	b, err := json.Marshal(map[string]any{"j": fmt.Sprint(time.Now().UnixNano()), "s": "S" + fmt.Sprint(time.Now().UnixNano()),
		"i": time.Now().Add(-time.Minute), "u": time.Now().Add(time.Hour), "e": exp, "id": map[string]any{"sub": "alice"}, "n": n})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seal is a handoff token sealed with the gateway's own key, for app on
// host and the browser with nonce, expiring at exp: only its age can
// refuse it.
func (l *handoffLab) seal(t *testing.T, app, host string, exp time.Time, nonce string) string {
	return l.sealer.Seal("handoff\x00"+app+"\x00"+host, l.tokenJSON(t, exp, nonce))
}
