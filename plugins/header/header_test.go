package header_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance"
	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/pluginhost/pluginhosttest"
	"github.com/gatehouse/gatehouse/sdk"
)

// plugin is the plug-in binary, built once for the package's tests, and
// bin its path.
var (
	plugin pluginhost.Entry
	bin    string
)

func TestMain(m *testing.M) {
	var remove func()
	var err error
	plugin, remove, err = pluginhosttest.Build("header", "", "./cmd/gatehouse-plugin-header")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = plugin.Path
	code := m.Run()
	remove()
	os.Exit(code)
}

// open starts the plug-in for app "hr" with cfg and key.
func open(t testing.TB, cfg map[string]any, keys ...sdk.SigningKey) (*pluginhost.Injector, error) {
	return pluginhosttest.Injector(t, pluginhost.Host{}, plugin, pluginhost.Use{App: "hr", Config: cfg, Keys: keys})
}

var alice = sdk.Identity{Subject: "00u1", UPN: "alice@CORP.EXAMPLE", Email: "alice@example.com",
	Groups: []string{"staff", "hr admins"}, Claims: map[string]any{"dept": "HR"}}

func TestInjectsTemplatedHeaders(t *testing.T) {
	inj, err := open(t, map[string]any{
		"headers": map[string]any{
			"X-Remote-User":   "{{.UPN}}",
			"X-Remote-Groups": "{{join .Groups}}",
			"X-Dept":          `{{.Claim "dept"}}`,
			"X-Name":          "{{.Name}}", // empty for alice: left out
		},
		"group_separator": ";",
		"remove":          []any{"X-Forwarded-User", "Remote-User"},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"X-Remote-User": {"admin"}, "X-Name": {"spoofed"}, "Remote-User": {"root"}, "X-Forwarded-User": {"x"}, "Accept": {"*/*"}}
	res, err := inj.Inject(context.Background(), sdk.InjectRequest{Identity: alice, Method: "GET", URL: "http://hr.internal/", Header: h})
	if err != nil {
		t.Fatal(err)
	}
	res.Apply(h)
	want := http.Header{"X-Remote-User": {"alice@CORP.EXAMPLE"}, "X-Remote-Groups": {"staff;hr admins"}, "X-Dept": {"HR"}, "Accept": {"*/*"}}
	if fmt.Sprint(h) != fmt.Sprint(want) {
		t.Fatalf("headers after Inject:\n got %v\nwant %v", h, want)
	}
}

// The assertion is an ES256 JWT that verifies against the JWKS the gateway
// would publish for the same key, with the claims the backend needs.
func TestSignsAssertionVerifiableWithJWKS(t *testing.T) {
	key, err := sdk.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	inj, err := open(t, map[string]any{"jwt": map[string]any{"issuer": "https://gw.example.com", "ttl": "60s"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Unix()
	res, err := inj.Inject(context.Background(), sdk.InjectRequest{Identity: alice,
		Header: http.Header{"X-Gatehouse-Assertion": {"forged"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !contains(res.Remove, "X-Gatehouse-Assertion") {
		t.Errorf("Remove %v does not drop a client's copy of the assertion header", res.Remove)
	}
	tok := res.Set.Get("X-Gatehouse-Assertion")
	jwks, err := sdk.JWKS(key)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Iss, Aud, Sub, Email string
		Groups               []string
		Iat, Exp             int64
	}
	kid := verifyES256(t, tok, jwks, &claims)
	if kid != key.ID {
		t.Errorf("kid %q, want %q", kid, key.ID)
	}
	if claims.Iss != "https://gw.example.com" || claims.Aud != "hr" || claims.Sub != "00u1" || claims.Email != "alice@example.com" ||
		strings.Join(claims.Groups, ",") != "staff,hr admins" {
		t.Errorf("claims %+v", claims)
	}
	if claims.Exp-claims.Iat != 60 || claims.Iat < before || claims.Iat > time.Now().Unix() {
		t.Errorf("iat %d exp %d: want a 60 s assertion issued now", claims.Iat, claims.Exp)
	}
}

// verifyES256 checks tok's signature with the JWKS key named by its kid,
// decodes its claims into v and returns the kid.
func verifyES256(t *testing.T, tok string, jwks []byte, v any) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a compact JWS", tok)
	}
	var hdr struct{ Alg, Typ, Kid string }
	decodeSeg(t, parts[0], &hdr)
	if hdr.Alg != "ES256" || hdr.Typ != "JWT" {
		t.Fatalf("JOSE header %+v", hdr)
	}
	var set struct{ Keys []struct{ Kid, X, Y string } }
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if k.Kid != hdr.Kid {
			continue
		}
		pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: segInt(t, k.X), Y: segInt(t, k.Y)}
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil || len(sig) != 64 {
			t.Fatalf("signature: %v (%d bytes)", err, len(sig))
		}
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			t.Fatal("the signature does not verify with the JWKS key")
		}
		decodeSeg(t, parts[1], v)
		return hdr.Kid
	}
	t.Fatalf("kid %q is not in the JWKS %s", hdr.Kid, jwks)
	return ""
}

func decodeSeg(t *testing.T, seg string, v any) {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func segInt(t *testing.T, s string) *big.Int {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return new(big.Int).SetBytes(b)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// A group name with a line break must not become a header of its own.
func TestRefusesLineBreaksInValues(t *testing.T) {
	inj, err := open(t, map[string]any{"headers": map[string]any{"X-Groups": "{{join .Groups}}"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = inj.Inject(context.Background(), sdk.InjectRequest{Identity: sdk.Identity{Subject: "m", Groups: []string{"a\r\nX-Admin: yes"}}})
	if err == nil || !strings.Contains(err.Error(), "line break") {
		t.Fatalf("got %v, want a refusal naming the line break", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  map[string]any
		keys bool
		want string
	}{
		{"nothing to do", map[string]any{}, false, "nothing to inject"},
		{"unknown key", map[string]any{"headers": map[string]any{"X-U": "{{.UPN}}"}, "header": "x"}, false, "header: unknown key"},
		{"bad template", map[string]any{"headers": map[string]any{"X-U": "{{.UPN"}}, false, "headers.X-U: bad template"},
		{"misspelt field", map[string]any{"headers": map[string]any{"X-U": "{{.Usr}}"}}, false, "headers.X-U: template fails on a sample identity"},
		{"bad header name", map[string]any{"headers": map[string]any{"X U": "x"}}, false, "headers.X U: not a valid HTTP header name"},
		{"bad remove", map[string]any{"headers": map[string]any{"X-U": "x"}, "remove": []any{"ok", "no:pe"}}, false, "remove[1]"},
		{"jwt without key", map[string]any{"jwt": map[string]any{}}, false, "jwt: the host passed no signing key"},
		{"jwt ttl", map[string]any{"jwt": map[string]any{"ttl": "1h"}}, true, "jwt.ttl: must be between 1s and 10m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var keys []sdk.SigningKey
			if tc.keys {
				k, _ := sdk.NewSigningKey()
				keys = append(keys, k)
			}
			_, err := open(t, tc.cfg, keys...)
			var ce *pluginhost.ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `app "hr": plug-in "header"`) {
				t.Fatalf("got %v, want a config error for app hr, plug-in header, containing %q", err, tc.want)
			}
		})
	}
}

func TestConformance(t *testing.T) {
	conformance.RunInjector(t, bin, map[string]any{
		"headers": map[string]any{"X-Remote-User": "{{.UPN}}", "X-Remote-Groups": "{{join .Groups}}"},
		"jwt":     map[string]any{"issuer": "https://gw.example.com"},
	})
}
