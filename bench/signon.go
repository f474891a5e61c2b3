package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"time"
)

// The sign-on scenario: the same demo app published a second time as
// app "signed", with sign-in by the custom-SSO example and header sign-on
// (identity headers and a signed JWT) at the connector. The load carries
// a session cookie, as a signed-in browser does, so it measures what a
// signed-in request costs over a passthrough one: session check and
// envelope at the gateway, envelope check and the Inject plug-in call at
// the connector.

const ssoKey = "bench-api-key"

// signedConfig is appended to the config: the plug-in catalog and the app.
func signedConfig(ssoBin string, appPort int, kcdApps string) (string, error) {
	b, err := os.ReadFile(ssoBin)
	if err != nil {
		return "", fmt.Errorf("custom-SSO plug-in: %w", err)
	}
	bin := sha256.Sum256(b)
	key := sha256.Sum256([]byte(ssoKey))
	return fmt.Sprintf(`  - name: signed
    host: signed.localhost
    group: bench
    auth: {plugin: apikeys, config: {keys: [{sha256: %s, subject: bench, groups: [staff]}]}}
    sign_on: {plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}", X-Remote-Groups: "{{join .Groups}}"}, jwt: {}}}
    backend:
      url: http://127.0.0.1:%d
%s
plugins:
  - {name: apikeys, path: %q, sha256: %s}
  - {name: header, builtin: true}
  - {name: kcd, builtin: true}
`, hex.EncodeToString(key[:]), appPort, kcdApps, ssoBin, hex.EncodeToString(bin[:])), nil
}

// signIn signs in once with the API key and returns the target with the
// session cookie it got.
func signIn(t *target) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", t.base+"/bytes/100", nil)
	if err != nil {
		return err
	}
	req.Host = t.host
	req.Header.Set("X-Api-Key", ssoKey)
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-gatehouse.signed" {
			t.header = http.Header{"Cookie": {c.Name + "=" + c.Value}}
			return t.probe("/bytes/100", 100)
		}
	}
	return fmt.Errorf("signing in to %s: %s and no session cookie", t.host, resp.Status)
}

// signOnRuns measures the sign-on scenario when there is one: passthrough
// and signed-in runs back to back, in rounds, best of each, so the ratio
// compares like with like on a noisy machine. ratio_signon_header is the
// headline (header sign-on against passthrough, 100 B);
// ratio_signon_vs_passthrough is the same figure under its older name.
func signOnRuns(e *env, small loadSpec, fig figures, load func(*target, loadSpec) (loadResult, error), say func(string, ...any)) error {
	if e.signed == nil {
		return nil
	}
	for range 2 {
		for _, t := range []*target{e.gh, e.signed} {
			say("%s: small, signed-in=%v", t.name, t == e.signed)
			r, err := load(t, small)
			if err != nil {
				return fmt.Errorf("%s sign-on: %w", t.name, err)
			}
			k := map[*target]string{e.gh: "gh_pass_", e.signed: "gh_signon_"}[t] + "small_"
			if r.rps > fig[k+"rps"] {
				fig[k+"rps"], fig[k+"p50_ms"], fig[k+"p99_ms"] = r.rps, ms(r.p50), ms(r.p99)
			}
		}
	}
	fig["ratio_signon_header"] = fig["gh_signon_small_rps"] / fig["gh_pass_small_rps"]
	fig["ratio_signon_vs_passthrough"] = fig["ratio_signon_header"]
	return nil
}

// reportSignOn prints the sign-on scenario's figures, if it ran.
func reportSignOn(f figures) {
	if f["gh_signon_small_rps"] == 0 {
		return
	}
	fmt.Printf("Signed-in app with header sign-on (session cookie; identity headers + JWT injected at the connector, reused per session), 100 B:\n"+
		"  passthrough %.0f req/s (p50 %.2f ms, p99 %.2f ms); signed in %.0f req/s (p50 %.2f ms, p99 %.2f ms): ratio_signon_header=%.3f\n",
		f["gh_pass_small_rps"], f["gh_pass_small_p50_ms"], f["gh_pass_small_p99_ms"],
		f["gh_signon_small_rps"], f["gh_signon_small_p50_ms"], f["gh_signon_small_p99_ms"], f["ratio_signon_header"])
}
