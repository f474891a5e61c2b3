package config

import (
	"fmt"
	"strings"
)

// Filter is one entry of the WASM filter catalog: a module file pinned by
// its SHA-256.
type Filter struct {
	// Name is how apps refer to the filter; same syntax as an app name.
	Name string `yaml:"name"`
	// Path is the .wasm module; relative paths start at the config file's
	// directory.
	Path string `yaml:"path"`
	// SHA256 is the module's hex SHA-256; another module is never loaded.
	SHA256 string `yaml:"sha256"`
}

// FilterUse is one step of an app's filter chain.
type FilterUse struct {
	// Filter names a catalog entry.
	Filter string `yaml:"filter"`
	// Config is handed to the module (get_config) as JSON.
	Config Opaque `yaml:"config"`
	// FreshPerRequest gives every request a new instance, so that no
	// state survives from one user's request to the next.
	FreshPerRequest bool `yaml:"fresh_per_request"`
}

// checkFilters validates the filter catalog and every app's chain.
func (l *loader) checkFilters(c *Config) {
	byName := map[string]bool{}
	for i := range c.Filters {
		f := &c.Filters[i]
		key := fmt.Sprintf("filters[%d]", i)
		switch msg := checkName(f.Name, "filter"); {
		case f.Name == "":
			l.errorf(key+".name", `missing: every filter needs a name that apps use, e.g. "links"`)
			continue
		case msg != "":
			l.errorf(key+".name", "%s", msg)
			continue
		case byName[f.Name]:
			l.errorf(key+".name", "duplicate filter %q; filter names must be unique", f.Name)
			continue
		}
		byName[f.Name] = true
		f.Path = l.resolve(f.Path)
		switch {
		case f.Path == "":
			l.errorf(key+".path", "missing: the .wasm module file")
		case len(f.SHA256) != 64 || strings.Trim(strings.ToLower(f.SHA256), "0123456789abcdef") != "":
			l.errorf(key+".sha256", "want the 64 hex digits of the module's SHA-256 (run: sha256sum %s)", l.written(key+".path"))
		default:
			f.SHA256 = strings.ToLower(f.SHA256)
		}
	}
	for i, a := range c.Apps {
		for j, u := range a.Filters {
			key := fmt.Sprintf("apps[%d].filters[%d].filter", i, j)
			switch {
			case u.Filter == "":
				l.errorf(key, "missing: a filter name from the filters: catalog")
			case !byName[u.Filter]:
				l.errorf(key, "filter %q is not in the filters: catalog", u.Filter)
			}
		}
	}
}
