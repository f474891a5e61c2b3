package main

import (
	"strings"
	"testing"
)

func run(t *testing.T, ci bool, lines ...string) (string, int) {
	t.Helper()
	var out strings.Builder
	s := &summary{out: &out, pending: map[key][]string{}}
	if err := s.read(strings.NewReader(strings.Join(lines, "\n"))); err != nil {
		t.Fatal(err)
	}
	code := s.finish(ci)
	return out.String(), code
}

// A skip is listed with its reason, and fails the run only in CI.
func TestSkipFailsOnlyInCI(t *testing.T) {
	events := []string{
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"pass","Package":"p","Test":"TestA"}`,
		`{"Action":"run","Package":"p","Test":"TestB"}`,
		`{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: lab X is off\n"}`,
		`{"Action":"output","Package":"p","Test":"TestB","Output":"--- SKIP: TestB (0.00s)\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestB"}`,
		`{"Action":"pass","Package":"p","Elapsed":0.5}`,
	}
	out, code := run(t, false, events...)
	if code != 0 || !strings.Contains(out, "p TestB: b_test.go:9: lab X is off") || !strings.Contains(out, "tests: 1 passed, 0 failed, 1 skipped") {
		t.Fatalf("outside CI: exit %d, output:\n%s", code, out)
	}
	if _, code := run(t, true, events...); code != 1 {
		t.Fatalf("CI=true with a skip: exit %d, want 1", code)
	}
}

// A failed test prints its output and fails the run; a package's own
// output (a table printed by TestMain) passes through, even lines that
// start with "ok"; go test's own result lines do not.
func TestFailuresAndPackageOutput(t *testing.T) {
	out, code := run(t, false,
		`{"Action":"output","Package":"p","Test":"TestC","Output":"    c_test.go:3: boom\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestC"}`,
		`{"Action":"output","Package":"p","Output":"ok   | path | case | expected | observed\n"}`,
		`{"Action":"output","Package":"p","Output":"FAIL\n"}`,
		`{"Action":"fail","Package":"p","Elapsed":1}`,
	)
	for _, want := range []string{"--- FAIL: TestC (p)\n    c_test.go:3: boom", "ok   | path | case", "FAIL\tp\t1.0s", "tests: 0 passed, 1 failed, 0 skipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
}
