package connector

import (
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/tunnel"
)

// fieldPrefix is how sdk.FieldError starts its text: a dotted key, a
// colon, a space ("key_file: missing").
var fieldPrefix = regexp.MustCompile(`^([A-Za-z0-9_.\[\]-]+): `)

// refusalOf names the field a failed start is about, and says what is
// wrong: the plug-in's own words for a refused config (the sdk puts the
// key first), the host's for anything else.
func refusalOf(err error) (field, msg string) {
	var ce *pluginhost.ConfigError
	if !errors.As(err, &ce) {
		if errors.Is(err, pluginhost.ErrChecksum) {
			return "sign_on.plugin", err.Error()
		}
		return "sign_on.plugin", "the plug-in did not start: " + err.Error()
	}
	problem := strings.ReplaceAll(strings.TrimSpace(ce.Problem), "\n", "; ")
	if m := fieldPrefix.FindStringSubmatch(problem); m != nil {
		return "sign_on.config." + m[1], problem[len(m[0]):]
	}
	return "sign_on.config", problem
}

// redactMin is the shortest config value taken out of a refusal: shorter
// ones (a tenant "acme", a TTL "60s") are no secret, and removing them
// would garble the message.
const redactMin = 8

// redact replaces in msg every string value of cfg that might be a secret
// (a key written inline, a password) with "[redacted]": a refusal goes to
// the gateway's store, its log and the error page users see. Absolute
// paths stay, since a message such as "reading /etc/x.key: permission
// denied" needs them.
func redact(msg string, cfg map[string]any) string {
	var values []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			if len(v) >= redactMin && !strings.HasPrefix(v, "/") {
				values = append(values, v)
			}
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(cfg)
	// Longest first, so a value that contains another goes whole.
	slices.SortFunc(values, func(a, b string) int { return len(b) - len(a) })
	for _, v := range values {
		msg = strings.ReplaceAll(msg, v, "[redacted]")
	}
	return msg
}

// signOnReport is what a session tells the gateway with its ready: the
// catalog, and for every app of table t with sign_on whether its plug-in
// runs.
func (c *Connector) signOnReport(t *appTable) *tunnel.SignOnReport {
	cat := c.transports.catalog
	if cat == nil {
		cat = NewCatalog()
	}
	r := &tunnel.SignOnReport{Plugins: cat.info()}
	names := make([]string, 0, len(t.apps))
	for name := range t.apps {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		so := t.apps[name].signOn
		switch {
		case so == nil:
		case so.refusal != nil:
			r.Refused = append(r.Refused, *so.refusal)
		case so.err != nil || so.inj == nil: // fail closed: only a running plug-in is accepted
			r.Refused = append(r.Refused, tunnel.SignOnRefusal{App: name, Plugin: t.apps[name].cfg.SignOn.Plugin,
				Field: "sign_on.plugin", Message: "the plug-in is not running"})
		default:
			r.Accepted = append(r.Accepted, name)
		}
	}
	return r
}
