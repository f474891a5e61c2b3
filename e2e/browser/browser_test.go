package browser

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// skipWithoutChromium skips loudly when no browser can start here.
func skipWithoutChromium(t *testing.T) {
	t.Helper()
	if why := Available(); why != "" {
		t.Skip("SKIPPING BROWSER TEST: " + why)
	}
}

// testCA is a throw-away CA that issues server certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca *testCA) issue(t *testing.T, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsServer starts an HTTPS test server on loopback with cert, and records
// the SNI names it was asked for.
type tlsServer struct {
	*httptest.Server
	mu  sync.Mutex
	sni []string
}

func newTLSServer(t *testing.T, cert tls.Certificate, h http.Handler) *tlsServer {
	t.Helper()
	s := &tlsServer{Server: httptest.NewUnstartedServer(h)}
	s.TLS = &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			s.mu.Lock()
			s.sni = append(s.sni, hello.ServerName)
			s.mu.Unlock()
			return &cert, nil
		},
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func (s *tlsServer) addr() string { return s.Listener.Addr().String() }

func (s *tlsServer) sniNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sni...)
}

// The sign-in used below: app.example.test sends a visitor without a
// session to idp.example.test, whose form takes alice's password, sets its
// own cookie and sends her back with a code; the app swaps the code for a
// session cookie and shows the backend page. Two host names, two loopback
// ports, both on port 443 in the URLs the browser sees.
const (
	appHost = "app.example.test"
	idpHost = "idp.example.test"
)

func appHandler(t *testing.T, seen *hostLog) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		seen.add(r)
		if r.URL.Query().Get("code") != "code-for-alice" {
			http.Error(w, "bad code", http.StatusBadRequest)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "app_session", Value: "alice-session", Path: "/",
			Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/backend?page=1#section-2", http.StatusFound)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		seen.add(r)
		c, err := r.Cookie("app_session")
		if err != nil || c.Value != "alice-session" {
			ret := "https://" + appHost + "/callback"
			http.Redirect(w, r, "https://"+idpHost+"/login?"+url.Values{"return": {ret}}.Encode(), http.StatusFound)
			return
		}
		fmt.Fprintf(w, "<!doctype html><title>backend</title><h1 id=hello>Hello alice</h1><p>backend page for %s</p>", r.Host)
	})
	return mux
}

func idpHandler(t *testing.T, seen *hostLog) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		seen.add(r)
		ret := r.FormValue("return")
		if r.Method == http.MethodPost {
			if r.PostFormValue("username") != "alice" || r.PostFormValue("password") != "s3cret pass" {
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, "<!doctype html><p id=error>wrong password</p>")
				return
			}
			http.SetCookie(w, &http.Cookie{Name: "idp_session", Value: "idp-alice", Path: "/", Secure: true, HttpOnly: true})
			http.Redirect(w, r, ret+"?code=code-for-alice", http.StatusFound)
			return
		}
		fmt.Fprintf(w, `<!doctype html><title>sign in</title>
<form method=post action="/login?%s">
<input name=username id=username autocomplete=off>
<input name=password id=password type=password>
<button type=submit id=submit>Sign in</button>
</form>`, url.Values{"return": {ret}}.Encode())
	})
	return mux
}

// hostLog records the Host header of every request a server handled.
type hostLog struct {
	mu    sync.Mutex
	hosts []string
}

func (l *hostLog) add(r *http.Request) {
	l.mu.Lock()
	l.hosts = append(l.hosts, r.Host)
	l.mu.Unlock()
}

func (l *hostLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.hosts...)
}

// TestSignInAcrossTwoHosts is the harness's own end-to-end check: two https
// host names on two loopback ports, a CA trusted through NSS, a form, a
// redirect chain across hosts, cookies and the final page text.
func TestSignInAcrossTwoHosts(t *testing.T) {
	skipWithoutChromium(t)
	ca := newCA(t, "Gatehouse test CA")
	other := newCA(t, "Some other CA")
	var appSeen, idpSeen hostLog
	app := newTLSServer(t, ca.issue(t, appHost), appHandler(t, &appSeen))
	idp := newTLSServer(t, ca.issue(t, idpHost), idpHandler(t, &idpSeen))
	untrusted := newTLSServer(t, other.issue(t, "evil.example.test"), http.NotFoundHandler())
	// A plain-HTTP server on a loopback literal, like a loopback IdP.
	loopback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!doctype html><p>loopback ok</p>")
	}))
	t.Cleanup(loopback.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	t0 := time.Now()
	b, err := Start(ctx, Options{
		Hosts: map[string]string{
			appHost:              app.addr(),
			idpHost:              idp.addr(),
			"evil.example.test":  untrusted.addr(),
			"wrong.example.test": app.addr(), // the app's certificate does not name it
		},
		ExtraCA: ca.pem,
		Logf:    t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chromium started in %v", time.Since(t0).Round(time.Millisecond))
	profile := b.ProfileDir()
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
		assertNoProcesses(t, profile, 0)
		if _, err := os.Stat(profile); !os.IsNotExist(err) {
			t.Errorf("profile %s still exists after Close (stat: %v)", profile, err)
		}
	})
	if n := len(pgrep(t, profile)); n < 2 {
		t.Errorf("pgrep finds %d chromium processes with the profile; want the browser and its helpers", n)
	}

	t.Run("sign in", func(t *testing.T) {
		t1 := time.Now()
		status, err := b.Navigate(ctx, "https://"+appHost+"/")
		if err != nil {
			t.Fatal(err)
		}
		if status != http.StatusOK {
			t.Errorf("login page status %d, want 200", status)
		}
		u, err := b.URL(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u, "https://"+idpHost+"/login?") {
			t.Fatalf("after opening the app the browser is at %s, want the IdP's login page", u)
		}

		// A wrong password first: the IdP answers 403 and the browser stays.
		if err := b.Fill(ctx, "#username", "alice"); err != nil {
			t.Fatal(err)
		}
		if err := b.Fill(ctx, "#password", "wrong"); err != nil {
			t.Fatal(err)
		}
		if status, err := b.ClickAndWait(ctx, "#submit"); err != nil || status != http.StatusForbidden {
			t.Fatalf("wrong password: status %d, err %v; want 403", status, err)
		}
		if txt, err := b.Text(ctx); err != nil || !strings.Contains(txt, "wrong password") {
			t.Fatalf("wrong password: page text %q, err %v", txt, err)
		}

		if _, err := b.Navigate(ctx, "https://"+appHost+"/"); err != nil {
			t.Fatal(err)
		}
		if err := b.WaitVisible(ctx, "input[type=password]"); err != nil {
			t.Fatal(err)
		}
		if err := b.Fill(ctx, "#username", "alice"); err != nil {
			t.Fatal(err)
		}
		if err := b.Fill(ctx, "#password", "s3cret pass"); err != nil {
			t.Fatal(err)
		}
		if err := b.Click(ctx, "#submit"); err != nil {
			t.Fatal(err)
		}
		final, err := b.WaitURL(ctx, func(u *url.URL) bool { return u.Host == appHost && u.Path == "/backend" })
		if err != nil {
			t.Fatal(err)
		}
		if final.Fragment != "section-2" || final.RawQuery != "page=1" {
			t.Errorf("landed on %s; want the query and #fragment of the redirect kept", final)
		}
		// Wait for the page's last line: the browser may show the page
		// before it has parsed all of it. It names the Host header the
		// backend saw.
		txt, err := b.WaitText(ctx, "backend page for "+appHost)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(txt, "Hello alice") {
			t.Errorf("page text %q; want the backend's greeting", txt)
		}
		t.Logf("sign-in through two hosts took %v", time.Since(t1).Round(time.Millisecond))

		c, ok, err := b.Cookie(ctx, appHost, "app_session")
		if err != nil {
			t.Fatal(err)
		}
		if !ok || c.Value != "alice-session" || !c.Secure || !c.HTTPOnly || c.SameSite != "Lax" || !c.Expires.IsZero() {
			t.Errorf("app_session cookie = %+v, found %v; want alice-session, Secure, HttpOnly, Lax, session", c, ok)
		}
		if c, ok, _ := b.Cookie(ctx, idpHost, "idp_session"); !ok || c.Value != "idp-alice" {
			t.Errorf("idp_session cookie = %+v, found %v", c, ok)
		}
		if _, ok, _ := b.Cookie(ctx, appHost, "idp_session"); ok {
			t.Error("the IdP's cookie is visible for the app's host")
		}

		// The servers saw the names, in SNI and Host, not the loopback ports.
		for _, h := range appSeen.all() {
			if h != appHost {
				t.Errorf("app saw Host %q, want %q", h, appHost)
			}
		}
		for _, h := range idpSeen.all() {
			if h != idpHost {
				t.Errorf("IdP saw Host %q, want %q", h, idpHost)
			}
		}
		if sni := app.sniNames(); len(sni) == 0 || sni[0] != appHost {
			t.Errorf("app saw SNI %q, want %q", sni, appHost)
		}
	})

	t.Run("tampered cookie", func(t *testing.T) {
		if err := b.SetCookie(ctx, Cookie{Name: "app_session", Value: "forged", Domain: appHost, Secure: true, HTTPOnly: true}); err != nil {
			t.Fatal(err)
		}
		all, err := b.Cookies(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []Cookie
		for _, c := range all {
			if c.Name == "app_session" {
				got = append(got, c)
			}
		}
		if len(got) != 1 || got[0].Value != "forged" || got[0].Domain != appHost {
			t.Fatalf("app_session cookies after SetCookie: %+v; want the server's one replaced", got)
		}
		if _, err := b.Navigate(ctx, "https://"+appHost+"/backend"); err != nil {
			t.Fatal(err)
		}
		if u, _ := b.URL(ctx); !strings.HasPrefix(u, "https://"+idpHost+"/login") {
			t.Errorf("with a forged cookie the browser is at %s, want the IdP's login page", u)
		}
	})

	t.Run("certificate checks stay on", func(t *testing.T) {
		for _, tc := range []struct{ url, want string }{
			{"https://evil.example.test/", "ERR_CERT_AUTHORITY_INVALID"},
			{"https://wrong.example.test/", "ERR_CERT_COMMON_NAME_INVALID"},
			{"https://unmapped.example.test/", "ERR_NAME_NOT_RESOLVED"},
		} {
			_, err := b.Navigate(ctx, tc.url)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Navigate(%s) = %v, want an error with %s", tc.url, err, tc.want)
			}
		}
	})

	t.Run("loopback literal stays reachable", func(t *testing.T) {
		if _, err := b.Navigate(ctx, loopback.URL+"/"); err != nil {
			t.Fatal(err)
		}
		if txt, err := b.Text(ctx); err != nil || !strings.Contains(txt, "loopback ok") {
			t.Errorf("page text %q, err %v", txt, err)
		}
	})
}

// TestResolveToSendsEveryNameToOneAddress checks the catch-all mapping, with
// a loopback server on another port still reachable by its literal.
func TestResolveToSendsEveryNameToOneAddress(t *testing.T) {
	skipWithoutChromium(t)
	ca := newCA(t, "Gatehouse dev CA")
	gw := newTLSServer(t, ca.issue(t, "*.apps.example.test"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<!doctype html><p>gateway serves %s</p>", r.Host)
	}))
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!doctype html><p>idp on loopback</p>")
	}))
	t.Cleanup(idp.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Start(ctx, Options{ResolveTo: gw.addr(), ExtraCA: ca.pem, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, host := range []string{"one.apps.example.test", "two.apps.example.test"} {
		if _, err := b.Navigate(ctx, "https://"+host+"/"); err != nil {
			t.Fatal(err)
		}
		if txt, err := b.Text(ctx); err != nil || !strings.Contains(txt, "gateway serves "+host) {
			t.Errorf("%s: page text %q, err %v", host, txt, err)
		}
	}
	// localhost is excluded from the catch-all too.
	u := strings.Replace(idp.URL, "127.0.0.1", "localhost", 1)
	if _, err := b.Navigate(ctx, u+"/"); err != nil {
		t.Fatal(err)
	}
	if txt, err := b.Text(ctx); err != nil || !strings.Contains(txt, "idp on loopback") {
		t.Errorf("%s: page text %q, err %v", u, txt, err)
	}
}

func TestHostRules(t *testing.T) {
	for _, tc := range []struct {
		name      string
		hosts     map[string]string
		resolveTo string
		want      string
		wantErr   string
	}{
		{name: "nothing resolves", want: "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE ::1, EXCLUDE [::1]"},
		{name: "catch-all", resolveTo: "127.0.0.1:8443",
			want: "MAP *.google.com ~NOTFOUND, MAP *.googleapis.com ~NOTFOUND, MAP *.gstatic.com ~NOTFOUND, MAP *.gvt1.com ~NOTFOUND, MAP *.googleusercontent.com ~NOTFOUND, MAP * 127.0.0.1:8443, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE ::1, EXCLUDE [::1]"},
		{name: "exact before wildcard", hosts: map[string]string{"*.example.test": "127.0.0.1:1", "idp.example.test": "127.0.0.1:2", "localhost": "127.0.0.1:3"},
			want: "MAP idp.example.test 127.0.0.1:2, MAP localhost 127.0.0.1:3, MAP *.example.test 127.0.0.1:1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE ::1, EXCLUDE [::1]"},
		{name: "ipv6 and no port", hosts: map[string]string{"a.test": "[::1]:443", "b.test": "127.0.0.1"},
			want: "MAP a.test [::1]:443, MAP b.test 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE ::1, EXCLUDE [::1]"},
		{name: "name as target", hosts: map[string]string{"a.test": "gateway.internal:443"}, wantErr: `Hosts["a.test"] = "gateway.internal:443": want an IP address`},
		{name: "port zero", resolveTo: "127.0.0.1:0", wantErr: `ResolveTo = "127.0.0.1:0": want ip:port`},
		{name: "comma in name", hosts: map[string]string{"a.test, MAP *": "127.0.0.1"}, wantErr: "without spaces or commas"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := hostRules(tc.hosts, tc.resolveTo)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v\nwant %q", got, err, tc.want)
			}
		})
	}
}

func TestExtraCAMustBeCA(t *testing.T) {
	if _, err := exec.LookPath("certutil"); err != nil {
		t.Skip("SKIPPING: certutil is not installed (scripts/install-chromium.sh)")
	}
	ca := newCA(t, "ca")
	leaf := ca.issue(t, "x.test")
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]})
	ctx := context.Background()
	for _, tc := range []struct {
		pem  []byte
		want string
	}{
		{[]byte("not pem"), "no PEM CERTIFICATE block"},
		{leafPEM, "is not a CA certificate"},
	} {
		if err := trustCA(ctx, t.TempDir(), tc.pem); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("trustCA = %v, want %q", err, tc.want)
		}
	}
	if err := trustCA(ctx, t.TempDir(), append(ca.pem, newCA(t, "second").pem...)); err != nil {
		t.Errorf("two CAs: %v", err)
	}
}

// TestFailedStartLeavesNothing: a start that times out is an error, and
// leaves neither processes nor files behind.
func TestFailedStartLeavesNothing(t *testing.T) {
	skipWithoutChromium(t)
	mine := fmt.Sprintf("%s%d-", dirPrefix, os.Getpid())
	for _, opts := range []Options{
		{StartTimeout: 50 * time.Millisecond},
		{Chromium: "/bin/false"},
	} {
		b, err := Start(context.Background(), opts)
		if err == nil {
			b.Close()
			t.Fatalf("Start(%+v) succeeded, want an error", opts)
		}
		t.Logf("Start(%+v): %v", opts, err)
		assertNoProcesses(t, mine, 5*time.Second)
		if left, _ := filepath.Glob(filepath.Join(os.TempDir(), mine+"*")); len(left) > 0 {
			t.Errorf("temporary directories left: %v", left)
		}
	}
}

// The helper process of TestNoLeftoversWhenTestProcessDies: it starts a
// browser, reports it and waits to be killed.
const childEnv = "GATEHOUSE_BROWSER_TEST_CHILD"

func TestHelperHoldsBrowser(t *testing.T) {
	if os.Getenv(childEnv) != "1" {
		return // not a test of its own: the entry point of the helper process (as os/exec's tests do)
	}
	b, err := Start(context.Background(), Options{})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Printf("PROFILE %s\n", b.ProfileDir())
	time.Sleep(time.Minute) // the parent SIGKILLs this process
	os.Exit(2)
}

// TestNoLeftoversWhenTestProcessDies kills a test process that holds a
// browser, the way a timeout or an impatient Ctrl-\ does, and checks that no
// Chromium process of it survives.
func TestNoLeftoversWhenTestProcessDies(t *testing.T) {
	skipWithoutChromium(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldsBrowser$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var profile string
	sc := bufio.NewScanner(out)
	deadline := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "PROFILE "); ok {
			profile = p
			break
		}
		t.Logf("child: %s", sc.Text())
	}
	if profile == "" {
		t.Fatal("the helper process reported no browser")
	}
	if n := len(pgrep(t, profile)); n < 2 {
		t.Fatalf("pgrep finds %d chromium processes of the helper; want several", n)
	}
	t0 := time.Now()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	assertNoProcesses(t, profile, 5*time.Second)
	t.Logf("chromium gone %v after its test process was killed", time.Since(t0).Round(time.Millisecond))

	// The dead process could not remove its directory; the next Start does.
	root := strings.TrimSuffix(profile, "/profile")
	if _, err := os.Stat(root); err != nil {
		t.Fatalf("the killed helper's directory %s: %v", root, err)
	}
	sweepOrphans(t.Logf)
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("sweepOrphans left %s (stat: %v)", root, err)
	}
}

// pgrep lists the pids whose command line contains pattern.
func pgrep(t *testing.T, pattern string) []int {
	t.Helper()
	out, err := exec.Command("pgrep", "-f", "--", pattern).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			return nil // nothing matched
		}
		t.Fatalf("pgrep -f %s: %v", pattern, err)
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// assertNoProcesses fails unless, within wait, pgrep finds no process with
// the profile directory on its command line.
func assertNoProcesses(t *testing.T, profile string, wait time.Duration) {
	t.Helper()
	if _, err := exec.LookPath("pgrep"); err != nil {
		t.Logf("pgrep is not installed; not checking for leftover chromium processes")
		return
	}
	end := time.Now().Add(wait)
	for {
		pids := pgrep(t, profile)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(end) {
			t.Errorf("chromium processes %v with profile %s are still running", pids, profile)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
