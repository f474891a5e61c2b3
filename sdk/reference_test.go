package sdk_test

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// apiNames lists the exported API of the package in dir: every constant,
// variable, function and type, every method as "Type.Method" and every
// exported struct field as "Type.Field".
func apiNames(t *testing.T, dir string) (names, methods, fields []string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	pkg, err := doc.NewFromFiles(fset, files, "github.com/gatehouse/gatehouse/"+dir)
	if err != nil {
		t.Fatal(err)
	}
	values := func(vs []*doc.Value) {
		for _, v := range vs {
			names = append(names, v.Names...)
		}
	}
	values(pkg.Consts)
	values(pkg.Vars)
	for _, f := range pkg.Funcs {
		names = append(names, f.Name)
	}
	for _, typ := range pkg.Types {
		names = append(names, typ.Name)
		values(typ.Consts)
		values(typ.Vars)
		for _, f := range typ.Funcs {
			names = append(names, f.Name)
		}
		for _, m := range typ.Methods {
			methods = append(methods, typ.Name+"."+m.Name)
		}
		for _, spec := range typ.Decl.Specs {
			st, ok := spec.(*ast.TypeSpec).Type.(*ast.StructType)
			if !ok {
				continue
			}
			for _, fl := range st.Fields.List {
				for _, n := range fl.Names {
					if n.IsExported() {
						fields = append(fields, typ.Name+"."+n.Name)
					}
				}
			}
		}
	}
	return names, methods, fields
}

// referenceSection is the text under "### Package NAME" in README.md's
// "## Reference", up to the next heading.
func referenceSection(t *testing.T, readme, name string) string {
	t.Helper()
	_, ref, ok := strings.Cut(readme, "\n## Reference\n")
	if !ok {
		t.Fatal(`README.md has no "## Reference" section`)
	}
	if i := strings.Index(ref, "\n## "); i >= 0 {
		ref = ref[:i]
	}
	_, sec, ok := strings.Cut(ref, "\n### Package "+name+"\n")
	if !ok {
		t.Fatalf(`README.md's Reference has no "### Package %s"`, name)
	}
	if i := strings.Index(sec, "\n### "); i >= 0 {
		sec = sec[:i]
	}
	return sec
}

// structBody is the text of "type NAME struct { ... }" in sec, braces
// balanced, or "" if sec does not declare it.
func structBody(sec, name string) string {
	i := strings.Index(sec, "type "+name+" struct {")
	if i < 0 {
		return ""
	}
	depth := 0
	for j := i; j < len(sec); j++ {
		switch sec[j] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return sec[i : j+1]
			}
		}
	}
	return sec[i:]
}

// README.md's Reference lists every exported name of package sdk and of
// package sdk/vault: each constant, variable, function and type, each
// method with its receiver, and each struct field in its type.
func TestReadmeReferenceCoversAPI(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, pkg := range []struct{ dir, section string }{
		{".", "sdk"},
		{"vault", "sdk/vault"},
	} {
		sec := referenceSection(t, readme, pkg.section)
		names, methods, fields := apiNames(t, pkg.dir)
		if len(names) < 3 {
			t.Fatalf("%s: found only %d exported names; the parse saw nothing", pkg.section, len(names))
		}
		for _, n := range names {
			if !regexp.MustCompile(`\b` + n + `\b`).MatchString(sec) {
				t.Errorf("%s: README.md's Reference does not mention %s", pkg.section, n)
			}
		}
		for _, m := range methods {
			typ, name, _ := strings.Cut(m, ".")
			if !regexp.MustCompile(`func \(\w+ \*?` + typ + `\) ` + name + `\(`).MatchString(sec) {
				t.Errorf("%s: README.md's Reference does not list the method %s", pkg.section, m)
			}
		}
		for _, f := range fields {
			typ, name, _ := strings.Cut(f, ".")
			if !regexp.MustCompile(`\b` + name + `\b`).MatchString(structBody(sec, typ)) {
				t.Errorf("%s: README.md's Reference does not list the field %s in type %s struct", pkg.section, name, typ)
			}
		}
	}
}
