package conformance

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Build compiles the main package pkg (an import path or a directory) into
// a temporary directory of t and returns the binary's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	bin, err := BuildBinary(pkg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// BuildBinary compiles the main package pkg into dir with the go command
// that runs the tests and returns the binary's path.
func BuildBinary(pkg, dir string) (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, filepath.Base(strings.TrimSuffix(pkg, "/")))
	if bin == filepath.Join(dir, ".") {
		wd, _ := os.Getwd()
		bin = filepath.Join(dir, filepath.Base(wd))
	}
	out, err := exec.Command(gobin, "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building plug-in %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}
