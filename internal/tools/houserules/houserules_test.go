// Package houserules holds the tests that keep the repository's house
// rules: no runtime Go file over 400 lines and no function over 80 lines,
// outside bench/, test labs (directories named *lab, e2e/), tests, and
// third_party/ (upstream code kept in-tree with its patches; its own style).
package houserules

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	maxFileLines = 400
	maxFuncLines = 80
)

// exempt reports whether a path (relative to the module root, with "/")
// is outside the rules: tests, benchmarks, test labs, test data, and
// third_party/ (upstream modules patched in-tree, third_party/*/PATCHES.md).
func exempt(rel string) bool {
	if strings.HasSuffix(rel, "_test.go") || strings.HasPrefix(rel, "third_party/") {
		return true
	}
	for _, dir := range strings.Split(filepath.Dir(rel), "/") {
		if dir == "bench" || dir == "e2e" || dir == "testdata" || dir == ".tools" || strings.HasSuffix(dir, "lab") {
			return true
		}
	}
	return false
}

func TestRuntimeFilesAndFunctionsStayShort(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	fset := token.NewFileSet()
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") && path != root {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() || !strings.HasSuffix(path, ".go") || exempt(rel) {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		checked++
		if n := fset.Position(f.End()).Line; n > maxFileLines {
			t.Errorf("%s: %d lines; runtime files stay under %d (split it by idea)", rel, n, maxFileLines)
		}
		for _, decl := range f.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Body != nil {
				if n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1; n > maxFuncLines {
					t.Errorf("%s: func %s is %d lines; functions stay under %d", rel, fd.Name.Name, n, maxFuncLines)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("only %d runtime files checked: the walk missed the tree", checked)
	}
}

// exempt must not wave through the runtime packages it is meant to check.
func TestExemptKeepsRuntimeCode(t *testing.T) {
	for _, rel := range []string{"core/proxy/handler.go", "connector/lean.go", "internal/fastpath/httploop/conn.go", "plugins/kcd/config.go"} {
		if exempt(rel) {
			t.Errorf("%s is exempt, but it is runtime code", rel)
		}
	}
	for _, rel := range []string{"bench/main.go", "plugins/oidc/oplab/oplab.go", "e2e/browser/browser.go", "core/proxy/handler_test.go", "third_party/yamux/session.go"} {
		if !exempt(rel) {
			t.Errorf("%s is not exempt", rel)
		}
	}
}
