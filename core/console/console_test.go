package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

// fakeAuth admits the user it holds, or answers 403 (a user outside the
// admin policy) when it holds none.
type fakeAuth struct{ user string }

func (f fakeAuth) User(w http.ResponseWriter, r *http.Request, ret string) (sdk.Identity, bool) {
	if f.user == "" {
		http.Error(w, "access denied", http.StatusForbidden)
		return sdk.Identity{}, false
	}
	return sdk.Identity{Subject: f.user}, true
}

func view(context.Context) *View {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	return &View{Version: "test", Now: now,
		Apps:    []App{{Name: "<script>alert(1)</script>", Host: "hr.example.com", Prefix: "/", Group: "default", Auth: "oidc", Serving: true, Rate: NewRates().Series("x", now)}},
		SignIns: []SignIn{{At: now, App: "hr", Subject: "mallory\"><img src=x onerror=alert(2)>", Result: "denied", Reason: "access.groups: <b>not admin</b>"}},
		Certs:   []Cert{{Host: "hr.example.com", NotAfter: now.Add(24 * time.Hour)}}}
}

func serve(h *Handler, host, remote string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "http://"+host+"/", nil)
	r.RemoteAddr = remote
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestConsoleGate(t *testing.T) {
	tests := []struct {
		name     string
		gate     Gate
		loopback bool
		host     string
		remote   string
		want     int
		body     string
	}{
		{"off: 404 with a hint", Gate{}, true, "127.0.0.1:9180", "127.0.0.1:5000", 404, "admin.console"},
		{"signed-in admin", Gate{SignIn: fakeAuth{"alice"}}, true, "127.0.0.1:9180", "127.0.0.1:5000", 200, "alice"},
		{"outside the admin policy: 403", Gate{SignIn: fakeAuth{}}, true, "127.0.0.1:9180", "127.0.0.1:5000", 403, "access denied"},
		{"dev mode on loopback", Gate{DevNoSignin: true}, true, "localhost:9180", "127.0.0.1:5000", 200, "development mode"},
		{"dev mode refused on a remote listener", Gate{DevNoSignin: true}, false, "10.0.0.5:9180", "10.0.0.9:5000", 404, "admin.console"},
		{"dev mode refused to a remote client", Gate{DevNoSignin: true}, true, "127.0.0.1:9180", "10.0.0.9:5000", 404, "admin.console"},
		{"DNS rebinding: a foreign Host", Gate{SignIn: fakeAuth{"alice"}}, true, "evil.example:9180", "127.0.0.1:5000", 421, "loopback names only"},
		{"IPv6 loopback Host", Gate{SignIn: fakeAuth{"alice"}}, true, "[::1]:9180", "[::1]:5000", 200, "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{Gate: func() Gate { return tt.gate }, View: view, Loopback: tt.loopback}
			w := serve(h, tt.host, tt.remote)
			if w.Code != tt.want || !strings.Contains(w.Body.String(), tt.body) {
				t.Fatalf("status %d, want %d with %q; body:\n%s", w.Code, tt.want, tt.body, w.Body)
			}
			if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			if w.Header().Get("X-Frame-Options") != "DENY" {
				t.Errorf("X-Frame-Options %q", w.Header().Get("X-Frame-Options"))
			}
		})
	}
}

// Names from the config and reasons from the sign-in log are escaped, and
// the page holds no script at all.
func TestConsoleEscapes(t *testing.T) {
	h := &Handler{Gate: func() Gate { return Gate{SignIn: fakeAuth{"alice"}} }, View: view, Loopback: true}
	w := serve(h, "127.0.0.1:9180", "127.0.0.1:5000")
	body := w.Body.String()
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, body)
	}
	for _, bad := range []string{"<script", "<img", "<b>"} {
		if strings.Contains(strings.ToLower(body), bad) {
			t.Errorf("the page holds %q unescaped:\n%s", bad, body)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "mallory&#34;&gt;&lt;img", "&lt;b&gt;not admin&lt;/b&gt;", "hr.example.com", "24h left"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestConsoleReadOnlyAndCSS(t *testing.T) {
	h := &Handler{Gate: func() Gate { return Gate{SignIn: fakeAuth{"alice"}} }, View: view, Loopback: true}
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", w.Code)
	}
	r = httptest.NewRequest(http.MethodGet, "http://127.0.0.1"+CSS, nil)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/css") || !strings.Contains(w.Body.String(), "svg.chart") {
		t.Errorf("style sheet: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	// The error pages the sign-in answers with keep their style: its hash
	// is in the policy, and nothing lets a script run.
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self' 'sha256-") || strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
}

func TestRates(t *testing.T) {
	r := NewRates()
	t0 := time.Date(2026, 12, 7, 12, 0, 30, 0, time.UTC)
	a := r.App("hr")
	a.Add(t0, 200)
	a.Add(t0, 502)
	a.Add(t0.Add(time.Minute), 200)
	a.Add(t0.Add(-61*time.Minute), 200) // out of every window below
	s := r.Series("hr", t0.Add(time.Minute))
	if len(s) != Minutes {
		t.Fatalf("%d points", len(s))
	}
	last, prev := s[Minutes-1], s[Minutes-2]
	if prev.Requests != 2 || prev.Errors != 1 || last.Requests != 1 || last.Errors != 0 {
		t.Errorf("points %+v %+v", prev, last)
	}
	a.Add(t0.Add(59*time.Minute), 500)
	// An hour later, t0's minute has left the window: the requests at
	// t0+1m and t0+59m are left in it.
	var total, errs int64
	for _, p := range r.Series("hr", t0.Add(60*time.Minute)) {
		total += p.Requests
		errs += p.Errors
	}
	if total != 2 || errs != 1 {
		t.Errorf("an hour on: %d requests, %d errors; want 2 and 1", total, errs)
	}
	if s := r.Series("none", t0); s[0].Requests != 0 || len(s) != Minutes {
		t.Error("an unknown app has points")
	}
	var nilRate *AppRate
	nilRate.Add(t0, 200) // no panic
}

// The connectors table shows each one's RTT ("—" until measured) and its
// plug-ins with the sign-ons it refused; the groups table shows an
// app's group without an active connector as DOWN.
func TestConsoleConnectorsAndGroups(t *testing.T) {
	v := func(context.Context) *View {
		now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
		return &View{Version: "test", Now: now,
			Groups: []Group{{Name: "paris", InUse: true, Up: true, Active: 1}, {Name: "lyon", InUse: true}, {Name: "spare"}},
			Connectors: []Connector{
				{ID: "c-paris", Group: "paris", State: "active", RTT: 1234 * time.Microsecond, Plugins: []string{"header", "kerberos"},
					Refused: []string{"crm (sign_on.plugin)"}},
				{ID: "c-lyon", Group: "lyon", State: "offline"},
			}}
	}
	h := &Handler{Gate: func() Gate { return Gate{DevNoSignin: true} }, View: v, Loopback: true}
	w := serve(h, "127.0.0.1:9180", "127.0.0.1:5000")
	body := w.Body.String()
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, body)
	}
	row := func(id string) string {
		i := strings.Index(body, `<td class="id">`+id+`</td>`)
		if i < 0 {
			t.Fatalf("no row for %s:\n%s", id, body)
		}
		return body[i : i+strings.Index(body[i:], "</tr>")]
	}
	for _, want := range []string{"1.2ms", "header, kerberos", "refused sign-on of crm (sign_on.plugin)"} {
		if r := row("c-paris"); !strings.Contains(r, want) {
			t.Errorf("c-paris's row lacks %q: %s", want, r)
		}
	}
	if r := row("c-lyon"); strings.Count(r, "—") != 2 || strings.Contains(r, "refused") {
		t.Errorf("c-lyon (not measured, no report): want — for RTT and plug-ins: %s", r)
	}
	groups := body[strings.Index(body, `id="groups"`):strings.Index(body, `id="connectors"`)]
	for name, want := range map[string]string{"paris": `class="ok">up<`, "lyon": `class="bad">DOWN<`} {
		i := strings.Index(groups, `<td class="name">`+name+`</td>`)
		if i < 0 || !strings.Contains(groups[i:i+strings.Index(groups[i:], "</tr>")], want) {
			t.Errorf("group %s is not shown with %s:\n%s", name, want, groups)
		}
	}
}

func TestRTTText(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "—", 500: "<1µs", 42*time.Microsecond + 300: "42µs",
		1234 * time.Microsecond: "1.2ms", 87654 * time.Microsecond: "87.7ms"} {
		if got := rtt(d); got != want {
			t.Errorf("rtt(%v) = %q, want %q", d, got, want)
		}
	}
}
