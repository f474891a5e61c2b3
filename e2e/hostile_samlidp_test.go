package e2e

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/samlidp/splab"
	"github.com/gatehouse/gatehouse/plugins/saml/idplab"
)

// TestHostileSAMLIdP is the hostile class "samlidp": what a client sends
// to the gateway's SAML identity provider (/.gatehouse/saml/APP/sso, the
// AuthnRequest and RelayState of the HTTP-Redirect binding). No request
// but a well-formed one from the SP in the app's metadata, for a
// signed-in user, gets an assertion, and an assertion only ever goes to
// the metadata's ACS.
func TestHostileSAMLIdP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sp, err := splab.Start(ctx, splab.Options{PublicURL: "https://sp.localhost/"})
	if errors.Is(err, splab.ErrSkip) {
		t.Skipf("SAML SP not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sp.Stop() })
	g, _, _, idp := samlIdPGateway(t, ctx, sp)

	b := browserClient(g)
	loc, _ := beginSignIn(t, b, "sp")
	post, err := idp.Browser().SignIn(ctx, loc, idplab.Alice, idplab.Password)
	if err != nil {
		t.Fatalf("signing in at the IdP: %v", err)
	}
	req, _ := http.NewRequest(http.MethodPost, "https://sp.localhost/.gatehouse/auth/sp/callback", strings.NewReader(post.Form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r, err := do(t, b, req); err != nil || r.Status != http.StatusSeeOther {
		t.Fatalf("sign-in callback: %v %d %.300s", err, r.Status, r.Body)
	}

	const sso = "https://sp.localhost/.gatehouse/saml/sp/sso"
	issued := func() int { return len(g.log().lines(`msg="saml idp: assertion issued"`)) }
	// open sends a SAMLRequest (raw query value) and RelayState with c and
	// reports the status, whether an assertion form came back, and where
	// it would be posted.
	open := func(c *http.Client, samlRequest, relay string) (status int, form bool, action string, body string) {
		q := "SAMLRequest=" + samlRequest
		if relay != "" {
			q += "&RelayState=" + url.QueryEscape(relay)
		}
		r := openHTML(t, c, sso+"?"+q)
		if i := strings.Index(r.Body, `action="`); i >= 0 {
			action, _, _ = strings.Cut(r.Body[i+len(`action="`):], `"`)
		}
		return r.Status, strings.Contains(r.Body, `name="SAMLResponse"`), action, r.Body
	}
	acs := ""
	refused := func(c *http.Client, samlRequest, relay string) (string, bool) {
		before := issued()
		status, form, action, _ := open(c, samlRequest, relay)
		n := issued() - before
		return fmt.Sprintf("%d, assertion form %v (to %q), %d assertions logged", status, form, action, n),
			!form && n == 0 && status != http.StatusOK
	}

	hostile(t, "samlidp", "control: a well-formed AuthnRequest from the metadata's SP", "200 with an assertion form to the metadata's ACS", func(t *testing.T) (string, bool) {
		before := issued()
		status, form, action, _ := open(b, authnRequest(sp.EntityID, sso, ""), "")
		acs = action
		g.log().waitLines(t, "the assertion to be logged", before+1, `msg="saml idp: assertion issued"`)
		return fmt.Sprintf("%d, form %v to %q, %d logged", status, form, action, issued()-before),
			status == http.StatusOK && form && strings.HasPrefix(action, "https://sp.localhost/") && issued()-before == 1
	})
	hostile(t, "samlidp", "AuthnRequest without a gateway session", "sent to sign in; no assertion", func(t *testing.T) (string, bool) {
		return refused(browserClient(g), authnRequest(sp.EntityID, sso, ""), "")
	})
	for _, c := range []struct{ name, req string }{
		{"SAMLRequest that is not base64", "%25%25%25"},
		{"SAMLRequest that is not deflated XML", url.QueryEscape(base64.StdEncoding.EncodeToString([]byte("hello")))},
		{"AuthnRequest from an SP not in the metadata", authnRequest("https://evil.example/sp", sso, "")},
		{"AuthnRequest for another IdP's SSO URL", authnRequest(sp.EntityID, "https://evil.example/sso", "")},
		{"AuthnRequest asking for an ACS off the metadata", authnRequest(sp.EntityID, sso, "https://evil.example/acs")},
		{"empty SAMLRequest", ""},
	} {
		hostile(t, "samlidp", c.name, "refused; no assertion", func(t *testing.T) (string, bool) {
			return refused(b, c.req, "")
		})
	}
	hostile(t, "samlidp", "SAMLRequest of 1 MiB", "refused before parsing; no assertion", func(t *testing.T) (string, bool) {
		return refused(b, strings.Repeat("A", 1<<20), "")
	})
	hostile(t, "samlidp", "RelayState carrying markup", "assertion to the metadata's ACS, the RelayState escaped", func(t *testing.T) (string, bool) {
		const evil = `"><script>alert(1)</script>`
		before := issued()
		status, form, action, body := open(b, authnRequest(sp.EntityID, sso, ""), evil)
		if form {
			// The assertion's log line arrives on its own time; wait for
			// it so that the next case does not count it as its own.
			g.log().waitLines(t, "the assertion to be logged", before+1, `msg="saml idp: assertion issued"`)
		}
		return fmt.Sprintf("%d, form %v to %q, raw markup in page %v", status, form, action, strings.Contains(body, "<script>alert(1)")),
			form && action == acs && !strings.Contains(body, "<script>alert(1)")
	})
	hostile(t, "samlidp", "the SSO path of an app without saml_idp", "404; no assertion", func(t *testing.T) (string, bool) {
		before := issued()
		r := openHTML(t, b, "https://sp.localhost/.gatehouse/saml/other/sso?SAMLRequest="+authnRequest(sp.EntityID, sso, ""))
		return fmt.Sprintf("%d, %d logged", r.Status, issued()-before), r.Status == http.StatusNotFound && issued() == before
	})
}

// authnRequest is an HTTP-Redirect binding SAMLRequest (deflated, base64,
// query-escaped) from issuer to the IdP at destination, asking for acs
// ("" for the metadata's default).
func authnRequest(issuer, destination, acs string) string {
	attr := ""
	if acs != "" {
		attr = fmt.Sprintf(` AssertionConsumerServiceURL=%q ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"`, acs)
	}
	x := fmt.Sprintf(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="id-%d" Version="2.0" IssueInstant=%q Destination=%q%s><saml:Issuer>%s</saml:Issuer></samlp:AuthnRequest>`,
		time.Now().UnixNano(), time.Now().UTC().Format(time.RFC3339), destination, attr, issuer)
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	_, _ = w.Write([]byte(x))
	_ = w.Close()
	return url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes()))
}
