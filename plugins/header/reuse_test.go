package header_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/plugins/header"
	"github.com/gatehouse/gatehouse/sdk"
)

// newAt builds the Injector in process with a clock the test sets.
func newAt(t *testing.T, cfg map[string]any, clock *time.Time, keys ...sdk.SigningKey) sdk.Injector {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	inj, err := header.New(sdk.ConfigureRequest{App: "hr", Plugin: "header", Config: raw, Keys: keys}, func() time.Time { return *clock })
	if err != nil {
		t.Fatal(err)
	}
	return inj
}

// expOf reads the assertion's "exp" claim (the signature is checked in
// TestSignsAssertionVerifiableWithJWKS).
func expOf(t *testing.T, tok string) time.Time {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", tok)
	}
	var c struct{ Exp int64 }
	decodeSeg(t, parts[1], &c)
	return time.Unix(c.Exp, 0)
}

// Header sign-on is reusable: the headers alone for five minutes (the
// connector never reuses past the session), and with an assertion until a
// quarter of its lifetime is left, so the JWT is signed again only near
// its expiry; a 401 from the backend drops the reused assertion.
func TestReuse(t *testing.T) {
	key, err := sdk.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Unix(1_800_000_000, 0)
	ctx := context.Background()

	plain := newAt(t, map[string]any{"headers": map[string]any{"X-Remote-User": "{{.Subject}}"}}, &clock)
	res, err := plain.Inject(ctx, sdk.InjectRequest{Identity: alice})
	if err != nil {
		t.Fatal(err)
	}
	if res.ReuseFor != 5*time.Minute || len(res.ForgetOn) != 0 {
		t.Errorf("headers only: ReuseFor %v ForgetOn %v, want 5m and none", res.ReuseFor, res.ForgetOn)
	}

	jwt := newAt(t, map[string]any{"headers": map[string]any{"X-Remote-User": "{{.Subject}}"}, "jwt": map[string]any{"ttl": "8m"}}, &clock, key)
	for _, tc := range []struct {
		name              string
		identityExp, sess time.Time
		wantExp           time.Time
		wantReuse         time.Duration
	}{
		{"full lifetime", time.Time{}, clock.Add(time.Hour), clock.Add(8 * time.Minute), 6 * time.Minute},
		{"session ends first", time.Time{}, clock.Add(4 * time.Minute), clock.Add(4 * time.Minute), 3 * time.Minute},
		{"identity ends first", clock.Add(2 * time.Minute), clock.Add(time.Hour), clock.Add(2 * time.Minute), 90 * time.Second},
		{"older host: no session end", time.Time{}, time.Time{}, clock.Add(8 * time.Minute), 6 * time.Minute},
		{"session end mid-second", time.Time{}, clock.Add(4*time.Second + 900*time.Millisecond), clock.Add(4 * time.Second), 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := alice
			id.Expiry = tc.identityExp
			res, err := jwt.Inject(ctx, sdk.InjectRequest{Identity: id, SessionExpires: tc.sess})
			if err != nil {
				t.Fatal(err)
			}
			if got := expOf(t, res.Set.Get("X-Gatehouse-Assertion")); !got.Equal(tc.wantExp) {
				t.Errorf("exp %v, want %v", got, tc.wantExp)
			}
			if res.ReuseFor != tc.wantReuse || !slices.Equal(res.ForgetOn, []int{http.StatusUnauthorized}) {
				t.Errorf("ReuseFor %v ForgetOn %v, want %v and [401]", res.ReuseFor, res.ForgetOn, tc.wantReuse)
			}
			if err := res.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
	clock = clock.Add(-time.Second) // a session that has already ended: nothing to reuse
	res, err = jwt.Inject(ctx, sdk.InjectRequest{Identity: alice, SessionExpires: clock})
	if err != nil {
		t.Fatal(err)
	}
	if res.ReuseFor != 0 {
		t.Errorf("ReuseFor %v for an ended session, want 0", res.ReuseFor)
	}
}
