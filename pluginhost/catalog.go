package pluginhost

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The plug-in catalogs of the gateway (its config's plugins:) and of a
// connector (its --config file's plugins:) have the same entries and say
// the same things about a bad one: CheckEntry is that shared judgement.

// nameRE is the syntax of a catalog name, the same as an app's.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// CheckEntry reports the first problem of catalog entry e: the field at
// fault ("name", "builtin", "path" or "sha256") and what is wrong and what
// to do, or "", "" when e is sound. e.Path is as written (the message
// quotes it). binary names the program whose built-in plug-ins builtin:
// true selects ("gatehouse", "gatehouse-connector"); builtins, when not
// nil, are their names, and an entry may neither select another nor take
// one of these names for an executable.
func CheckEntry(e Entry, binary string, builtins []string) (field, msg string) {
	switch {
	case e.Name == "":
		return "name", `missing: every plug-in needs a name that apps use, e.g. "sso"`
	case !nameRE.MatchString(e.Name):
		msg := fmt.Sprintf(`%q is not a valid plug-in name (use 1-63 lower-case letters, digits and "-", starting with a letter or digit)`, e.Name)
		if lower := strings.ToLower(e.Name); nameRE.MatchString(lower) {
			msg += fmt.Sprintf("; write %q", lower)
		}
		return "name", msg
	case e.Builtin && (e.Path != "" || e.SHA256 != ""):
		return "builtin", "a built-in plug-in takes no path or sha256; remove them or builtin: true"
	case e.Builtin && builtins != nil && !slices.Contains(builtins, e.Name):
		return "name", fmt.Sprintf("%s has no built-in plug-in %q (built in: %s); for an executable, give path and sha256 instead of builtin: true",
			binary, e.Name, strings.Join(builtins, ", "))
	case e.Builtin:
		return "", ""
	case slices.Contains(builtins, e.Name):
		return "name", fmt.Sprintf("%q is the name of a plug-in built into %s; give this executable another name", e.Name, binary)
	case e.Path == "":
		return "path", fmt.Sprintf("missing: the plug-in executable (or builtin: true for one built into %s)", binary)
	case len(e.SHA256) != 64 || strings.Trim(strings.ToLower(e.SHA256), "0123456789abcdef") != "":
		return "sha256", fmt.Sprintf("want the 64 hex digits of the executable's SHA-256 (run: sha256sum %s)", e.Path)
	}
	return "", ""
}
