package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// FastPaths is the top-level key fast_paths: true (the default) lets the
// gateway use its fast paths (package internal/fastpath), false turns
// every one off, so that the gateway runs on plain net/http. The
// environment variable GATEHOUSE_FAST_PATHS can turn them off too; the
// stricter of the two wins. A change needs a restart.
type FastPaths struct{ Off bool }

// On reports whether the config allows the fast paths.
func (f FastPaths) On() bool { return !f.Off }

// IsZero reports the default (on), which the normalised config leaves out.
func (f FastPaths) IsZero() bool { return !f.Off }

// MarshalYAML writes true or false.
func (f FastPaths) MarshalYAML() (any, error) { return !f.Off, nil }

// UnmarshalYAML accepts true or false.
func (f *FastPaths) UnmarshalYAML(n *yaml.Node) error {
	var on bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&on) != nil {
		return fmt.Errorf("expected true or false, got %s", describeNode(n))
	}
	f.Off = !on
	return nil
}
