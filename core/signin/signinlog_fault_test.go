package signin

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// failingLogStore is logStore whose AddSignIn fails while down is set.
type failingLogStore struct {
	*logStore
	down bool
}

func (s *failingLogStore) AddSignIn(ctx context.Context, r store.SignIn) error {
	if s.down {
		return errors.New("disk full")
	}
	return s.logStore.AddSignIn(ctx, r)
}

// A sign-in whose record the store could not write does not stop the next
// identical one from being written once the store works again.
func TestSignInLogAfterStoreFailure(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	a, st, _ := newLogApp(t, &now)
	fst := &failingLogStore{logStore: st, down: true}
	a.Gate.Store = fst
	if _, ok := admitWith(a, "X-Key", "k"); !ok {
		t.Fatal("alice not admitted while the sign-in log cannot be written")
	}
	fst.down = false
	now = now.Add(time.Second)
	if _, ok := admitWith(a, "X-Key", "k"); !ok {
		t.Fatal("alice not admitted")
	}
	if len(st.rows) != 1 || st.rows[0].Subject != "alice" {
		t.Fatalf("rows after the store came back: %+v, want alice's second sign-in", st.rows)
	}
}
