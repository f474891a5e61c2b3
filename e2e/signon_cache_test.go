package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// signOnSeen is what the sign-on cache test's backend saw.
type signOnSeen struct {
	User, Groups, Assertion string
}

// assertionSubject is the "sub" claim of a JWS (its signature is checked
// against the gateway's JWKS in TestCustomSSOWithHeaderSignOn).
func assertionSubject(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("the backend got no assertion: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct{ Sub string }
	if err != nil || json.Unmarshal(b, &c) != nil {
		t.Fatalf("assertion payload %q: %v", parts[1], err)
	}
	return c.Sub
}

// TestSignOnCache: two users signed in to one app on one connector,
// interleaved over real TLS, each get their OWN identity headers and
// assertion on every request, while the header plug-in is called once per
// session (the connector's own counters, through the gateway's /metrics):
// the assertion is the same one for all of a session's requests, so it
// was not signed again. After alice signs out, her old cookie reaches
// nothing; her new session gets a fresh result (a new call, a new
// assertion), and bob's is untouched. When the backend answers 401 (the
// header plug-in lists it in ForgetOn), the 401 reaches the client and
// the session's next request gets a freshly signed assertion.
func TestSignOnCache(t *testing.T) {
	var hits atomic.Int64
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/reject" { // the backend refuses the assertion
			w.WriteHeader(http.StatusUnauthorized)
		}
		_ = json.NewEncoder(w).Encode(signOnSeen{User: r.Header.Get("X-Remote-User"), Groups: r.Header.Get("X-Remote-Groups"),
			Assertion: r.Header.Get("X-Gatehouse-Assertion")})
	}))
	defer be.Close()
	key := func(k, sub, groups string) string {
		sum := sha256.Sum256([]byte(k))
		return fmt.Sprintf("{sha256: %s, subject: %s, groups: [%s]}", hex.EncodeToString(sum[:]), sub, groups)
	}
	base := gwConfig{Groups: []string{"default"}, Heartbeat: "1s", Plugins: fmt.Sprintf(
		"  - {name: apikeys, path: %q, sha256: %s}\n  - {name: header, builtin: true}\n", customSSOBin, fileSum(t, customSSOBin))}
	g := startAdminGateway(t, base, []appSpec{
		{Name: "warm", Host: "warm.localhost", Group: "default", URL: be.URL},
		{Name: "app", Host: "app.localhost", Group: "default", URL: be.URL,
			Auth:   fmt.Sprintf("{plugin: apikeys, config: {header: X-Api-Key, keys: [%s, %s]}}", key("k-alice", "alice", "staff"), key("k-bob", "bob", "hr")),
			SignOn: `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}", X-Remote-Groups: "{{join .Groups}}"}, jwt: {ttl: 10m}}}`},
	})
	conn := enrollConnector(t, g.gatewayProc, "connector", "default")
	labels := map[string]string{"connector": conn.id(t), "plugin": "header"}
	c := g.client(false)
	waitServing(t, c, "https://warm.localhost/") // the connector has the config: no sign-in below is lost

	seen := func(r response, user, groups string) signOnSeen {
		t.Helper()
		var s signOnSeen
		if r.Status != 200 || json.Unmarshal([]byte(r.Body), &s) != nil {
			t.Fatalf("want 200 from the backend for %s, got %d %q", user, r.Status, clip(r.Body, 300))
		}
		if s.User != user || s.Groups != groups || assertionSubject(t, s.Assertion) != user {
			t.Fatalf("backend saw user %q groups %q assertion for %q; want %s (%s)", s.User, s.Groups, assertionSubject(t, s.Assertion), user, groups)
		}
		return s
	}
	type sess struct{ user, groups, cookie, assertion string }
	signIn := func(apiKey, user, groups string) sess {
		t.Helper()
		r := getWith(t, c, "https://app.localhost/signin", "X-Api-Key", apiKey)
		s := sess{user: user, groups: groups, assertion: seen(r, user, groups).Assertion}
		for _, sc := range (&http.Response{Header: r.Header}).Cookies() {
			if sc.Name == "__Host-gatehouse.app" {
				s.cookie = sc.Name + "=" + sc.Value
			}
		}
		if s.cookie == "" {
			t.Fatalf("signing in %s: no session cookie", user)
		}
		return s
	}
	counts := func(calls, reused float64, what string) {
		t.Helper()
		var gotCalls, gotReused float64
		eventually(t, what, func() bool {
			m := scrapeMetrics(t, g.admin)
			gotCalls = m.value("gatehouse_connector_signon_calls_total", labels)
			gotReused = m.value("gatehouse_connector_signon_reused_total", labels)
			if gotCalls > calls {
				t.Fatalf("%s: the plug-in was called %v times, want %v (reused %v)", what, gotCalls, calls, gotReused)
			}
			return gotCalls == calls && gotReused == reused
		})
	}

	alice := signIn("k-alice", "alice", "staff")
	bob := signIn("k-bob", "bob", "hr")
	if alice.assertion == bob.assertion {
		t.Fatal("alice and bob got the same assertion")
	}
	const rounds = 10
	request := func(s sess) {
		t.Helper()
		got := seen(getWith(t, c, "https://app.localhost/page", "Cookie", s.cookie), s.user, s.groups)
		if got.Assertion != s.assertion {
			t.Fatalf("%s's assertion changed within the session: the result was not reused", s.user)
		}
	}
	for range rounds {
		request(alice)
		request(bob)
	}
	counts(2, 2*rounds, "one plug-in call per session, every later request reused")

	r := getWith(t, c, "https://app.localhost/.gatehouse/auth/app/signout", "Cookie", alice.cookie)
	if r.Status != 200 {
		t.Fatalf("sign-out: %d %q", r.Status, clip(r.Body, 300))
	}
	before := hits.Load()
	if r := getWith(t, c, "https://app.localhost/page", "Cookie", alice.cookie); r.Status == 200 {
		t.Fatalf("alice's signed-out cookie still reaches the app: %q", clip(r.Body, 300))
	}
	if n := hits.Load() - before; n != 0 {
		t.Fatalf("the backend saw %d requests of a signed-out session", n)
	}

	alice2 := signIn("k-alice", "alice", "staff")
	if alice2.assertion == alice.assertion || alice2.cookie == alice.cookie {
		t.Fatal("alice's new session reused her old session's result")
	}
	for range 3 {
		request(alice2)
		request(bob)
	}
	counts(3, 2*rounds+6, "one more plug-in call for alice's new session, none for bob")

	if r := getWith(t, c, "https://app.localhost/reject", "Cookie", bob.cookie); r.Status != http.StatusUnauthorized {
		t.Fatalf("the backend's 401 to bob: got %d, want it relayed", r.Status)
	}
	fresh := seen(getWith(t, c, "https://app.localhost/page", "Cookie", bob.cookie), "bob", "hr")
	if fresh.Assertion == bob.assertion {
		t.Fatal("after the backend's 401, bob still got the assertion it refused")
	}
	bob.assertion = fresh.Assertion
	request(bob)
	request(alice2)
	counts(4, 2*rounds+6+3, "one more call after the 401, for bob only")
}
