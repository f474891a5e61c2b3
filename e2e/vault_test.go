package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/vault/basiclab"
)

// The password vault end to end, with a real Apache (auth_basic and
// mod_auth_form) behind the connector: a user without credentials is sent
// to the Gatehouse page that asks for them (the backend sees nothing); a
// wrong password leads back there once, not into a loop; the right one
// signs them in; the store holds no plaintext; shared credentials serve
// users without their own; form login works the same way.
func TestVault(t *testing.T) {
	lab, err := basiclab.Start(context.Background())
	if errors.Is(err, basiclab.ErrSkip) {
		t.Skipf("Apache lab not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.Stop() })

	keyFile := filepath.Join(t.TempDir(), "vault.key")
	out, errOut, code := runCmd(t, "", connectorBin, "vault-key", "--out", keyFile)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) < 3 {
		t.Fatalf("vault-key: exit %d %q %q", code, out, errOut)
	}
	pub := lines[len(lines)-1]

	sum := func(k string) string { s := sha256.Sum256([]byte(k)); return hex.EncodeToString(s[:]) }
	auth := fmt.Sprintf("{plugin: apikeys, config: {keys: [{sha256: %s, subject: alice}, {sha256: %s, subject: bob}]}}", sum("k-alice"), sum("k-bob"))
	formURL, _ := url.Parse(lab.FormURL)
	loginPage, _ := url.Parse(lab.FormLoginPage)
	base := gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf(
		"  - {name: apikeys, path: %q, sha256: %s}\n  - {name: vault, builtin: true}\n", customSSOBin, fileSum(t, customSSOBin))}
	g := newGateway(t, base)
	apps := []appSpec{
		{Name: "basic", Host: "basic.localhost", Group: "default", URL: lab.BaseURL, Auth: auth,
			SignOn: fmt.Sprintf("{plugin: vault, config: {mode: basic, key_file: %q}}", keyFile)},
		{Name: "form", Host: "form.localhost", Group: "default", URL: lab.BaseURL, Auth: auth,
			SignOn: fmt.Sprintf("{plugin: vault, config: {mode: form, key_file: %q, form: {login_url: %q, username_field: %s, password_field: %s, success_location: %q, failure_location: %q}}}",
				keyFile, lab.FormLoginURL, lab.FormUsernameField, lab.FormPasswordField, formURL.Path, loginPage.Path)},
	}
	text := specYAML(base, apps, g.public, g.tunnel, g.dataDir)
	text = strings.ReplaceAll(text, "    backend:\n", fmt.Sprintf("    vault: {public_key: %q}\n    backend:\n", pub))
	g.writeConfigText(text)
	g.start()
	enrollConnector(t, g, "connector", "default")

	// alice signs in (her API key), then browses with her session cookie.
	c := g.client(false)
	c.Jar, _ = cookiejar.New(nil)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	accessLines := func() int { l, _ := lab.AccessLogLines(); return len(l) }
	privPath := strings.TrimPrefix(lab.URL, lab.BaseURL)
	page := "https://basic.localhost" + privPath
	var r response
	eventually(t, "alice signed in and asked for credentials", func() bool {
		r = getWith(t, c, page, "X-Api-Key", "k-alice")
		return r.Status == http.StatusUnauthorized && strings.Contains(r.Body, "Credentials needed")
	})
	browse := func(u string) response { return getWith(t, c, u, "Accept", "text/html") }
	credPage := "/.gatehouse/auth/basic/credentials?again&return=" + url.QueryEscape(privPath)

	before := accessLines()
	if r = browse(page); r.Status != http.StatusSeeOther || r.Header.Get("Location") != credPage {
		t.Fatalf("no credentials yet: %d Location %q, want 303 to %s", r.Status, r.Header.Get("Location"), credPage)
	}
	if n := accessLines() - before; n != 0 {
		t.Fatalf("the backend saw %d requests before there were credentials", n)
	}
	if r = browse("https://basic.localhost" + credPage); r.Status != 200 || !strings.Contains(r.Body, `type="password"`) {
		t.Fatalf("credentials page: %d %.300q", r.Status, r.Body)
	}
	submit := func(app, action, user, password, ret string) response {
		form := url.Values{"action": {action}, "username": {user}, "password": {password}, "return": {ret}}
		req, _ := http.NewRequest(http.MethodPost, "https://"+app+".localhost/.gatehouse/auth/"+app+"/credentials", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://"+app+".localhost")
		r, err := do(t, c, req)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// A wrong password: the backend refuses once, and the user is back on
	// the page (one redirect, no loop).
	if r = submit("basic", "save", lab.User, "wrong password", privPath); r.Status != http.StatusSeeOther || r.Header.Get("Location") != privPath {
		t.Fatalf("saving: %d %q", r.Status, r.Header.Get("Location"))
	}
	if r = browse(page); r.Status != http.StatusSeeOther || r.Header.Get("Location") != credPage {
		t.Fatalf("wrong password: %d Location %q, want 303 back to the credentials page", r.Status, r.Header.Get("Location"))
	}
	// The right one signs alice in.
	submit("basic", "save", lab.User, lab.Password, privPath)
	if r = browse(page); r.Status != 200 || !strings.Contains(r.Body, "REMOTE_USER="+lab.User) {
		t.Fatalf("with the right password: %d %q", r.Status, r.Body)
	}

	t.Run("no plaintext in the store", func(t *testing.T) {
		filepath.Walk(g.dataDir, func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return nil
			}
			b, _ := os.ReadFile(p)
			if bytes.Contains(b, []byte(lab.Password)) {
				t.Errorf("%s holds the password in plaintext", p)
			}
			return nil
		})
		if strings.Contains(g.proc.log.String(), lab.Password) {
			t.Error("the gateway's log holds the password")
		}
	})
	t.Run("deleted credentials are asked for again", func(t *testing.T) {
		submit("basic", "delete", "", "", privPath)
		if r := browse(page); r.Status != http.StatusSeeOther || r.Header.Get("Location") != credPage {
			t.Fatalf("after delete: %d %q", r.Status, r.Header.Get("Location"))
		}
	})
	t.Run("shared credentials", func(t *testing.T) {
		cmd := exec.Command(gatehouseBin, "vault", "set", "--config", g.configPath, "--app", "basic", "--shared", "--username", lab.OtherUser)
		cmd.Stdin = strings.NewReader(lab.OtherPassword + "\n")
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "shared") {
			t.Fatalf("vault set: %v %s", err, out)
		}
		if r := browse(page); r.Status != 200 || !strings.Contains(r.Body, "REMOTE_USER="+lab.OtherUser) {
			t.Fatalf("with shared credentials: %d %q", r.Status, r.Body)
		}
	})
	t.Run("form login", func(t *testing.T) {
		fpage := "https://form.localhost" + formURL.Path
		getWith(t, c, fpage, "X-Api-Key", "k-alice") // a session for app form
		submit("form", "save", lab.User, lab.Password, formURL.Path)
		if r := browse(fpage); r.Status != 200 || !strings.Contains(r.Body, "REMOTE_USER="+lab.User) {
			t.Fatalf("form login: %d %q", r.Status, r.Body)
		}
	})
}
