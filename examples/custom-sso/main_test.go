package main

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

	"github.com/gatehouse/gatehouse/conformance"
	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/sdk"
)

func hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

var testConfig = map[string]any{
	"header": "X-Api-Key",
	"keys": []any{
		map[string]any{"sha256": hash("s3cret-build-bot"), "subject": "build-bot", "groups": []any{"ci"}},
		map[string]any{"sha256": hash("s3cret-backup"), "subject": "backup"},
	},
}

// bin is this plug-in, built once for the package's tests.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "custom-sso")
	if err != nil {
		panic(err)
	}
	code := 1
	if bin, err = conformance.BuildBinary(".", dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// open opens the plug-in binary for app "reports" with cfg.
func open(t *testing.T, bin string, cfg map[string]any) (*pluginhost.Authenticator, error) {
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	a := pluginhost.Host{}.Authenticator(pluginhost.Entry{Name: "custom-sso", Path: bin, SHA256: hex.EncodeToString(sum[:])},
		pluginhost.Use{App: "reports", Config: cfg})
	t.Cleanup(func() { a.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return a, a.Open(ctx)
}

func TestSignIn(t *testing.T) {
	a, err := open(t, bin, testConfig)
	if err != nil {
		t.Fatal(err)
	}
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
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			res, err := a.Authenticate(ctx, sdk.AuthRequest{Method: "GET", URL: "https://reports.example.com/", Header: tc.header})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tc.outcome || tc.check != nil && !tc.check(res) {
				t.Fatalf("got %+v, want outcome %s", res, tc.outcome)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  map[string]any
		want string
	}{
		{"no keys", map[string]any{}, "keys: at least one key is required"},
		{"bad hash", map[string]any{"keys": []any{map[string]any{"sha256": "abc", "subject": "x"}}}, "keys[0].sha256: want the 64 hex digits"},
		{"no subject", map[string]any{"keys": []any{map[string]any{"sha256": hash("k")}}}, "keys[0].subject: is required"},
		{"plain key by mistake", map[string]any{"keys": []any{map[string]any{"key": "k", "subject": "x"}}}, "keys[0].key: unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := open(t, bin, tc.cfg)
			var ce *pluginhost.ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `app "reports": plug-in "custom-sso"`) {
				t.Fatalf("got %v, want a config error containing %q", err, tc.want)
			}
		})
	}
}

func TestConformance(t *testing.T) {
	conformance.RunAuthenticator(t, bin, testConfig)
}
