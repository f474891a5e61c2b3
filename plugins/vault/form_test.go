package vault

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

// formBackend is an app with a login form of its own: POST /login with
// user, pass and remember=on sets a session cookie "sid" (and "lang") and
// redirects to /home; every other page needs the session, or redirects to
// /login.
type formBackend struct {
	srv    *httptest.Server
	users  map[string]string
	logins atomic.Int64 // login POSTs
	// failRedirect: a refused login redirects to /login?error instead of
	// showing the form again with a message.
	failRedirect bool
	// loginStatus, when not 0, is what every login POST answers.
	loginStatus int
	// maxAge, when not 0, is the session cookie's Max-Age.
	maxAge int
	// delay is how long a login takes.
	delay time.Duration

	mu       sync.Mutex
	sessions map[string]string // sid: user
}

func newFormBackend(t testing.TB) *formBackend {
	b := &formBackend{users: map[string]string{"alice": "Al1ce pass;=&", "bob": "b0b"}, sessions: map[string]string{}}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *formBackend) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/login" && r.Method == http.MethodPost {
		b.logins.Add(1)
		time.Sleep(b.delay)
		if b.loginStatus != 0 {
			w.WriteHeader(b.loginStatus)
			return
		}
		user, pass := r.PostFormValue("user"), r.PostFormValue("pass")
		if want, ok := b.users[user]; !ok || pass != want || r.PostFormValue("remember") != "on" {
			if b.failRedirect {
				http.Redirect(w, r, "/login?error=1", http.StatusFound)
				return
			}
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<form method="post">Invalid username or password <input name="user"></form>`)
			return
		}
		sid := rand.Text()
		b.mu.Lock()
		b.sessions[sid] = user
		b.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid, Path: "/", HttpOnly: true, MaxAge: b.maxAge})
		http.SetCookie(w, &http.Cookie{Name: "lang", Value: "en", Path: "/"})
		http.Redirect(w, r, "/home", http.StatusFound)
		return
	}
	if r.Method == http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if r.URL.Path == "/login" {
		fmt.Fprint(w, `<form method="post"><input name="user"><input name="pass"></form>`)
		return
	}
	c, err := r.Cookie("sid")
	b.mu.Lock()
	user := ""
	if err == nil {
		user = b.sessions[c.Value]
	}
	b.mu.Unlock()
	if user == "" {
		http.Redirect(w, r, "/login", http.StatusFound)
		return
	}
	fmt.Fprintf(w, "hello %s\ncookies: %s\n", user, r.Header.Get("Cookie"))
}

// config is the plug-in's config for this backend.
func (b *formBackend) config(k keyPair, kv ...any) map[string]any {
	form := map[string]any{
		"login_url": b.srv.URL + "/login", "username_field": "user", "password_field": "pass",
		"fields": map[string]any{"remember": "on"}, "failure_body": "Invalid username or password",
		"success_location": "/home",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(form, kv[i].(string))
		} else {
			form[kv[i].(string)] = kv[i+1]
		}
	}
	return map[string]any{"mode": "form", "key_file": k.file, "form": form}
}

// The first request signs in at the form and gets the backend's session
// cookies, merged with the client's own; the next reuses them without a
// new login. The session opens the backend's pages as that user.
func TestFormSignsInOnce(t *testing.T) {
	b, k, logs := newFormBackend(t), newKey(t), &logBuffer{}
	inj := mustOpen(t, b.config(k), logs)
	secret := k.seal(t, "hr", "00u1", "alice", b.users["alice"])
	client := http.Header{"Cookie": {"theme=dark; sid=forged", "lang=xx"}, "Accept": {"text/html"}}
	res := inject(t, inj, "00u1", secret, client)
	if res.AskCredentials || res.ReuseFor != 0 || res.RejectStatus != 0 || !slices.Contains(res.Remove, "Cookie") {
		t.Fatalf("got %+v", res)
	}
	cookie := res.Set.Get("Cookie")
	parts := strings.Split(cookie, "; ")
	if len(parts) != 3 || parts[0] != "theme=dark" || !strings.HasPrefix(parts[1], "sid=") || parts[1] == "sid=forged" || parts[2] != "lang=en" {
		t.Fatalf("Cookie %q: want the client's theme=dark, then the backend's sid and lang instead of the client's", cookie)
	}
	h := client.Clone()
	res.Apply(h)
	status, body := get(t, b.srv.URL+"/reports/q1", h)
	if status != http.StatusOK || !strings.HasPrefix(body, "hello alice\n") || !strings.Contains(body, "theme=dark") {
		t.Fatalf("backend page: %d %q", status, body)
	}
	again := inject(t, inj, "00u1", secret, nil)
	if got := again.Set.Get("Cookie"); got != parts[1]+"; "+parts[2] {
		t.Errorf("second request: Cookie %q, want the same session %q", got, parts[1]+"; "+parts[2])
	}
	if n := b.logins.Load(); n != 1 {
		t.Errorf("%d logins, want 1", n)
	}
	l := logs.String()
	if !strings.Contains(l, "vault: signed in at the backend") {
		t.Errorf("the login is not in the log:\n%s", l)
	}
	if strings.Contains(l, b.users["alice"]) || strings.Contains(l, strings.TrimPrefix(parts[1], "sid=")) {
		t.Errorf("the password or the session cookie is in the log:\n%s", l)
	}
}

// Each user has a session of their own, even with the same shared
// credentials; one user's cookie is never sent for another.
func TestFormSessionsPerUser(t *testing.T) {
	b, k := newFormBackend(t), newKey(t)
	inj := mustOpen(t, b.config(k), nil)
	sids := map[string]string{}
	for _, sub := range []string{"00u1", "00u2"} {
		res := inject(t, inj, sub, k.seal(t, "hr", sub, "alice", b.users["alice"]), nil)
		sids[sub] = res.Set.Get("Cookie")
	}
	shared := k.seal(t, "hr", "*", "bob", b.users["bob"])
	for _, sub := range []string{"00u3", "00u4"} {
		sids[sub] = inject(t, inj, sub, shared, nil).Set.Get("Cookie")
	}
	seen := map[string]string{}
	for sub, c := range sids {
		if c == "" {
			t.Errorf("%s got no cookie", sub)
		}
		if other, ok := seen[c]; ok {
			t.Errorf("%s and %s got the same session %q", sub, other, c)
		}
		seen[c] = sub
	}
	for _, sub := range []string{"00u1", "00u3"} {
		if got := inject(t, inj, sub, nil, nil); !got.AskCredentials {
			t.Errorf("%s without credentials: %+v, want AskCredentials (no session reused)", sub, got)
		}
	}
	if n := b.logins.Load(); n != 4 {
		t.Errorf("%d logins, want 4", n)
	}
}

// A refused login asks for credentials, and is remembered for these
// credentials: the backend does not see the wrong password again (an
// account lockout would follow). New credentials sign in at once.
func TestFormWrongPassword(t *testing.T) {
	for _, failRedirect := range []bool{false, true} {
		t.Run(fmt.Sprintf("failRedirect=%v", failRedirect), func(t *testing.T) {
			b, k := newFormBackend(t), newKey(t)
			b.failRedirect = failRedirect
			cfg := b.config(k)
			if failRedirect {
				cfg = b.config(k, "failure_body", nil, "success_location", nil) // the default: a redirect back to /login fails
			}
			inj := mustOpen(t, cfg, nil)
			wrong := k.seal(t, "hr", "00u1", "alice", "guess")
			for range 3 {
				if res := inject(t, inj, "00u1", wrong, nil); !res.AskCredentials || res.Set != nil {
					t.Fatalf("wrong password: %+v, want AskCredentials", res)
				}
			}
			if n := b.logins.Load(); n != 1 {
				t.Errorf("%d logins with the wrong password, want 1", n)
			}
			res := inject(t, inj, "00u1", k.seal(t, "hr", "00u1", "alice", b.users["alice"]), nil)
			if res.AskCredentials || !strings.Contains(res.Set.Get("Cookie"), "sid=") {
				t.Errorf("new credentials: %+v, want a session", res)
			}
			if n := b.logins.Load(); n != 2 {
				t.Errorf("%d logins, want 2", n)
			}
		})
	}
}

// Credentials the user stored again (sealed anew, even if the same) are a
// new login and a new session: the old session is not reused for them.
func TestFormChangedCredentials(t *testing.T) {
	b, k := newFormBackend(t), newKey(t)
	inj := mustOpen(t, b.config(k), nil)
	first := inject(t, inj, "00u1", k.seal(t, "hr", "00u1", "alice", b.users["alice"]), nil).Set.Get("Cookie")
	second := inject(t, inj, "00u1", k.seal(t, "hr", "00u1", "alice", b.users["alice"]), nil).Set.Get("Cookie")
	if first == "" || second == "" || first == second {
		t.Errorf("sessions %q and %q: want two different ones", first, second)
	}
	b.users["alice"] = "changed"
	if res := inject(t, inj, "00u1", k.seal(t, "hr", "00u1", "alice", "Al1ce pass;=&"), nil); !res.AskCredentials {
		t.Errorf("a password the backend no longer takes: %+v, want AskCredentials", res)
	}
	if n := b.logins.Load(); n != 3 {
		t.Errorf("%d logins, want 3", n)
	}
}

// Concurrent first requests of one user share one login.
func TestFormConcurrentColdStart(t *testing.T) {
	b, k := newFormBackend(t), newKey(t)
	b.delay = 200 * time.Millisecond
	inj := mustOpen(t, b.config(k), nil)
	secret := k.seal(t, "hr", "00u1", "alice", b.users["alice"])
	var wg sync.WaitGroup
	cookies := make([]string, 16)
	for i := range cookies {
		wg.Go(func() { cookies[i] = inject(t, inj, "00u1", secret, nil).Set.Get("Cookie") })
	}
	wg.Wait()
	for _, c := range cookies {
		if c == "" || c != cookies[0] {
			t.Fatalf("cookies %q: want one session for all", cookies)
		}
	}
	if n := b.logins.Load(); n != 1 {
		t.Errorf("%d logins, want 1", n)
	}
}

// A login that cannot be judged (no answer, a server error, a wrong
// login_url, a "success" without a cookie) is an error, not a reason to
// ask the user for credentials, and is not remembered.
func TestFormBackendErrors(t *testing.T) {
	b, k := newFormBackend(t), newKey(t)
	secret := k.seal(t, "hr", "00u1", "alice", b.users["alice"])
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/login"
	ln.Close()
	for _, tc := range []struct {
		name   string
		status int
		cfg    map[string]any
		want   string
	}{
		{"server error", http.StatusServiceUnavailable, b.config(k), "answered 503 Service Unavailable"},
		{"wrong login_url", 0, b.config(k, "login_url", b.srv.URL+"/nologin"), "answered 404 Not Found to a POST: check form.login_url"},
		{"no cookie", http.StatusFound, b.config(k, "success_location", nil), "as a success but set no cookie"},
		{"nothing listens", 0, b.config(k, "login_url", closed), "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.loginStatus = tc.status
			inj := mustOpen(t, tc.cfg, nil)
			before := b.logins.Load()
			for range 2 {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				res, err := inj.Inject(ctx, sdk.InjectRequest{Identity: sdk.Identity{Subject: "00u1"}, URL: "http://app.internal/", Secret: secret})
				cancel()
				if err == nil || !strings.Contains(err.Error(), tc.want) || res.AskCredentials {
					t.Fatalf("got %+v, %v; want an error containing %q", res, err, tc.want)
				}
				if strings.Contains(err.Error(), b.users["alice"]) {
					t.Errorf("the error holds the password: %v", err)
				}
			}
			if tc.status != 0 {
				if n := b.logins.Load() - before; n != 2 {
					t.Errorf("%d logins for 2 requests, want 2 (a failure is not cached)", n)
				}
			}
		})
	}
}

// Against a real Apache with mod_auth_form: the plug-in's login gets a
// session cookie that opens the page as the user; a wrong password is a
// redirect back to the login page, which asks for credentials.
func TestFormAgainstApache(t *testing.T) {
	l := needLab(t)
	k := newKey(t)
	inj := mustOpen(t, map[string]any{"mode": "form", "key_file": k.file, "form": map[string]any{
		"login_url": l.FormLoginURL, "username_field": l.FormUsernameField, "password_field": l.FormPasswordField,
		"failure_location": l.FormLoginPage, "success_location": "/form/",
	}}, nil)
	res := inject(t, inj, "00u1", k.seal(t, "hr", "00u1", l.User, l.Password), nil)
	if res.AskCredentials || res.Set.Get("Cookie") == "" {
		t.Fatalf("got %+v, want a session cookie", res)
	}
	h := http.Header{}
	res.Apply(h)
	status, body := get(t, l.FormURL, h)
	if status != http.StatusOK || !strings.Contains(body, "REMOTE_USER="+l.User+"\n") || !strings.Contains(body, "AUTH_TYPE=form") {
		t.Fatalf("GET %s: %d %q", l.FormURL, status, body)
	}
	if status, _ := get(t, l.FormURL, http.Header{}); status != http.StatusFound {
		t.Errorf("without the cookie: %d, want 302 to the login page", status)
	}
	if res := inject(t, inj, "00u2", k.seal(t, "hr", "00u2", l.User, "wrong"), nil); !res.AskCredentials {
		t.Errorf("wrong password: %+v, want AskCredentials", res)
	}
}

// reject_status in form mode is handed to the connector as is.
func TestFormRejectStatus(t *testing.T) {
	b, k := newFormBackend(t), newKey(t)
	cfg := b.config(k)
	cfg["reject_status"] = 440
	inj := mustOpen(t, cfg, nil)
	if res := inject(t, inj, "00u1", k.seal(t, "hr", "00u1", "alice", b.users["alice"]), nil); res.RejectStatus != 440 {
		t.Errorf("RejectStatus %d, want 440", res.RejectStatus)
	}
}

// The session ends after session_ttl, or when one of its cookies expires
// if that is sooner: the next request signs in again. (In process, with a clock.)
func TestFormSessionExpiry(t *testing.T) {
	for _, tc := range []struct {
		maxAge int
		fresh  time.Duration // still the same session
		stale  time.Duration // a new login
	}{
		{0, 9 * time.Minute, 10 * time.Minute},
		{120, 119 * time.Second, 2 * time.Minute},
	} {
		t.Run(fmt.Sprintf("maxAge=%d", tc.maxAge), func(t *testing.T) {
			b, k := newFormBackend(t), newKey(t)
			b.maxAge = tc.maxAge
			now := time.Now()
			var offset atomic.Int64
			clock := func() time.Time { return now.Add(time.Duration(offset.Load())) }
			in, err := newInjector(sdk.ConfigureRequest{App: "hr", Config: mustJSON(t, b.config(k))}, clock)
			if err != nil {
				t.Fatal(err)
			}
			secret := k.seal(t, "hr", "00u1", "alice", b.users["alice"])
			first := inject(t, in, "00u1", secret, nil).Set.Get("Cookie")
			offset.Store(int64(tc.fresh))
			if got := inject(t, in, "00u1", secret, nil).Set.Get("Cookie"); got != first || b.logins.Load() != 1 {
				t.Errorf("after %v: %q, %d logins; want the same session %q", tc.fresh, got, b.logins.Load(), first)
			}
			offset.Store(int64(tc.stale))
			if got := inject(t, in, "00u1", secret, nil).Set.Get("Cookie"); got == first || b.logins.Load() != 2 {
				t.Errorf("after %v: %q, %d logins; want a new session", tc.stale, got, b.logins.Load())
			}
		})
	}
}

// At most max_sessions sessions are kept; a full cache drops expired
// ones first, then the one that would end first.
func TestFormSessionsBounded(t *testing.T) {
	b, k := newFormBackend(t), newKey(t)
	now := time.Now()
	var offset atomic.Int64
	clock := func() time.Time { return now.Add(time.Duration(offset.Load())) }
	in, err := newInjector(sdk.ConfigureRequest{App: "hr", Config: mustJSON(t, b.config(k, "max_sessions", 2))}, clock)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string][]byte{}
	for i, sub := range []string{"u1", "u2", "u3"} {
		offset.Store(int64(time.Duration(i) * time.Minute))
		secrets[sub] = k.seal(t, "hr", sub, "alice", b.users["alice"])
		inject(t, in, sub, secrets[sub], nil)
	}
	if n := in.form.cache.len(); n != 2 {
		t.Errorf("%d sessions kept, want 2", n)
	}
	inject(t, in, "u3", secrets["u3"], nil)
	inject(t, in, "u2", secrets["u2"], nil)
	if n := b.logins.Load(); n != 3 {
		t.Errorf("%d logins, want 3: u2 and u3 are kept", n)
	}
	inject(t, in, "u1", secrets["u1"], nil) // u1 was dropped: the oldest
	if n := b.logins.Load(); n != 4 {
		t.Errorf("%d logins, want 4: u1 was dropped", n)
	}
}

// The Cookie header keeps what the client sent except the backend
// session's names and what could not be a header.
func TestCookieHeaderMerge(t *testing.T) {
	b, k := newFormBackend(t), newKey(t)
	in, err := newInjector(sdk.ConfigureRequest{App: "hr", Config: mustJSON(t, b.config(k))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := in.form.newSession([]*http.Cookie{{Name: "sid", Value: "S", Path: "/"}, {Name: "app", Value: "A", Path: "/reports"}}, time.Now())
	for _, tc := range []struct {
		url    string
		client []string
		want   string
	}{
		{"http://app.internal/", nil, "sid=S"},
		{"http://10.0.0.5:8080/reports/q1", nil, "app=A; sid=S"}, // the backend by another name
		{"http://app.internal/other", []string{"a=1; sid=x;; app=y", " b=2 "}, "a=1; b=2; sid=S"},
		{"http://app.internal/", []string{"evil=1\r\nX: y; ok=1"}, "ok=1; sid=S"},
		{"::not a url", []string{"a=1"}, "a=1; sid=S"},
	} {
		got := in.form.cookieHeader(sdk.InjectRequest{URL: tc.url, Header: http.Header{"Cookie": tc.client}}, s)
		if got != tc.want {
			t.Errorf("%s with %q: %q, want %q", tc.url, tc.client, got, tc.want)
		}
	}
}
