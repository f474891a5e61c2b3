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
)

// movableRevocations is memStore whose revocation line and signed-out session
// a test moves.
type movableRevocations struct {
	memStore
	before    atomic.Int64 // unix seconds; 0: none
	signedOut atomic.Value // session id
}

func (s *movableRevocations) Revocation(_ context.Context, _, id string) (time.Time, bool, error) {
	var before time.Time
	if u := s.before.Load(); u != 0 {
		before = time.Unix(u, 0)
	}
	out, _ := s.signedOut.Load().(string)
	return before, out != "" && out == id, nil
}

// A session the gateway has opened before (and so holds in its cache of
// opened sessions) is still checked on every request: revoked, signed out
// or expired, it no longer gets in.
func TestCachedSessionStillChecked(t *testing.T) {
	for _, tc := range []string{"revoked", "signed out", "expired"} {
		t.Run(tc, func(t *testing.T) {
			now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
			sealer, _ := session.NewSealer(make([]byte, 32))
			_, priv, _ := ed25519.GenerateKey(nil)
			st := &movableRevocations{}
			gate := &Gate{Sealer: sealer, Envelope: priv, Store: st, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
			app := &App{Name: "hr", Host: "hr.example.com", Prefix: "/", Plugin: "p", Auth: &countingAuth{}, Lifetime: time.Hour, Gate: gate}
			admit := func(h http.Header) (Admission, bool) {
				r := httptest.NewRequest("GET", "https://hr.example.com/x", nil)
				r.Header = h
				return app.Admit(httptest.NewRecorder(), r, "rid")
			}
			w := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "https://hr.example.com/x", nil)
			r.Header.Set("X-Key", "k")
			if _, ok := app.Admit(w, r, "rid"); !ok {
				t.Fatalf("sign-in: %d", w.Code)
			}
			c := w.Result().Cookies()[0]
			jar := http.Header{"Cookie": {c.Name + "=" + c.Value}}
			first, ok1 := admit(jar.Clone())
			again, ok2 := admit(jar.Clone())
			if !ok1 || !ok2 || &first.Envelope[0] != &again.Envelope[0] {
				t.Fatalf("the session was not served from the cache of opened sessions (admitted %v, %v)", ok1, ok2)
			}
			s, err := sealer.OpenSession("hr", "hr.example.com", c.Value, now)
			if err != nil {
				t.Fatal(err)
			}
			switch tc {
			case "revoked":
				st.before.Store(now.Add(time.Second).Unix())
				now = now.Add(2 * time.Second)
			case "signed out":
				st.signedOut.Store(s.ID)
			case "expired":
				now = s.Expires
			}
			if _, ok := admit(jar.Clone()); ok {
				t.Fatalf("a %s session was admitted from the cache", tc)
			}
		})
	}
}
