package oidc_test

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance"
)

// With its provider running, the plug-in passes the whole kit, bearer
// tokens on.
func TestConformance(t *testing.T) {
	conformance.RunAuthenticator(t, bin, opConfig(t, "bearer", map[string]any{"audience": "https://api.example.test"}))
}

// With its provider down, every check that needs no provider passes, and
// a browser's sign-in fails with an error that names the provider (the
// gateway answers 503), never with a crash, a hang or a made-up answer.
func TestConformanceWithoutProvider(t *testing.T) {
	issuer := "http://127.0.0.1:" + strconv.Itoa(freePort(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	results := conformance.Check(ctx, bin, conformance.Options{Kind: conformance.Authenticator,
		Config: map[string]any{"issuer": issuer, "client_id": "gateway", "discovery_timeout": "1s"}})
	var report bytes.Buffer
	conformance.Report(&report, results)
	down := "discovering the OpenID provider " + issuer
	needProvider := []string{
		"answers a well-formed call within its deadline",
		"a call with a 1 ms deadline returns promptly", // promptly, but with the provider's error
		"256 parallel calls all succeed",
	}
	seen := 0
	for _, r := range results {
		switch {
		case slices.Contains(needProvider, r.Check):
			seen++
			if r.Passed() || !strings.Contains(r.Err.Error(), down) {
				t.Errorf("%s: got %v, want a failure naming the provider", r.Check, r.Err)
			}
		case r.Check == "garbage and oversized input: no crash, no panic, no hang":
			// Garbage gets challenges or errors, never a crash, panic or
			// hang: the only problem is the well-formed call at the end.
			seen++
			if r.Passed() || strings.Count(r.Err.Error(), "\n") != 0 ||
				!strings.HasPrefix(r.Err.Error(), "a well-formed call after the garbage failed") || !strings.Contains(r.Err.Error(), down) {
				t.Errorf("%s: %v", r.Check, r.Err)
			}
		default:
			seen++
			if !r.Passed() {
				t.Errorf("%s: %v", r.Check, r.Err)
			}
		}
	}
	if seen != 11 {
		t.Errorf("the kit ran %d checks, want 11", seen)
	}
	if t.Failed() {
		t.Log(report.String())
	}
}
