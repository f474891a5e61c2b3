// Command testsum reads `go test -json` events on standard input and prints
// what a person needs from a test run: each failed test with its output,
// each package's result, every skipped test with its reason, and a closing
// line "tests: N passed, N failed, N skipped". Output a package prints
// outside any test (the hostile suite's table, for one) is passed through.
//
// It exits 1 if a test or a build failed, and also, when CI=true, if any
// test was skipped: the project installs its own labs, so a skip in CI
// means a missing install step, not an optional extra.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output and build-fail events
	Test       string
	Output     string
	Elapsed    float64
}

type key struct{ pkg, test string }

type summary struct {
	out                    io.Writer
	pending                map[key][]string // output of tests still running
	skips                  []string
	passed, failed, skipN  int
	buildFailed, pkgFailed int
}

func main() {
	s := &summary{out: os.Stdout, pending: map[key][]string{}}
	if err := s.read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		os.Exit(1)
	}
	os.Exit(s.finish(os.Getenv("CI") == "true"))
}

func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(s.out, "%s\n", line) // not an event: go vet or the go command speaking
			continue
		}
		s.handle(e)
	}
	return sc.Err()
}

func (s *summary) handle(e event) {
	k := key{e.Package, e.Test}
	switch {
	case e.Action == "build-output":
		fmt.Fprint(s.out, e.Output)
	case e.Action == "build-fail":
		s.buildFailed++
	case e.Test == "" && e.Action == "output":
		if !boilerplate(e.Output) {
			fmt.Fprint(s.out, e.Output)
		}
	case e.Test == "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip"):
		s.packageDone(e)
	case e.Action == "output":
		s.pending[k] = append(s.pending[k], e.Output)
	case e.Action == "pass":
		s.passed++
		delete(s.pending, k)
	case e.Action == "fail":
		s.failed++
		fmt.Fprintf(s.out, "--- FAIL: %s (%s)\n%s", e.Test, e.Package, strings.Join(s.pending[k], ""))
		delete(s.pending, k)
	case e.Action == "skip":
		s.skipN++
		s.skips = append(s.skips, fmt.Sprintf("%s %s: %s", e.Package, e.Test, skipReason(s.pending[k])))
		delete(s.pending, k)
	}
}

func (s *summary) packageDone(e event) {
	switch e.Action {
	case "pass":
		fmt.Fprintf(s.out, "ok  \t%s\t%.1fs\n", e.Package, e.Elapsed)
	case "skip":
		fmt.Fprintf(s.out, "?   \t%s\t[no test files]\n", e.Package)
	default:
		s.pkgFailed++
		fmt.Fprintf(s.out, "FAIL\t%s\t%.1fs\n", e.Package, e.Elapsed)
	}
}

// boilerplate is the go test output that the summary replaces.
func boilerplate(line string) bool {
	t := strings.TrimSpace(line)
	return t == "PASS" || t == "FAIL" || strings.HasPrefix(line, "ok  \t") || strings.HasPrefix(line, "FAIL\t") ||
		strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "testing: warning: no tests to run")
}

// skipReason is the last line a skipped test logged before "--- SKIP".
func skipReason(out []string) string {
	for i := len(out) - 1; i >= 0; i-- {
		t := strings.TrimSpace(out[i])
		if t != "" && !strings.HasPrefix(t, "--- SKIP") && !strings.HasPrefix(t, "=== ") {
			return t
		}
	}
	return "(no reason given)"
}

// finish prints the skips and the closing line and returns the exit code.
func (s *summary) finish(ci bool) int {
	sort.Strings(s.skips)
	if len(s.skips) > 0 {
		fmt.Fprintf(s.out, "\nskipped tests (%d):\n", len(s.skips))
		for _, sk := range s.skips {
			fmt.Fprintln(s.out, "  "+sk)
		}
	}
	fmt.Fprintf(s.out, "tests: %d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipN)
	switch {
	case s.failed > 0 || s.buildFailed > 0 || s.pkgFailed > 0:
		return 1
	case ci && s.skipN > 0:
		fmt.Fprintln(s.out, "testsum: CI=true and tests were skipped: in CI every lab is installed by the project, so a skip is a missing install step")
		return 1
	}
	return 0
}
