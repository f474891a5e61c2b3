package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestHostileWildcard sends names that try to slip past a wildcard app's
// one-label rule or into its {label} backend URL template: a dot, "..",
// percent-encoding, characters a host-name label does not have, an
// over-long label, the pattern itself, and one label's connection used for
// another. Each must be refused by the gateway before any tunnel: the
// site ingress behind the wildcard app sees nothing.
func TestHostileWildcard(t *testing.T) {
	e := startWildEnv(t)
	cases := []struct{ name, sni, host string }{
		{"a dot in the label (two labels)", "a.b.apps.test", "a.b.apps.test"},
		{"dot-dot label", "", "..apps.test"},
		{"dot-dot inside the label", "", "a..apps.test"},
		{"empty label", "", ".apps.test"},
		{"percent-encoded label %61", "", "%61.apps.test"},
		{"percent-encoded dot a%2eb", "", "a%2eb.apps.test"},
		{"percent-encoded slash a%2fb", "", "a%2fb.apps.test"},
		{"percent-encoded dot-dot %2e%2e", "", "%2e%2e.apps.test"},
		{"underscore label", "a_b.apps.test", "a_b.apps.test"},
		{"label starting with -", "-a.apps.test", "-a.apps.test"},
		{"label ending with -", "a-.apps.test", "a-.apps.test"},
		{"64-character label", "", strings.Repeat("a", 64) + ".apps.test"},
		{"the pattern itself", "", "*.apps.test"},
		{"a slash in the host", "", "a/b.apps.test"},
		{"a backslash in the host", "", `a\b.apps.test`},
		{"non-ASCII label", "", "\u00e4.apps.test"},
		{"label with a space", "", "a%20b.apps.test"},
		{"one label's connection for another (SNI a, Host b)", "a.apps.test", "b.apps.test"},
	}
	for _, c := range cases {
		hostile(t, "wildcard", c.name, "refused (4xx), backend untouched", func(t *testing.T) (string, bool) {
			before := e.ingress.hits.Load()
			status, body, err := wildRaw(e.g, c.sni, c.host)
			reached := e.ingress.hits.Load() - before
			observed := fmt.Sprintf("status %d, backend saw %d", status, reached)
			if err != nil {
				observed = fmt.Sprintf("no answer (%v), backend saw %d", err, reached)
				return observed, reached == 0 // the gateway closed the connection
			}
			if status == http.StatusOK || strings.Contains(body, `"server"`) {
				observed += ": " + clip(body, 60)
			}
			return observed, status >= 400 && status < 500 && reached == 0
		})
	}
	// The same client, with a valid label, is served: the cases above
	// were refused for their names, not for the way they were sent.
	hostile(t, "wildcard", "control: a valid label sent the same way", "200 from the label's site", func(t *testing.T) (string, bool) {
		status, body, err := wildRaw(e.g, "a.apps.test", "a.apps.test")
		if err != nil {
			return err.Error(), false
		}
		return fmt.Sprintf("status %d", status), status == http.StatusOK && strings.Contains(body, `"alpha"`)
	})
}
