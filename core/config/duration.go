package config

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// String formats d like time.Duration but without zero trailing units:
// "240h", "10m", "1m30s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalYAML writes d as a duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML accepts a Go duration string ("30s", "10m", "1h30m", "0").
// Negative durations are an error.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a duration such as 30s, got %s", describeNode(n))
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		hint := ""
		switch {
		case strings.TrimLeft(n.Value, "+-0123456789.") == "":
			hint = ": add a unit"
		case strings.HasSuffix(n.Value, "d"):
			hint = `: there is no "d" unit, use hours`
		}
		return fmt.Errorf("%q is not a duration%s (write e.g. 30s, 10m, 240h)", n.Value, hint)
	}
	if v < 0 {
		return fmt.Errorf("%q is negative (write a duration of 0 or more, e.g. 30s)", n.Value)
	}
	*d = Duration(v)
	return nil
}
