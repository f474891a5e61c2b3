package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// token returns an unused token with the given ID and expiry.
func token(id string, expires time.Time) store.Token {
	hash := sha256.Sum256([]byte("secret of " + id))
	return store.Token{ID: id, SecretHash: hash[:], Group: "default", CreatedAt: base, ExpiresAt: expires}
}

func equalToken(a, b store.Token) bool {
	return a.ID == b.ID && bytes.Equal(a.SecretHash, b.SecretHash) && a.Group == b.Group &&
		a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt) && a.UsedAt.Equal(b.UsedAt)
}

func testTokenRoundTrip(t *testing.T, fresh opener) {
	used := token("used", base.Add(time.Hour))
	used.UsedAt = base.Add(time.Minute)
	now := time.Now() // local zone, with a monotonic clock reading
	tests := []struct {
		name string
		tok  store.Token
	}{
		{"unused", token("unused", base.Add(time.Hour))},
		{"used", used},
		{"zero times", store.Token{ID: "zero", SecretHash: []byte{1, 2, 3}, Group: "g"}},
		{"local time", store.Token{ID: "local", SecretHash: []byte{4}, Group: "g", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t)
			if err := s.CreateToken(t.Context(), tt.tok); err != nil {
				t.Fatalf("CreateToken: %v", err)
			}
			got, err := s.GetToken(t.Context(), tt.tok.ID)
			if err != nil {
				t.Fatalf("GetToken: %v", err)
			}
			if !equalToken(got, tt.tok) {
				t.Fatalf("GetToken = %+v, want %+v", got, tt.tok)
			}
		})
	}
}

func testTokenErrors(t *testing.T, fresh opener) {
	unused := token("unused", base.Add(time.Hour))
	used := token("used", base.Add(time.Hour))
	used.UsedAt = base
	duplicate := token("unused", base.Add(2*time.Hour))
	duplicate.Group = "other"

	tests := []struct {
		name string
		op   func(ctx context.Context, s store.Store) error
		want error
	}{
		{"CreateToken duplicate", func(ctx context.Context, s store.Store) error {
			return s.CreateToken(ctx, duplicate)
		}, store.ErrExists},
		{"GetToken unknown", func(ctx context.Context, s store.Store) error {
			_, err := s.GetToken(ctx, "unknown")
			return err
		}, store.ErrNotFound},
		{"UseToken unknown", func(ctx context.Context, s store.Store) error {
			return s.UseToken(ctx, "unknown", base)
		}, store.ErrNotFound},
		{"UseToken created used", func(ctx context.Context, s store.Store) error {
			return s.UseToken(ctx, "used", base.Add(time.Second))
		}, store.ErrUsed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t)
			for _, tok := range []store.Token{unused, used} {
				if err := s.CreateToken(t.Context(), tok); err != nil {
					t.Fatalf("CreateToken(%q): %v", tok.ID, err)
				}
			}
			if err := tt.op(t.Context(), s); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			for _, want := range []store.Token{unused, used} {
				if got, err := s.GetToken(t.Context(), want.ID); err != nil || !equalToken(got, want) {
					t.Fatalf("afterwards GetToken(%q) = %+v, %v; want it unchanged: %+v", want.ID, got, err, want)
				}
			}
		})
	}
}

func testUseToken(t *testing.T, s store.Store) {
	ctx := t.Context()
	if err := s.CreateToken(ctx, token("tok", base.Add(time.Hour))); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	first := base.Add(time.Minute)
	if err := s.UseToken(ctx, "tok", first); err != nil {
		t.Fatalf("UseToken: %v", err)
	}
	if err := s.UseToken(ctx, "tok", first.Add(time.Minute)); !errors.Is(err, store.ErrUsed) {
		t.Fatalf("second UseToken: err = %v, want ErrUsed", err)
	}
	got, err := s.GetToken(ctx, "tok")
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	if !got.UsedAt.Equal(first) {
		t.Fatalf("UsedAt = %v, want the first use, %v", got.UsedAt, first)
	}
}

// RaceUseToken creates a token through stores[0], then has 16 goroutines,
// spread over stores, use it at once. It fails t unless exactly one succeeds,
// the others get store.ErrUsed and the token records the winner's time.
// Pass several handles on one database to test use across processes.
func RaceUseToken(t *testing.T, stores ...store.Store) {
	t.Helper()
	ctx := t.Context()
	if err := stores[0].CreateToken(ctx, token("race", base.Add(time.Hour))); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	const n = 16
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = stores[i%len(stores)].UseToken(ctx, "race", base.Add(time.Duration(i)*time.Second))
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("UseToken succeeded for goroutines %d and %d", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrUsed):
			t.Errorf("goroutine %d: UseToken: err = %v, want nil or ErrUsed", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no UseToken succeeded")
	}
	got, err := stores[0].GetToken(ctx, "race")
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	if want := base.Add(time.Duration(winner) * time.Second); !got.UsedAt.Equal(want) {
		t.Errorf("UsedAt = %v, want the winner's %v", got.UsedAt, want)
	}
}

func testDeleteExpiredTokens(t *testing.T, fresh opener) {
	fixture := []store.Token{
		token("expired-2h", base.Add(-2*time.Hour)),
		token("expired-1h", base.Add(-time.Hour)),
		token("no-expiry", time.Time{}), // the zero time is before every other
		token("expires-now", base),
		token("valid", base.Add(time.Hour)),
	}
	tests := []struct {
		name string
		at   time.Time
		want int
		left []string
	}{
		{"at base", base, 3, []string{"expires-now", "valid"}},
		{"a day later", base.Add(24 * time.Hour), 5, nil},
		{"a day earlier", base.Add(-24 * time.Hour), 1, []string{"expired-2h", "expired-1h", "expires-now", "valid"}},
		{"zero time", time.Time{}, 0, []string{"expired-2h", "expired-1h", "no-expiry", "expires-now", "valid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t)
			for _, tok := range fixture {
				if err := s.CreateToken(t.Context(), tok); err != nil {
					t.Fatalf("CreateToken(%q): %v", tok.ID, err)
				}
			}
			n, err := s.DeleteExpiredTokens(t.Context(), tt.at)
			if err != nil {
				t.Fatalf("DeleteExpiredTokens: %v", err)
			}
			if n != tt.want {
				t.Errorf("DeleteExpiredTokens = %d, want %d", n, tt.want)
			}
			var left []string
			for _, tok := range fixture {
				switch _, err := s.GetToken(t.Context(), tok.ID); {
				case err == nil:
					left = append(left, tok.ID)
				case !errors.Is(err, store.ErrNotFound):
					t.Fatalf("GetToken(%q): %v", tok.ID, err)
				}
			}
			if !equalIDs(left, tt.left) {
				t.Errorf("tokens left = %q, want %q", left, tt.left)
			}
		})
	}
}
