package samlidp

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/sdk"
)

// memStore is the blob and lock part of a store, in memory.
type memStore struct {
	mu    sync.Mutex
	blobs map[string][]byte
	locks map[string]string
}

func (m *memStore) GetBlob(_ context.Context, key string) (store.Blob, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.blobs[key]; ok {
		return store.Blob{Key: key, Value: v}, nil
	}
	return store.Blob{}, store.ErrNotFound
}

func (m *memStore) PutBlob(_ context.Context, key string, value []byte, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs[key] = value
	return nil
}

func (m *memStore) TryLock(_ context.Context, name, owner string, _, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o, ok := m.locks[name]; ok && o != owner {
		return false, nil
	}
	m.locks[name] = owner
	return true, nil
}

func newMemStore() *memStore {
	return &memStore{blobs: map[string][]byte{}, locks: map[string]string{}}
}

// fakeUsers is the signed-in user, or nobody (then it redirects to ret).
type fakeUsers struct {
	id  *sdk.Identity
	ret string
}

func (f *fakeUsers) User(w http.ResponseWriter, _ *http.Request, ret string) (sdk.Identity, bool) {
	f.ret = ret
	if f.id == nil {
		w.Header().Set("Location", ret)
		w.WriteHeader(http.StatusSeeOther)
		return sdk.Identity{}, false
	}
	return *f.id, true
}

var alice = sdk.Identity{Subject: "alice-sub", Email: "alice@example.com", UPN: "alice@EXAMPLE.TEST",
	Name: "Alice Example", Groups: []string{"staff", "hr"}, Claims: map[string]any{"dept": "HR"}}

// testSP is a crewjam/saml service provider at https://app.test/acs.
func testSP(t *testing.T) *saml.ServiceProvider {
	t.Helper()
	k, err := createKeys(context.Background(), newMemStore(), "sp", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &saml.ServiceProvider{EntityID: "https://app.test/sp", Key: k.Key, Certificate: k.Cert,
		AcsURL: url.URL{Scheme: "https", Host: "app.test", Path: "/acs"}, AllowIDPInitiated: true}
}

// testIdP is app "app" at app.test, whose SP is sp.
func testIdP(t *testing.T, sp *saml.ServiceProvider, users Users, subj Subject) *IdP {
	t.Helper()
	md, err := xml.Marshal(sp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	ed, err := ParseSP(md, "app.test", "")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := LoadKeys(context.Background(), newMemStore(), "app", "node1", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{App: "app", SP: ed, Subject: subj, Keys: keys, Lifetime: 5 * time.Minute, Users: users, LaunchRelayState: "/home"})
	if err != nil {
		t.Fatal(err)
	}
	// The SP trusts the IdP's metadata.
	rec := serve(p, http.MethodGet, "https://app.test"+reserved.SAML("app", "metadata"))
	if rec.Code != http.StatusOK {
		t.Fatalf("metadata: %d %s", rec.Code, rec.Body)
	}
	sp.IDPMetadata = &saml.EntityDescriptor{}
	if err := xml.Unmarshal(rec.Body.Bytes(), sp.IDPMetadata); err != nil {
		t.Fatalf("metadata: %v\n%s", err, rec.Body)
	}
	return p
}

func serve(h http.Handler, method, target string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	rec := httptest.NewRecorder()
	rec.Header().Set("X-Request-Id", "rid-1")
	h.ServeHTTP(rec, r)
	return rec
}

// postedResponse reads the auto-post form and returns the request the
// browser would send to the ACS.
func postedResponse(t *testing.T, body string, mutate func(string) string) *http.Request {
	t.Helper()
	m := regexp.MustCompile(`action="([^"]+)"[\s\S]*name="SAMLResponse" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no SAML form in:\n%s", body)
	}
	resp := html.UnescapeString(m[2])
	if mutate != nil {
		x, _ := base64.StdEncoding.DecodeString(resp)
		resp = base64.StdEncoding.EncodeToString([]byte(mutate(string(x))))
	}
	form := url.Values{"SAMLResponse": {resp}}
	r := httptest.NewRequest(http.MethodPost, html.UnescapeString(m[1]), strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := r.ParseForm(); err != nil {
		t.Fatal(err)
	}
	return r
}

// flipCipher changes the last character of the response's last
// ciphertext, inside the signed Response.
func flipCipher(x string) string {
	i := strings.LastIndex(x, "</xenc:CipherValue>") - 2
	if i < 0 {
		return x
	}
	c := byte('A')
	if x[i] == 'A' {
		c = 'B'
	}
	return x[:i] + string(c) + x[i+1:]
}

// why unwraps crewjam's "Authentication failed".
func why(err error) error {
	var ire *saml.InvalidResponseError
	if errors.As(err, &ire) {
		return ire.PrivateErr
	}
	return err
}

func attr(a *saml.Assertion, name string) []string {
	var out []string
	for _, s := range a.AttributeStatements {
		for _, at := range s.Attributes {
			if at.Name == name {
				for _, v := range at.Values {
					out = append(out, v.Value)
				}
			}
		}
	}
	return out
}

// SP-initiated: the SP's redirect request gets a signed assertion for the
// signed-in user, which the SP (crewjam's) verifies; a changed byte and
// another SP's audience are refused.
func TestSPInitiated(t *testing.T) {
	sp := testSP(t)
	users := &fakeUsers{id: &alice}
	p := testIdP(t, sp, users, Subject{Format: "persistent", Attributes: map[string]string{"mail": "email", "memberOf": "groups", "dept": "claim:dept"}})
	ar, err := sp.MakeAuthenticationRequest(sp.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		t.Fatal(err)
	}
	u, err := ar.Redirect("relay-1", sp)
	if err != nil {
		t.Fatal(err)
	}
	if u.Host != "app.test" || u.Path != reserved.SAML("app", "sso") {
		t.Fatalf("the SP sends its request to %s", u)
	}
	rec := serve(p, http.MethodGet, u.String())
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("sso: %d %v\n%s", rec.Code, rec.Header(), rec.Body)
	}
	a, err := sp.ParseResponse(postedResponse(t, rec.Body.String(), nil), []string{ar.ID})
	if err != nil {
		t.Fatalf("the SP refused the assertion: %v", why(err))
	}
	if a.Subject.NameID.Format != string(saml.PersistentNameIDFormat) || a.Subject.NameID.Value == "" || strings.Contains(a.Subject.NameID.Value, "alice") {
		t.Errorf("NameID %+v: want an opaque persistent id", a.Subject.NameID)
	}
	if got := strings.Join(attr(a, "memberOf"), ","); got != "staff,hr" {
		t.Errorf("memberOf = %q", got)
	}
	if got := attr(a, "mail"); len(got) != 1 || got[0] != alice.Email {
		t.Errorf("mail = %q", got)
	}
	if got := attr(a, "dept"); len(got) != 1 || got[0] != "HR" {
		t.Errorf("dept = %q", got)
	}
	if n := len(attr(a, "upn")); n != 0 {
		t.Error("an attribute that is not mapped was sent")
	}
	// The same request again, with one byte of the signed content changed
	// (the assertion is encrypted to the SP's certificate: its ciphertext).
	rec = serve(p, http.MethodGet, u.String())
	bad := postedResponse(t, rec.Body.String(), flipCipher)
	if _, err := sp.ParseResponse(bad, []string{ar.ID}); err == nil || !strings.Contains(why(err).Error(), "signature") {
		t.Errorf("tampered assertion: %v, want a signature error", why(err))
	}
	// Another SP (same IdP metadata) must refuse it: wrong audience.
	other := *sp
	other.EntityID = "https://app.test/other"
	rec = serve(p, http.MethodGet, u.String())
	if _, err := other.ParseResponse(postedResponse(t, rec.Body.String(), nil), []string{ar.ID}); err == nil || !strings.Contains(why(err).Error(), "AudienceRestriction") {
		t.Errorf("another SP: %v, want an audience error", why(err))
	}
}

// Without a session the user is sent to sign in, returning to the same
// SSO request; no form is written.
func TestSSOSignsInFirst(t *testing.T) {
	sp := testSP(t)
	users := &fakeUsers{}
	p := testIdP(t, sp, users, Subject{})
	u, err := sp.MakeRedirectAuthenticationRequest("r")
	if err != nil {
		t.Fatal(err)
	}
	rec := serve(p, http.MethodGet, u.String())
	if rec.Code != http.StatusSeeOther || strings.Contains(rec.Body.String(), "SAMLResponse") {
		t.Fatalf("without a session: %d %s", rec.Code, rec.Body)
	}
	want := reserved.StartReturn("app", u.RequestURI())
	if users.ret != want {
		t.Errorf("sign-in returns to %q, want %q", users.ret, want)
	}
}

// IdP-initiated: the launch path posts an unsolicited assertion with the
// configured RelayState; the default attributes and an email NameID.
func TestLaunch(t *testing.T) {
	sp := testSP(t)
	p := testIdP(t, sp, &fakeUsers{id: &alice}, Subject{Format: "email"})
	rec := serve(p, http.MethodGet, "https://app.test"+LaunchPath("app"))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `name="RelayState" value="/home"`) {
		t.Fatalf("launch: %d %s", rec.Code, rec.Body)
	}
	a, err := sp.ParseResponse(postedResponse(t, rec.Body.String(), nil), nil)
	if err != nil {
		t.Fatalf("the SP refused the unsolicited assertion: %v", why(err))
	}
	if a.Subject.NameID.Value != alice.Email || a.Subject.NameID.Format != string(saml.EmailAddressNameIDFormat) {
		t.Errorf("NameID %+v", a.Subject.NameID)
	}
	for name, want := range map[string]string{"email": alice.Email, "upn": alice.UPN, "name": alice.Name, "groups": "staff,hr"} {
		if got := strings.Join(attr(a, name), ","); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	// A user without an e-mail address gets a page saying so, no assertion.
	p = testIdP(t, sp, &fakeUsers{id: &sdk.Identity{Subject: "bob"}}, Subject{Format: "email"})
	rec = serve(p, http.MethodGet, "https://app.test"+LaunchPath("app"))
	if rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), "SAMLResponse") || !strings.Contains(rec.Body.String(), "e-mail address") {
		t.Errorf("no e-mail: %d %s", rec.Code, rec.Body)
	}
}

// Garbage at the SSO endpoint gets an error page with the request id;
// unknown actions and methods 404.
func TestBadRequests(t *testing.T) {
	p := testIdP(t, testSP(t), &fakeUsers{id: &alice}, Subject{})
	for _, target := range []string{reserved.SAML("app", "sso"), reserved.SAML("app", "sso") + "?SAMLRequest=%%%", reserved.SAML("app", "sso") + "?SAMLRequest=aGVsbG8="} {
		rec := serve(p, http.MethodGet, "https://app.test"+target)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "rid-1") || strings.Contains(rec.Body.String(), "SAMLResponse") {
			t.Errorf("%s: %d %s", target, rec.Code, rec.Body)
		}
	}
	for _, c := range [][2]string{{http.MethodGet, "nope"}, {http.MethodPost, "metadata"}, {http.MethodPost, "launch"}} {
		if rec := serve(p, c[0], "https://app.test"+reserved.SAML("app", c[1])); rec.Code != http.StatusNotFound {
			t.Errorf("%s %s: %d", c[0], c[1], rec.Code)
		}
	}
}

// The signing key is created once and then read back, the same on every
// node; a corrupt stored key is an error, not a new key.
func TestLoadKeys(t *testing.T) {
	st := newMemStore()
	k1, err := LoadKeys(context.Background(), st, "app", "node1", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadKeys(context.Background(), st, "app", "node2", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Key.Equal(k2.Key) || !k1.Cert.Equal(k2.Cert) || string(k1.Secret) != string(k2.Secret) {
		t.Error("the second node got other keys")
	}
	if _, err := x509.ParseCertificate(k1.Cert.Raw); err != nil || !strings.Contains(string(k1.CertPEM()), "CERTIFICATE") {
		t.Error("bad certificate")
	}
	st.blobs[BlobKey("app")] = []byte(`{"key":"AAAA"}`)
	if _, err := LoadKeys(context.Background(), st, "app", "node1", time.Now); err == nil || !strings.Contains(err.Error(), "samlidp/app/signing") {
		t.Errorf("corrupt key: %v", err)
	}
}

// The metadata names the IdP by its URL on the host used, publishes the
// signing certificate, and offers only the HTTP-Redirect SSO binding.
func TestMetadata(t *testing.T) {
	sp := testSP(t)
	p := testIdP(t, sp, &fakeUsers{}, Subject{Format: "email"})
	rec := serve(p, http.MethodGet, "https://app.test:8443"+reserved.SAML("app", "metadata"))
	body := rec.Body.String()
	for _, want := range []string{`entityID="https://app.test:8443/.gatehouse/saml/app/metadata"`, "X509Certificate",
		`Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://app.test:8443/.gatehouse/saml/app/sso"`,
		"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"} {
		if !strings.Contains(body, want) {
			t.Errorf("metadata lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, `SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"`) {
		t.Errorf("metadata offers the POST binding:\n%s", body)
	}
	if rec.Header().Get("Content-Type") != "application/samlmetadata+xml" {
		t.Errorf("Content-Type %q", rec.Header().Get("Content-Type"))
	}
}

// A request that names an assertion consumer service the SP's metadata
// does not list is refused: no assertion goes to an address the request
// alone chose.
func TestUnknownACS(t *testing.T) {
	sp := testSP(t)
	p := testIdP(t, sp, &fakeUsers{id: &alice}, Subject{})
	evil := *sp
	evil.AcsURL = url.URL{Scheme: "https", Host: "evil.test", Path: "/acs"}
	u, err := evil.MakeRedirectAuthenticationRequest("r")
	if err != nil {
		t.Fatal(err)
	}
	rec := serve(p, http.MethodGet, u.String())
	if rec.Code != http.StatusBadRequest || strings.Contains(rec.Body.String(), "SAMLResponse") || strings.Contains(rec.Body.String(), "evil.test") {
		t.Fatalf("unknown ACS: %d %s", rec.Code, rec.Body)
	}
}
