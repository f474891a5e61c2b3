package pluginhost_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/sdk"
)

// SignOut of the echo plug-in: the IdP's logout with the return URL and
// state, for a Browser's sign-out.
func (e *echo) SignOut(_ context.Context, req sdk.SignOutRequest) (sdk.SignOutResult, error) {
	return sdk.SignOutResult{Location: e.idp + "/logout?sub=" + req.Identity.Subject + "&state=" + req.State}, nil
}

// The host asks a plug-in to sign out at its IdP only if it declared the
// signout capability: echo has the method, but only echo-signout
// declared it, so echo's answer is empty (sign out of the app alone).
func TestSignOutNeedsTheCapability(t *testing.T) {
	for _, tc := range []struct {
		name, want string
	}{
		{"echo", ""},
		{"echo-signout", "https://idp.test/auth/logout?sub=alice&state=s1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := testHost(t)
			a := h.Authenticator(pluginhost.Entry{Name: tc.name, Builtin: true}, pluginhost.Use{App: "hr", Config: map[string]any{"idp": "https://idp.test/auth"}})
			defer a.Close()
			if err := a.Open(ctxTimeout(t, 10*time.Second)); err != nil {
				t.Fatal(err)
			}
			res, err := a.SignOut(ctxTimeout(t, 5*time.Second), sdk.SignOutRequest{Identity: sdk.Identity{Subject: "alice"},
				ReturnURL: "https://hr.test/.gatehouse/auth/hr/signedout", State: "s1"})
			if err != nil || res.Location != tc.want {
				t.Fatalf("SignOut: %+v, %v; want Location %q", res, err, tc.want)
			}
		})
	}
}
