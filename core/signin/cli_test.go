package signin

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
	"github.com/gatehouse/gatehouse/sdk"
)

// seenAuth signs in alice by an X-Key header and remembers the last
// Authorization header it was shown.
type seenAuth struct {
	mu   sync.Mutex
	auth []string
}

func (s *seenAuth) Authenticate(_ context.Context, req sdk.AuthRequest) (sdk.AuthResult, error) {
	s.mu.Lock()
	s.auth = append(s.auth, req.Header.Get("Authorization"))
	s.mu.Unlock()
	if req.Header.Get("X-Key") == "k" {
		return sdk.Authenticated(sdk.Identity{Subject: "alice"}), nil
	}
	return sdk.NotMine(), nil
}

type cliRig struct {
	t       *testing.T
	now     time.Time
	db      *sqlite.DB
	logs    *bytes.Buffer
	auth    *seenAuth
	app     *App
	other   *App // another app on another host, the same gate
	session *http.Cookie
}

func newCLIRig(t *testing.T) *cliRig {
	t.Helper()
	rig := &cliRig{t: t, now: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), logs: &bytes.Buffer{}, auth: &seenAuth{}}
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rig.db = db
	sealer, err := session.NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(nil)
	gate := &Gate{Sealer: sealer, Envelope: priv, Store: db, Logger: slog.New(slog.NewTextHandler(rig.logs, nil)),
		Now: func() time.Time { return rig.now }}
	rig.app = &App{Name: "ssh", Host: "ssh.example.com", Prefix: "/", Plugin: "p", Auth: rig.auth, Lifetime: 8 * time.Hour, Gate: gate}
	rig.other = &App{Name: "db", Host: "db.example.com", Prefix: "/", Plugin: "p", Auth: rig.auth, Lifetime: 8 * time.Hour, Gate: gate}
	w := httptest.NewRecorder()
	if _, ok := rig.app.Admit(w, rig.req("GET", "https://ssh.example.com/", http.Header{"X-Key": {"k"}}), "rid"); !ok {
		t.Fatalf("signing in with the key: %d", w.Code)
	}
	rig.session = w.Result().Cookies()[0]
	return rig
}

func (rig *cliRig) req(method, target string, h http.Header) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	if h != nil {
		r.Header = h
	}
	return r
}

// login opens the login page with the browser's session; it returns the response.
func (rig *cliRig) login(app *App, host, query string) *httptest.ResponseRecorder {
	r := rig.req("GET", "https://"+host+reserved.CLILogin+"?"+query, http.Header{"Cookie": {rig.session.Name + "=" + rig.session.Value}})
	w := httptest.NewRecorder()
	app.CLILogin(w, r)
	return w
}

// code signs in through the login page and returns the code.
func (rig *cliRig) code() string {
	w := rig.login(rig.app, "ssh.example.com", "port=4711&state=S-1")
	if w.Code != http.StatusSeeOther {
		rig.t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	u, err := url.Parse(w.Header().Get("Location"))
	if err != nil || u.Scheme != "http" || u.Host != "127.0.0.1:4711" || u.Path != "/callback" || u.Query().Get("state") != "S-1" {
		rig.t.Fatalf("login redirects to %q; want http://127.0.0.1:4711/callback?code=...&state=S-1", w.Header().Get("Location"))
	}
	return u.Query().Get("code")
}

// exchange posts code to the token endpoint of app at host.
func (rig *cliRig) exchange(app *App, host, code string) (*httptest.ResponseRecorder, map[string]any) {
	r := httptest.NewRequest("POST", "https://"+host+reserved.CLIToken, strings.NewReader(url.Values{"code": {code}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	app.CLIToken(w, r)
	var body map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	return w, body
}

// admitBearer makes a request to the app with the token as a bearer.
func (rig *cliRig) admitBearer(tok string) (*http.Request, *httptest.ResponseRecorder, bool) {
	r := rig.req("GET", "https://ssh.example.com/.gatehouse/tcp", http.Header{"Authorization": {"Bearer " + tok}})
	w := httptest.NewRecorder()
	_, ok := rig.app.Admit(w, r, "rid")
	return r, w, ok
}

// The whole flow: a signed-in browser gets a code at the loopback
// callback, the code buys a token once, and the token is a session: the
// gate admits it without the plug-in, and nothing past the gate sees it.
func TestCLISignIn(t *testing.T) {
	rig := newCLIRig(t)
	w := httptest.NewRecorder()
	rig.app.CLILogin(w, rig.req("GET", "https://ssh.example.com"+reserved.CLILogin+"?port=4711&state=abc", nil))
	want := reserved.StartReturn("ssh", reserved.CLILogin+"?port=4711&state=abc")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != want {
		t.Fatalf("login without a session: %d to %q; want 303 to %q", w.Code, w.Header().Get("Location"), want)
	}

	code := rig.code()
	w, body := rig.exchange(rig.app, "ssh.example.com", code)
	tok, _ := body["token"].(string)
	if w.Code != http.StatusOK || tok == "" || body["expires_at"] != rig.now.Add(8*time.Hour).Format(time.RFC3339) {
		t.Fatalf("exchange: %d %s", w.Code, w.Body)
	}
	if strings.Contains(rig.logs.String(), tok) || strings.Contains(rig.logs.String(), code) {
		t.Fatal("the log holds the token or the code")
	}
	calls := len(rig.auth.auth)
	r, w, ok := rig.admitBearer(tok)
	if !ok || len(rig.auth.auth) != calls || r.Header.Get("Authorization") != "" {
		t.Fatalf("bearer token: admitted=%v (%d), plug-in calls %d, Authorization left %q", ok, w.Code, len(rig.auth.auth)-calls, r.Header.Get("Authorization"))
	}

	w, body = rig.exchange(rig.app, "ssh.example.com", code)
	if w.Code != http.StatusBadRequest || body["error"] != "invalid_grant" || !strings.Contains(rig.logs.String(), "already used") {
		t.Fatalf("a reused code: %d %s", w.Code, w.Body)
	}

	// Revoking alice's sessions ends the token too; the plug-in then asked
	// is never shown it.
	rig.now = rig.now.Add(time.Minute)
	if err := rig.db.RevokeSessions(t.Context(), "alice", rig.now); err != nil {
		t.Fatal(err)
	}
	rig.now = rig.now.Add(time.Second)
	_, w, ok = rig.admitBearer(tok)
	if ok || w.Code != http.StatusUnauthorized || rig.auth.auth[len(rig.auth.auth)-1] != "" {
		t.Fatalf("a revoked token: admitted=%v %d, the plug-in saw %q", ok, w.Code, rig.auth.auth[len(rig.auth.auth)-1])
	}
}

// Codes are refused when expired, forged, changed, or made for another
// app or host; each refusal is logged.
func TestCLICodeRefused(t *testing.T) {
	rig := newCLIRig(t)
	otherCode := func() string { // a code the other app made
		c := rig.code()
		cc, err := rig.app.openCode("ssh.example.com", c, rig.now)
		if err != nil {
			t.Fatal(err)
		}
		return rig.other.sealCode("db.example.com", cc)
	}
	good := rig.code()
	tests := []struct {
		name, host, code string
		app              *App
		log              string
	}{
		{"forged", "ssh.example.com", "bm90IGEgY29kZQ", rig.app, "not valid here"},
		{"changed", "ssh.example.com", good[:len(good)-2] + "AA", rig.app, "not valid here"},
		{"other host", "ssh2.example.com", rig.code(), rig.app, "not valid here"},
		{"other app", "ssh.example.com", otherCode(), rig.app, "not valid here"},
		{"empty", "ssh.example.com", "", rig.app, ""},
	}
	for _, tc := range tests {
		rig.logs.Reset()
		w, body := rig.exchange(tc.app, tc.host, tc.code)
		if w.Code != http.StatusBadRequest || body["token"] != nil || !strings.Contains(rig.logs.String(), tc.log) {
			t.Errorf("%s: %d %s; log %q", tc.name, w.Code, w.Body, rig.logs)
		}
	}
	late := rig.code()
	rig.now = rig.now.Add(cliCodeTTL)
	rig.logs.Reset()
	if w, body := rig.exchange(rig.app, "ssh.example.com", late); w.Code != http.StatusBadRequest || body["token"] != nil ||
		!strings.Contains(rig.logs.String(), "cli sign-in refused: the code has expired") {
		t.Errorf("expired: %d %s; log %q", w.Code, w.Body, rig.logs)
	}
	w := httptest.NewRecorder()
	rig.app.CLIToken(w, httptest.NewRequest("GET", "https://ssh.example.com"+reserved.CLIToken+"?code="+good, nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET token: %d", w.Code)
	}
}

// The login page redirects only to the loopback callback: no query can
// name another host, and a malformed port or state gets an error page.
func TestCLILoginRedirectsOnlyToLoopback(t *testing.T) {
	rig := newCLIRig(t)
	for _, q := range []string{
		"port=0&state=s", "port=65536&state=s", "port=%2B80&state=s", "port=080&state=s", "port=80x&state=s",
		"state=s", "port=80", "port=80&state=a%2Fb", "port=80&state=a@evil.example", "port=80@evil.example&state=s",
		"port=80%2F%2Fevil.example&state=s", "port=80&state=" + strings.Repeat("a", 129), "port=%2080&state=s",
	} {
		w := rig.login(rig.app, "ssh.example.com", q)
		if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
			t.Errorf("%q: %d to %q; want 400 and no redirect", q, w.Code, w.Header().Get("Location"))
		}
	}
	w := rig.login(rig.app, "ssh.example.com", "port=65535&state=ok&redirect_uri=https://evil.example/&host=evil.example")
	if loc := w.Header().Get("Location"); w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "http://127.0.0.1:65535/callback?code=") {
		t.Errorf("extra parameters: %d to %q", w.Code, loc)
	}
	// A session cookie of another host is no session here.
	w = rig.login(rig.other, "db.example.com", "port=80&state=s")
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), reserved.Start("db")) {
		t.Errorf("another app's cookie: %d to %q; want the sign-in start", w.Code, w.Header().Get("Location"))
	}
}
