package saml

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/gatehouse/gatehouse/sdk"
)

// identity maps a checked assertion into an identity, as the *_attribute
// keys say. Attributes are found by their Name or their FriendlyName.
//
// The identity ends when the IdP's session does (the first AuthnStatement
// with a SessionNotOnOrAfter), and never later than identity_lifetime from
// now (if set) or 30 days. An IdP session that has already ended is
// refused. Without either, Expiry stays zero and the gateway's session
// lifetime applies. The assertion's own NotOnOrAfter bounds when it may be
// presented, not how long the sign-in lasts, so it is not used here.
func (a *authenticator) identity(as *crewjam.Assertion, now time.Time) (sdk.Identity, error) {
	attrs := attributes(as)
	id := sdk.Identity{
		UPN:    first(attrs.values(a.cfg.UPNAttribute)),
		Email:  first(attrs.values(a.cfg.EmailAttribute)),
		Name:   first(attrs.values(a.cfg.NameAttribute)),
		Groups: attrs.values(a.cfg.GroupsAttribute),
		Claims: map[string]any{"issuer": as.Issuer.Value},
	}
	if a.cfg.SubjectAttribute != "" {
		if id.Subject = first(attrs.values(a.cfg.SubjectAttribute)); id.Subject == "" {
			return sdk.Identity{}, fmt.Errorf("the assertion has no attribute %q (subject_attribute)", a.cfg.SubjectAttribute)
		}
	} else {
		if as.Subject == nil || as.Subject.NameID == nil || strings.TrimSpace(as.Subject.NameID.Value) == "" {
			return sdk.Identity{}, errors.New("the assertion's Subject has no NameID (set subject_attribute to take the subject from an attribute)")
		}
		id.Subject = strings.TrimSpace(as.Subject.NameID.Value)
	}
	if as.Subject != nil && as.Subject.NameID != nil { // single logout names the user by it
		if a.cfg.SubjectAttribute != "" {
			id.Claims["name_id"] = strings.TrimSpace(as.Subject.NameID.Value)
		}
		if f := as.Subject.NameID.Format; f != "" {
			id.Claims["name_id_format"] = f
		}
	}
	var sessionEnd *time.Time
	for _, s := range as.AuthnStatements {
		if ref := s.AuthnContext.AuthnContextClassRef; ref != nil && ref.Value != "" {
			if _, ok := id.Claims["authn_context"]; !ok {
				id.Claims["authn_context"] = ref.Value
			}
			id.AMR = appendAMR(id.AMR, ref.Value)
		}
		if s.SessionIndex != "" {
			if _, ok := id.Claims["session_index"]; !ok {
				id.Claims["session_index"] = s.SessionIndex
			}
		}
		if s.SessionNotOnOrAfter != nil && (sessionEnd == nil || s.SessionNotOnOrAfter.Before(*sessionEnd)) {
			sessionEnd = s.SessionNotOnOrAfter
		}
	}
	if a.cfg.AMRAttribute != "" {
		for _, v := range attrs.values(a.cfg.AMRAttribute) {
			id.AMR = appendAMR(id.AMR, v)
		}
	}
	for _, name := range a.cfg.ExtraAttributes {
		switch vs := attrs.values(name); len(vs) {
		case 0:
		case 1:
			id.Claims[name] = vs[0]
		default:
			id.Claims[name] = vs
		}
	}
	limit := now.Add(maxLifetime)
	if a.cfg.IdentityLifetime > 0 {
		limit = now.Add(a.cfg.IdentityLifetime)
	}
	switch {
	case sessionEnd != nil && !sessionEnd.After(now):
		return sdk.Identity{}, fmt.Errorf("the IdP session ended at %s (SessionNotOnOrAfter)", sessionEnd.UTC().Format(time.RFC3339))
	case sessionEnd != nil && sessionEnd.Before(limit):
		id.Expiry = sessionEnd.UTC()
	case sessionEnd != nil || a.cfg.IdentityLifetime > 0:
		id.Expiry = limit.UTC()
	}
	return id, nil
}

// attrSet is an assertion's attributes.
type attrSet []crewjam.Attribute

func attributes(as *crewjam.Assertion) attrSet {
	var out attrSet
	for _, st := range as.AttributeStatements {
		out = append(out, st.Attributes...)
	}
	return out
}

// values are the non-empty values of the attributes whose Name or
// FriendlyName is name, in order, without repeats.
func (s attrSet) values(name string) []string {
	var out []string
	for _, at := range s {
		if at.Name != name && at.FriendlyName != name {
			continue
		}
		for _, v := range at.Values {
			if v.Nil {
				continue
			}
			if val := strings.TrimSpace(v.Value); val != "" && !slices.Contains(out, val) {
				out = append(out, val)
			}
		}
	}
	return out
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// amrOf maps SAML authentication context classes and the authentication
// method URIs that Entra ID and AD FS send to RFC 8176 amr values, which
// conditional access checks (mfa in particular).
var amrOf = map[string][]string{
	"urn:oasis:names:tc:SAML:2.0:ac:classes:Password":                                     {"pwd"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport":                   {"pwd"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:X509":                                         {"swk"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient":                                    {"swk"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:SoftwarePKI":                                  {"swk"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard":                                    {"sc"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI":                                 {"sc", "mfa"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken":                                {"otp"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract":                      {"mfa"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered":                  {"mfa"},
	"urn:oasis:names:tc:SAML:2.0:ac:classes:Kerberos":                                     nil,
	"https://refeds.org/profile/mfa":                                                      {"mfa"},
	"http://schemas.microsoft.com/claims/multipleauthn":                                   {"mfa"},
	"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password":      {"pwd"},
	"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/windows":       {"pwd"},
	"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/kerberos":      nil,
	"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/x509":          {"swk"},
	"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/tlsclient":     {"swk"},
	"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/hardwaretoken": {"hwk"},
	"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/smartcard":     {"sc"},
	"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/unspecified":   nil,
	"urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified":                                  nil,
	"urn:federation:authentication:windows":                                               {"pwd"},
}

// appendAMR adds what method means to amr: its RFC 8176 values if it is a
// known class or method URI, the value itself if it is short and not a
// URI (an IdP that sends amr values as they are), nothing otherwise.
func appendAMR(amr []string, method string) []string {
	vals, known := amrOf[method]
	if !known {
		if len(method) > 32 || strings.ContainsAny(method, ":/ ") {
			return amr
		}
		vals = []string{method}
	}
	for _, v := range vals {
		if !slices.Contains(amr, v) {
			amr = append(amr, v)
		}
	}
	return amr
}
