package signin

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/sdk"
)

// logStore is memStore that keeps the sign-in log and one revocation line.
type logStore struct {
	memStore
	mu      sync.Mutex
	rows    []store.SignIn
	revoked time.Time
}

func (s *logStore) AddSignIn(_ context.Context, r store.SignIn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows = append(s.rows, r)
	return nil
}

func (s *logStore) Revocation(context.Context, string, string) (time.Time, bool, error) {
	return s.revoked, false, nil
}

// keyAuth signs in alice for key "k" (with an "iat" claim when the
// request says one), and refuses any other key with a reason.
type keyAuth struct{}

func (keyAuth) Authenticate(_ context.Context, req sdk.AuthRequest) (sdk.AuthResult, error) {
	switch req.Header.Get("X-Key") {
	case "":
		return sdk.NotMine(), nil
	case "k":
		id := sdk.Identity{Subject: "alice"}
		if iat := req.Header.Get("X-Iat"); iat != "" {
			t, _ := time.Parse(time.RFC3339, iat)
			id.Claims = map[string]any{"iat": float64(t.Unix())}
		}
		return sdk.Authenticated(id), nil
	}
	res := sdk.Challenge(http.StatusUnauthorized, nil, nil)
	res.Reason = "unknown key"
	return res, nil
}

func newLogApp(t *testing.T, now *time.Time) (*App, *logStore, *bytes.Buffer) {
	t.Helper()
	sealer, _ := session.NewSealer(make([]byte, 32))
	_, priv, _ := ed25519.GenerateKey(nil)
	st := &logStore{}
	var logs bytes.Buffer
	gate := &Gate{Sealer: sealer, Envelope: priv, Store: st, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return *now }}
	return &App{Name: "hr", Host: "hr.example.com", Prefix: "/", Plugin: "p", Auth: keyAuth{}, Lifetime: time.Hour, Gate: gate}, st, &logs
}

func admitWith(a *App, h ...string) (*httptest.ResponseRecorder, bool) {
	r := httptest.NewRequest("GET", "https://hr.example.com/x", nil)
	for i := 0; i+1 < len(h); i += 2 {
		r.Header.Set(h[i], h[i+1])
	}
	w := httptest.NewRecorder()
	_, ok := a.Admit(w, r, "rid")
	return w, ok
}

// Requests nobody can be held to leave no row, only a counted log line
// a minute; an identified client's identical sign-ins leave one row a
// minute.
func TestSignInLogBounded(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	a, st, logs := newLogApp(t, &now)
	for i := range 1000 {
		if i%2 == 0 {
			admitWith(a, "X-Key", "guess")
		} else {
			admitWith(a)
		}
	}
	if len(st.rows) != 0 {
		t.Fatalf("%d rows for requests without an identity: %+v", len(st.rows), st.rows[0])
	}
	if n := strings.Count(logs.String(), "counted not stored"); n != 1 {
		t.Fatalf("%d count lines within a minute, want 1:\n%s", n, logs)
	}
	now = now.Add(logEvery)
	admitWith(a, "X-Key", "guess")
	if !strings.Contains(logs.String(), "counts=\"hr/challenged=500, hr/no_credentials=500\"") {
		t.Fatalf("the minute's counts are not logged:\n%s", logs)
	}
	for range 100 {
		if _, ok := admitWith(a, "X-Key", "k"); !ok {
			t.Fatal("alice not admitted")
		}
	}
	if len(st.rows) != 1 || st.rows[0].Subject != "alice" || st.rows[0].Result != "signed_in" {
		t.Fatalf("rows after 100 sign-ins within a minute: %+v", st.rows)
	}
	now = now.Add(logEvery)
	admitWith(a, "X-Key", "k")
	if len(st.rows) != 2 {
		t.Fatalf("a minute later: %d rows, want 2", len(st.rows))
	}
}

// A token issued before the subject's revocation is refused, with a 401
// a bearer client understands; one issued after is admitted.
func TestRevokedTokenRefused(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	a, st, _ := newLogApp(t, &now)
	st.revoked = now.Add(-time.Minute)
	w, ok := admitWith(a, "X-Key", "k", "X-Iat", now.Add(-2*time.Minute).Format(time.RFC3339), "Authorization", "Bearer x")
	if ok || w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("Www-Authenticate"), "invalid_token") || len(w.Result().Cookies()) != 0 {
		t.Fatalf("token from before the revocation: admitted=%v %d %q cookies %v", ok, w.Code, w.Header().Get("Www-Authenticate"), w.Result().Cookies())
	}
	if _, ok := admitWith(a, "X-Key", "k", "X-Iat", now.Add(-30*time.Second).Format(time.RFC3339)); !ok {
		t.Fatal("token from after the revocation refused")
	}
	if _, ok := admitWith(a, "X-Key", "k"); !ok {
		t.Fatal("a credential without iat counts as issued now, after the revocation")
	}
}
