package main

import (
	"bytes"
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// command is one line of a command list: its words ("token create",
// "vault set|delete") and the --flags the line names.
type command struct {
	name  string
	flags []string
}

var (
	commandWord = regexp.MustCompile(`^[a-z][a-z|]*$`)
	flagName    = regexp.MustCompile(`--([a-z][a-z-]*)`)
	bigGap      = regexp.MustCompile(`\s{2,}`)
)

// parseDoc reads the command list of the package doc comment: the
// indented lines that start with "gatehouse ".
func parseDoc(t *testing.T) []command {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	if f.Doc == nil {
		t.Fatal("main.go has no package doc comment")
	}
	var cmds []command
	for line := range strings.SplitSeq(f.Doc.Text(), "\n") {
		rest, ok := strings.CutPrefix(line, "\tgatehouse ")
		if !ok {
			continue
		}
		var words []string
		for w := range strings.FieldsSeq(bigGap.Split(rest, 2)[0]) {
			if !commandWord.MatchString(w) {
				break
			}
			words = append(words, w)
		}
		c := command{name: strings.Join(words, " ")}
		for _, m := range flagName.FindAllStringSubmatch(rest, -1) {
			c.flags = append(c.flags, m[1])
		}
		cmds = append(cmds, c)
	}
	return cmds
}

// parseUsage reads the "commands:" block of the usage text: one command a
// line, its words before a gap of two spaces.
func parseUsage(t *testing.T) []string {
	t.Helper()
	_, block, ok := strings.Cut(usage, "\ncommands:\n")
	if !ok {
		t.Fatal(`the usage text has no "commands:" block`)
	}
	var names []string
	for line := range strings.SplitSeq(block, "\n") {
		if !strings.HasPrefix(line, "  ") {
			break
		}
		names = append(names, bigGap.Split(strings.TrimSpace(line), 2)[0])
	}
	return names
}

// dispatched lists the commands run's switch knows, from its source.
func dispatched(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		fn, ok := n.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "run" {
			return true
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			if cc, ok := n.(*ast.CaseClause); ok {
				for _, e := range cc.List {
					if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						s, _ := strconv.Unquote(lit.Value)
						names = append(names, s)
					}
				}
			}
			return true
		})
		return false
	})
	return names
}

// The package doc and the usage text list the same commands in the same
// order; each is a command run dispatches, and each flag the doc names is
// one the command defines.
func TestUsageMatchesDoc(t *testing.T) {
	doc, use := parseDoc(t), parseUsage(t)
	var docNames []string
	for _, c := range doc {
		docNames = append(docNames, c.name)
	}
	if len(doc) < 5 || !slices.Equal(docNames, use) {
		t.Fatalf("the package doc lists %q;\nthe usage text lists %q;\nwant the same commands in the same order", docNames, use)
	}

	top := dispatched(t)
	for _, name := range use {
		if !slices.Contains(top, strings.Fields(name)[0]) {
			t.Errorf("usage lists %q, which run does not dispatch", name)
		}
	}
	for _, name := range top {
		if strings.HasPrefix(name, "-") || name == "help" {
			continue
		}
		if !slices.ContainsFunc(use, func(u string) bool { return strings.Fields(u)[0] == name }) {
			t.Errorf("run dispatches %q, which the usage text does not list", name)
		}
	}

	for _, c := range doc {
		words := strings.Fields(c.name)
		if last := words[len(words)-1]; strings.Contains(last, "|") { // "vault set|delete": the first verb
			words[len(words)-1] = strings.Split(last, "|")[0]
		}
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append(words, "-h"), &stdout, &stderr)
		var ue usageError
		if errors.As(err, &ue) {
			t.Errorf("%q: run answers %q", c.name, ue)
			continue
		}
		for _, f := range c.flags {
			if !strings.Contains(stderr.String(), "  -"+f+" ") && !strings.Contains(stderr.String(), "  -"+f+"\n") {
				t.Errorf("%q: the doc names --%s, which the command does not define; its flags:\n%s", c.name, f, stderr.String())
			}
		}
	}
}
