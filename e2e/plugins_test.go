package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const apiKey = "k-2f9c1e7a-correct-horse"

// ssoGateway publishes backendURL as app "app" signed in by the custom-SSO
// example (a separate binary, pinned by its SHA-256) with header sign-on
// at the connector, and starts one connector.
func ssoGateway(t *testing.T, backendURL string) (*gatewayProc, *connectorProc) {
	t.Helper()
	base, apps := ssoConfig(t, backendURL, apiKey)
	g := startGatewayWith(t, base, apps)
	return g, enrollConnector(t, g, "connector", "default")
}

// ssoConfig is ssoGateway's config, accepting keys (each signs in alice).
func ssoConfig(t *testing.T, backendURL string, keys ...string) (gwConfig, []appSpec) {
	t.Helper()
	var list []string
	for _, k := range keys {
		sum := sha256.Sum256([]byte(k))
		list = append(list, fmt.Sprintf("{sha256: %s, subject: alice, groups: [staff, hr]}", hex.EncodeToString(sum[:])))
	}
	base := gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf(
		"  - {name: apikeys, path: %q, sha256: %s}\n  - {name: header, builtin: true}\n", customSSOBin, fileSum(t, customSSOBin))}
	return base, []appSpec{{
		Name: "app", Host: "app.localhost", Group: "default", URL: backendURL,
		Auth:   fmt.Sprintf(`{plugin: apikeys, config: {header: X-Api-Key, keys: [%s]}}`, strings.Join(list, ", ")),
		SignOn: `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}", X-Remote-Groups: "{{join .Groups}}"}, remove: [X-Forged], jwt: {}}}`,
	}}
}

func fileSum(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// getWith GETs url with extra header lines.
func getWith(t testing.TB, c *http.Client, url string, header ...string) response {
	t.Helper()
	req := mustRequest(t, url)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	r, err := do(t, c, req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return r
}

func decodeSeen(t testing.TB, r response) identitySeen {
	t.Helper()
	var s identitySeen
	if r.Status != 200 || json.Unmarshal([]byte(r.Body), &s) != nil {
		t.Fatalf("want 200 from the backend, got %d %q", r.Status, r.Body)
	}
	return s
}

// A custom SSO plug-in signs the user in; the connector's header plug-in
// tells the backend who it is, with headers and a JWT the backend checks
// against the gateway's JWKS; forged identity headers never arrive; the
// session cookie then stands in for the plug-in.
func TestCustomSSOWithHeaderSignOn(t *testing.T) {
	backend := newIdentityBackend(t, "app")
	g, conn := ssoGateway(t, backend.URL)
	c := g.client(false)
	const url = "https://app.localhost/private"
	backend.loadJWKS(t, c, "https://app.localhost/.gatehouse/jwks.json")
	eventually(t, "sign-in through the connector", func() bool {
		return getWith(t, c, url, "X-Api-Key", apiKey).Status == 200
	})

	t.Run("no credentials: 401, backend untouched", func(t *testing.T) {
		before := backend.hits.Load()
		requireErrorPage(t, getWith(t, c, url), http.StatusUnauthorized, "Sign-in required")
		if n := backend.hits.Load() - before; n != 0 {
			t.Fatalf("backend saw %d requests", n)
		}
	})
	t.Run("wrong key: the plug-in's challenge, backend untouched", func(t *testing.T) {
		before := backend.hits.Load()
		r := getWith(t, c, url, "X-Api-Key", "guess")
		if r.Status != 401 || !strings.Contains(r.Header.Get("Www-Authenticate"), "ApiKey") {
			t.Fatalf("got %d %v %q", r.Status, r.Header, r.Body)
		}
		if n := backend.hits.Load() - before; n != 0 {
			t.Fatalf("backend saw %d requests", n)
		}
	})

	var session *http.Cookie
	t.Run("signed in: injected identity, forged headers gone", func(t *testing.T) {
		r := getWith(t, c, url, "X-Api-Key", apiKey,
			"X-Remote-User", "mallory", "X-Remote-Groups", "admins", "X-Forged", "yes",
			"X-Gatehouse-Assertion", "forged.jwt.value", "Cookie", "theme=dark")
		s := decodeSeen(t, r)
		if s.User != "alice" || s.Groups != "staff,hr" || s.Forged != "" {
			t.Fatalf("backend saw user %q groups %q forged %q", s.User, s.Groups, s.Forged)
		}
		if s.JWTSubject != "alice" {
			t.Fatalf("JWT assertion did not verify against the JWKS: %s", s.JWTError)
		}
		if s.Cookie != "theme=dark" {
			t.Fatalf("backend saw Cookie %q, want the client's own cookie only", s.Cookie)
		}
		for _, sc := range (&http.Response{Header: r.Header}).Cookies() {
			if sc.Name == "__Host-gatehouse.app" {
				session = sc
			}
		}
		if session == nil {
			t.Fatalf("no session cookie in %q", r.Header["Set-Cookie"])
		}
		line := strings.Join(r.Header["Set-Cookie"], "\n")
		for _, attr := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
			if !strings.Contains(line, attr) {
				t.Errorf("session cookie lacks %s: %s", attr, line)
			}
		}
	})
	if session == nil {
		t.FailNow()
	}
	cookie := session.Name + "=" + session.Value
	t.Run("session cookie signs in without the key, and never reaches the backend", func(t *testing.T) {
		s := decodeSeen(t, getWith(t, c, url, "Cookie", "theme=dark; "+cookie))
		if s.User != "alice" || s.JWTSubject != "alice" || s.Cookie != "theme=dark" {
			t.Fatalf("backend saw %+v", s)
		}
	})
	t.Run("tampered session cookie: back to the plug-in, backend untouched", func(t *testing.T) {
		before := backend.hits.Load()
		v := []byte(session.Value)
		v[len(v)/2] ^= 0x01
		requireErrorPage(t, getWith(t, c, url, "Cookie", session.Name+"="+string(v)), http.StatusUnauthorized, "Sign-in required")
		if n := backend.hits.Load() - before; n != 0 {
			t.Fatalf("backend saw %d requests", n)
		}
	})
	t.Run("the plug-in is off the path of a signed-in user", func(t *testing.T) {
		pid := pluginPID(t, g, customSSOBin)
		g.proc.log.waitLines(t, "plug-in start", 1, "plug-in started", "plugin=apikeys")
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil { // frozen: every call to it would hang
			t.Fatal(err)
		}
		defer syscall.Kill(pid, syscall.SIGCONT)
		for range 20 {
			if s := decodeSeen(t, getWith(t, c, url, "Cookie", cookie)); s.User != "alice" {
				t.Fatalf("backend saw %+v", s)
			}
		}
	})
	t.Run("the connector reuses a session's sign-on headers", func(t *testing.T) {
		// The header plug-in allows reuse (for half the JWT's lifetime), so
		// with its process frozen the session still gets its identity.
		pid := childWithExe(conn.pid(), connectorBin)
		if pid == 0 {
			t.Fatal("no header plug-in process under the connector")
		}
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		defer syscall.Kill(pid, syscall.SIGCONT)
		for range 20 {
			if s := decodeSeen(t, getWith(t, c, url, "Cookie", cookie)); s.User != "alice" || s.JWTSubject != "alice" {
				t.Fatalf("backend saw %+v", s)
			}
		}
	})
	t.Run("sign-out ends the session", func(t *testing.T) {
		r := getWith(t, c, "https://app.localhost/.gatehouse/auth/app/signout", "Cookie", cookie)
		if r.Status != 200 || !strings.Contains(strings.Join(r.Header["Set-Cookie"], ""), "__Host-gatehouse.app=;") {
			t.Fatalf("sign-out: %d %q", r.Status, r.Header["Set-Cookie"])
		}
	})
	t.Run("reserved paths never reach the backend", func(t *testing.T) {
		before := backend.hits.Load()
		for _, p := range []string{"/.gatehouse/", "/.gatehouse/nope", "/.gatehouse/auth/other/callback", "/.gatehouse/auth/app/nope"} {
			if r := getWith(t, c, "https://app.localhost"+p, "X-Api-Key", apiKey); r.Status != 404 {
				t.Errorf("%s: %d, want 404", p, r.Status)
			}
		}
		if n := backend.hits.Load() - before; n != 0 {
			t.Fatalf("backend saw %d requests", n)
		}
	})
}

// A plug-in killed with SIGKILL under load: its app answers 503 while it
// is down (never a request without an identity) and signs users in again
// within 5 s, restarted by the gateway.
func TestPluginKilledUnderLoad(t *testing.T) {
	backend := newIdentityBackend(t, "app")
	g, _ := ssoGateway(t, backend.URL)
	const url = "https://app.localhost/load"
	c := g.client(false)
	backend.loadJWKS(t, c, "https://app.localhost/.gatehouse/jwks.json")
	eventually(t, "sign-in through the connector", func() bool {
		return getWith(t, c, url, "X-Api-Key", apiKey).Status == 200
	})
	pid := pluginPID(t, g, customSSOBin)

	var killedAt atomic.Int64 // unix nanos; 0 before the kill
	var okBefore, okAfter, unavailable atomic.Int64
	var firstOKAfter atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				started := time.Now().UnixNano()
				r, err := do(t, c, withHeader(mustRequest(t, url), "X-Api-Key", apiKey))
				if err != nil {
					t.Errorf("transport error: %v", err)
					return
				}
				switch r.Status {
				case 200:
					var s identitySeen
					if json.Unmarshal([]byte(r.Body), &s) != nil || s.User != "alice" || s.JWTSubject != "alice" {
						t.Errorf("200 without the identity: %q", r.Body)
						return
					}
					// Count a request as after the kill only if it started after it.
					if k := killedAt.Load(); k == 0 {
						okBefore.Add(1)
					} else if started > k && okAfter.Add(1) == 1 {
						firstOKAfter.Store(time.Now().UnixNano())
					}
				case 503:
					requireErrorPage(t, r, 503, "Sign-in unavailable")
					unavailable.Add(1)
				default:
					t.Errorf("unexpected %d %q", r.Status, r.Body)
					return
				}
			}
		})
	}
	eventually(t, "load before the kill", func() bool { return okBefore.Load() >= 50 })
	killedAt.Store(time.Now().UnixNano())
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventuallyWithin(t, 5*time.Second, "sign-in to work again after the plug-in was killed", func() bool {
		return okAfter.Load() >= 10 || t.Failed()
	})
	close(stop)
	wg.Wait()
	if t.Failed() {
		return
	}
	if unavailable.Load() == 0 {
		t.Fatal("no request saw the plug-in down: the kill did not land")
	}
	newPID := pluginPID(t, g, customSSOBin)
	t.Logf("%d answers before the kill; after it %d × 503 and %d signed-in answers; first signed-in answer %v after the kill; plug-in pid %d → %d",
		okBefore.Load(), unavailable.Load(), okAfter.Load(),
		time.Duration(firstOKAfter.Load()-killedAt.Load()).Round(time.Millisecond), pid, newPID)
	if newPID == pid {
		t.Fatal("the plug-in was not restarted")
	}
}

// A reload that changes the plug-in's config starts the new instance
// before the old one stops: under load, no request fails, and the new
// config takes effect.
func TestPluginReloadUnderLoad(t *testing.T) {
	backend := newIdentityBackend(t, "app")
	g, _ := ssoGateway(t, backend.URL)
	const url = "https://app.localhost/reload"
	c := g.client(false)
	eventually(t, "sign-in through the connector", func() bool {
		return getWith(t, c, url, "X-Api-Key", apiKey).Status == 200
	})
	var served atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := do(t, c, withHeader(mustRequest(t, url), "X-Api-Key", apiKey))
				if err != nil || r.Status != 200 {
					t.Errorf("during the reload: %v %d %q", err, r.Status, r.Body)
					return
				}
				served.Add(1)
			}
		})
	}
	eventually(t, "load before the reload", func() bool { return served.Load() >= 20 })
	const newKey = "k-added-by-reload"
	base, apps := ssoConfig(t, backend.URL, apiKey, newKey)
	g.writeConfigText(specYAML(base, apps, g.public, g.tunnel, g.dataDir))
	eventually(t, "the reloaded config to accept the new key", func() bool {
		return getWith(t, c, url, "X-Api-Key", newKey).Status == 200 || t.Failed()
	})
	after := served.Load()
	eventually(t, "load after the reload", func() bool { return served.Load() >= after+20 || t.Failed() })
	close(stop)
	wg.Wait()
	t.Logf("%d signed-in requests across the reload, none failed", served.Load())
}

// A catalog entry whose sha256 does not match the binary: the gateway
// refuses to start it and says why.
func TestPluginChecksumMismatch(t *testing.T) {
	wrong := strings.Repeat("0", 64)
	base := gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf("  - {name: apikeys, path: %q, sha256: %s}\n", customSSOBin, wrong)}
	g := newGateway(t, base)
	g.writeConfigText(specYAML(base, []appSpec{{Name: "app", Host: "app.localhost", Group: "default", URL: "http://127.0.0.1:9",
		Auth: `{plugin: apikeys, config: {keys: [{sha256: ` + wrong + `, subject: a}]}}`}}, g.public, g.tunnel, g.dataDir))
	p := startProc(t, "gateway", gatehouseBin, "serve", "--config", g.configPath)
	if code := p.wait(t); code == 0 {
		t.Fatal("the gateway started with a plug-in whose checksum does not match")
	}
	out := p.log.String()
	for _, want := range []string{"apps[0].auth.plugin", `"apikeys"`, "checksum mismatch", fileSum(t, customSSOBin), "not starting it"} {
		if !strings.Contains(out, want) {
			t.Errorf("gateway output lacks %q:\n%s", want, out)
		}
	}
}

func withHeader(r *http.Request, k, v string) *http.Request {
	r.Header.Set(k, v)
	return r
}

// pluginPID finds the running plug-in process: a child of the gateway
// whose executable is bin.
func pluginPID(t testing.TB, g *gatewayProc, bin string) int {
	t.Helper()
	var pid int
	eventually(t, "the plug-in process", func() bool {
		pid = childWithExe(g.proc.pid(), bin)
		return pid != 0
	})
	return pid
}

func childWithExe(parent int, exe string) int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ")".
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(parent) {
			continue
		}
		if target, err := os.Readlink(filepath.Join(d, "exe")); err == nil && target == exe {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return pid
		}
	}
	return 0
}

// "gatehouse config check" starts each plug-in with its config block, so
// a config the plug-in refuses is reported with file, line, app, plug-in
// and the key at fault, for sign-in and sign-on alike.
func TestConfigCheckAsksThePlugins(t *testing.T) {
	dir := t.TempDir()
	text := fmt.Sprintf(`plugins:
  - {name: apikeys, path: %q, sha256: %s}
  - {name: header, builtin: true}
connector_groups: [{name: default}]
apps:
  - name: hr
    host: hr.localhost
    group: default
    auth:
      plugin: apikeys
      config: {keys: [{sha256: "nothex", subject: bot}]}
    sign_on:
      plugin: header
      config: {headers: {X-Remote-User: "{{.Usr}}"}}
    backend: {url: "http://127.0.0.1:9"}
`, customSSOBin, fileSum(t, customSSOBin))
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCmd(t, dir, gatehouseBin, "config", "check", "bad.yaml")
	if code == 0 {
		t.Fatal("config check accepted configs the plug-ins refuse")
	}
	for _, want := range []string{
		`bad.yaml:11:15: apps[0].auth.config: plug-in "apikeys" refused its config: keys[0].sha256`,
		`bad.yaml:14:15: apps[0].sign_on.config: plug-in "header" refused its config: headers.X-Remote-User`,
		`.Usr`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("config check output lacks %q:\n%s", want, stderr)
		}
	}
	good := strings.NewReplacer(`"nothex"`, strings.Repeat("a", 64), "{{.Usr}}", "{{.UPN}}").Replace(text)
	if err := os.WriteFile(filepath.Join(dir, "good.yaml"), []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := runCmd(t, dir, gatehouseBin, "config", "check", "good.yaml"); code != 0 || !strings.Contains(out, "2 plug-ins checked") {
		t.Fatalf("config check of the corrected file: exit %d, %q %q", code, out, errOut)
	}
}
