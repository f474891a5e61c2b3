package config

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// HSTS is the max-age of an app's Strict-Transport-Security header; 0
// means no header. YAML: false, true (DefaultHSTS) or a duration.
type HSTS Duration

// DefaultHSTS is the max-age of "hsts: true" and of ACME hosts by default.
const DefaultHSTS = HSTS(365 * 24 * time.Hour)

// MaxAge returns the header's max-age in whole seconds (0: no header).
func (h HSTS) MaxAge() int64 { return int64(time.Duration(h) / time.Second) }

// MarshalYAML writes false for no header, else the duration.
func (h HSTS) MarshalYAML() (any, error) {
	if h == 0 {
		return false, nil
	}
	return Duration(h).String(), nil
}

// UnmarshalYAML accepts true, false or a duration of whole seconds.
func (h *HSTS) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		var on bool
		if err := n.Decode(&on); err != nil {
			return err
		}
		*h = 0
		if on {
			*h = DefaultHSTS
		}
		return nil
	}
	var d Duration
	if err := d.UnmarshalYAML(n); err != nil {
		return fmt.Errorf("expected true, false or a max-age duration such as 8760h: %w", err)
	}
	if time.Duration(d)%time.Second != 0 {
		return fmt.Errorf("%q: max-age is whole seconds (write e.g. 8760h or 86400s)", n.Value)
	}
	*h = HSTS(d)
	return nil
}
