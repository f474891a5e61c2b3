package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// Conditional access, revocation and the sign-in log, with the custom-SSO
// plug-in signing users in: every refusal is a page with a request id, the
// decision is logged with its rule, and the backend sees nothing.
func TestConditionalAccess(t *testing.T) {
	backend := newIdentityBackend(t, "x")
	key := func(k, sub, groups string) string {
		sum := sha256.Sum256([]byte(k))
		return fmt.Sprintf("{sha256: %s, subject: %s, groups: [%s]}", hex.EncodeToString(sum[:]), sub, groups)
	}
	auth := fmt.Sprintf("{plugin: apikeys, config: {keys: [%s, %s]}}", key("k-alice", "alice", "staff, hr"), key("k-bob", "bob", "staff"))
	signOn := `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}"}}}`
	app := func(name, access string) appSpec {
		return appSpec{Name: name, Host: name + ".localhost", Group: "default", URL: backend.URL, Auth: auth, SignOn: signOn, Access: access}
	}
	base := gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf(
		"  - {name: apikeys, path: %q, sha256: %s}\n  - {name: header, builtin: true}\n", customSSOBin, fileSum(t, customSSOBin))}
	g := startGatewayWith(t, base, []appSpec{
		app("grp", "{groups: [hr]}"),
		app("mfa", "{require_mfa: true}"),
		app("blocked", `{block_ips: ["127.0.0.0/8", "::1"]}`),
		app("rule", `{rule: 'request.path.startsWith("/admin") ? "hr" in user.groups : true'}`),
	})
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	eventually(t, "alice signed in through the connector", func() bool {
		return getWith(t, c, "https://grp.localhost/", "X-Api-Key", "k-alice").Status == 200
	})

	for _, tc := range []struct {
		name, url, key, rule string
	}{
		{"wrong group", "https://grp.localhost/", "k-bob", "access.groups"},
		{"MFA required", "https://mfa.localhost/", "k-alice", "access.require_mfa"},
		{"blocked IP range", "https://blocked.localhost/", "k-alice", "access.block_ips"},
		{"CEL rule", "https://rule.localhost/admin/users", "k-bob", "access.rule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := backend.hits.Load()
			rid := requireErrorPage(t, getWith(t, c, tc.url, "X-Api-Key", tc.key), http.StatusForbidden, "Access denied")
			if n := backend.hits.Load() - before; n != 0 {
				t.Fatalf("backend saw %d requests", n)
			}
			g.proc.log.waitLines(t, "the decision", 1, "access denied", "request_id="+rid, "rule="+tc.rule)
		})
	}
	if s := decodeSeen(t, getWith(t, c, "https://rule.localhost/public", "X-Api-Key", "k-bob")); s.User != "bob" {
		t.Fatalf("the rule lets bob see /public, got %+v", s)
	}

	t.Run("revocation ends a session at its next request", func(t *testing.T) {
		r := getWith(t, c, "https://grp.localhost/", "X-Api-Key", "k-alice")
		var cookie string
		for _, sc := range (&http.Response{Header: r.Header}).Cookies() {
			if sc.Name == "__Host-gatehouse.grp" {
				cookie = sc.Name + "=" + sc.Value
			}
		}
		if s := decodeSeen(t, getWith(t, c, "https://grp.localhost/", "Cookie", cookie)); s.User != "alice" {
			t.Fatalf("session: %+v", s)
		}
		out, errOut, code := runCmd(t, g.dir, gatehouseBin, "sessions", "revoke", "--config", g.configPath, "--user", "alice")
		if code != 0 || !strings.Contains(out, `revoked every session of "alice"`) {
			t.Fatalf("sessions revoke: exit %d %q %q", code, out, errOut)
		}
		before := backend.hits.Load()
		requireErrorPage(t, getWith(t, c, "https://grp.localhost/", "Cookie", cookie), http.StatusUnauthorized, "Sign-in required")
		if n := backend.hits.Load() - before; n != 0 {
			t.Fatalf("backend saw %d requests on a revoked session", n)
		}
		if s := decodeSeen(t, getWith(t, c, "https://grp.localhost/", "X-Api-Key", "k-alice")); s.User != "alice" {
			t.Fatalf("signing in again: %+v", s)
		}
	})

	t.Run("sign-in log", func(t *testing.T) {
		out, errOut, code := runCmd(t, g.dir, gatehouseBin, "signins", "--config", g.configPath)
		if code != 0 {
			t.Fatalf("signins: exit %d %q", code, errOut)
		}
		for _, want := range []string{"grp  ", "signed_in", "denied", "access.groups", "access.require_mfa", "bob", "127.0.0.1"} {
			if !strings.Contains(out, want) {
				t.Errorf("sign-in log lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("policy test", func(t *testing.T) {
		for _, tc := range []struct{ args, want string }{
			{"--app grp --user bob --groups staff", "DENY (access.groups)"},
			{"--app grp --user alice --groups staff,hr", "ALLOW (default)"},
			{"--app mfa --user alice --amr pwd,otp,mfa", "ALLOW (default)"},
			{"--app rule --user bob --path /admin", "DENY (access.rule)"},
			{"--app blocked --user alice --ip 127.0.0.9", "DENY (access.block_ips)"},
		} {
			out, errOut, code := runCmd(t, g.dir, gatehouseBin, append([]string{"policy", "test", "--config", g.configPath}, strings.Fields(tc.args)...)...)
			// Exit codes: 0 for ALLOW, 1 for DENY (README, "Exit codes").
			wantCode := 0
			if strings.HasPrefix(tc.want, "DENY") {
				wantCode = 1
			}
			if code != wantCode || !strings.HasPrefix(out, tc.want) {
				t.Errorf("policy test %s: exit %d %q %q, want exit %d and %q", tc.args, code, out, errOut, wantCode, tc.want)
			}
		}
	})
}
