package signin

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/sdk"
)

// countingAuth signs in as alice via an API-key header and counts calls.
type countingAuth struct{ calls atomic.Int64 }

func (c *countingAuth) Authenticate(_ context.Context, req sdk.AuthRequest) (sdk.AuthResult, error) {
	c.calls.Add(1)
	if req.Header.Get("X-Key") == "k" {
		return sdk.Authenticated(sdk.Identity{Subject: "alice"}), nil
	}
	return sdk.NotMine(), nil
}

type memStore struct{}

func (memStore) Revocation(context.Context, string, string) (time.Time, bool, error) {
	return time.Time{}, false, nil
}
func (memStore) AddSignIn(context.Context, store.SignIn) error               { return nil }
func (memStore) RevokeSession(context.Context, string, time.Time) error      { return nil }
func (memStore) PutCredential(context.Context, string, string, []byte) error { return nil }
func (memStore) GetCredential(context.Context, string, string) ([]byte, error) {
	return nil, store.ErrNotFound
}
func (memStore) DeleteCredential(context.Context, string, string) error { return nil }
func (memStore) TryLock(context.Context, string, string, time.Time, time.Time) (bool, error) {
	return true, nil
}

// A session cookie works until its expiry and not after: an expired one
// sends the user back to the Authenticator, never to the backend.
func TestExpiredSessionSignsInAgain(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	sealer, _ := session.NewSealer(make([]byte, 32))
	_, priv, _ := ed25519.GenerateKey(nil)
	auth := &countingAuth{}
	gate := &Gate{Sealer: sealer, Envelope: priv, Store: memStore{}, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
	app := &App{Name: "hr", Host: "hr.example.com", Prefix: "/", Plugin: "p", Auth: auth, Lifetime: time.Hour, Gate: gate}

	admit := func(h http.Header) (*httptest.ResponseRecorder, bool) {
		r := httptest.NewRequest("GET", "https://hr.example.com/x", nil)
		r.Header = h
		w := httptest.NewRecorder()
		_, ok := app.Admit(w, r, "rid")
		return w, ok
	}
	w, ok := admit(http.Header{"X-Key": {"k"}})
	if !ok {
		t.Fatalf("sign-in with the key: %d", w.Code)
	}
	cookie := w.Result().Cookies()[0]
	jar := http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}}
	calls := auth.calls.Load()
	if _, ok := admit(jar.Clone()); !ok || auth.calls.Load() != calls {
		t.Fatalf("a valid session: admitted=%v, plug-in called %d times", ok, auth.calls.Load()-calls)
	}
	now = now.Add(time.Hour) // the session's lifetime
	w, ok = admit(jar.Clone())
	if ok || w.Code != http.StatusUnauthorized || auth.calls.Load() != calls+1 {
		t.Fatalf("an expired session: admitted=%v status %d, plug-in called %d times; want 401 from the plug-in's NotMine", ok, w.Code, auth.calls.Load()-calls)
	}
}

// A persistent session's cookie carries the session's expiry; the default
// is a browser-session cookie.
func TestPersistentSessions(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	sealer, _ := session.NewSealer(make([]byte, 32))
	_, priv, _ := ed25519.GenerateKey(nil)
	gate := &Gate{Sealer: sealer, Envelope: priv, Store: memStore{}, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
	for _, persistent := range []bool{false, true} {
		app := &App{Name: "hr", Host: "hr.example.com", Prefix: "/", Plugin: "p", Auth: &countingAuth{}, Lifetime: time.Hour, Persistent: persistent, Gate: gate}
		r := httptest.NewRequest("GET", "https://hr.example.com/x", nil)
		r.Header.Set("X-Key", "k")
		w := httptest.NewRecorder()
		if _, ok := app.Admit(w, r, "rid"); !ok {
			t.Fatal("not admitted")
		}
		c := w.Result().Cookies()[0]
		if got := !c.Expires.IsZero(); got != persistent || (persistent && !c.Expires.Equal(now.Add(time.Hour))) {
			t.Errorf("persistent=%v: cookie Expires %v", persistent, c.Expires)
		}
	}
}
