package oidc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/plugins/oidc"
	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
	"github.com/gatehouse/gatehouse/sdk"
)

// apiRequest is an API client's request with a bearer token.
func apiRequest(token string) sdk.AuthRequest {
	req := browserRequest("/api/reports")
	req.Header = http.Header{"Accept": {"application/json"}, "Authorization": {"Bearer " + token}}
	return req
}

// An API client signs in with a JWT access token from the app's provider
// (here: client credentials), checked against the provider's JWKS, issuer
// and the configured audience. Every other token is a 401 with
// error="invalid_token", not an error.
func TestBearerTokens(t *testing.T) {
	ctx := context.Background()
	o := needOP(t)
	token, err := o.RobotToken(ctx, nil)
	if err != nil {
		t.Fatalf("getting an access token from the provider: %v\n%s", err, o.Log())
	}
	a := mustOpen(t, opConfig(t, "bearer", map[string]any{"audience": o.APIAudience}))

	t.Run("valid token", func(t *testing.T) {
		before := time.Now()
		res := authenticate(t, a, apiRequest(token))
		if res.Outcome != sdk.OutcomeAuthenticated {
			t.Fatalf("got %s %d (%s) %v, want authenticated", res.Outcome, res.Status, res.Reason, res.Header)
		}
		id := res.Identity
		if id.Subject != oplab.RobotID || id.Claims["client_id"] != oplab.RobotID || id.Claims["scope"] != "api" || id.Claims["iss"] != o.Issuer {
			t.Errorf("identity %+v, want the robot client with scope api", id)
		}
		// An API session ends with its token (oidc-provider: 10 minutes).
		if exp := id.Expiry.Sub(before); exp < 9*time.Minute || exp > 11*time.Minute {
			t.Errorf("identity expires in %v, want the token's 10 minutes", exp)
		}
	})
	header, payload, sig := splitJWT(t, token)
	var claims map[string]any
	if err := json.Unmarshal(decodeSegment(t, payload), &claims); err != nil {
		t.Fatal(err)
	}
	forged := claims
	forged["sub"] = "admin"
	for _, tc := range []struct {
		name, token string
		auth        sdk.AuthRequest
		desc        string
	}{
		{name: "signature does not match the claims", token: header + "." + segment(t, forged) + "." + sig,
			desc: "the token is not valid for this app"},
		{name: "alg none", token: segment(t, map[string]any{"alg": "none", "typ": "JWT"}) + "." + payload + ".",
			desc: "the token is not valid for this app"},
		{name: "signed with a key the provider does not publish", token: header + "." + payload + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 256)),
			desc: "the token is not valid for this app"},
		{name: "not a JWT", token: "opaque-token-value", desc: "the token is not valid for this app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := authenticate(t, a, apiRequest(tc.token))
			checkInvalidToken(t, res, tc.desc)
		})
	}
	t.Run("token for another audience", func(t *testing.T) {
		other := mustOpen(t, opConfig(t, "bearer", map[string]any{"audience": "https://other-api.example.test"}))
		res := authenticate(t, other, apiRequest(token))
		checkInvalidToken(t, res, "the token is not valid for this app")
		if !strings.Contains(res.Reason, "audience") {
			t.Errorf("reason %q does not say the audience is wrong", res.Reason)
		}
	})
	t.Run("app without bearer tokens", func(t *testing.T) {
		res := authenticate(t, mustOpen(t, opConfig(t)), apiRequest(token))
		checkInvalidToken(t, res, "this app does not accept bearer tokens")
	})
	// The plug-in's clock cannot be moved over the wire: this one runs in
	// process, an hour ahead, against the same provider's JWKS.
	t.Run("expired token", func(t *testing.T) {
		later := func() time.Time { return time.Now().Add(time.Hour) }
		cfg := mustJSON(t, opConfig(t, "bearer", map[string]any{"audience": o.APIAudience}))
		in, err := oidc.New(ctx, sdk.ConfigureRequest{App: app, Plugin: "oidc", Config: json.RawMessage(cfg)}, later)
		if err != nil {
			t.Fatal(err)
		}
		res, err := in.Authenticate(ctx, apiRequest(token))
		if err != nil {
			t.Fatal(err)
		}
		checkInvalidToken(t, res, "the token has expired")
	})
}

func checkInvalidToken(t *testing.T, res sdk.AuthResult, desc string) {
	t.Helper()
	want := `Bearer realm="hr", error="invalid_token", error_description="` + desc + `"`
	if res.Outcome != sdk.OutcomeChallenge || res.Status != http.StatusUnauthorized || res.Header.Get("Www-Authenticate") != want {
		t.Errorf("got %s %d %q (%s)\nwant a 401 with %q", res.Outcome, res.Status, res.Header.Get("Www-Authenticate"), res.Reason, want)
	}
}

func splitJWT(t *testing.T, jwt string) (header, payload, sig string) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("the provider's access token is not a JWS: %q", jwt)
	}
	return parts[0], parts[1], parts[2]
}

func decodeSegment(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func segment(t *testing.T, v any) string {
	return base64.RawURLEncoding.EncodeToString([]byte(mustJSON(t, v)))
}
