package samlidp

// What an assertion says about the user: the NameID and the attributes.

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/crewjam/saml"
	"github.com/gatehouse/gatehouse/sdk"
)

// NameID formats, by their config names.
var nameIDFormats = map[string]saml.NameIDFormat{
	"persistent":  saml.PersistentNameIDFormat,
	"email":       saml.EmailAddressNameIDFormat,
	"unspecified": saml.UnspecifiedNameIDFormat,
	"transient":   saml.TransientNameIDFormat,
}

// CheckNameID says what is wrong with a name_id_format and name_id_value
// ("" for the default), or "".
func CheckNameID(format, value string) string {
	if _, ok := nameIDFormats[format]; format != "" && !ok {
		return fmt.Sprintf("unknown NameID format %q: use persistent (the default), email, unspecified or transient", format)
	}
	switch value {
	case "", "sub", "email", "upn":
	default:
		return fmt.Sprintf("unknown name_id_value %q: use sub (the default), email or upn", value)
	}
	if value != "" && format != "unspecified" {
		return "name_id_value applies only to name_id_format: unspecified (the other formats say what they hold)"
	}
	return ""
}

// CheckAttribute says what is wrong with an attribute mapping, or "".
func CheckAttribute(name, source string) string {
	if strings.TrimSpace(name) == "" || strings.ContainsAny(name, "<>&\"'") || len(name) > 256 {
		return fmt.Sprintf("attribute name %q is empty, too long, or holds XML markup", name)
	}
	switch source {
	case "sub", "email", "upn", "name", "groups":
		return ""
	}
	if c, ok := strings.CutPrefix(source, "claim:"); ok && c != "" {
		return ""
	}
	return fmt.Sprintf("attribute %q: unknown source %q: use sub, email, upn, name, groups or claim:NAME", name, source)
}

// defaultAttributes are sent when the config maps none.
var defaultAttributes = map[string]string{"email": "email", "upn": "upn", "name": "name", "groups": "groups"}

// Subject is how an app's IdP names users.
type Subject struct {
	Format     string            // config name; "" = persistent
	Value      string            // unspecified only: sub, email or upn
	Attributes map[string]string // SAML name → source; nil: defaultAttributes
	Secret     []byte            // HMAC key of persistent ids
}

// nameID returns the NameID of id for the SP, and its format URN, or an
// error that tells the user what their account lacks.
func (s Subject) nameID(id sdk.Identity, spEntityID string) (string, string, error) {
	format := s.Format
	if format == "" {
		format = "persistent"
	}
	urn := string(nameIDFormats[format])
	var v string
	switch format {
	case "persistent": // opaque, stable, different per SP
		m := hmac.New(sha256.New, s.Secret)
		m.Write([]byte(spEntityID + "\x00" + id.Subject))
		v = base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	case "transient":
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		v = "_" + base64.RawURLEncoding.EncodeToString(b)
	case "email":
		v = id.Email
	default:
		v = pick(id, s.Value)
	}
	if v == "" {
		what := map[string]string{"email": "an e-mail address", "upn": "a user principal name"}[s.Value]
		if format == "email" {
			what = "an e-mail address"
		}
		if what == "" {
			what = "a user id"
		}
		return "", "", fmt.Errorf("your account has no %s, which this app needs to know who you are", what)
	}
	return v, urn, nil
}

// pick is the single-valued source of id.
func pick(id sdk.Identity, source string) string {
	switch source {
	case "email":
		return id.Email
	case "upn":
		return id.UPN
	case "name":
		return id.Name
	}
	return id.Subject
}

// attributes returns id's mapped attributes, sorted by name; an empty
// value is left out.
func (s Subject) attributes(id sdk.Identity) []saml.Attribute {
	m := s.Attributes
	if len(m) == 0 {
		m = defaultAttributes
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []saml.Attribute
	for _, n := range names {
		var vals []string
		switch src := m[n]; {
		case src == "groups":
			vals = id.Groups
		case strings.HasPrefix(src, "claim:"):
			vals = claimValues(id.Claims[strings.TrimPrefix(src, "claim:")])
		default:
			vals = []string{pick(id, src)}
		}
		a := saml.Attribute{Name: n, NameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"}
		for _, v := range vals {
			if v != "" {
				a.Values = append(a.Values, saml.AttributeValue{Type: "xs:string", Value: v})
			}
		}
		if len(a.Values) > 0 {
			out = append(out, a)
		}
	}
	return out
}

// claimValues turns a JSON claim into attribute values: a string is one,
// a list gives one per element, anything else its JSON.
func claimValues(c any) []string {
	switch v := c.(type) {
	case nil:
		return nil
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, claimValues(e)...)
		}
		return out
	}
	b, _ := json.Marshal(c)
	return []string{string(b)}
}
