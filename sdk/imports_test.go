package sdk_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/gatehouse/gatehouse/"

// The SDK is a module of its own, so a plug-in author's go.mod pulls in
// the SDK and its few dependencies, never the gateway's: its build list
// has no github.com/gatehouse/gatehouse module but itself, and it
// requires directly only go-plugin, its logger and gRPC.
func TestSDKModuleStandsAlone(t *testing.T) {
	cmd := exec.Command("go", "list", "-m", "-json=Path,Main,Indirect", "all")
	cmd.Env = append(os.Environ(), "GOWORK=off") // this module alone, as an author's build sees it
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m all failed, so the build list cannot be checked: %v", err)
	}
	allowed := map[string]bool{
		"github.com/hashicorp/go-plugin": true, "github.com/hashicorp/go-hclog": true,
		"google.golang.org/grpc": true, "google.golang.org/protobuf": true,
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var mods []string
	for dec.More() {
		var m struct {
			Path           string
			Main, Indirect bool
		}
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		mods = append(mods, m.Path)
		switch {
		case m.Main && m.Path != module+"sdk":
			t.Errorf("the main module is %s, want %ssdk: sdk/go.mod is missing or misnamed", m.Path, module)
		case !m.Main && (m.Path == strings.TrimSuffix(module, "/") || strings.HasPrefix(m.Path, module)):
			t.Errorf("the sdk module's build list holds %s: plug-ins would pull in the gateway", m.Path)
		case !m.Main && !m.Indirect && !allowed[m.Path]:
			t.Errorf("the sdk module requires %s directly; keep its dependencies few (go-plugin, go-hclog, gRPC, protobuf)", m.Path)
		}
	}
	if len(mods) < 5 || mods[0] != module+"sdk" {
		t.Fatalf("go list -m all listed %q; the check saw nothing", mods)
	}
}

// sdk/ must not depend on the gateway or the connector: plug-ins build
// against it alone.
func TestSDKImportsNoCoreOrConnector(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-json=ImportPath", "./...").Output()
	if err != nil {
		t.Fatalf("go list -deps ./... failed, so the import graph cannot be checked: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for dec.More() {
		var p struct{ ImportPath string }
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		for _, banned := range []string{"core", "connector", "tunnel", "cmd", "plugins"} {
			if p.ImportPath == module+banned || strings.HasPrefix(p.ImportPath, module+banned+"/") {
				t.Errorf("sdk depends on %s", p.ImportPath)
			}
		}
	}
	if n < 10 {
		t.Fatalf("go list listed only %d packages; the check saw nothing", n)
	}
}

// Package sdk's exported API uses only its own and the standard library's
// types: authors never see gRPC, protobuf or go-plugin.
func TestSDKAPIUsesNoThirdPartyTypes(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		imports := map[string]string{} // local name → path
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			local := path[strings.LastIndex(path, "/")+1:]
			if imp.Name != nil {
				local = imp.Name.Name
			}
			imports[local] = path
		}
		for _, n := range exportedAPI(f) {
			checked++
			ast.Inspect(n, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				id, ok := sel.X.(*ast.Ident)
				if !ok {
					return true
				}
				if path, ok := imports[id.Name]; ok && strings.Contains(strings.Split(path, "/")[0], ".") {
					t.Errorf("%s: exported API uses %s.%s from %s", fset.Position(sel.Pos()), id.Name, sel.Sel.Name, path)
				}
				return true
			})
		}
	}
	if checked < 10 {
		t.Fatalf("found only %d exported declarations; the check saw nothing", checked)
	}
}

// exportedAPI is the part of f an importer sees: exported types (whole),
// and the signatures of exported functions and methods.
func exportedAPI(f *ast.File) []ast.Node {
	var api []ast.Node
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Name.IsExported() && (d.Recv == nil || exportedRecv(d.Recv)) {
				api = append(api, d.Type)
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if s.Name.IsExported() {
						api = append(api, s.Type)
					}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.IsExported() && s.Type != nil {
							api = append(api, s.Type)
						}
					}
				}
			}
		}
	}
	return api
}

func exportedRecv(r *ast.FieldList) bool {
	t := r.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	id, ok := t.(*ast.Ident)
	return ok && id.IsExported()
}
