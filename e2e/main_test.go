// Package e2e runs Gatehouse end to end: real gateway and connector
// processes, built once by TestMain, talking real TLS on loopback to an
// in-process backend. Every test starts its own processes on ports picked
// at run time and kills them when it ends.
package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Paths of the binaries TestMain builds.
var (
	gatehouseBin string
	connectorBin string
	customSSOBin string // examples/custom-sso, a third-party plug-in
	moduleRoot   string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if moduleRoot, err = findModuleRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "gatehouse-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	// examples/custom-sso is a module of its own, built as its author would.
	for _, args := range [][]string{
		{"build", "-o", dir + string(filepath.Separator), "./cmd/gatehouse", "./cmd/gatehouse-connector"},
		{"build", "-C", "examples/custom-sso", "-o", filepath.Join(dir, "custom-sso"), "."},
	} {
		build := exec.Command(goTool(), args...)
		build.Dir = moduleRoot
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: building the binaries:", err)
			return 1
		}
	}
	gatehouseBin = filepath.Join(dir, "gatehouse")
	connectorBin = filepath.Join(dir, "gatehouse-connector")
	customSSOBin = filepath.Join(dir, "custom-sso")
	code := m.Run()
	printHostileTable(os.Stdout)
	return code
}

// findModuleRoot walks up from the working directory to the go.mod.
func findModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// goTool is the go command that runs this test.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}
