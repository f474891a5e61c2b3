package sdk

import (
	"fmt"
	"slices"
)

// A Capability is an optional part of the protocol. A plug-in that uses
// one declares it in [Plugin.Capabilities]; the host gives a plug-in what
// a capability carries only if it declared it, and refuses what a
// capability lets a plug-in answer from one that did not. A plug-in that
// declares none speaks the plain protocol, which is all most need.
type Capability string

// CapabilityCredentials is the password vault's part of the Injector
// protocol, for a sign-on plug-in that logs users in to a backend with
// credentials the gateway keeps for them. Only a plug-in that declared it
//
//   - gets [InjectRequest.Secret], the user's sealed credentials for the
//     app (open them with package sdk/vault);
//   - may answer [InjectResult.AskCredentials] and
//     [InjectResult.RejectStatus]; from any other plug-in a result with
//     either set is refused as invalid.
//
// It is for Injectors only.
const CapabilityCredentials Capability = "credentials"

// knownCapabilities are the capabilities of this protocol version.
var knownCapabilities = []Capability{CapabilityCredentials, CapabilitySignOut}

// checkCapabilities reports a capability p cannot declare.
func (p Plugin) checkCapabilities() error {
	for _, c := range p.Capabilities {
		switch {
		case !slices.Contains(knownCapabilities, c):
			return fmt.Errorf("sdk.Serve: unknown capability %q in Plugin.Capabilities (known: %q)", c, knownCapabilities)
		case c == CapabilityCredentials && p.Injector == nil:
			return fmt.Errorf("sdk.Serve: capability %q is for Injectors, and the Plugin has no Injector constructor", c)
		case c == CapabilitySignOut && p.Authenticator == nil:
			return fmt.Errorf("sdk.Serve: capability %q is for Authenticators, and the Plugin has no Authenticator constructor", c)
		}
	}
	return nil
}

// kindCapabilities are the capabilities in declared that apply to one
// kind of plug-in (wire.Authenticator or wire.Injector).
func kindCapabilities(declared []Capability, authenticator bool) []Capability {
	var out []Capability
	for _, c := range declared {
		if (c == CapabilitySignOut) == authenticator {
			out = append(out, c)
		}
	}
	return out
}

// checkCapabilities reports a field of r that needs a capability that is
// not in declared.
func (r InjectResult) checkCapabilities(declared []Capability) error {
	if slices.Contains(declared, CapabilityCredentials) {
		return nil
	}
	switch {
	case r.AskCredentials:
		return fmt.Errorf("AskCredentials is set, but the plug-in did not declare capability %q (sdk.Plugin.Capabilities)", CapabilityCredentials)
	case r.RejectStatus != 0:
		return fmt.Errorf("RejectStatus is set, but the plug-in did not declare capability %q (sdk.Plugin.Capabilities)", CapabilityCredentials)
	}
	return nil
}
