package config

import (
	"fmt"
	"net/netip"
)

// Access is an app's conditional access policy, checked on every request
// of a signed-in user; an empty policy admits every signed-in user.
type Access struct {
	// Users admits these users (subject, UPN or e-mail); Groups admits
	// members of these groups. With either set, a user must match one.
	Users  []string `yaml:"users"`
	Groups []string `yaml:"groups"`
	// RequireMFA demands "mfa" among the sign-in's authentication methods
	// (amr); RequireAMR demands each listed method ("hwk", "otp", ...).
	RequireMFA bool     `yaml:"require_mfa"`
	RequireAMR []string `yaml:"require_amr"`
	// AllowIPs, when set, admits only clients in these ranges; BlockIPs
	// refuses clients in these ranges whatever else says.
	AllowIPs []string `yaml:"allow_ips"`
	BlockIPs []string `yaml:"block_ips"`
	// MaxSessionAge sends users back to sign in once their sign-in is this
	// old (sign-in frequency); 0: the session lifetime decides.
	MaxSessionAge Duration `yaml:"max_session_age"`
	// Rule is a CEL expression over user, request and client that must be
	// true, for what the fields above cannot say.
	Rule string `yaml:"rule"`
	// RequireDevice admits only devices with a certificate from a device CA.
	RequireDevice *RequireDevice `yaml:"require_device,omitempty"`

	// Parsed ranges, set by the loader.
	AllowPrefixes, BlockPrefixes []netip.Prefix `yaml:"-"`
}

// checkAccess validates an app's access policy (the CEL rule is compiled
// by the gateway, which reports its errors with the rule's line).
func (l *loader) checkAccess(key string, a *App) {
	if !l.present(key+".access") || l.bad[key+".access"] {
		return
	}
	if a.Auth.Passthrough {
		l.errorf(key+".access", "access rules need a signed-in user, but auth is passthrough; set auth to an Authenticator plug-in")
		return
	}
	parse := func(field string, in []string) []netip.Prefix {
		var out []netip.Prefix
		for i, s := range in {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				if ip, ierr := netip.ParseAddr(s); ierr == nil {
					p, err = ip.Prefix(ip.BitLen())
				}
			}
			if err != nil {
				l.errorf(fmt.Sprintf("%s.access.%s[%d]", key, field, i), "%q is not an IP address or CIDR range (write e.g. 10.0.0.0/8 or 192.0.2.7)", s)
				continue
			}
			out = append(out, p.Masked())
		}
		return out
	}
	a.Access.AllowPrefixes = parse("allow_ips", a.Access.AllowIPs)
	a.Access.BlockPrefixes = parse("block_ips", a.Access.BlockIPs)
	l.checkDevice(key, a)
}
