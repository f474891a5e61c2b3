package config

import (
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/gatehouse/gatehouse/core/samlidp"
	"gopkg.in/yaml.v3"
)

// SAMLIdP makes Gatehouse the SAML 2.0 identity provider of the app's
// backend, a SAML service provider (SP): apps[].saml_idp. Its metadata is
// at https://HOST/.gatehouse/saml/APP/metadata (see docs/SAML-IDP.md).
type SAMLIdP struct {
	// SPMetadataFile is the SP's metadata (an EntityDescriptor) as a file;
	// relative paths start at the config file's directory.
	SPMetadataFile string `yaml:"sp_metadata_file"`
	// SPMetadata is the SP's metadata inline (instead of sp_metadata_file).
	SPMetadata string `yaml:"sp_metadata"`
	// NameIDFormat is the NameID's format: persistent (default: an opaque
	// id per user and SP), email, unspecified or transient.
	NameIDFormat string `yaml:"name_id_format"`
	// NameIDValue is what an unspecified NameID holds: sub (default),
	// email or upn.
	NameIDValue string `yaml:"name_id_value"`
	// Attributes maps SAML attribute names to what they hold: sub, email,
	// upn, name, groups or claim:NAME. Default: email, upn, name and
	// groups under those names.
	Attributes SAMLAttributes `yaml:"attributes"`
	// AssertionLifetime is how long an assertion is valid (NotOnOrAfter).
	// Default 5m, at most 1h.
	AssertionLifetime Duration `yaml:"assertion_lifetime"`
	// LaunchRelayState is the RelayState of an IdP-initiated sign-in (the
	// launch path): where the SP sends the user after it, for SPs that
	// need one. Default: none.
	LaunchRelayState string `yaml:"launch_relay_state"`

	// Metadata is the SP metadata read from either source, checked.
	Metadata []byte `yaml:"-"`
}

// SAMLAttributes maps SAML attribute names to their sources.
type SAMLAttributes map[string]string

// UnmarshalYAML takes a mapping of names to sources.
func (m *SAMLAttributes) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("expected a mapping of SAML attribute names to sources (mail: email), got %s", describeNode(n))
	}
	var v map[string]string
	if err := n.Decode(&v); err != nil {
		return fmt.Errorf("attributes: each value is one of sub, email, upn, name, groups or claim:NAME: %w", err)
	}
	*m = v
	return nil
}

const (
	defaultAssertionLifetime = Duration(5 * time.Minute)
	maxAssertionLifetime     = Duration(time.Hour)
)

// checkSAMLIdP validates an app's saml_idp and reads its SP metadata.
func (l *loader) checkSAMLIdP(key string, a *App) {
	s := a.SAMLIdP
	key += ".saml_idp"
	if s == nil || l.bad[key] {
		return
	}
	if a.Auth.Passthrough || a.TCP != nil {
		l.errorf(key, "the SAML identity provider needs a signed-in user on a web app: set auth to an Authenticator plug-in, or remove saml_idp")
		return
	}
	switch {
	case (s.SPMetadataFile == "") == (s.SPMetadata == ""):
		l.errorf(key, "give the service provider's metadata in exactly one of sp_metadata_file (a path) or sp_metadata (the XML inline)")
	case s.SPMetadataFile != "":
		b, err := os.ReadFile(l.resolve(s.SPMetadataFile))
		if err != nil {
			l.errorf(key+".sp_metadata_file", "cannot read the SP metadata: %v", err)
			break
		}
		l.checkSPMetadata(key+".sp_metadata_file", s, b, a)
	default:
		l.checkSPMetadata(key+".sp_metadata", s, []byte(s.SPMetadata), a)
	}
	if msg := samlidp.CheckNameID(s.NameIDFormat, s.NameIDValue); msg != "" {
		l.errorf(key+".name_id_format", "%s", msg)
	}
	names := make([]string, 0, len(s.Attributes))
	for n := range s.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if msg := samlidp.CheckAttribute(n, s.Attributes[n]); msg != "" {
			l.errorf(key+".attributes."+n, "%s", msg)
		}
	}
	switch {
	case s.AssertionLifetime == 0:
		s.AssertionLifetime = defaultAssertionLifetime
	case s.AssertionLifetime < Duration(time.Minute) || s.AssertionLifetime > maxAssertionLifetime:
		l.errorf(key+".assertion_lifetime", "%s is out of range: use 1m to 1h (default 5m); the SP must receive the assertion within it", s.AssertionLifetime.D())
	}
	if len(s.LaunchRelayState) > 1024 {
		l.errorf(key+".launch_relay_state", "too long (%d bytes, at most 1024)", len(s.LaunchRelayState))
	}
}

func (l *loader) checkSPMetadata(key string, s *SAMLIdP, md []byte, a *App) {
	if _, err := samlidp.ParseSP(md, a.Host, a.PathPrefix); err != nil {
		l.errorf(key, "%v", fmt.Errorf("%w; export it from the service provider (it lists its entityID and AssertionConsumerService)", err))
		return
	}
	s.Metadata = md
}
