package oidc_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
	"github.com/gatehouse/gatehouse/sdk"
)

// signedOut is the gateway's "Signed out" page for the test app: the
// provider has it registered (oplab derives it from the callback).
const signedOut = "https://hr.example.test/.gatehouse/auth/hr/signedout"

func signOut(t *testing.T, cfg map[string]any, req sdk.SignOutRequest) sdk.SignOutResult {
	t.Helper()
	a := mustOpen(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := a.SignOut(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// The plug-in declares the sign-out capability and sends the browser to
// the real provider's end_session_endpoint with client_id,
// post_logout_redirect_uri and state; the provider accepts that request
// (it asks the user to confirm) and refuses one whose return address it
// does not know.
func TestSignOutAtProvider(t *testing.T) {
	req := sdk.SignOutRequest{Identity: sdk.Identity{Subject: oplab.Alice}, ReturnURL: signedOut, State: "sealed-state-1"}
	res := signOut(t, opConfig(t), req)
	loc, err := url.Parse(res.Location)
	if err != nil || res.Location == "" {
		t.Fatalf("SignOut answered %+v: want the provider's end_session_endpoint", res)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != op.Issuer+"/session/end" {
		t.Errorf("sign-out goes to %s, want the provider's end_session_endpoint %s/session/end", got, op.Issuer)
	}
	q := loc.Query()
	for k, want := range map[string]string{"client_id": oplab.ClientID, "post_logout_redirect_uri": signedOut, "state": "sealed-state-1"} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	if status, body := getNoRedirect(t, res.Location); status != http.StatusOK || !strings.Contains(body, "/session/end/confirm") {
		t.Errorf("the provider answered the sign-out with %d, want 200 and its sign-out form:\n%s", status, body)
	}
	req.ReturnURL = "https://evil.example/.gatehouse/auth/hr/signedout"
	other := signOut(t, opConfig(t), req)
	if status, body := getNoRedirect(t, other.Location); status != http.StatusBadRequest || strings.Contains(body, "/session/end/confirm") {
		t.Errorf("an unregistered post_logout_redirect_uri got %d, want the provider's 400:\n%s", status, body)
	}
}

// end_session: false leaves the provider's session alone.
func TestSignOutEndSessionOff(t *testing.T) {
	res := signOut(t, opConfig(t, "end_session", false), sdk.SignOutRequest{ReturnURL: signedOut, State: "s"})
	if res.Location != "" || !strings.Contains(res.Reason, "end_session is false") {
		t.Errorf("SignOut with end_session false answered %+v, want no Location", res)
	}
}

// get fetches u without following redirects.
func getNoRedirect(t *testing.T, u string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
