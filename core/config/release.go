package config

import (
	"encoding/base64"
	"fmt"

	"github.com/gatehouse/gatehouse/release"
	"golang.org/x/mod/semver"
)

// Release is the key connector releases are signed with (see package
// release): connectors get PublicKey in their enrollment tokens and refuse
// any binary it did not sign, so a gateway alone cannot push one.
type Release struct {
	// PublicKey is the first release key, as 'gatehouse release keygen'
	// prints it ("gatehouse-release-ed25519:" + base64). Keep it when the
	// key rotates: connectors enrolled with it follow Endorsements.
	PublicKey string `yaml:"public_key,omitempty"`
	// Endorsements rotate the key, oldest first: each signs the next key
	// with the one before it. Releases are signed with the last key.
	Endorsements []ReleaseEndorsement `yaml:"endorsements,omitempty"`
}

// ReleaseEndorsement is one key rotation: NewKey signed by the key before
// it; Signature is standard base64, as 'gatehouse release endorse' prints it.
type ReleaseEndorsement struct {
	NewKey    string `yaml:"new_key"`
	Signature string `yaml:"signature"`
}

// Chain returns the endorsements in the form connectors verify. Call it
// on a validated config only (an undecodable signature comes back empty,
// and fails verification).
func (r Release) Chain() []release.Endorsement {
	var chain []release.Endorsement
	for _, e := range r.Endorsements {
		sig, _ := base64.StdEncoding.DecodeString(e.Signature)
		chain = append(chain, release.Endorsement{NewKey: e.NewKey, Signature: sig})
	}
	return chain
}

// Updates is a connector group's update policy.
type Updates struct {
	// Policy: "auto" (default) updates the group's connectors when a newer
	// release is stored; "manual" only on 'gatehouse connectors update';
	// "off" never.
	Policy string `yaml:"policy"`
	// Window limits when updates start, in the gateway's local time (see
	// ParseWindow), e.g. "Mon-Fri 02:00-05:00"; "" is any time.
	Window string `yaml:"window,omitempty"`
	// Version pins the release the group runs (e.g. "v1.4.0"), even an
	// older one than it runs; "" is the newest stored release.
	Version string `yaml:"version,omitempty"`
	// AllowSingle lets a group with one connector update: the group's apps
	// are down while it restarts.
	AllowSingle bool `yaml:"allow_single,omitempty"`
}

// Update policies.
const (
	UpdateAuto   = "auto"
	UpdateManual = "manual"
	UpdateOff    = "off"
)

func (l *loader) releaseDefaults(c *Config) {
	for i := range c.ConnectorGroups {
		l.str(&c.ConnectorGroups[i].Updates.Policy, fmt.Sprintf("connector_groups[%d].updates.policy", i), UpdateAuto)
	}
}

func (l *loader) checkRelease(c *Config) {
	r := c.Release
	ok := true
	for i, e := range r.Endorsements {
		key := fmt.Sprintf("release.endorsements[%d]", i)
		if _, err := release.ParsePublicKey(e.NewKey); err != nil {
			l.errorf(key+".new_key", "%v", err)
			ok = false
		}
		if _, err := base64.StdEncoding.DecodeString(e.Signature); err != nil || e.Signature == "" {
			l.errorf(key+".signature", "must be the standard base64 signature 'gatehouse release endorse' printed")
			ok = false
		}
	}
	if r.PublicKey == "" {
		if len(r.Endorsements) > 0 {
			l.errorf("release.public_key", "missing: endorsements rotate from the first release key; set public_key to it")
		}
		return
	}
	root, err := release.ParsePublicKey(r.PublicKey)
	if err != nil {
		l.errorf("release.public_key", "%v (copy the line 'gatehouse release keygen' printed)", err)
		return
	}
	if _, err := release.Trusted(root, r.Chain()); err != nil && ok {
		l.errorf("release.endorsements", "%v", err)
	}
}

func (l *loader) checkUpdates(c *Config) {
	for i, g := range c.ConnectorGroups {
		key := fmt.Sprintf("connector_groups[%d].updates", i)
		u := g.Updates
		switch u.Policy {
		case UpdateAuto, UpdateManual, UpdateOff:
		default:
			l.errorf(key+".policy", "%q is not a policy; use auto (update when a newer release is stored), manual (only on 'gatehouse connectors update') or off", u.Policy)
		}
		if _, err := ParseWindow(u.Window); err != nil {
			l.errorf(key+".window", "%v", err)
		}
		if u.Version != "" && !semver.IsValid(u.Version) {
			l.errorf(key+".version", "%q is not a release version; write a semantic version with a leading v, e.g. v1.4.0", u.Version)
		}
	}
}
