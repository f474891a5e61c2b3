package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads, decodes, completes with defaults and validates the file at
// path. A file that cannot be read gives the wrapped os error; every
// problem with its content is reported at once as an *Errors.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse is Load for content already read. path names the file in error
// messages, anchors relative paths in the config (data_dir, store.path, TLS
// files, ca_file) and becomes Config.Path in absolute form.
func Parse(path string, data []byte) (*Config, error) {
	l := &loader{file: path, nodes: map[string]*yaml.Node{}, bad: map[string]bool{}}
	if path == "" {
		l.file = "<input>"
	}
	abs, err := filepath.Abs(path) // "" gives the working directory
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	l.dir = abs
	if path != "" {
		l.dir = filepath.Dir(abs)
	}

	c := &Config{}
	if l.parseYAML(data) {
		l.decode(l.root, "", reflect.ValueOf(c).Elem())
		l.applyDefaults(c)
		l.validate(c)
	}
	if len(l.errs) > 0 {
		sortErrors(l.errs)
		return nil, &Errors{List: l.errs}
	}
	if path != "" {
		c.Path = abs
	}
	sortErrors(l.warns)
	c.Warnings = l.warns
	c.SHA256 = sharedSum(c)
	return c, nil
}

// loader holds the state of one Parse: the YAML tree, where each key path
// was written, and the errors found so far.
type loader struct {
	file string // for messages
	dir  string // absolute; relative paths in the config resolve against it
	root *yaml.Node
	// nodes maps each key path present in the file ("tunnel.advertise[0]")
	// to its value node, so later checks can point at the right line.
	nodes map[string]*yaml.Node
	// bad holds key paths whose value failed to decode; checks on them and
	// on anything below them are skipped to avoid follow-on noise.
	bad map[string]bool
	// defaulted holds key paths whose value came from a default.
	defaulted map[string]bool
	errs      []FieldError
	warns     []FieldError // problems that do not stop the config (Config.Warnings)
}

// errorAt records a problem with the value at node n (nil: unknown position).
func (l *loader) errorAt(n *yaml.Node, key, format string, args ...any) {
	fe := FieldError{File: l.file, Key: key, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		fe.Line, fe.Column = n.Line, n.Column
	}
	l.errs = append(l.errs, fe)
}

// warnf records a warning at key, positioned as errorf does.
func (l *loader) warnf(key, format string, args ...any) {
	fe := FieldError{File: l.file, Key: key, Msg: fmt.Sprintf(format, args...)}
	if n := l.node(key); n != nil {
		fe.Line, fe.Column = n.Line, n.Column
	}
	l.warns = append(l.warns, fe)
}

// errorf records a validation problem at key, positioned at the key's value
// or, when the key is absent, at its nearest present ancestor. Keys at or
// below a value that failed to decode are skipped.
func (l *loader) errorf(key, format string, args ...any) {
	l.errorfAt(key, key, format, args...)
}

// errorfAt is errorf positioned at the value of posKey rather than key's.
func (l *loader) errorfAt(posKey, key, format string, args ...any) {
	for k := key; ; k = parentKey(k) {
		if l.bad[k] {
			return
		}
		if k == "" {
			break
		}
	}
	l.errorAt(l.node(posKey), key, format, args...)
}

// node returns the value node of key or of its nearest present ancestor.
func (l *loader) node(key string) *yaml.Node {
	for k := key; k != ""; k = parentKey(k) {
		if n, ok := l.nodes[k]; ok {
			return n
		}
	}
	return l.root
}

// present reports whether key was written in the file with a non-null value.
func (l *loader) present(key string) bool {
	n, ok := l.nodes[key]
	return ok && !isNull(n)
}

// line returns the line of key's value, for messages such as "first at line 5".
func (l *loader) line(key string) int {
	if n := l.node(key); n != nil {
		return n.Line
	}
	return 0
}

// parentKey returns "apps[0]" for "apps[0].name", "apps" for "apps[0]" and
// "" for "apps".
func parentKey(key string) string {
	i := strings.LastIndexAny(key, ".[")
	if i < 0 {
		return ""
	}
	return key[:i]
}

var (
	yamlLineRE   = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	yamlAnchorRE = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// yamlParserProblems are the yaml.v3 errors raised by its parser rather
// than its scanner. For these, yaml.v3 reports the 0-based line where the
// enclosing block or flow collection starts (or, for a collection on the
// first line, the 0-based line of the problem); scanner errors are 1-based.
var yamlParserProblems = []string{
	"did not find expected key",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected <document start>",
}

// parseYAML parses data into l.root, reporting syntax errors, an empty file
// or more than one document. It reports whether there is a tree to decode.
func (l *loader) parseYAML(data []byte) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) || (err == nil && (len(doc.Content) == 0 || isNull(doc.Content[0]))) {
		l.errorAt(nil, "", "the file is empty (expected a mapping with keys such as listen, connector_groups and apps)")
		return false
	}
	if err != nil {
		l.syntaxError(data, err)
		return false
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		l.syntaxError(data, err)
		return false
	default:
		l.errorAt(&extra, "", "a second YAML document starts here; a config file holds exactly one (remove the \"---\" separator and merge the documents)")
		return false
	}
	l.root = doc.Content[0]
	return true
}

// syntaxError turns a yaml.v3 parse error into a FieldError with its line.
func (l *loader) syntaxError(data []byte, err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	switch {
	case slices.Contains(yamlParserProblems, msg):
		line++ // see yamlParserProblems
		msg += " (in the mapping or list that starts on this line: check its indentation and brackets)"
	case bytes.ContainsRune(data, '\t') && strings.Contains(msg, "cannot start any token"):
		msg += " (indent with spaces: YAML does not allow tabs)"
	case strings.Contains(msg, "expected alphabetic or numeric character") && bytes.Contains(data, []byte("*.")):
		msg += ` (YAML reads a value starting with "*" as an alias: quote a wildcard host, host: "*.apps.example.com")`
	}
	if m := yamlAnchorRE.FindStringSubmatch(err.Error()); m != nil {
		// yaml.v3 gives no line for this one: find the alias.
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line = bytes.Count(data[:i], []byte("\n")) + 1
		}
		msg = fmt.Sprintf("alias *%s refers to no anchor; define &%s before using it", m[1], m[1])
	}
	col := 0
	if line == 0 { // yaml.v3 gives no line for a character it cannot read, nor for a problem on line 1
		if line, col, msg = badCharacter(data, msg); line == 0 {
			line = 1
		}
	}
	l.errs = append(l.errs, FieldError{File: l.file, Line: line, Column: col, Msg: "invalid YAML: " + msg})
}
