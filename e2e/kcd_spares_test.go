package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// Spare one-time results end to end (issue 22): two signed-in sessions
// make many requests to an Apache + mod_auth_gssapi backend (with its
// replay cache) through the connector's kcd plug-in. Every request is
// accepted as its own user, so no token was ever sent twice or to
// another session, and the plug-in is called far less often than there
// are requests: the connector serves the rest from the spares each call
// made (sdk.InjectResult.Spares), counted by the connector's own
// metrics.
func TestKCDSpares(t *testing.T) {
	lab := startKCDLab(t)

	var keys []string
	for _, u := range []string{"alice", "bob"} {
		sum := sha256.Sum256([]byte("key-" + u))
		keys = append(keys, fmt.Sprintf("{sha256: %s, subject: %s, upn: %q}", hex.EncodeToString(sum[:]), u, u+"@"+lab.Realm))
	}
	host, _, _ := strings.Cut(lab.BackendHost, ":")
	base := gwConfig{Groups: []string{"default"}, Heartbeat: "1s", Plugins: fmt.Sprintf(
		"  - {name: apikeys, path: %q, sha256: %s}\n  - {name: kcd, builtin: true}\n", customSSOBin, fileSum(t, customSSOBin))}
	g := startAdminGateway(t, base, []appSpec{{Name: "warm", Host: "warm." + host, Group: "default", URL: "http://" + lab.BackendAddr},
		{Name: "intranet", Host: "intranet." + host, Group: "default",
			URL: "http://" + lab.BackendAddr, PreserveHost: false,
			Auth: fmt.Sprintf("{plugin: apikeys, config: {keys: [%s]}}", strings.Join(keys, ", ")),
			SignOn: fmt.Sprintf("{plugin: kcd, config: {spn: %q, identity: upn_user, keytab: %q, principal: %q, realm: %q, krb5_conf: %q}}",
				lab.BackendSPN, lab.ConnectorKeytab, lab.ConnectorPrincipal, lab.Realm, lab.Krb5Conf)}})
	conn := enrollConnector(t, g.gatewayProc, "connector", "default")
	labels := map[string]string{"connector": conn.id(t), "plugin": "kcd"}
	c := g.client(false)
	page := "https://intranet." + host + "/private/whoami.shtml"
	// The connector has the config: every request below reaches the plug-in
	// or the spares, and the metrics count exactly those.
	waitServing(t, c, "https://warm."+host+"/index.html")

	// Sign in: the first request with the key gets a session cookie; all
	// later ones carry only the cookie, so they are one session each.
	cookies := map[string]string{}
	for _, u := range []string{"alice", "bob"} {
		r := getWith(t, c, page, "X-Api-Key", "key-"+u)
		for _, sc := range (&http.Response{Header: r.Header}).Cookies() {
			if strings.HasPrefix(sc.Name, "__Host-gatehouse") {
				cookies[u] = sc.Name + "=" + sc.Value
			}
		}
		if r.Status != 200 || cookies[u] == "" {
			t.Fatalf("signing in %s: %d, cookie %q", u, r.Status, cookies[u])
		}
	}

	const rounds = 150
	for i := range rounds {
		for _, u := range []string{"alice", "bob"} {
			// A forged Authorization from the client never reaches Apache.
			r := getWith(t, c, page, "Cookie", cookies[u], "Authorization", "Negotiate forged")
			if r.Status != 200 || !strings.Contains(r.Body, "REMOTE_USER="+u+"\n") {
				t.Fatalf("request %d as %s: %d %q; want the page naming %s (a replayed token is refused with 401)", i, u, r.Status, clip(r.Body, 300), u)
			}
		}
	}
	// Per session: calls asking for 0, 1, 2, 4, 8, 16, 32, 32, 32, 32
	// spares serve 1+2+3+5+9+17+33+33+33+33 = 169 requests, so 150 take
	// at most 10 calls (and the sign-in one more, whose envelope may
	// differ); without spares every request is one.
	var calls, reused float64
	const requests = 2 + 2*rounds // the sign-ins too
	eventually(t, "the heartbeat to report every request", func() bool {
		m := scrapeMetrics(t, g.admin)
		calls = m.value("gatehouse_connector_signon_calls_total", labels)
		reused = m.value("gatehouse_connector_signon_reused_total", labels)
		if calls+reused > requests {
			t.Fatalf("metrics count %v calls and %v spares for %d requests", calls, reused, requests)
		}
		return calls+reused == requests
	})
	t.Logf("%d requests of 2 sessions: %v kcd plug-in calls, %v served from spares", requests, calls, reused)
	if calls > 2*(1+10) {
		t.Fatalf("%v plug-in calls for %d requests of 2 sessions; want at most 22", calls, requests)
	}

	// Many requests of one session in flight at once: each still gets a
	// token of its own (Apache refuses a replay), and spares serve some.
	const workers, each = 8, 40
	errs := make(chan string, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range each {
				req, err := http.NewRequest(http.MethodGet, page, nil)
				if err != nil {
					errs <- err.Error()
					return
				}
				req.Header.Set("Cookie", cookies["alice"])
				r, err := do(t, c, req)
				if err != nil {
					errs <- fmt.Sprintf("concurrent request %d: %v", i, err)
					return
				}
				if r.Status != 200 || !strings.Contains(r.Body, "REMOTE_USER=alice\n") {
					errs <- fmt.Sprintf("concurrent request %d: %d %q", i, r.Status, clip(r.Body, 300))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	before := calls
	eventually(t, "the heartbeat to report the concurrent requests", func() bool {
		m := scrapeMetrics(t, g.admin)
		calls = m.value("gatehouse_connector_signon_calls_total", labels)
		reused = m.value("gatehouse_connector_signon_reused_total", labels)
		return calls+reused == requests+workers*each
	})
	t.Logf("%d requests of one session, %d in flight: %v kcd plug-in calls", workers*each, workers, calls-before)
	if calls-before >= workers*each {
		t.Fatalf("%v plug-in calls for %d requests in flight: no spare was used", calls-before, workers*each)
	}
}
