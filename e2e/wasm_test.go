package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

var wasmBuild struct {
	once sync.Once
	dir  string
	err  error
}

// wasmModule builds the example filter examples/wasm/NAME with the
// standard Go toolchain (GOOS=wasip1, a reactor) and returns its path.
func wasmModule(t testing.TB, name string) string {
	t.Helper()
	wasmBuild.once.Do(func() {
		wasmBuild.dir, wasmBuild.err = os.MkdirTemp("", "gatehouse-e2e-wasm-")
		for _, n := range []string{"linktranslate", "securityheaders", "pathfilter"} {
			if wasmBuild.err != nil {
				break
			}
			cmd := exec.Command(goTool(), "build", "-buildmode=c-shared", "-o", filepath.Join(wasmBuild.dir, n+".wasm"), "./examples/wasm/"+n)
			cmd.Dir = moduleRoot
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			if out, err := cmd.CombinedOutput(); err != nil {
				wasmBuild.err = fmt.Errorf("building %s: %v\n%s", n, err, out)
			}
		}
	})
	if wasmBuild.err != nil {
		t.Fatal(wasmBuild.err)
	}
	return filepath.Join(wasmBuild.dir, name+".wasm")
}

// filterCatalog is the filters: catalog for the example modules.
func filterCatalog(t testing.TB) string {
	var b strings.Builder
	b.WriteString("filters:\n")
	for _, n := range []string{"linktranslate", "securityheaders", "pathfilter"} {
		p := wasmModule(t, n)
		fmt.Fprintf(&b, "  - {name: %s, path: %q, sha256: %s}\n", n, p, fileSum(t, p))
	}
	return b.String()
}

// An internal app that only knows its internal address is fully usable
// at its external URL: the link translation filter rewrites its absolute
// URLs in headers and in HTML, CSS, JavaScript and JSON bodies, through the
// connector; a second filter adds security headers.
func TestLinkTranslationThroughConnector(t *testing.T) {
	var internal string
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		switch r.URL.Path {
		case "/old":
			http.Redirect(w, r, internal+"/new?x=1", http.StatusFound)
		case "/page":
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Content-Location", internal+"/page")
			h.Add("Set-Cookie", "sid=1; Path=/; Domain=127.0.0.1")
			fmt.Fprintf(w, `<html><a href="%[1]s/doc">doc</a><script src="%[1]s/app.js"></script><link href="%[1]s/s.css"></html>`, internal)
		case "/s.css":
			h.Set("Content-Type", "text/css")
			fmt.Fprintf(w, `body{background:url(%s/bg.png)}`, internal)
		case "/app.js":
			h.Set("Content-Type", "application/javascript")
			fmt.Fprintf(w, `fetch("%s/api/items");`, internal)
		case "/api/items":
			h.Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"next":%q,"escaped":"%s"}`, internal+"/api/items?page=2", strings.ReplaceAll(internal, "/", `\/`)+`\/api`)
		default:
			fmt.Fprintf(w, "path %s", r.URL.Path)
		}
	}))
	t.Cleanup(app.Close)
	internal = app.URL
	const external = "https://app.localhost"

	base := gwConfig{Groups: []string{"default"}}
	g := newGateway(t, base)
	apps := []appSpec{{Name: "app", Host: "app.localhost", Group: "default", URL: internal,
		Filters: fmt.Sprintf(`[{filter: linktranslate, config: {links: [{internal: %q, external: %q}]}}, {filter: securityheaders, config: {}}]`, internal, external)}}
	g.writeConfigText(filterCatalog(t) + specYAML(base, apps, g.public, g.tunnel, g.dataDir))
	g.start()
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	waitServing(t, c, external+"/x")

	r := get(t, c, external+"/old")
	if r.Status != 302 || r.Header.Get("Location") != external+"/new?x=1" {
		t.Fatalf("redirect: %d Location %q", r.Status, r.Header.Get("Location"))
	}
	for path, want := range map[string][]string{
		"/page":      {`href="` + external + `/doc"`, `src="` + external + `/app.js"`, `href="` + external + `/s.css"`},
		"/s.css":     {`url(` + external + `/bg.png)`},
		"/app.js":    {`fetch("` + external + `/api/items")`},
		"/api/items": {`"next":"` + external + `/api/items?page=2"`, strings.ReplaceAll(external, "/", `\/`) + `\/api`},
	} {
		r := get(t, c, external+path)
		if r.Status != 200 {
			t.Fatalf("%s: %d %q", path, r.Status, r.Body)
		}
		for _, w := range want {
			if !strings.Contains(r.Body, w) {
				t.Errorf("%s: body %q lacks %q", path, r.Body, w)
			}
		}
		if strings.Contains(r.Body, internal) {
			t.Errorf("%s: the internal address leaked: %q", path, r.Body)
		}
	}
	r = get(t, c, external+"/page")
	if got := r.Header.Get("Content-Location"); got != external+"/page" {
		t.Errorf("Content-Location %q", got)
	}
	if sc := strings.Join(r.Header["Set-Cookie"], "\n"); strings.Contains(sc, "127.0.0.1") {
		t.Errorf("Set-Cookie still names the internal host: %s", sc)
	}
	// The filter's defaults (examples/wasm/securityheaders), each exactly once.
	for name, want := range map[string]string{
		"X-Frame-Options":         "DENY",
		"Content-Security-Policy": "frame-ancestors 'none'",
	} {
		if got := r.Header.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("%s: got %q, want exactly %q (header %v)", name, got, want, r.Header)
		}
	}
}

// Reloading a filter's config under load fails no request, and the new
// config takes effect.
func TestFilterReloadUnderLoad(t *testing.T) {
	backend := newEchoServer(t, "app")
	base := gwConfig{Groups: []string{"default"}}
	g := newGateway(t, base)
	spec := func(deny string) []appSpec {
		return []appSpec{{Name: "app", Host: "app.localhost", Group: "default", URL: backend.URL,
			Filters: fmt.Sprintf(`[{filter: pathfilter, config: {deny: [%q]}}]`, deny)}}
	}
	catalog := filterCatalog(t)
	g.writeConfigText(catalog + specYAML(base, spec("/first"), g.public, g.tunnel, g.dataDir))
	g.start()
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://app.localhost/ok")
	// pathfilter refuses with 403 and its own text; anything else (a 502,
	// a 503 from a filter that failed to load) is not a denial.
	denied := func(r response) bool {
		return r.Status == http.StatusForbidden && strings.HasPrefix(r.Body, "Forbidden (request id ")
	}
	if r := get(t, c, "https://app.localhost/first"); !denied(r) {
		t.Fatalf("/first: got %d %q, want the filter's 403", r.Status, r.Body)
	}
	if r := get(t, c, "https://app.localhost/second"); r.Status != 200 {
		t.Fatalf("/second is allowed before the reload, got %d %q", r.Status, r.Body)
	}
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
				r, err := do(t, c, mustRequest(t, "https://app.localhost/ok"))
				if err != nil || r.Status != 200 {
					t.Errorf("during the reload: %v %d %q", err, r.Status, r.Body)
					return
				}
				served.Add(1)
			}
		})
	}
	eventually(t, "load before the reload", func() bool { return served.Load() >= 20 })
	g.writeConfigText(catalog + specYAML(base, spec("/second"), g.public, g.tunnel, g.dataDir))
	eventually(t, "the new filter config", func() bool {
		return get(t, c, "https://app.localhost/first").Status == 200 || t.Failed()
	})
	after := served.Load()
	eventually(t, "load after the reload", func() bool { return served.Load() >= after+20 || t.Failed() })
	close(stop)
	wg.Wait()
	if r := get(t, c, "https://app.localhost/second"); !denied(r) {
		t.Fatalf("/second: got %d %q after the reload, want the filter's 403", r.Status, r.Body)
	}
	t.Logf("%d requests across the filter reload, none failed", served.Load())
}
