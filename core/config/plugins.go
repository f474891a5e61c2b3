package config

import (
	"fmt"
	"strings"
	"time"

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
		switch msg := checkName(p.Name, "plug-in"); {
		case p.Name == "":
			l.errorf(key+".name", `missing: every plug-in needs a name that apps use, e.g. "sso"`)
			continue
		case msg != "":
			l.errorf(key+".name", "%s", msg)
			continue
		case byName[p.Name] != nil:
			l.errorf(key+".name", "duplicate plug-in %q; plug-in names must be unique", p.Name)
			continue
		}
		byName[p.Name] = p
		p.Path = l.resolve(p.Path)
		switch {
		case p.Builtin && (p.Path != "" || p.SHA256 != ""):
			l.errorf(key+".builtin", "a built-in plug-in takes no path or sha256; remove them or builtin: true")
		case p.Builtin:
		case p.Path == "":
			l.errorf(key+".path", "missing: the plug-in executable (or builtin: true for one built into gatehouse)")
		case len(p.SHA256) != 64 || strings.Trim(strings.ToLower(p.SHA256), "0123456789abcdef") != "":
			l.errorf(key+".sha256", "want the 64 hex digits of the executable's SHA-256 (run: sha256sum %s)", l.written(key+".path"))
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
	}
	if !l.present(key+".sign_on") || l.bad[key+".sign_on"] {
		return
	}
	p := plugins[a.SignOn.Plugin]
	switch {
	case a.SignOn.Plugin == "":
		l.errorf(key+".sign_on.plugin", "missing: the Injector plug-in that signs the user in to the backend (a name from plugins:)")
	case p == nil:
		l.errorf(key+".sign_on.plugin", "plug-in %q is not in the plugins: catalog", a.SignOn.Plugin)
	case !p.Builtin:
		l.errorf(key+".sign_on.plugin", "plug-in %q is an executable, but sign-on runs at the connector, which only runs plug-ins built into it (builtin: true); see RATIONALE.md, \"Plug-ins\"", a.SignOn.Plugin)
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
