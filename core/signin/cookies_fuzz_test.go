package signin

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/sdk"
)

// fuzzAuth is an Authenticator that never recognises anyone and records
// whether it was called and with which state.
type fuzzAuth struct {
	calls int
	state []byte
}

func (a *fuzzAuth) Authenticate(_ context.Context, req sdk.AuthRequest) (sdk.AuthResult, error) {
	a.calls++
	a.state = req.State
	return sdk.NotMine(), nil
}

// fuzzStore answers the session checks; a method it does not define
// panics (nil Store), which the fuzz target would report.
type fuzzStore struct {
	Store
	revoked int
}

func (*fuzzStore) Revocation(context.Context, string, string) (time.Time, bool, error) {
	return time.Time{}, false, nil
}
func (*fuzzStore) AddSignIn(context.Context, store.SignIn) error { return nil }
func (*fuzzStore) TryLock(context.Context, string, string, time.Time, time.Time) (bool, error) {
	return true, nil
}
func (s *fuzzStore) RevokeSession(context.Context, string, time.Time) error {
	s.revoked++
	return nil
}

// FuzzSignInCookies sends arbitrary Cookie headers to an app with sign-in,
// and a valid session cookie with byte pos changed by mask. Without a
// session the gateway seals, no request is admitted: a page is not
// served, a callback with any state cookie never reaches the plug-in, a
// sign-out revokes nothing, and nothing panics. The valid cookie is
// admitted only unchanged.
func FuzzSignInCookies(f *testing.F) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	sealer, err := session.NewSealer(bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		f.Fatal(err)
	}
	envKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x6a}, ed25519.SeedSize))
	newApp := func() (*App, *fuzzAuth, *fuzzStore) {
		auth, st := &fuzzAuth{}, &fuzzStore{}
		gate := &Gate{Sealer: sealer, Envelope: envKey, Store: st, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
		return &App{Name: "hr", Host: "hr.example.com", Prefix: "/", Plugin: "p", Auth: auth, Lifetime: time.Hour, Gate: gate}, auth, st
	}
	app, _, _ := newApp()
	s, err := app.newSession(sdk.Identity{Subject: "alice"})
	if err != nil {
		f.Fatal(err)
	}
	valid, err := sealer.SealSession("hr", "hr.example.com", s)
	if err != nil {
		f.Fatal(err)
	}
	request := func(method, target, cookie string) *http.Request {
		r := httptest.NewRequest(method, "https://hr.example.com"+target, nil)
		r.Header.Set("Accept", "text/html")
		r.Header["Cookie"] = []string{cookie}
		return r
	}
	f.Fuzz(func(t *testing.T, cookie string, pos uint16, mask byte) {
		a, auth, st := newApp()
		if adm, ok := a.Admit(httptest.NewRecorder(), request("GET", "/x", cookie), "rid"); ok {
			t.Fatalf("Cookie %q admitted a request (envelope %q)", cookie, adm.Envelope)
		}
		mux := &reserved.Mux{Apps: map[string]reserved.App{"hr": {Host: a.Host, Callback: http.HandlerFunc(a.Callback), SignOut: http.HandlerFunc(a.SignOut)}}}
		r := request("GET", "/.gatehouse/auth/hr/callback?code=x", cookie)
		_, stateErr := r.Cookie(stateCookie("hr"))
		auth.calls = 0
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if stateErr == nil && auth.calls != 0 {
			t.Fatalf("Cookie %q: a callback with an unsealed state cookie reached the plug-in (state %q)", cookie, auth.state)
		}
		if auth.state != nil {
			t.Fatalf("Cookie %q: the plug-in got state %q the gateway never sealed", cookie, auth.state)
		}
		mux.ServeHTTP(httptest.NewRecorder(), request("GET", "/.gatehouse/auth/hr/signout", cookie))
		if st.revoked != 0 {
			t.Fatalf("Cookie %q: a sign-out revoked a session the gateway never sealed", cookie)
		}

		b := []byte(valid)
		b[int(pos)%len(b)] ^= mask
		_, ok := a.Admit(httptest.NewRecorder(), request("GET", "/x", sessionCookie("hr")+"="+string(b)), "rid")
		if ok != (mask == 0) {
			t.Fatalf("session cookie with byte %d ^%#x: admitted %v", int(pos)%len(b), mask, ok)
		}
	})
}
