package oidc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
	"github.com/gatehouse/gatehouse/sdk"
)

// A browser is sent to the provider with an authorization code request
// that uses PKCE S256, a state and a nonce, and the plug-in keeps what
// the callback needs in the state the gateway seals.
func TestRedirectIsACodeRequestWithPKCE(t *testing.T) {
	a := mustOpen(t, opConfig(t, "acr_values", []any{"urn:e2e:mfa"}))
	res := startSignIn(t, a)
	loc, err := url.Parse(res.Location)
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != op.Issuer+"/auth" {
		t.Errorf("redirect to %s, want the provider's authorization endpoint %s/auth", got, op.Issuer)
	}
	q := loc.Query()
	for k, want := range map[string]string{
		"response_type": "code", "client_id": oplab.ClientID, "redirect_uri": callback,
		"scope": "openid profile email groups", "code_challenge_method": "S256", "acr_values": "urn:e2e:mfa",
	} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 20 {
			t.Errorf("%s = %q: want a long random value", k, q.Get(k))
		}
	}
	if len(res.State) == 0 || len(res.State) > sdk.MaxStateSize {
		t.Errorf("state is %d bytes, want 1 to %d", len(res.State), sdk.MaxStateSize)
	}
	// Two sign-ins never share a state, nonce or challenge.
	again, _ := url.Parse(startSignIn(t, a).Location)
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if again.Query().Get(k) == q.Get(k) {
			t.Errorf("two sign-ins got the same %s", k)
		}
	}
}

// Alice signs in at the real provider; her identity carries her groups,
// her authentication methods (with MFA) and her acr.
func TestSignInMapsClaims(t *testing.T) {
	for _, tc := range []struct {
		name, user string
		cfg        map[string]any
		want       sdk.Identity
	}{
		{name: "alice, MFA", user: oplab.Alice, cfg: opConfig(t),
			want: sdk.Identity{Subject: "alice", UPN: "alice@EXAMPLE.TEST", Email: "alice@example.com", Name: "Alice Example",
				Groups: []string{"engineering", "gateway-admins"}, AMR: []string{"pwd", "otp", "mfa"},
				Claims: map[string]any{"iss": op.Issuer, "acr": "urn:e2e:mfa"}}},
		// Bob signed in with a password only: no "mfa" in amr, so an app
		// that requires MFA refuses him (the gateway's policy decides).
		// He has no upn claim: the UPN falls back to preferred_username.
		{name: "bob, password only", user: oplab.Bob, cfg: opConfig(t),
			want: sdk.Identity{Subject: "bob", UPN: "bob", Email: "bob@example.com", Name: "Bob",
				Groups: []string{"sales"}, AMR: []string{"pwd"}, Claims: map[string]any{"iss": op.Issuer, "acr": "urn:e2e:pwd"}}},
		{name: "claim names configured", user: oplab.Alice,
			cfg: opConfig(t, "upn_claim", "preferred_username", "email_claim", "upn", "name_claim", "nickname",
				"groups_claim", "acr", "extra_claims", []any{"auth_time", "not_there"}),
			want: sdk.Identity{Subject: "alice", UPN: "alice", Email: "alice@EXAMPLE.TEST",
				Groups: []string{"urn:e2e:mfa"}, AMR: []string{"pwd", "otp", "mfa"},
				Claims: map[string]any{"iss": op.Issuer, "acr": "urn:e2e:mfa", "auth_time": "set"}}},
		// A public client: no secret, PKCE alone protects the code.
		{name: "public client", user: oplab.Alice,
			cfg: opConfig(t, "client_id", oplab.PublicClientID, "client_secret", nil, "scopes", []any{"openid", "groups"}),
			want: sdk.Identity{Subject: "alice", Groups: []string{"engineering", "gateway-admins"}, AMR: []string{"pwd", "otp", "mfa"},
				Claims: map[string]any{"iss": op.Issuer, "acr": "urn:e2e:mfa"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustOpen(t, tc.cfg)
			before := time.Now()
			res := signInAt(t, a, op, nil, tc.user)
			if res.Outcome != sdk.OutcomeAuthenticated {
				t.Fatalf("callback answered %s %d (%s), want authenticated", res.Outcome, res.Status, res.Reason)
			}
			id := res.Identity
			// The identity ends with the ID token (oidc-provider: one hour).
			if exp := id.Expiry.Sub(before); exp < 59*time.Minute || exp > 61*time.Minute {
				t.Errorf("identity expires in %v, want the ID token's hour", exp)
			}
			if at, ok := id.Claims["auth_time"]; ok {
				if n, _ := at.(float64); n < float64(before.Add(-time.Minute).Unix()) {
					t.Errorf("auth_time %v is not the time of this sign-in", at)
				}
				id.Claims["auth_time"] = "set"
			}
			id.Expiry = time.Time{}
			if got, want := mustJSON(t, id), mustJSON(t, tc.want); got != want {
				t.Errorf("identity\n got %s\nwant %s", got, want)
			}
			if !strings.Contains(res.Reason, op.Issuer) {
				t.Errorf("reason %q does not name the provider", res.Reason)
			}
		})
	}
}

// identity_lifetime replaces the ID token's expiry.
func TestIdentityLifetime(t *testing.T) {
	a := mustOpen(t, opConfig(t, "identity_lifetime", "8h"))
	before := time.Now()
	res := signInAt(t, a, op, nil, oplab.Alice)
	if exp := res.Identity.Expiry.Sub(before); exp < 8*time.Hour-time.Minute || exp > 8*time.Hour+time.Minute {
		t.Errorf("identity expires in %v, want 8h", exp)
	}
}

// Everything that can go wrong on the way back from the provider is a
// Challenge with a page, never an identity and never an error.
func TestCallbackRefusals(t *testing.T) {
	a := mustOpen(t, opConfig(t))
	ctx := context.Background()
	// flow is one sign-in up to the provider's redirect back.
	type flow struct {
		state []byte
		back  *url.URL
	}
	signIn := func(t *testing.T, user string) flow {
		start := startSignIn(t, a)
		back, err := op.Browser(nil).SignIn(ctx, start.Location, user, oplab.Password)
		if err != nil {
			t.Fatal(err)
		}
		return flow{start.State, back}
	}
	withParam := func(u *url.URL, k, v string) *url.URL {
		c := *u
		q := c.Query()
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		c.RawQuery = q.Encode()
		return &c
	}
	tamper := func(t *testing.T, state []byte, k, v string) []byte {
		var m map[string]string
		if err := json.Unmarshal(state, &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m[k]; !ok {
			t.Fatalf("state %s has no key %q", state, k)
		}
		m[k] = v
		b, _ := json.Marshal(m)
		return b
	}
	for _, tc := range []struct {
		name   string
		req    func(t *testing.T) sdk.AuthRequest
		status int
		reason string // what the sign-in log must say
		page   string // what the user must read
	}{
		{name: "wrong state parameter", status: http.StatusBadRequest, reason: "state parameter does not match",
			page: "belongs to another sign-in",
			req: func(t *testing.T) sdk.AuthRequest {
				f := signIn(t, oplab.Alice)
				return callbackRequest(withParam(f.back, "state", "forged"), f.state)
			}},
		{name: "answer for another sign-in (login CSRF)", status: http.StatusBadRequest, reason: "state parameter does not match",
			req: func(t *testing.T) sdk.AuthRequest {
				victim := startSignIn(t, a) // the victim's browser holds this state
				attacker := signIn(t, oplab.Bob)
				return callbackRequest(attacker.back, victim.State)
			}},
		{name: "replayed code", status: http.StatusBadRequest, reason: "refused the code: invalid_grant",
			page: "used already",
			req: func(t *testing.T) sdk.AuthRequest {
				f := signIn(t, oplab.Alice)
				if res := authenticate(t, a, callbackRequest(f.back, f.state)); res.Outcome != sdk.OutcomeAuthenticated {
					t.Fatalf("first use of the code: %+v", res)
				}
				return callbackRequest(f.back, f.state)
			}},
		{name: "wrong nonce", status: http.StatusUnauthorized, reason: "nonce does not match",
			req: func(t *testing.T) sdk.AuthRequest {
				f := signIn(t, oplab.Alice)
				return callbackRequest(f.back, tamper(t, f.state, "n", "not-the-nonce-sent"))
			}},
		{name: "wrong PKCE verifier", status: http.StatusBadRequest, reason: "refused the code: invalid_grant",
			req: func(t *testing.T) sdk.AuthRequest {
				f := signIn(t, oplab.Alice)
				return callbackRequest(f.back, tamper(t, f.state, "v", strings.Repeat("x", 43)))
			}},
		{name: "no state cookie", status: http.StatusBadRequest, reason: "no state cookie", page: "Open the app again",
			req: func(t *testing.T) sdk.AuthRequest {
				f := signIn(t, oplab.Alice)
				return callbackRequest(f.back, nil)
			}},
		{name: "state that is not ours", status: http.StatusBadRequest, reason: "unreadable sign-in state",
			req: func(t *testing.T) sdk.AuthRequest {
				f := signIn(t, oplab.Alice)
				return callbackRequest(f.back, []byte(`{"s":"x"}`))
			}},
		{name: "no code", status: http.StatusBadRequest, reason: "without a code",
			req: func(t *testing.T) sdk.AuthRequest {
				f := signIn(t, oplab.Alice)
				return callbackRequest(withParam(f.back, "code", ""), f.state)
			}},
		{name: "another issuer (mix-up)", status: http.StatusBadRequest, reason: "is not the configured issuer",
			req: func(t *testing.T) sdk.AuthRequest {
				f := signIn(t, oplab.Alice)
				return callbackRequest(withParam(f.back, "iss", "https://evil.example"), f.state)
			}},
		{name: "cancelled at the provider", status: http.StatusForbidden, reason: "error=access_denied: End-User aborted interaction",
			page: "refused the sign-in, or it was cancelled there",
			req: func(t *testing.T) sdk.AuthRequest {
				start := startSignIn(t, a)
				back, err := op.Browser(nil).Cancel(ctx, start.Location)
				if err != nil {
					t.Fatal(err)
				}
				if back.Query().Get("error") != "access_denied" {
					t.Fatalf("the provider answered %s, want error=access_denied", back)
				}
				return callbackRequest(back, start.State)
			}},
		{name: "script in the error description", status: http.StatusBadGateway, reason: "error=server_error: <script>",
			req: func(t *testing.T) sdk.AuthRequest {
				start := startSignIn(t, a)
				loc, _ := url.Parse(start.Location)
				back, _ := url.Parse(callback)
				back.RawQuery = url.Values{"state": {loc.Query().Get("state")}, "error": {"server_error"},
					"error_description": {"<script>alert(1)</script>"}}.Encode()
				return callbackRequest(back, start.State)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := authenticate(t, a, tc.req(t))
			if res.Outcome != sdk.OutcomeChallenge || res.Status != tc.status {
				t.Fatalf("got %s %d (%s), want a challenge %d", res.Outcome, res.Status, res.Reason, tc.status)
			}
			if !strings.Contains(res.Reason, tc.reason) {
				t.Errorf("reason %q, want it to say %q", res.Reason, tc.reason)
			}
			if res.Page == nil || !strings.HasPrefix(res.Page.Title, "Sign-in") {
				t.Fatalf("page %+v, want a page that says what happened", res.Page)
			}
			page := res.Page.Title + " " + res.Page.Text + " " + string(res.Body)
			if !strings.Contains(page, tc.page) {
				t.Errorf("page %q, want it to say %q", page, tc.page)
			}
			if strings.Contains(page, "<script>") || strings.Contains(page, "_") {
				t.Errorf("page %q echoes markup or a raw error code from the URL", page)
			}
		})
	}
}

// One deployment, several issuers: each app's instance signs in at its
// own provider. The second provider serves HTTPS with a certificate only
// ca_file trusts, and starts after the plug-in: discovery is retried.
func TestSeveralIssuersProviderStartsLater(t *testing.T) {
	first := mustOpen(t, opConfig(t))
	port := freePort(t)
	certFile, keyFile, transport := selfSigned(t)
	issuer := "https://127.0.0.1:" + strconv.Itoa(port)
	second := mustOpen(t, map[string]any{"issuer": issuer, "client_id": oplab.ClientID, "client_secret": oplab.ClientSecret,
		"ca_file": certFile, "scopes": []any{"openid", "groups"}, "discovery_timeout": "2s"})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if res, err := second.Authenticate(ctx, browserRequest("/")); err == nil || !strings.Contains(err.Error(), issuer) {
		t.Fatalf("with its provider down, a sign-in got %+v, %v; want an error that names %s", res, err, issuer)
	}
	// An API client needs no provider to be told to sign in.
	api := browserRequest("/api")
	api.Header.Set("Accept", "application/json")
	if res := authenticate(t, second, api); res.Status != http.StatusUnauthorized {
		t.Errorf("an API client got %+v with the provider down, want a 401", res)
	}

	other, err := oplab.Start(ctx, oplab.Options{RedirectURIs: []string{callback}, Port: port, TLSCert: certFile, TLSKey: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Stop() })
	if other.Issuer != issuer {
		t.Fatalf("second provider's issuer is %s, want %s", other.Issuer, issuer)
	}
	for {
		res, err := second.Authenticate(ctx, browserRequest("/"))
		if err == nil && res.Outcome == sdk.OutcomeRedirect {
			if !strings.HasPrefix(res.Location, issuer+"/auth?") {
				t.Fatalf("redirect to %s, want %s/auth", res.Location, issuer)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the plug-in did not recover when its provider started: %+v, %v", res, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	t.Run("each app signs in at its own provider", func(t *testing.T) {
		for _, tc := range []struct {
			issuer string
			res    sdk.AuthResult
		}{
			{issuer: op.Issuer, res: signInAt(t, first, op, nil, oplab.Alice)},
			{issuer: issuer, res: signInAt(t, second, other, transport, oplab.Alice)},
		} {
			if tc.res.Outcome != sdk.OutcomeAuthenticated || tc.res.Identity.Claims["iss"] != tc.issuer ||
				!slices.Equal(tc.res.Identity.Groups, []string{"engineering", "gateway-admins"}) {
				t.Errorf("got %+v, want alice signed in at %s", tc.res, tc.issuer)
			}
		}
	})
	t.Run("an answer from one provider is refused by the other app", func(t *testing.T) {
		start := startSignIn(t, first)
		back, err := op.Browser(nil).SignIn(ctx, start.Location, oplab.Alice, oplab.Password)
		if err != nil {
			t.Fatal(err)
		}
		res := authenticate(t, second, callbackRequest(back, start.State))
		if res.Outcome != sdk.OutcomeChallenge {
			t.Errorf("the second app took the first provider's answer: %+v", res)
		}
	})
	t.Run("without ca_file the certificate is not trusted", func(t *testing.T) {
		a := mustOpen(t, map[string]any{"issuer": issuer, "client_id": oplab.ClientID, "client_secret": oplab.ClientSecret})
		_, err := a.Authenticate(ctx, browserRequest("/"))
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("got %v, want a certificate error", err)
		}
	})
}

// A provider that cannot be reached is an error (the gateway fails
// closed with a 503), for a browser's sign-in and for its callback.
func TestProviderDownIsAnError(t *testing.T) {
	issuer := "http://127.0.0.1:" + strconv.Itoa(freePort(t))
	a := mustOpen(t, map[string]any{"issuer": issuer, "client_id": "gateway"})
	ctx := context.Background()
	for _, req := range []sdk.AuthRequest{
		browserRequest("/"),
		callbackRequest(mustURL(t, callback+"?code=abc&state=s1"),
			[]byte(`{"s":"s1","n":"n1","v":"`+strings.Repeat("v", 43)+`","r":"`+callback+`"}`)),
	} {
		res, err := a.Authenticate(ctx, req)
		if err == nil || !strings.Contains(err.Error(), "discovering the OpenID provider "+issuer) {
			t.Errorf("%s: got %+v, %v; want an error naming the provider", req.URL, res, err)
		}
	}
}

// Clients that are not browsers get a 401 with WWW-Authenticate, never a
// redirect to a login page they cannot use.
func TestNonBrowsersGet401(t *testing.T) {
	a := mustOpen(t, map[string]any{"issuer": "http://127.0.0.1:" + strconv.Itoa(freePort(t)), "client_id": "gateway"})
	for name, h := range map[string]http.Header{
		"JSON client":   {"Accept": {"application/json"}},
		"no Accept":     {},
		"curl":          {"Accept": {"*/*"}, "User-Agent": {"curl/8.5.0"}},
		"XHR":           {"Accept": {"text/html, */*"}, "X-Requested-With": {"XMLHttpRequest"}},
		"bearer, unset": {"Accept": {"application/json"}, "Authorization": {"Bearer abc.def.ghi"}},
	} {
		req := browserRequest("/api/x")
		req.Header = h
		res := authenticate(t, a, req)
		if res.Outcome != sdk.OutcomeChallenge || res.Status != http.StatusUnauthorized ||
			!strings.HasPrefix(res.Header.Get("Www-Authenticate"), `Bearer realm="hr"`) {
			t.Errorf("%s: got %s %d %v, want a 401 with a Bearer challenge", name, res.Outcome, res.Status, res.Header)
		}
		if _, ok := h["Authorization"]; ok && !strings.Contains(res.Header.Get("Www-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%s: %q does not say the token is refused", name, res.Header.Get("Www-Authenticate"))
		}
	}
}
