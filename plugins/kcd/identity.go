package kcd

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/plugins/kcd/internal/s4u"
	"github.com/gatehouse/gatehouse/sdk"
)

// maxNameLen bounds a user name sent to the KDC (AD's UPN limit is 1024
// characters; real ones are far shorter).
const maxNameLen = 1024

// mapper picks the Kerberos user to delegate from a signed-in identity.
type mapper struct {
	mode    string   // "upn", "upn_user" or "claim"
	claim   string   // mode "claim": the claim's name
	domains []string // mode "upn_user": accepted UPN suffixes, lower case
	setting string   // the identity setting, for the log
}

func newMapper(identity string, domains []string, realm string) (mapper, error) {
	m := mapper{mode: identity, setting: identity}
	switch {
	case identity == "upn":
	case identity == "upn_user":
		if len(domains) == 0 {
			domains = []string{realm}
		}
		for i, d := range domains {
			if d == "" || strings.ContainsAny(d, "@/ \t\r\n\x00") {
				return m, sdk.FieldErrorf(fmt.Sprintf("upn_domains[%d]", i), "%q is not a domain like example.com", d)
			}
			m.domains = append(m.domains, strings.ToLower(d))
		}
	case strings.HasPrefix(identity, "claim:"):
		m.mode, m.claim = "claim", strings.TrimPrefix(identity, "claim:")
		if m.claim == "" {
			return m, sdk.FieldErrorf("identity", "claim: needs the claim's name, like claim:samaccountname")
		}
	default:
		return m, sdk.FieldErrorf("identity", "expected upn, upn_user or claim:NAME, got %q", identity)
	}
	if len(domains) > 0 && identity != "upn_user" {
		return m, sdk.FieldErrorf("upn_domains", "only used with identity: upn_user")
	}
	return m, nil
}

// user is the Kerberos user for id, or an error that says why there is
// none. The identity comes signed from the gateway, but its values come
// from an identity provider: anything that is not a plain name is refused.
func (m mapper) user(id sdk.Identity) (s4u.User, error) {
	switch m.mode {
	case "upn":
		if err := checkName(id.UPN, true); err != nil {
			return s4u.User{}, fmt.Errorf("identity %q: UPN: %w", id.Subject, err)
		}
		return s4u.User{Name: id.UPN, Enterprise: true}, nil
	case "upn_user":
		if err := checkName(id.UPN, true); err != nil {
			return s4u.User{}, fmt.Errorf("identity %q: UPN: %w", id.Subject, err)
		}
		name, domain, _ := strings.Cut(id.UPN, "@")
		if !slices.Contains(m.domains, strings.ToLower(domain)) {
			return s4u.User{}, fmt.Errorf("identity %q: UPN %q is not in an accepted domain (upn_domains: %s)", id.Subject, id.UPN, strings.Join(m.domains, ", "))
		}
		return s4u.User{Name: name}, nil
	}
	v, ok := id.Claims[m.claim]
	s, isString := v.(string)
	if !ok || !isString {
		return s4u.User{}, fmt.Errorf("identity %q has no text claim %q to delegate", id.Subject, m.claim)
	}
	enterprise := strings.Contains(s, "@")
	if err := checkName(s, enterprise); err != nil {
		return s4u.User{}, fmt.Errorf("identity %q: claim %q: %w", id.Subject, m.claim, err)
	}
	return s4u.User{Name: s, Enterprise: enterprise}, nil
}

// checkName accepts a user name (no @) or a UPN (exactly one @, between two
// non-empty parts) of printable UTF-8 without / or \.
func checkName(s string, upn bool) error {
	switch {
	case s == "":
		return fmt.Errorf("empty")
	case len(s) > maxNameLen:
		return fmt.Errorf("longer than %d bytes", maxNameLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("not valid UTF-8")
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("%q has a control character", s)
	case strings.ContainsAny(s, "/\\"):
		return fmt.Errorf("%q has a / or \\; a user's name has neither", s)
	}
	at := strings.Count(s, "@")
	if upn && (at != 1 || strings.HasPrefix(s, "@") || strings.HasSuffix(s, "@")) {
		return fmt.Errorf("%q is not a UPN like user@example.com", s)
	}
	if !upn && at != 0 {
		return fmt.Errorf("%q has an @", s)
	}
	return nil
}
