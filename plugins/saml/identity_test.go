package saml

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// assertion is a checked assertion as crewjam/saml returns it: NameID
// "n-1", the attributes given as name=value pairs (FriendlyName after a
// "|"), and one AuthnStatement.
func assertion(classRef string, sessionEnd *time.Time, attrs ...string) *crewjam.Assertion {
	as := &crewjam.Assertion{
		Issuer:  crewjam.Issuer{Value: "https://idp.example.test"},
		Subject: &crewjam.Subject{NameID: &crewjam.NameID{Value: "n-1", Format: string(crewjam.PersistentNameIDFormat)}},
		AuthnStatements: []crewjam.AuthnStatement{{SessionIndex: "s-1", SessionNotOnOrAfter: sessionEnd,
			AuthnContext: crewjam.AuthnContext{AuthnContextClassRef: &crewjam.AuthnContextClassRef{Value: classRef}}}},
	}
	var st crewjam.AttributeStatement
	for _, kv := range attrs {
		k, v, _ := strings.Cut(kv, "=")
		name, friendly, _ := strings.Cut(k, "|")
		st.Attributes = append(st.Attributes, crewjam.Attribute{Name: name, FriendlyName: friendly,
			Values: []crewjam.AttributeValue{{Value: v}}})
	}
	as.AttributeStatements = []crewjam.AttributeStatement{st}
	return as
}

func at(d time.Duration) *time.Time {
	t := t0.Add(d)
	return &t
}

func withConfig(edit func(*config)) *authenticator {
	cfg := config{UPNAttribute: "upn", EmailAttribute: "mail", NameAttribute: "displayName", GroupsAttribute: "groups", ClockSkew: time.Minute}
	if edit != nil {
		edit(&cfg)
	}
	return &authenticator{cfg: cfg}
}

// Attributes are found by Name or FriendlyName; repeated and empty
// values are dropped; Entra ID's and AD FS's URIs work when configured.
func TestIdentityAttributes(t *testing.T) {
	a := withConfig(func(c *config) {
		c.UPNAttribute = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
		c.EmailAttribute = "mail"
		c.ExtraAttributes = []string{"department", "absent"}
	})
	as := assertion("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport", nil,
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn=alice@EXAMPLE.TEST",
		"urn:oid:0.9.2342.19200300.100.1.3|mail=alice@example.com",
		"groups=staff", "groups=hr", "groups=staff", "groups= ", "department=HR")
	id, err := a.identity(as, t0)
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "n-1" || id.UPN != "alice@EXAMPLE.TEST" || id.Email != "alice@example.com" || id.Name != "" ||
		!slices.Equal(id.Groups, []string{"staff", "hr"}) || !slices.Equal(id.AMR, []string{"pwd"}) {
		t.Errorf("identity %+v", id)
	}
	want := map[string]any{"issuer": "https://idp.example.test", "name_id_format": string(crewjam.PersistentNameIDFormat),
		"authn_context": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport", "session_index": "s-1", "department": "HR"}
	if fmt.Sprint(id.Claims) != fmt.Sprint(want) {
		t.Errorf("claims %v, want %v", id.Claims, want)
	}
	if !id.Expiry.IsZero() {
		t.Errorf("expiry %v without SessionNotOnOrAfter or identity_lifetime, want zero (the gateway's session lifetime)", id.Expiry)
	}
}

// The identity ends with the IdP's session, never later than
// identity_lifetime (or 30 days); an IdP session that is over is refused.
func TestIdentityExpiry(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sessionEnd *time.Time
		lifetime   time.Duration
		want       time.Time // zero: none
		err        string
	}{
		{"neither", nil, 0, time.Time{}, ""},
		{"IdP session", at(8 * time.Hour), 0, t0.Add(8 * time.Hour), ""},
		{"IdP session longer than identity_lifetime", at(8 * time.Hour), time.Hour, t0.Add(time.Hour), ""},
		{"IdP session shorter than identity_lifetime", at(30 * time.Minute), time.Hour, t0.Add(30 * time.Minute), ""},
		{"identity_lifetime only", nil, 2 * time.Hour, t0.Add(2 * time.Hour), ""},
		{"IdP session of a year", at(365 * 24 * time.Hour), 0, t0.Add(maxLifetime), ""},
		{"IdP session over", at(-time.Second), 0, time.Time{}, "the IdP session ended at 2026-03-01T08:59:59Z"},
	} {
		a := withConfig(func(c *config) { c.IdentityLifetime = tc.lifetime })
		id, err := a.identity(assertion("", tc.sessionEnd), t0)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.err)
		case tc.err == "" && (err != nil || !id.Expiry.Equal(tc.want)):
			t.Errorf("%s: expiry %v (%v), want %v", tc.name, id.Expiry, err, tc.want)
		}
	}
}

// The subject is the NameID, or the attribute subject_attribute names;
// without either there is no identity.
func TestIdentitySubject(t *testing.T) {
	as := assertion("", nil, "objectGUID=g-1")
	if id, err := withConfig(func(c *config) { c.SubjectAttribute = "objectGUID" }).identity(as, t0); err != nil || id.Subject != "g-1" {
		t.Errorf("subject_attribute: %q, %v", id.Subject, err)
	}
	if _, err := withConfig(func(c *config) { c.SubjectAttribute = "uid" }).identity(as, t0); err == nil || !strings.Contains(err.Error(), `no attribute "uid"`) {
		t.Errorf("missing subject attribute: %v", err)
	}
	as.Subject.NameID.Value = " "
	if _, err := withConfig(nil).identity(as, t0); err == nil || !strings.Contains(err.Error(), "no NameID") {
		t.Errorf("empty NameID: %v", err)
	}
}

// Authentication context classes and method URIs become amr values:
// what conditional access checks when an app requires MFA.
func TestAMR(t *testing.T) {
	for _, tc := range []struct {
		classRef string
		attr     []string
		want     []string
	}{
		{"urn:oasis:names:tc:SAML:2.0:ac:classes:Password", nil, []string{"pwd"}},
		{"urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified", nil, nil},
		{"https://refeds.org/profile/mfa", nil, []string{"mfa"}},
		{"urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI", nil, []string{"sc", "mfa"}},
		{"urn:example:something-else", nil, nil},
		{"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
			[]string{"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password", "http://schemas.microsoft.com/claims/multipleauthn"},
			[]string{"pwd", "mfa"}},
		{"", []string{"otp", "hwk", "a value that is far too long to be an amr value", "urn:x:y"}, []string{"otp", "hwk"}},
	} {
		var attrs []string
		for _, v := range tc.attr {
			attrs = append(attrs, "amr="+v)
		}
		id, err := withConfig(func(c *config) { c.AMRAttribute = "amr" }).identity(assertion(tc.classRef, nil, attrs...), t0)
		if err != nil || !slices.Equal(id.AMR, tc.want) {
			t.Errorf("%s %v: amr %v (%v), want %v", tc.classRef, tc.attr, id.AMR, err, tc.want)
		}
	}
}

// clock_skew is applied to NotBefore, NotOnOrAfter, IssueInstant and the
// bearer confirmation's NotOnOrAfter.
func TestCheckTimes(t *testing.T) {
	valid := func() *crewjam.Assertion {
		as := assertion("", nil)
		as.IssueInstant = t0
		as.Conditions = &crewjam.Conditions{NotBefore: t0.Add(-30 * time.Second), NotOnOrAfter: t0.Add(5 * time.Minute)}
		as.Subject.SubjectConfirmations = []crewjam.SubjectConfirmation{{Method: bearerMethod,
			SubjectConfirmationData: &crewjam.SubjectConfirmationData{NotOnOrAfter: t0.Add(5 * time.Minute)}}}
		return as
	}
	a := withConfig(nil)
	for _, tc := range []struct {
		name string
		now  time.Time
		edit func(*crewjam.Assertion)
		want string
	}{
		{"valid", t0, nil, ""},
		{"NotBefore and IssueInstant within the skew", t0.Add(-55 * time.Second), nil, ""},
		{"NotBefore beyond the skew", t0.Add(-91 * time.Second), nil, "NotBefore"},
		{"IssueInstant beyond the skew", t0, func(as *crewjam.Assertion) { as.IssueInstant = t0.Add(2 * time.Minute) }, "IssueInstant"},
		{"NotOnOrAfter within the skew", t0.Add(5*time.Minute + 59*time.Second), nil, ""},
		{"NotOnOrAfter beyond the skew", t0.Add(6 * time.Minute), nil, "Conditions NotOnOrAfter"},
		{"bearer NotOnOrAfter passed", t0.Add(2 * time.Minute), func(as *crewjam.Assertion) {
			as.Subject.SubjectConfirmations[0].SubjectConfirmationData.NotOnOrAfter = t0
		}, "SubjectConfirmationData NotOnOrAfter"},
		{"no bearer confirmation", t0, func(as *crewjam.Assertion) { as.Subject.SubjectConfirmations[0].Method = "urn:x" }, "SubjectConfirmationData"},
	} {
		as := valid()
		if tc.edit != nil {
			tc.edit(as)
		}
		got := a.checkTimes(as, tc.now)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// The IdP's refusal is a 403 that says its status code in words; a Response that
// fails a check is a 401.
func TestRefusedPages(t *testing.T) {
	res := refused(&crewjam.InvalidResponseError{PrivateErr: crewjam.ErrBadStatus{Status: "urn:oasis:names:tc:SAML:2.0:status:Responder"}})
	if res.Status != http.StatusForbidden || res.Page == nil || !strings.Contains(res.Page.Text, "had a problem") || strings.Contains(string(res.Body), "Responder") {
		t.Errorf("bad status: %d %s", res.Status, res.Body)
	}
	res = refused(&crewjam.InvalidResponseError{PrivateErr: fmt.Errorf("x: %w", crewjam.ErrAudienceMismatch)})
	if res.Status != http.StatusUnauthorized || !strings.Contains(res.Reason, "(wrong audience)") || strings.Contains(string(res.Body), "audience") {
		t.Errorf("audience: %d %q %s", res.Status, res.Reason, res.Body)
	}
}

// The replay cache refuses an id it holds until that id expires, and
// makes room when full.
func TestReplayCache(t *testing.T) {
	c := newReplayCache(2)
	now := t0
	c.now = func() time.Time { return now }
	if err := c.Consume("a", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := c.Consume("a", t0.Add(time.Minute)); !errors.Is(err, crewjam.ErrAssertionReplayed) {
		t.Errorf("second use: %v", err)
	}
	_ = c.Consume("b", t0.Add(2*time.Minute))
	_ = c.Consume("c", t0.Add(3*time.Minute)) // full: "a" expires first and goes
	if err := c.Consume("b", t0.Add(2*time.Minute)); !errors.Is(err, crewjam.ErrAssertionReplayed) {
		t.Errorf("b was dropped instead of a: %v", err)
	}
	now = t0.Add(3 * time.Minute)
	if err := c.Consume("c", t0.Add(4*time.Minute)); err != nil {
		t.Errorf("c after it expired: %v", err)
	}
}
