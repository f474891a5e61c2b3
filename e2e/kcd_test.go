package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/plugins/kcd/kcdlab"
)

// Kerberos constrained delegation end to end: a user signed in at the
// gateway reaches an Apache + mod_auth_gssapi backend, behind a connector,
// as themselves (REMOTE_USER), through S4U2Self + S4U2Proxy done by the
// connector's built-in kcd plug-in with its own keytab only. Users the KDC
// refuses to delegate get an error page, and the backend serves nothing.
func TestKCDThroughConnector(t *testing.T) {
	lab := startKCDLab(t)

	users := []struct{ key, subject, upn string }{
		{"key-alice", "alice", "alice@" + lab.Realm},
		{"key-bob", "bob", "bob@" + lab.Realm},
		{"key-carol", "carol", lab.NotDelegable + "@" + lab.Realm},
		{"key-nobody", "nobody", "nobody@" + lab.Realm},
	}
	var keys []string
	for _, u := range users {
		sum := sha256.Sum256([]byte(u.key))
		keys = append(keys, fmt.Sprintf("{sha256: %s, subject: %s, upn: %q}", hex.EncodeToString(sum[:]), u.subject, u.upn))
	}
	base := gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf(
		"  - {name: apikeys, path: %q, sha256: %s}\n  - {name: kcd, builtin: true}\n", customSSOBin, fileSum(t, customSSOBin))}
	host, _, _ := strings.Cut(lab.BackendHost, ":")
	app := func(name, spn string) appSpec {
		return appSpec{Name: name, Host: name + "." + host, Group: "default", URL: "http://" + lab.BackendAddr, PreserveHost: false,
			Auth: fmt.Sprintf("{plugin: apikeys, config: {keys: [%s]}}", strings.Join(keys, ", ")),
			SignOn: fmt.Sprintf("{plugin: kcd, config: {spn: %q, identity: upn_user, keytab: %q, principal: %q, realm: %q, krb5_conf: %q}}",
				spn, lab.ConnectorKeytab, lab.ConnectorPrincipal, lab.Realm, lab.Krb5Conf)}
	}
	g := startGatewayWith(t, base, []appSpec{app("intranet", lab.BackendSPN), app("elsewhere", lab.OtherSPN)})
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	pageAt := func(app, key, query string) response {
		return getWith(t, c, "https://"+app+"."+host+"/private/whoami.shtml"+query, "X-Api-Key", key, "Authorization", "Negotiate forged")
	}
	page := func(app, key string) response { return pageAt(app, key, "") }
	eventually(t, "alice's page through the connector", func() bool { return page("intranet", "key-alice").Status == 200 })

	// Apache writes its access log after the response has gone, so a
	// line can land late: each case marks its request, then a good request
	// with a marker of its own must be logged before the log is searched.
	logged := func(marker string) bool {
		b, _ := os.ReadFile(lab.AccessLog)
		return strings.Contains(string(b), marker)
	}
	for _, u := range users[:2] {
		if r := page("intranet", u.key); r.Status != 200 || !strings.Contains(r.Body, "REMOTE_USER="+u.subject) {
			t.Fatalf("%s: %d %q, want the backend page naming %s", u.subject, r.Status, r.Body, u.subject)
		}
	}
	// Alternate users: each must always get their own ticket from the cache.
	for i := range 10 {
		u := users[i%2]
		if r := page("intranet", u.key); !strings.Contains(r.Body, "REMOTE_USER="+u.subject) {
			t.Fatalf("request %d as %s: %d %q", i, u.subject, r.Status, r.Body)
		}
	}
	for _, tc := range []struct{ name, app, key string }{
		{"SPN outside the delegation list", "elsewhere", "key-alice"},
		{"user marked not delegable", "intranet", "key-carol"},
		{"unknown user", "intranet", "key-nobody"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			marker := fmt.Sprintf("?refused=%d", time.Now().UnixNano())
			requireErrorPage(t, pageAt(tc.app, tc.key, marker), http.StatusServiceUnavailable, "Sign-in to the app unavailable")
			sentinel := marker + "-sentinel"
			if r := pageAt("intranet", "key-alice", sentinel); r.Status != 200 {
				t.Fatalf("alice's request after the refusal: %d %q", r.Status, r.Body)
			}
			eventually(t, "the backend to log the good request", func() bool { return logged(sentinel) })
			if logged(marker + " ") {
				t.Fatalf("the backend served the refused request %s", marker)
			}
		})
	}
}

// startKCDLab starts the Kerberos lab (MIT KDC, Apache with
// mod_auth_gssapi) for t and stops it when t ends; it skips t, saying
// why, where the lab cannot run.
func startKCDLab(t *testing.T) *kcdlab.Lab {
	t.Helper()
	lab, err := kcdlab.Start(context.Background())
	if errors.Is(err, kcdlab.ErrSkip) {
		t.Skipf("Kerberos lab not available: %v (make tools installs it)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.Stop() })
	return lab
}
