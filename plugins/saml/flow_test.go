package saml_test

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/plugins/saml/idplab"
	"github.com/gatehouse/gatehouse/sdk"
)

// A browser is sent to the IdP's single sign-on service with an
// AuthnRequest in the HTTP-Redirect binding, signed with the SP's key
// (RSA-SHA256 over the query, as the binding says), asking for the answer
// at the callback URL with HTTP-POST; its id is in the state the gateway
// seals, and no two sign-ins share one.
func TestRedirectIsASignedAuthnRequest(t *testing.T) {
	a := mustOpen(t, idpConfig(t))
	res := startSignIn(t, a)
	loc := mustURL(t, res.Location)
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != idp.URL+"saml2/idp/SSOService.php" {
		t.Errorf("redirect to %s, want the IdP's HTTP-Redirect SSO service", got)
	}
	q := loc.Query()
	if q.Get("SigAlg") != "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" || q.Get("Signature") == "" || q.Has("RelayState") {
		t.Errorf("query %v: want SAMLRequest, SigAlg rsa-sha256 and Signature, no RelayState", q)
	}
	// The signature covers "SAMLRequest=...&SigAlg=..." as sent.
	signed, _, _ := strings.Cut(loc.RawQuery, "&Signature=")
	sig, err := base64.StdEncoding.DecodeString(q.Get("Signature"))
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(signed))
	if err := rsa.VerifyPKCS1v15(certKey(t, spCert), crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("the AuthnRequest's signature does not verify with the SP certificate: %v", err)
	}
	var req struct {
		ID, Destination, AssertionConsumerServiceURL, ProtocolBinding string `xml:",attr"`
		Issuer                                                        string
		NameIDPolicy                                                  struct {
			Format string `xml:",attr"`
		}
	}
	if err := xml.Unmarshal(inflate(t, q.Get("SAMLRequest")), &req); err != nil {
		t.Fatal(err)
	}
	var st struct {
		ID string `json:"i"`
	}
	if err := json.Unmarshal(res.State, &st); err != nil || st.ID != req.ID || len(req.ID) < 20 {
		t.Errorf("state %s does not hold the request id %q (%v)", res.State, req.ID, err)
	}
	if req.Destination != idp.URL+"saml2/idp/SSOService.php" || req.AssertionConsumerServiceURL != callback ||
		req.ProtocolBinding != "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" || req.Issuer != appURL {
		t.Errorf("AuthnRequest %+v: want Destination the SSO URL, ACS %s with HTTP-POST, Issuer %s", req, callback, appURL)
	}
	if req.NameIDPolicy.Format != "" {
		t.Errorf("NameIDPolicy Format %q: by default the IdP decides (unspecified)", req.NameIDPolicy.Format)
	}
	if len(res.State) > sdk.MaxStateSize {
		t.Errorf("state is %d bytes, more than %d", len(res.State), sdk.MaxStateSize)
	}
	again := startSignIn(t, a)
	if bytes.Equal(again.State, res.State) || mustURL(t, again.Location).Query().Get("SAMLRequest") == q.Get("SAMLRequest") {
		t.Error("two sign-ins got the same request")
	}
}

// The IdP checks the AuthnRequest's signature against the SP metadata it
// was given: a request signed with another key is refused there, and
// nothing comes back.
func TestIdPRefusesARequestSignedWithAnotherKey(t *testing.T) {
	a := mustOpen(t, idpConfig(t, "sp_key_file", strangerKey, "sp_cert_file", strangerCert))
	post, err := atIdP(t, startSignIn(t, a), idplab.Alice, idplab.Password)
	if err == nil || errors.Is(err, idplab.ErrNotSignedIn) || post != nil {
		t.Fatalf("got %v, %v: want the IdP to refuse the request", post, err)
	}
	if !strings.Contains(err.Error(), "no login form") {
		t.Errorf("unexpected error: %v", err)
	}
}

// A sign-in at the real IdP ends with the user's identity: subject,
// UPN, e-mail, name and groups from the attributes, amr from the
// authentication context, expiry from the IdP's session.
func TestSignInMapsAttributes(t *testing.T) {
	eightHours := time.Now().Add(8 * time.Hour)
	for _, tc := range []struct {
		name, user string
		cfg        map[string]any
		want       sdk.Identity
		expiry     time.Time
	}{
		{name: "alice", user: idplab.Alice, cfg: idpConfig(t),
			want: sdk.Identity{Subject: "alice", UPN: "alice@EXAMPLE.TEST", Email: "alice@example.com", Name: "Alice Example",
				Groups: []string{"staff", "hr"}, AMR: []string{"pwd"}}, expiry: eightHours},
		{name: "bob, no groups", user: idplab.Bob, cfg: idpConfig(t),
			want: sdk.Identity{Subject: "bob", Email: "bob@example.com", AMR: []string{"pwd"}}, expiry: eightHours},
		{name: "attribute names configured", user: idplab.Alice,
			cfg: idpConfig(t, "subject_attribute", "mail", "upn_attribute", "uid", "email_attribute", "upn",
				"name_attribute", "uid", "groups_attribute", "displayName", "extra_attributes", []any{"groups", "uid", "absent"},
				"identity_lifetime", "1h"),
			want: sdk.Identity{Subject: "alice@example.com", UPN: "alice", Email: "alice@EXAMPLE.TEST", Name: "alice",
				Groups: []string{"Alice Example"}, AMR: []string{"pwd"},
				Claims: map[string]any{"groups": []any{"staff", "hr"}, "uid": "alice", "name_id": "alice"}},
			expiry: time.Now().Add(time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := signIn(t, mustOpen(t, tc.cfg), tc.user)
			if res.Outcome != sdk.OutcomeAuthenticated {
				t.Fatalf("got %+v, want authenticated", res)
			}
			got := res.Identity
			if d := got.Expiry.Sub(tc.expiry); d < -time.Minute || d > time.Minute {
				t.Errorf("expiry %v, want about %v", got.Expiry, tc.expiry)
			}
			if got.Claims["issuer"] != idp.EntityID || got.Claims["authn_context"] != "urn:oasis:names:tc:SAML:2.0:ac:classes:Password" ||
				got.Claims["session_index"] == nil {
				t.Errorf("claims %v: want issuer, authn_context and session_index", got.Claims)
			}
			for _, k := range []string{"issuer", "authn_context", "session_index", "name_id_format"} {
				delete(got.Claims, k)
			}
			if len(got.Claims) == 0 {
				got.Claims = nil
			}
			got.Expiry = time.Time{}
			if g, w := mustJSON(t, got), mustJSON(t, tc.want); g != w {
				t.Errorf("identity\n got %s\nwant %s", g, w)
			}
		})
	}
}

// With name_id_format persistent, the subject is the IdP's opaque,
// pairwise id for the user: the same at every sign-in, not the user name.
func TestPersistentNameID(t *testing.T) {
	a := mustOpen(t, idpConfig(t, "name_id_format", "persistent"))
	first, second := signIn(t, a, idplab.Alice), signIn(t, a, idplab.Alice)
	sub := first.Identity.Subject
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(sub) || second.Identity.Subject != sub {
		t.Errorf("subjects %q and %q: want one opaque persistent id", sub, second.Identity.Subject)
	}
	if f := first.Identity.Claims["name_id_format"]; f != "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" {
		t.Errorf("name_id_format claim %v", f)
	}
}

// A wrong password keeps the user at the IdP: its login page again, and
// no answer for the callback.
func TestWrongPasswordStaysAtIdP(t *testing.T) {
	a := mustOpen(t, idpConfig(t))
	post, err := atIdP(t, startSignIn(t, a), idplab.Alice, "wrong")
	if !errors.Is(err, idplab.ErrNotSignedIn) || post != nil {
		t.Fatalf("got %v, %v: want the login page again", post, err)
	}
}

// Every Response that fails a check is refused with a page, never an
// error, and the reason in the sign-in log says which check.
func TestRefusedResponses(t *testing.T) {
	a := mustOpen(t, idpConfig(t))
	other := mustOpen(t, idpConfig(t, "sp_entity_id", otherSP))
	elsewhere := mustOpen(t, idpConfig(t, "sp_entity_id", appURL))
	post, state := idpPost(t, a, idplab.Alice)
	otherPost, otherState := idpPost(t, other, idplab.Alice)
	fresh := startSignIn(t, a).State

	tamper := func(re, repl string) *idplab.Post {
		xmlResp, err := base64.StdEncoding.DecodeString(post.Form.Get("SAMLResponse"))
		if err != nil {
			t.Fatal(err)
		}
		bad := regexp.MustCompile(re).ReplaceAll(xmlResp, []byte(repl))
		if bytes.Equal(bad, xmlResp) {
			t.Fatalf("%s matches nothing in the response", re)
		}
		p := *post
		p.Form = clone(post.Form)
		p.Form.Set("SAMLResponse", base64.StdEncoding.EncodeToString(bad))
		return &p
	}
	withForm := func(kv ...string) *idplab.Post {
		p := &idplab.Post{Action: callback, Form: map[string][]string{}}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Form.Set(kv[i], kv[i+1])
		}
		return p
	}
	elsewhereReq := postRequest(post, state)
	elsewhereReq.URL = "https://elsewhere.example.test/.gatehouse/auth/hr/callback"
	elsewhereReq.CallbackURL = elsewhereReq.URL
	getCallback := browserRequest("/.gatehouse/auth/hr/callback")

	for _, tc := range []struct {
		name   string
		a      authenticator
		req    sdk.AuthRequest
		status int
		reason string
	}{
		{"an attribute changed after signing", a, postRequest(tamper(`>staff<`, `>admin<`), state), 401, "(bad signature)"},
		{"the subject changed after signing", a, postRequest(tamper(`>alice<`, `>bob<`), state), 401, "(bad signature)"},
		{"the signatures removed", a, postRequest(tamper(`(?s)<ds:Signature.*?</ds:Signature>`, ``), state), 401, "(unsigned)"},
		{"for another SP (audience)", a, postRequest(otherPost, otherState), 401, "(wrong audience)"},
		{"posted to another host (destination)", elsewhere, elsewhereReq, 401, "(wrong destination or recipient)"},
		{"no sign-in in progress (state used, or IdP-initiated)", a, postRequest(post, nil), 400, "no state"},
		{"for another sign-in (InResponseTo)", a, postRequest(post, fresh), 401, "(InResponseTo mismatch)"},
		{"forged state", a, postRequest(post, []byte(`{"i":"id-forged","t":1}`)), 400, "sign-in state older than"},
		{"unreadable state", a, postRequest(post, []byte("garbage")), 400, "unreadable sign-in state"},
		{"no SAMLResponse", a, postRequest(withForm("RelayState", "x"), state), 400, "without a SAMLResponse"},
		{"not base64", a, postRequest(withForm("SAMLResponse", "%%%"), state), 400, "not base64"},
		{"not XML", a, postRequest(withForm("SAMLResponse", base64.StdEncoding.EncodeToString([]byte("<x"))), state), 401, "(malformed)"},
		{"the HTTP-Artifact binding", a, postRequest(withForm("SAMLart", "AAQAAA"), state), 400, "HTTP-Artifact"},
		{"a GET on the callback URL", a, getCallback, 400, "not the IdP's POST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := authenticate(t, tc.a, tc.req)
			if res.Outcome != sdk.OutcomeChallenge || res.Status != tc.status || !strings.Contains(res.Reason, tc.reason) {
				t.Fatalf("got %s %d %q, want a %d challenge with %q", res.Outcome, res.Status, res.Reason, tc.status, tc.reason)
			}
			if res.Page == nil || !strings.HasPrefix(res.Page.Title, "Sign-in") || !bytes.HasPrefix(res.Body, []byte("Sign-in")) {
				t.Errorf("page %+v, body %q", res.Page, res.Body)
			}
		})
	}

	// The genuine answer is taken once, and only once: the gateway clears
	// the state cookie (the "no state" case above), and a copy of the
	// cookie sent along again is refused too.
	if res := authenticate(t, a, postRequest(post, state)); res.Outcome != sdk.OutcomeAuthenticated {
		t.Fatalf("the genuine response: %+v", res)
	}
	if res := authenticate(t, a, postRequest(post, state)); res.Outcome != sdk.OutcomeChallenge || !strings.Contains(res.Reason, "(replayed)") {
		t.Errorf("the response again, with a copy of its state: %s %d %q, want refused as replayed", res.Outcome, res.Status, res.Reason)
	}
}

// The assertion is taken only within its time window: crewjam/saml's
// checks (IssueInstant at most 90 s old, NotOnOrAfter, NotBefore with 3
// minutes of skew) and, tighter, the clock_skew of the config for a
// gateway clock that runs behind the IdP's.
func TestResponseTimeWindow(t *testing.T) {
	needIdP(t)
	real := inProcess(t, idpConfig(t), time.Now)
	for _, tc := range []struct {
		name   string
		offset time.Duration // of the plug-in's clock
		behind bool          // the clock is off from the start (else: the answer arrives late)
		cfg    map[string]any
		reason string // "" means signed in
	}{
		{"on time", 0, false, idpConfig(t), ""},
		{"ten minutes late", 10 * time.Minute, false, idpConfig(t), "(expired)"},
		{"two minutes late (IssueInstant older than 90 s)", 2 * time.Minute, false, idpConfig(t), "(expired)"},
		{"gateway clock five minutes behind", -5 * time.Minute, true, idpConfig(t), "(not yet valid)"},
		{"gateway clock 100 s behind, skew 1m", -100 * time.Second, true, idpConfig(t), "NotBefore"},
		{"gateway clock 100 s behind, skew 3m", -100 * time.Second, true, idpConfig(t, "clock_skew", "3m"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := inProcess(t, tc.cfg, func() time.Time { return time.Now().Add(tc.offset) })
			from := real
			if tc.behind {
				from = at
			}
			post, state := idpPost(t, from, idplab.Alice)
			res := authenticate(t, at, postRequest(post, state))
			switch {
			case tc.reason == "" && res.Outcome != sdk.OutcomeAuthenticated:
				t.Errorf("got %s %d %q, want signed in", res.Outcome, res.Status, res.Reason)
			case tc.reason != "" && (res.Outcome != sdk.OutcomeChallenge || res.Status != 401 || !strings.Contains(res.Reason, tc.reason)):
				t.Errorf("got %s %d %q, want a 401 with %q", res.Outcome, res.Status, res.Reason, tc.reason)
			}
		})
	}
}

// The SP metadata is served at the callback URL with ?metadata: the
// entity id (the app's URL by default), the callback URL as the HTTP-POST
// assertion consumer service, signed requests, and the certificate.
func TestMetadata(t *testing.T) {
	static := func(kv ...any) map[string]any {
		return with(with(baseConfig(), "idp_metadata_file", staticMetadata), kv...)
	}
	for _, tc := range []struct {
		name, entityID string
		cfg            map[string]any
	}{
		{"default entity id", appURL, static()},
		{"sp_entity_id", "urn:example:hr", static("sp_entity_id", "urn:example:hr")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := authenticate(t, mustOpen(t, tc.cfg), metadataRequest())
			if res.Outcome != sdk.OutcomeChallenge || res.Status != http.StatusOK || res.Header.Get("Content-Type") != "application/samlmetadata+xml" {
				t.Fatalf("got %s %d %v, want 200 application/samlmetadata+xml", res.Outcome, res.Status, res.Header)
			}
			var md struct {
				EntityID   string `xml:"entityID,attr"`
				ValidUntil string `xml:"validUntil,attr"`
				SP         struct {
					AuthnRequestsSigned  string `xml:",attr"`
					WantAssertionsSigned string `xml:",attr"`
					Keys                 []struct {
						Use  string `xml:"use,attr"`
						Cert string `xml:"KeyInfo>X509Data>X509Certificate"`
					} `xml:"KeyDescriptor"`
					ACS []struct {
						Binding  string `xml:",attr"`
						Location string `xml:",attr"`
					} `xml:"AssertionConsumerService"`
				} `xml:"SPSSODescriptor"`
			}
			if err := xml.Unmarshal(res.Body, &md); err != nil {
				t.Fatalf("%v\n%s", err, res.Body)
			}
			if md.EntityID != tc.entityID || md.ValidUntil != "" || md.SP.AuthnRequestsSigned != "true" || md.SP.WantAssertionsSigned != "true" {
				t.Errorf("metadata %+v", md)
			}
			if len(md.SP.ACS) != 1 || md.SP.ACS[0].Location != callback || md.SP.ACS[0].Binding != "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" {
				t.Errorf("assertion consumer services %+v: want the callback URL with HTTP-POST only", md.SP.ACS)
			}
			want := base64.StdEncoding.EncodeToString(certDER(t, spCert))
			signing := slices.IndexFunc(md.SP.Keys, func(k struct {
				Use  string `xml:"use,attr"`
				Cert string `xml:"KeyInfo>X509Data>X509Certificate"`
			}) bool {
				return k.Use == "signing" && strings.Join(strings.Fields(k.Cert), "") == want
			})
			if signing < 0 {
				t.Errorf("no signing key with the SP certificate in %+v", md.SP.Keys)
			}
		})
	}
}

// A client that is not a browser is told to sign in (401) instead of
// being sent to a login page it cannot use.
func TestNonBrowserGets401(t *testing.T) {
	a := mustOpen(t, with(baseConfig(), "idp_metadata_file", staticMetadata))
	req := browserRequest("/api/reports")
	req.Header = http.Header{"Accept": {"application/json"}}
	res := authenticate(t, a, req)
	if res.Outcome != sdk.OutcomeChallenge || res.Status != 401 || res.Header.Get("WWW-Authenticate") != `SAML realm="hr"` {
		t.Errorf("got %+v, want 401 with WWW-Authenticate", res)
	}
}

func inflate(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(flate.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func certDER(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM", file)
	}
	return block.Bytes
}

func certKey(t testing.TB, file string) *rsa.PublicKey {
	t.Helper()
	cert, err := x509.ParseCertificate(certDER(t, file))
	if err != nil {
		t.Fatal(err)
	}
	return cert.PublicKey.(*rsa.PublicKey)
}

func clone(v map[string][]string) map[string][]string {
	out := make(map[string][]string, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// An IdP that encrypts its assertions to the SP's certificate (which the
// SP metadata advertises for encryption) signs the user in all the same.
func TestEncryptedAssertion(t *testing.T) {
	needIdP(t)
	if err := idp.EncryptAssertions(true); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := idp.EncryptAssertions(false); err != nil {
			t.Fatal(err)
		}
	}()
	a := mustOpen(t, idpConfig(t))
	post, state := idpPost(t, a, idplab.Alice)
	xmlResp, err := base64.StdEncoding.DecodeString(post.Form.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(xmlResp, []byte("EncryptedAssertion")) || bytes.Contains(xmlResp, []byte(">staff<")) {
		t.Fatalf("the IdP did not encrypt the assertion:\n%s", xmlResp)
	}
	res := authenticate(t, a, postRequest(post, state))
	if res.Outcome != sdk.OutcomeAuthenticated || res.Identity.Subject != "alice" || !slices.Equal(res.Identity.Groups, []string{"staff", "hr"}) {
		t.Errorf("got %+v, want alice with her groups", res)
	}
}
