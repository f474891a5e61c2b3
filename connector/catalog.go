package connector

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/tunnel"
	"gopkg.in/yaml.v3"
)

// BuiltinSignOns are the Injector plug-ins built into gatehouse-connector
// (served as "gatehouse-connector plugin serve NAME"). They are in every
// connector's catalog, with or without a --config file.
var BuiltinSignOns = []string{"header", "kcd", "vault"}

// Catalog is the sign-on plug-ins a connector may run, by name: its
// built-in ones and the executables its operator pinned, by path and
// SHA-256, in its --config file. The gateway's config only names an entry;
// it can never make the connector run another program.
type Catalog struct {
	entries map[string]pluginhost.Entry
	order   []string // built-ins first, then the file's order
	file    string   // the --config file, "" without one
}

// NewCatalog returns the catalog of the built-in plug-ins only: a
// connector without a --config file.
func NewCatalog() *Catalog {
	c := &Catalog{entries: map[string]pluginhost.Entry{}}
	for _, name := range BuiltinSignOns {
		c.add(pluginhost.Entry{Name: name, Builtin: true})
	}
	return c
}

func (c *Catalog) add(e pluginhost.Entry) {
	if _, ok := c.entries[e.Name]; !ok {
		c.order = append(c.order, e.Name)
	}
	c.entries[e.Name] = e
}

// lookup returns the entry for name, or a refusal that says what to do.
func (c *Catalog) lookup(name string) (pluginhost.Entry, string) {
	if e, ok := c.entries[name]; ok {
		return e, ""
	}
	where := "it runs no --config file"
	if c.file != "" {
		where = "its --config " + c.file + " has no such entry"
	}
	return pluginhost.Entry{}, fmt.Sprintf("plug-in %q is not in this connector's catalog (%s; it has %s): add {name: %s, path: ..., sha256: ...} to the plugins: of the connector's --config file",
		name, where, strings.Join(c.order, ", "), name)
}

// info is the catalog as the connector reports it to the gateway: names,
// and the pinned SHA-256 of each executable (never its path).
func (c *Catalog) info() []tunnel.PluginInfo {
	out := make([]tunnel.PluginInfo, 0, len(c.order))
	for _, name := range c.order {
		e := c.entries[name]
		out = append(out, tunnel.PluginInfo{Name: e.Name, Builtin: e.Builtin, SHA256: e.SHA256})
	}
	return out
}

// Config is what a connector's --config file says. Everything else comes
// from enrollment (State) or from the gateway.
type Config struct {
	// Catalog is the built-in sign-on plug-ins plus the file's plugins:.
	Catalog *Catalog
}

// LoadConfig reads a connector's --config file: YAML with one key,
// plugins:, a list of catalog entries of the same shape as the gateway's
// ({name, builtin: true} or {name, path, sha256}). Relative paths start at
// the file's directory. Every problem is reported, each with file, line,
// column and key, and what to do.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the connector config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p := &configParser{file: path, cat: NewCatalog()}
	p.cat.file = path
	if len(doc.Content) > 0 {
		p.top(doc.Content[0])
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return &Config{Catalog: p.cat}, nil
}

// configParser walks the YAML nodes, so that errors carry positions.
type configParser struct {
	file string
	cat  *Catalog
	errs []error
}

func (p *configParser) errorf(n *yaml.Node, key, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s:%d:%d: %s: %s", p.file, n.Line, n.Column, key, fmt.Sprintf(format, args...)))
}

func (p *configParser) top(n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "(top level)", "expected a mapping with plugins:, got %s", kindOf(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "plugins":
			p.plugins(v)
		default:
			p.errorf(k, k.Value, "unknown key %q (known keys: plugins)", k.Value)
		}
	}
}

func (p *configParser) plugins(n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		if n.Tag != "!!null" {
			p.errorf(n, "plugins", "expected a list of plug-ins ({name, path, sha256} or {name, builtin: true}), got %s", kindOf(n))
		}
		return
	}
	seen := map[string]bool{}
	for i, item := range n.Content {
		key := fmt.Sprintf("plugins[%d]", i)
		e, nodes, ok := p.entry(item, key)
		if !ok {
			continue
		}
		at := func(field string) *yaml.Node {
			if n := nodes[field]; n != nil {
				return n
			}
			return item
		}
		if field, msg := pluginhost.CheckEntry(e, "gatehouse-connector", BuiltinSignOns); field != "" {
			p.errorf(at(field), key+"."+field, "%s", msg)
			continue
		}
		if seen[e.Name] {
			p.errorf(at("name"), key+".name", "duplicate plug-in %q; plug-in names must be unique", e.Name)
			continue
		}
		seen[e.Name] = true
		if !e.Builtin {
			if !filepath.IsAbs(e.Path) {
				e.Path = filepath.Join(filepath.Dir(p.file), e.Path)
			}
			e.SHA256 = strings.ToLower(e.SHA256)
		}
		p.cat.add(e)
	}
}

// entry decodes one plugins: item, reporting unknown keys and wrong types.
func (p *configParser) entry(n *yaml.Node, key string) (pluginhost.Entry, map[string]*yaml.Node, bool) {
	var e pluginhost.Entry
	if n.Kind != yaml.MappingNode {
		p.errorf(n, key, "expected a mapping {name, path, sha256} or {name, builtin: true}, got %s", kindOf(n))
		return e, nil, false
	}
	nodes := map[string]*yaml.Node{}
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var err error
		switch k.Value {
		case "name":
			err = v.Decode(&e.Name)
		case "builtin":
			err = v.Decode(&e.Builtin)
		case "path":
			err = v.Decode(&e.Path)
		case "sha256":
			err = v.Decode(&e.SHA256)
		default:
			p.errorf(k, key+"."+k.Value, "unknown key %q (known keys: name, builtin, path, sha256)", k.Value)
			ok = false
			continue
		}
		nodes[k.Value] = v
		if err != nil || v.Kind != yaml.ScalarNode {
			want := "a string"
			if k.Value == "builtin" {
				want = "true or false"
			}
			p.errorf(v, key+"."+k.Value, "expected %s, got %s", want, kindOf(v))
			ok = false
		}
	}
	return e, nodes, ok
}

// kindOf describes a node for an error message.
func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return fmt.Sprintf("%q", n.Value)
}

// names lists the entries of c, for the log.
func (c *Catalog) names() string {
	var parts []string
	for _, name := range c.order {
		e := c.entries[name]
		if e.Builtin {
			parts = append(parts, name+" (built in)")
		} else {
			parts = append(parts, fmt.Sprintf("%s (%s, sha256 %s)", name, e.Path, e.SHA256[:12]))
		}
	}
	return strings.Join(parts, ", ")
}

// check reads every executable of c and reports those whose SHA-256 is not
// the pinned one (or that cannot be read): apps that use them will be
// refused. The host checks again before every start.
func (c *Catalog) check() []error {
	var errs []error
	for _, name := range c.order {
		e := c.entries[name]
		if e.Builtin {
			continue
		}
		sum, err := fileSHA256(e.Path)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("sign-on plug-in %q (%s): %w", name, c.file, err))
		case sum != e.SHA256:
			errs = append(errs, fmt.Errorf("sign-on plug-in %q: %s has sha256 %s, but %s pins %s: it will not be started, and apps that use it are refused", name, e.Path, sum, c.file, e.SHA256))
		}
	}
	return errs
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
