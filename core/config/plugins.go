package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/pluginhost"
	"gopkg.in/yaml.v3"
)

// Plugin is one entry of the plug-in catalog: built into the gatehouse
// binary, or a separate executable pinned by its SHA-256.
type Plugin struct {
	// Name is how apps refer to the plug-in; same syntax as an app name.
	Name string `yaml:"name"`
	// Builtin selects a plug-in served by the gatehouse binary itself.
	Builtin bool `yaml:"builtin"`
	// Path is the plug-in executable (not with Builtin); relative paths
	// start at the config file's directory.
	Path string `yaml:"path"`
	// SHA256 is the executable's hex SHA-256 (sha256sum PATH); a binary
	// with another checksum is never started.
	SHA256 string `yaml:"sha256"`
	// Connector declares a sign-on plug-in that the connectors run from
	// their own catalogs (gatehouse-connector --config), where their
	// operators pin its path and SHA-256. The gateway runs nothing for it
	// and cannot check an app's config for it: each connector does, and
	// reports what it refused ('gatehouse connectors').
	Connector bool `yaml:"connector"`
}

// Auth says how users sign in to an app: an Authenticator plug-in from
// the catalog, or "auth: passthrough" for no sign-in at all.
type Auth struct {
	// Passthrough is set by "auth: passthrough": the app is published
	// without sign-in; anyone who reaches its URL reaches the backend.
	Passthrough bool   `yaml:"-"`
	Plugin      string `yaml:"plugin"`
	Config      Opaque `yaml:"config"`
}

// UnmarshalScalar accepts the one scalar form, "passthrough".
func (a *Auth) UnmarshalScalar(n *yaml.Node) error {
	if n.Value != "passthrough" {
		return fmt.Errorf(`expected "passthrough" or a mapping {plugin: NAME, config: {...}}, got %q`, n.Value)
	}
	a.Passthrough = true
	return nil
}

// SignOn says how the connector signs the user in to the app's backend:
// an Injector plug-in from the catalog, run at the connector.
type SignOn struct {
	Plugin string `yaml:"plugin"`
	Config Opaque `yaml:"config"`
}

// Opaque is a plug-in's config block: any YAML mapping, which the plug-in
// itself validates when the config is applied.
type Opaque struct {
	Value map[string]any
	// Line and Column locate the block, for the plug-in's errors.
	Line, Column int
}

// UnmarshalYAML takes a mapping.
func (o *Opaque) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("expected a mapping of settings (key: value), got %s", describeNode(n))
	}
	if err := n.Decode(&o.Value); err != nil {
		return fmt.Errorf("plug-in config: %w", err)
	}
	o.Line, o.Column = n.Line, n.Column
	return nil
}

// MarshalYAML writes the mapping.
func (o Opaque) MarshalYAML() (any, error) { return o.Value, nil }

// Sessions configures the sessions the gateway keeps for signed-in users.
type Sessions struct {
	// Lifetime is how long a sign-in lasts before the user must sign in
	// again (shortened when the identity provider says so). Default 8h.
	Lifetime Duration `yaml:"lifetime"`
	// Persistent keeps the session cookie when the browser closes (until
	// the session expires); false (the default) makes it a browser-session
	// cookie, gone with the browser.
	Persistent bool `yaml:"persistent"`
}

const defaultSessionLifetime = Duration(8 * time.Hour)

// checkPlugins validates the catalog and returns it by name.
func (l *loader) checkPlugins(c *Config) map[string]*Plugin {
	byName := map[string]*Plugin{}
	for i := range c.Plugins {
		p := &c.Plugins[i]
		key := fmt.Sprintf("plugins[%d]", i)
		entry := pluginhost.Entry{Name: p.Name, Builtin: p.Builtin, Path: l.written(key + ".path"), SHA256: p.SHA256}
		if p.Connector { // checked below; the name rules are the same
			entry = pluginhost.Entry{Name: p.Name, Builtin: true}
		}
		field, msg := pluginhost.CheckEntry(entry, "gatehouse", nil)
		switch {
		case field == "name":
			l.errorf(key+".name", "%s", msg)
			continue
		case byName[p.Name] != nil:
			l.errorf(key+".name", "duplicate plug-in %q; plug-in names must be unique", p.Name)
			continue
		}
		byName[p.Name] = p
		p.Path = l.resolve(p.Path)
		switch {
		case p.Connector && (p.Builtin || p.Path != "" || p.SHA256 != ""):
			l.errorf(key+".connector", "a plug-in the connectors run takes no builtin, path or sha256 here: each connector pins the executable in its own --config catalog; remove them or connector: true")
		case field != "":
			l.errorf(key+"."+field, "%s", msg)
		default:
			p.SHA256 = strings.ToLower(p.SHA256)
		}
	}
	return byName
}

// checkAppPlugins validates an app's auth and sign_on.
func (l *loader) checkAppPlugins(key string, a *App, plugins map[string]*Plugin) {
	switch {
	case l.bad[key+".auth"]:
	case !l.present(key + ".auth"):
		l.errorf(key+".auth", "missing: say how users sign in: auth: {plugin: NAME, config: {...}} with a plug-in from the plugins: catalog, or auth: passthrough to publish the app without sign-in (anyone who reaches the URL reaches the backend)")
	case a.Auth.Passthrough:
	case a.Auth.Plugin == "":
		l.errorf(key+".auth.plugin", "missing: the Authenticator plug-in that signs users in (a name from plugins:)")
	case plugins[a.Auth.Plugin] == nil:
		l.errorf(key+".auth.plugin", "plug-in %q is not in the plugins: catalog", a.Auth.Plugin)
	case plugins[a.Auth.Plugin].Connector:
		l.errorf(key+".auth.plugin", "plug-in %q runs at the connectors (connector: true), but sign-in runs at the gateway: use a built-in or an executable the gateway runs", a.Auth.Plugin)
	}
	if !l.present(key+".sign_on") || l.bad[key+".sign_on"] {
		return
	}
	p := plugins[a.SignOn.Plugin]
	switch {
	case a.SignOn.Plugin == "":
		l.errorf(key+".sign_on.plugin", "missing: the Injector plug-in that signs the user in to the backend (a name from plugins:)")
	case p == nil:
		l.errorf(key+".sign_on.plugin", "plug-in %q is not in the plugins: catalog (for one in the connectors' own catalogs, add {name: %s, connector: true})", a.SignOn.Plugin, a.SignOn.Plugin)
	case !p.Builtin && !p.Connector:
		l.errorf(key+".sign_on.plugin", "plug-in %q is an executable the gateway runs, but sign-on runs at the connector: declare it {name: %s, connector: true} and pin its path and sha256 in each connector's --config catalog; see RATIONALE.md, \"Plug-ins\"", a.SignOn.Plugin, a.SignOn.Plugin)
	case a.Auth.Passthrough:
		l.errorf(key+".sign_on", "sign-on needs a signed-in user, but auth is passthrough; set auth to an Authenticator plug-in or remove sign_on")
	}
}

// MarshalYAML writes "passthrough" or the mapping.
func (a Auth) MarshalYAML() (any, error) {
	if a.Passthrough {
		return "passthrough", nil
	}
	return struct {
		Plugin string `yaml:"plugin"`
		Config Opaque `yaml:"config"`
	}{a.Plugin, a.Config}, nil
}
