package conformance_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance"
)

var broken, badVersion string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "conformance")
	if err != nil {
		panic(err)
	}
	code := 1
	if broken, err = conformance.BuildBinary("./testdata/broken", dir); err == nil {
		badVersion, err = conformance.BuildBinary("./testdata/badversion", dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	checkRunsAlone   = "refuses to run without a host"
	checkVersion     = "a host of another protocol version refuses it"
	checkUnknownKey  = "config: an unknown key is refused, naming it"
	checkEmpty       = "config: an empty config is accepted or refused cleanly"
	checkHandshake   = "handshake and config"
	checkNormal      = "answers a well-formed call within its deadline"
	checkDeadline    = "a call with a 1 ms deadline returns promptly"
	checkGarbage     = "garbage and oversized input: no crash, no panic, no hang"
	checkConcurrency = "256 parallel calls all succeed"
	checkShutdown    = "exits after Close and leaves no process"
)

// Each broken plug-in fails exactly the checks its fault breaks, and the
// report says why.
func TestKitFindsBrokenPlugins(t *testing.T) {
	notRun := []string{checkNormal, checkDeadline, "a cancelled call returns promptly", checkGarbage, checkConcurrency, checkShutdown}
	for _, tc := range []struct {
		name   string
		bin    *string
		mode   string
		failed []string
		why    map[string]string // check → text its failure must contain
	}{
		{name: "well behaved", bin: &broken, mode: "ok"},
		{name: "accepts unknown keys", bin: &broken, mode: "lenient", failed: []string{checkUnknownKey},
			why: map[string]string{checkUnknownKey: `Configure accepted the unknown key "conformance_unknown_key"`}},
		{name: "panics in Configure", bin: &broken, mode: "panic-configure",
			failed: append([]string{checkHandshake}, notRun...),
			why:    map[string]string{checkHandshake: "plug-in panicked: Configure: nil map in Configure", checkGarbage: "not run"}},
		{name: "ignores deadlines", bin: &broken, mode: "ignore-deadline",
			failed: []string{checkNormal, checkDeadline, checkGarbage, checkConcurrency},
			why: map[string]string{checkNormal: "got no answer within 500ms: the plug-in must answer quickly and honour its context's deadline",
				checkGarbage: "hung (no answer within 500ms) on an empty request"}},
		{name: "panics on garbage", bin: &broken, mode: "panic-garbage", failed: []string{checkGarbage},
			why: map[string]string{checkGarbage: "panicked on a 1 MiB header value: " + `plug-in "broken" (app "conformance"): Inject: plug-in panicked: Inject: header value too long`}},
		{name: "copies line breaks into headers", bin: &broken, mode: "header-injection", failed: []string{checkGarbage},
			why: map[string]string{checkGarbage: `returned an invalid result on line breaks in the identity: plug-in "broken" (app "conformance"): Inject failed: Inject returned an invalid result: Set: header "X-User": value has a control byte`}},
		{name: "crashes on garbage", bin: &broken, mode: "crash-garbage", failed: []string{checkGarbage, checkConcurrency, checkShutdown},
			why: map[string]string{checkGarbage: "crashed on invalid UTF-8 in the identity", checkShutdown: "no process to stop"}},
		{name: "other protocol version", bin: &badVersion, failed: append([]string{checkUnknownKey, checkEmpty, checkHandshake}, notRun...),
			why: map[string]string{checkHandshake: "speaks protocol version 2 and this host speaks 1; rebuild it against the sdk"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			results := conformance.Check(ctx, *tc.bin, conformance.Options{
				Kind: conformance.Injector, Config: map[string]any{"mode": tc.mode}, CallTimeout: 500 * time.Millisecond,
			})
			var report bytes.Buffer
			nfailed := conformance.Report(&report, results)
			var failed []string
			for _, r := range results {
				if !r.Passed() {
					failed = append(failed, r.Check)
					if want, ok := tc.why[r.Check]; ok && !strings.Contains(r.Err.Error(), want) {
						t.Errorf("%s failed with %q, want it to say %q", r.Check, r.Err, want)
					}
				}
			}
			slices.Sort(failed)
			want := slices.Sorted(slices.Values(tc.failed))
			if !slices.Equal(failed, want) || nfailed != len(want) {
				t.Errorf("failed checks %q\nwant %q\nreport:\n%s", failed, want, report.String())
			}
			for _, c := range tc.failed {
				if !strings.Contains(report.String(), "FAIL  "+c+"\n") {
					t.Errorf("report lacks a FAIL line for %q:\n%s", c, report.String())
				}
			}
			if !strings.Contains(report.String(), fmt.Sprintf("%d checks: %d passed, %d failed\n", len(results), len(results)-len(want), len(want))) {
				t.Errorf("report lacks its summary:\n%s", report.String())
			}
		})
	}
}

func TestKitReportsAMissingBinary(t *testing.T) {
	results := conformance.Check(context.Background(), filepath.Join(t.TempDir(), "nothing"), conformance.Options{Kind: conformance.Injector})
	if len(results) != 1 || results[0].Passed() || !strings.Contains(results[0].Err.Error(), "reading the plug-in binary") {
		t.Fatalf("got %+v", results)
	}
}
