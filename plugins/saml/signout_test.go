package saml_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/plugins/saml/idplab"
	"github.com/gatehouse/gatehouse/sdk"
)

// Single logout against the real IdP: alice signs in; SignOut sends the
// browser to the IdP's SingleLogoutService with a signed LogoutRequest
// for her NameID and SessionIndex; the IdP ends her session and sends
// its LogoutResponse (Success) with the gateway's state as RelayState to
// the "Signed out" page; a new sign-in then meets the login page, where
// before it was answered at once.
func TestSingleLogout(t *testing.T) {
	a := mustOpen(t, idpConfig(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := idp.Browser()
	start := startSignIn(t, a)
	post, err := b.SignIn(ctx, start.Location, idplab.Alice, idplab.Password)
	if err != nil {
		t.Fatalf("signing in: %v\n%s", err, idp.Log())
	}
	res := authenticate(t, a, postRequest(post, start.State))
	if res.Outcome != sdk.OutcomeAuthenticated {
		t.Fatalf("sign-in: %+v", res)
	}
	if in, err := b.SignedIn(ctx, startSignIn(t, a).Location); err != nil || !in {
		t.Fatalf("before sign-out the IdP answers a new sign-in at once: got %v, %v", in, err)
	}
	out, err := a.SignOut(ctx, sdk.SignOutRequest{Identity: res.Identity, ReturnURL: signedOut, State: "sealed-state-1"})
	if err != nil || !strings.HasPrefix(out.Location, idp.URL) || !strings.Contains(out.Location, "SAMLRequest=") || !strings.Contains(out.Location, "Signature=") {
		t.Fatalf("SignOut answered %+v, %v: want a signed LogoutRequest to the IdP %s", out, err, idp.URL)
	}
	back, err := b.SignOut(ctx, out.Location)
	if err != nil {
		t.Fatalf("%v\n%s", err, idp.Log())
	}
	if got := back.Scheme + "://" + back.Host + back.Path; got != signedOut {
		t.Fatalf("the IdP sent the browser to %s, want the Signed out page %s", back, signedOut)
	}
	if rs := back.Query().Get("RelayState"); rs != "sealed-state-1" {
		t.Errorf("RelayState %q, want the gateway's state", rs)
	}
	if xml := string(inflate(t, back.Query().Get("SAMLResponse"))); !strings.Contains(xml, "LogoutResponse") || !strings.Contains(xml, "urn:oasis:names:tc:SAML:2.0:status:Success") {
		t.Errorf("the IdP's answer is not a successful LogoutResponse:\n%s", xml)
	}
	if in, err := b.SignedIn(ctx, startSignIn(t, a).Location); err != nil || in {
		t.Errorf("after sign-out the IdP still signs alice in at once (signed in %v, %v)", in, err)
	}
}

// No session (no NameID), or single_logout false: nothing to end.
func TestSingleLogoutNotAsked(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		cfg  map[string]any
		id   sdk.Identity
		want string
	}{
		{idpConfig(t), sdk.Identity{}, "no SAML NameID"},
		{idpConfig(t, "single_logout", false), sdk.Identity{Subject: "alice"}, "single_logout is false"},
	} {
		out, err := mustOpen(t, tc.cfg).SignOut(ctx, sdk.SignOutRequest{Identity: tc.id, ReturnURL: signedOut, State: "s"})
		if err != nil || out.Location != "" || !strings.Contains(out.Reason, tc.want) {
			t.Errorf("got %+v, %v; want no Location, reason %q", out, err, tc.want)
		}
	}
}

// The SP metadata names the Signed out page as the HTTP-Redirect
// SingleLogoutService, unless single_logout is false.
func TestMetadataSingleLogoutService(t *testing.T) {
	want := `Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="` + signedOut + `"`
	for _, on := range []bool{true, false} {
		res := authenticate(t, mustOpen(t, idpConfig(t, "single_logout", on)), metadataRequest())
		if got := strings.Contains(string(res.Body), want); got != on {
			t.Errorf("single_logout %v: SingleLogoutService in the metadata %v:\n%s", on, got, res.Body)
		}
	}
}
