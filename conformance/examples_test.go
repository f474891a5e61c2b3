package conformance_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance"
	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/pluginhost/pluginhosttest"
	"github.com/gatehouse/gatehouse/sdk"
)

// The example plug-ins are written as a third party writes one: each
// directory of examples/ with a go.mod is a module of its own that
// requires the SDK module and nothing else of this repository. These
// tests build them that way (go build in their directory) and run them
// over the real protocol.

const (
	mainModule = "github.com/gatehouse/gatehouse"
	sdkModule  = mainModule + "/sdk"
)

// exampleModules are the directories of examples/ that hold a go.mod.
func exampleModules(t *testing.T) []string {
	t.Helper()
	mods, err := filepath.Glob("../examples/*/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, m := range mods {
		dirs = append(dirs, filepath.Dir(m))
	}
	if !strings.Contains(strings.Join(dirs, " "), "custom-sso") {
		t.Fatalf("examples/custom-sso/go.mod not found (found %q): the example must be a module of its own", dirs)
	}
	return dirs
}

// goIn runs the go command in dir, outside any workspace, and returns its
// standard output.
func goIn(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(pluginhosttest.GoTool(), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return out
}

// An example plug-in builds as a separate module that depends on the SDK
// module alone: its build list names the SDK module and not the gateway's,
// every package of this repository it links is the SDK's, and go build in
// its directory succeeds.
func TestExamplesAreSeparateModulesOnTheSDKAlone(t *testing.T) {
	for _, dir := range exampleModules(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			out := goIn(t, dir, "list", "-m", "-json=Path,Main", "all")
			var own string
			sawSDK := false
			for dec := json.NewDecoder(strings.NewReader(string(out))); dec.More(); {
				var m struct {
					Path string
					Main bool
				}
				if err := dec.Decode(&m); err != nil {
					t.Fatal(err)
				}
				switch {
				case m.Main:
					own = m.Path
				case m.Path == sdkModule:
					sawSDK = true
				case m.Path == mainModule || strings.HasPrefix(m.Path, mainModule+"/"):
					t.Errorf("its build list holds %s: an example depends on the SDK module alone", m.Path)
				}
			}
			if own == "" || own == mainModule {
				t.Fatalf("its main module is %q: it is not a module of its own (go list ran in the repository's module)", own)
			}
			if !sawSDK {
				t.Errorf("its build list does not name %s:\n%s", sdkModule, out)
			}
			pkgs := strings.Fields(string(goIn(t, dir, "list", "-deps", "-f", "{{.ImportPath}}", "./...")))
			if len(pkgs) < 20 {
				t.Fatalf("go list -deps listed only %d packages; the check saw nothing", len(pkgs))
			}
			for _, p := range pkgs {
				if strings.HasPrefix(p, mainModule+"/") && !strings.HasPrefix(p, sdkModule+"/") && p != sdkModule &&
					p != own && !strings.HasPrefix(p, own+"/") {
					t.Errorf("it links %s, which is not in the SDK module", p)
				}
			}
			goIn(t, dir, "build", "-o", t.TempDir(), "./...")
		})
	}
}

// customSSO builds examples/custom-sso as its author would, in its own
// module, and returns its catalog entry.
func customSSO(t *testing.T) pluginhost.Entry {
	t.Helper()
	e, remove, err := pluginhosttest.Build("custom-sso", "../examples/custom-sso", ".")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(remove)
	return e
}

func keyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

var customSSOConfig = map[string]any{
	"header": "X-Api-Key",
	"keys": []any{
		map[string]any{"sha256": keyHash("s3cret-build-bot"), "subject": "build-bot", "groups": []any{"ci"}},
		map[string]any{"sha256": keyHash("s3cret-backup"), "subject": "backup"},
	},
}

// examples/custom-sso over the real protocol: its sign-in behaviour, its
// config errors, and the kit.
func TestExampleCustomSSO(t *testing.T) {
	e := customSSO(t)
	use := func(cfg map[string]any) pluginhost.Use { return pluginhost.Use{App: "reports", Config: cfg} }
	t.Run("sign-in", func(t *testing.T) {
		a := pluginhosttest.MustAuthenticator(t, pluginhost.Host{}, e, use(customSSOConfig))
		for _, tc := range []struct {
			name    string
			header  http.Header
			outcome sdk.Outcome
			check   func(sdk.AuthResult) bool
		}{
			{"no key", nil, sdk.OutcomeNotMine, nil},
			{"known key", http.Header{"X-Api-Key": {"s3cret-build-bot"}}, sdk.OutcomeAuthenticated, func(r sdk.AuthResult) bool {
				return r.Identity.Subject == "build-bot" && strings.Join(r.Identity.Groups, ",") == "ci" && r.Identity.AMR[0] == "apikey"
			}},
			{"another known key", http.Header{"X-Api-Key": {"s3cret-backup"}}, sdk.OutcomeAuthenticated, func(r sdk.AuthResult) bool {
				return r.Identity.Subject == "backup"
			}},
			{"unknown key", http.Header{"X-Api-Key": {"guess"}}, sdk.OutcomeChallenge, func(r sdk.AuthResult) bool {
				return r.Status == 401 && r.Header.Get("WWW-Authenticate") == `ApiKey header="X-Api-Key"` && r.Reason == "unknown API key"
			}},
			{"key in another header", http.Header{"Authorization": {"s3cret-backup"}}, sdk.OutcomeNotMine, nil},
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			res, err := a.Authenticate(ctx, sdk.AuthRequest{Method: "GET", URL: "https://reports.example.com/", Header: tc.header})
			cancel()
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if res.Outcome != tc.outcome || tc.check != nil && !tc.check(res) {
				t.Errorf("%s: got %+v, want outcome %s", tc.name, res, tc.outcome)
			}
		}
	})
	t.Run("config errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			cfg  map[string]any
			want string
		}{
			{"no keys", map[string]any{}, "keys: at least one key is required"},
			{"bad hash", map[string]any{"keys": []any{map[string]any{"sha256": "abc", "subject": "x"}}}, "keys[0].sha256: want the 64 hex digits"},
			{"no subject", map[string]any{"keys": []any{map[string]any{"sha256": keyHash("k")}}}, "keys[0].subject: is required"},
			{"plain key by mistake", map[string]any{"keys": []any{map[string]any{"key": "k", "subject": "x"}}}, "keys[0].key: unknown key"},
		} {
			_, err := pluginhosttest.Authenticator(t, pluginhost.Host{}, e, use(tc.cfg))
			var ce *pluginhost.ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `app "reports": plug-in "custom-sso"`) {
				t.Errorf("%s: got %v, want a config error containing %q", tc.name, err, tc.want)
			}
		}
	})
	t.Run("kit", func(t *testing.T) {
		conformance.RunAuthenticator(t, e.Path, customSSOConfig)
	})
}

// examples/custom-signon over the real protocol: its config errors, and
// the kit (its end-to-end run at a connector is e2e/custom_signon_test.go).
func TestExampleCustomSignOn(t *testing.T) {
	e, remove, err := pluginhosttest.Build("custom-signon", "../examples/custom-signon", ".")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(remove)
	keyFile := filepath.Join(t.TempDir(), "tenant.key")
	if err := os.WriteFile(keyFile, []byte("0123456789abcdef0123456789abcdef-tenant-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := map[string]any{"tenant": "acme", "key_file": keyFile}
	t.Run("config errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			cfg  map[string]any
			want string
		}{
			{"no tenant", map[string]any{"key_file": keyFile}, "tenant"},
			{"no key file", map[string]any{"tenant": "acme"}, "key_file"},
			{"missing key file", map[string]any{"tenant": "acme", "key_file": keyFile + ".missing"}, "key_file"},
		} {
			_, err := pluginhosttest.Injector(t, pluginhost.Host{}, e, pluginhost.Use{App: "crm", Config: tc.cfg})
			var ce *pluginhost.ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `app "crm"`) {
				t.Errorf("%s: got %v, want a config error naming app \"crm\" and %q", tc.name, err, tc.want)
			}
		}
	})
	t.Run("kit", func(t *testing.T) {
		conformance.RunInjector(t, e.Path, good)
	})
}
