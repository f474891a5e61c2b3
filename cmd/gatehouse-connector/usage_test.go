package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The package doc's command lines name exactly the flags the command
// defines: every flag of the connector and of vault-key is documented,
// and the doc names none that does not exist.
func TestFlagsMatchDoc(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	if f.Doc == nil {
		t.Fatal("main.go has no package doc comment")
	}
	// The command lines: indented doc lines, continuations included.
	var lines []string
	for line := range strings.SplitSeq(f.Doc.Text(), "\n") {
		if strings.HasPrefix(line, "\t") {
			lines = append(lines, line)
		}
	}
	var documented []string
	for _, m := range regexp.MustCompile(`--([a-z][a-z-]*)`).FindAllStringSubmatch(strings.Join(lines, "\n"), -1) {
		documented = append(documented, m[1])
	}

	// The flags the source defines: fs.String("name", ...) and the like.
	var defined []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || !slices.Contains([]string{"String", "Int", "Bool", "Duration"}, sel.Sel.Name) {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); !ok || id.Name != "fs" {
			return true
		}
		if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			name, _ := strconv.Unquote(lit.Value)
			defined = append(defined, name)
		}
		return true
	})
	if len(defined) < 4 {
		t.Fatalf("found only %d flag definitions (%q); the parse saw nothing", len(defined), defined)
	}
	for _, name := range defined {
		if !slices.Contains(documented, name) {
			t.Errorf("the connector defines --%s, which its package doc does not show", name)
		}
	}
	for _, name := range documented {
		if !slices.Contains(defined, name) {
			t.Errorf("the package doc shows --%s, which the connector does not define", name)
		}
	}
}
