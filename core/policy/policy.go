// Package policy is conditional access: per app, who may use it, from
// where, with which sign-in strength, and a CEL expression for the rest.
// A Policy is compiled once per config; Decide is cheap and answers with
// the rule that decided, so every decision can be logged and explained.
package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/device"
	"github.com/gatehouse/gatehouse/sdk"
)

// Input is what a decision looks at.
type Input struct {
	Identity sdk.Identity
	SignedIn time.Time  // when the user signed in (the session's start)
	ClientIP netip.Addr // the TCP peer of the gateway
	Method   string
	Host     string
	Path     string
	Now      time.Time
	// Device is the client's verified device certificate (core/device);
	// nil without one.
	Device *device.Device
}

// Decision is the answer: allowed or not, and which rule decided.
type Decision struct {
	Allow bool
	// Rule names the rule that decided ("access.groups", "access.rule";
	// "default" when no rule applied); Reason says why in words.
	Rule, Reason string
	// Reauth means the user may pass after signing in again (the sign-in
	// is older than max_session_age).
	Reauth bool
}

// Policy is one app's compiled access policy.
type Policy struct {
	a    config.Access
	prog cel.Program // nil without a rule
}

// Compile builds the policy of an app. The error of a bad CEL rule says
// what CEL said.
func Compile(a config.Access) (*Policy, error) {
	p := &Policy{a: a}
	if a.Rule == "" {
		return p, nil
	}
	prog, err := compileRule(a.Rule)
	if err != nil {
		return nil, err
	}
	p.prog = prog
	return p, nil
}

// Empty reports whether the policy admits every signed-in user.
func (p *Policy) Empty() bool {
	a := p.a
	return len(a.Users) == 0 && len(a.Groups) == 0 && !a.RequireMFA && len(a.RequireAMR) == 0 &&
		len(a.AllowPrefixes) == 0 && len(a.BlockPrefixes) == 0 && a.MaxSessionAge == 0 && p.prog == nil &&
		a.RequireDevice == nil
}

// Decide applies the rules in a fixed order: blocked ranges, allowed
// ranges, device, assignment (users, groups), MFA and methods, sign-in
// age, rule.
func (p *Policy) Decide(in Input) Decision {
	a := p.a
	if pr, ok := contains(a.BlockPrefixes, in.ClientIP); ok {
		return deny("access.block_ips", fmt.Sprintf("client %s is in the blocked range %s", in.ClientIP, pr))
	}
	if len(a.AllowPrefixes) > 0 {
		if _, ok := contains(a.AllowPrefixes, in.ClientIP); !ok {
			return deny("access.allow_ips", fmt.Sprintf("client %s is in none of the allowed ranges", in.ClientIP))
		}
	}
	if a.RequireDevice != nil && in.Device == nil { // verified by the gateway before sign-in
		return deny("access.require_device", "no valid device certificate")
	}
	if len(a.Users) > 0 || len(a.Groups) > 0 {
		id := in.Identity
		assigned := slices.ContainsFunc(a.Users, func(u string) bool {
			return u == id.Subject || (id.UPN != "" && strings.EqualFold(u, id.UPN)) || (id.Email != "" && strings.EqualFold(u, id.Email))
		}) || slices.ContainsFunc(a.Groups, func(g string) bool { return slices.Contains(id.Groups, g) })
		if !assigned {
			return deny("access.groups", fmt.Sprintf("%s is neither an assigned user nor in an assigned group", id.Subject))
		}
	}
	if a.RequireMFA && !slices.Contains(in.Identity.AMR, "mfa") {
		return deny("access.require_mfa", fmt.Sprintf("the sign-in used %v, without mfa", in.Identity.AMR))
	}
	for _, m := range a.RequireAMR {
		if !slices.Contains(in.Identity.AMR, m) {
			return deny("access.require_amr", fmt.Sprintf("the sign-in used %v, without %s", in.Identity.AMR, m))
		}
	}
	if age := in.Now.Sub(in.SignedIn); a.MaxSessionAge > 0 && age > a.MaxSessionAge.D() {
		d := deny("access.max_session_age", fmt.Sprintf("signed in %s ago, more than %s", age.Round(time.Second), a.MaxSessionAge.D()))
		d.Reauth = true
		return d
	}
	if p.prog != nil {
		ok, err := evalRule(p.prog, in)
		switch {
		case err != nil:
			return deny("access.rule", "the rule failed: "+err.Error())
		case !ok:
			return deny("access.rule", "the rule is false")
		}
		return Decision{Allow: true, Rule: "access.rule", Reason: "the rule is true"}
	}
	return Decision{Allow: true, Rule: "default", Reason: "no rule refuses"}
}

func deny(rule, reason string) Decision { return Decision{Rule: rule, Reason: reason} }

func contains(ps []netip.Prefix, ip netip.Addr) (netip.Prefix, bool) {
	ip = ip.Unmap()
	for _, p := range ps {
		if p.Contains(ip) {
			return p, true
		}
	}
	return netip.Prefix{}, false
}
