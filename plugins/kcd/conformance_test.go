package kcd

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance"
)

// With the lab, the plug-in passes the whole kit. The kit's sample user is
// alice@EXAMPLE.COM: her user part is alice in the lab's realm.
func TestConformance(t *testing.T) {
	needLab(t)
	conformance.Run(t, bin, conformance.Options{Kind: conformance.Injector,
		Config: labConfig(t, "upn_domains", []any{"example.com"})})
}

// Without a KDC, the checks that need none pass, and a well-formed call
// fails with an error that names the KDC that did not answer.
func TestConformanceWithoutKDC(t *testing.T) {
	kt, krb5 := offlineFiles(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	results := conformance.Check(ctx, bin, conformance.Options{Kind: conformance.Injector, CallTimeout: 5 * time.Second,
		Config: map[string]any{"spn": "HTTP/intranet.example.test", "principal": "svc", "keytab": kt, "krb5_conf": krb5,
			"identity": "upn_user", "upn_domains": []any{"example.com"}}})
	var report bytes.Buffer
	conformance.Report(&report, results)
	mustPass := []string{
		"refuses to run without a host",
		"a host of another protocol version refuses it",
		"config: an unknown key is refused, naming it",
		"config: an empty config is accepted or refused cleanly",
		"handshake and config",
		"a cancelled call returns promptly",
		"exits after Close and leaves no process",
	}
	const kdcDown = "no KDC of realm EXAMPLE.TEST answered (127.0.0.1:1:"
	seen := 0
	for _, r := range results {
		switch {
		case contains(mustPass, r.Check):
			seen++
			if !r.Passed() {
				t.Errorf("%s: %v", r.Check, r.Err)
			}
		case r.Check == "answers a well-formed call within its deadline":
			seen++
			if r.Passed() || !strings.Contains(r.Err.Error(), kdcDown) {
				t.Errorf("%s: got %v, want a failure naming the KDC", r.Check, r.Err)
			}
		case r.Check == "garbage and oversized input: no crash, no panic, no hang":
			// Garbage gets errors, never a crash, panic or hang: the only
			// problem is the well-formed call at the end, for want of a KDC.
			seen++
			if r.Passed() || strings.Count(r.Err.Error(), "\n")+1 != 1 ||
				!strings.HasPrefix(r.Err.Error(), "a well-formed call after the garbage failed") || !strings.Contains(r.Err.Error(), kdcDown) {
				t.Errorf("%s: %v", r.Check, r.Err)
			}
		}
	}
	if seen != len(mustPass)+2 {
		t.Errorf("the kit ran %d of the %d checks looked for:\n%s", seen, len(mustPass)+2, report.String())
	}
	if t.Failed() {
		t.Log(report.String())
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
