package config

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// decode stores the YAML node n into v, strictly: every key must be known
// and written once, and every value must have the expected shape. It records
// the node of every key path in l.nodes and reports problems instead of
// stopping, so one run names all of them.
func (l *loader) decode(n *yaml.Node, key string, v reflect.Value) {
	if key != "" {
		l.nodes[key] = n
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if isNull(n) {
		return // "key:" with no value leaves the zero value: the default applies
	}
	if u, ok := v.Addr().Interface().(scalarShorthand); ok && n.Kind == yaml.ScalarNode {
		if err := u.UnmarshalScalar(n); err != nil {
			l.fail(n, key, "%s", err.Error())
		}
		return
	}
	if u, ok := v.Addr().Interface().(yaml.Unmarshaler); ok {
		if err := u.UnmarshalYAML(n); err != nil {
			l.fail(n, key, "%s", err.Error())
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		l.decodeMapping(n, key, v)
	case reflect.Slice:
		l.decodeSequence(n, key, v)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			l.fail(n, key, "expected %s, got %s", expectation(v.Type()), describeNode(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Pointer: // an optional section (apps[].tcp): present means set
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		l.decode(n, key, v.Elem())
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			l.fail(n, key, "expected true or false, got %s", describeNode(n))
			return
		}
		v.SetBool(b)
	default:
		panic(fmt.Sprintf("config: cannot decode into %s", v.Type()))
	}
}

// fail records a decoding problem at n and marks key as bad.
// scalarShorthand is a mapping type that may also be written as a single
// scalar ("auth: passthrough").
type scalarShorthand interface{ UnmarshalScalar(n *yaml.Node) error }

func (l *loader) fail(n *yaml.Node, key, format string, args ...any) {
	l.errorAt(n, key, format, args...)
	l.bad[key] = true
}

func (l *loader) decodeMapping(n *yaml.Node, key string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		l.fail(n, key, "expected %s, got %s", expectation(v.Type()), describeNode(n))
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			l.errorAt(k, key, "expected a plain key name, got %s", describeNode(k))
			continue
		}
		sub := k.Value
		if key != "" {
			sub = key + "." + k.Value
		}
		if k.Tag == "!!merge" {
			l.errorAt(k, sub, `merge keys ("<<") are not supported; write the keys out`)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			l.errorAt(k, sub, "duplicate key %q (first written at line %d); remove one of them", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		f, ok := fields[k.Value]
		if !ok {
			l.errorAt(k, sub, "unknown key %q (known keys: %s)", k.Value, strings.Join(fieldNames(v.Type()), ", "))
			l.bad[sub] = true
			continue
		}
		l.decode(val, sub, v.Field(f))
	}
}

func (l *loader) decodeSequence(n *yaml.Node, key string, v reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		l.fail(n, key, "expected %s, got %s", expectation(v.Type()), describeNode(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, e := range n.Content {
		l.decode(e, fmt.Sprintf("%s[%d]", key, i), s.Index(i))
	}
	v.Set(s)
}

// yamlFields maps the YAML key of each decodable field of struct type t to
// its field index.
func yamlFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			m[name] = i
		}
	}
	return m
}

// fieldNames lists the YAML keys of struct type t in declaration order.
func fieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return names
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if !f.IsExported() || name == "-" {
		return ""
	}
	return name
}

// expectation describes what a value of type t looks like in YAML.
func expectation(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct:
		return `a mapping (indented "key: value" lines)`
	case reflect.Slice:
		return `a list (one "- item" per line, or [a, b])`
	case reflect.Bool:
		return "true or false"
	default:
		return "a single value"
	}
}

// describeNode names what was found, for "expected X, got Y" messages.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return describeNode(n.Alias)
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	default:
		return "a document"
	}
}

// isNull reports whether n is an empty value ("key:", "~" or "null").
func isNull(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}
