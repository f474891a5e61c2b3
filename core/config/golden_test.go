package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the testdata/*/*.golden files")

// TestBadGolden loads each testdata/bad/*.yaml and compares the error text
// with the matching .golden file. Files are loaded by relative path, so the
// messages (and goldens) do not depend on where the repository lives.
func TestBadGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			c, err := Load(file)
			if err == nil {
				t.Fatalf("Load succeeded, want errors; config: %+v", c)
			}
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load error is %T, want *Errors: %v", err, err)
			}
			if len(errs.List) == 0 {
				t.Fatal("*Errors has an empty List")
			}
			if !slices.IsSortedFunc(errs.List, func(a, b FieldError) int {
				return cmpInts(a.Line, b.Line, a.Column, b.Column)
			}) {
				t.Errorf("errors are not sorted by position:\n%v", err)
			}
			for _, fe := range errs.List {
				if fe.File != file {
					t.Errorf("FieldError.File = %q, want %q", fe.File, file)
				}
			}
			checkGolden(t, strings.TrimSuffix(file, ".yaml")+".golden", err.Error()+"\n")
		})
	}
}

// TestGoodGolden loads each testdata/good/*.yaml and compares the config,
// with defaults applied and normalised, with the matching .golden file.
func TestGoodGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/good/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			c, err := Load(file)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			checkGolden(t, strings.TrimSuffix(file, ".yaml")+".golden", render(t, c))
		})
	}
}

// render prints c as YAML plus the fields YAML leaves out (Path, CA), with
// absolute paths below the package directory made relative to it.
func render(t *testing.T, c *Config) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# path: %s\n", c.Path)
	for _, w := range c.Warnings {
		fmt.Fprintf(&b, "# warning: %s\n", w.Error())
	}
	for i, a := range c.Apps {
		if a.Backend.CA != nil {
			fmt.Fprintf(&b, "# apps[%d].backend.ca: %d bytes\n", i, len(a.Backend.CA))
		}
	}
	b.Write(out)
	return strings.ReplaceAll(b.String(), wd+string(filepath.Separator), "")
}

func checkGolden(t *testing.T, golden, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test -update to accept):\n--- got\n%s--- want\n%s", golden, got, want)
	}
}

func cmpInts(a1, b1, a2, b2 int) int {
	if a1 != b1 {
		return a1 - b1
	}
	return a2 - b2
}
