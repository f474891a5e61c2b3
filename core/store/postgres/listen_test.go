package postgres

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/store/storetest"
)

// TestListenEndsWhenItsConnectionDies: a LISTENing connection killed by
// the server ends Listen with an error that says so, without the DSN's
// password, and a new Listen on the same pool works again.
func TestListenEndsWhenItsConnectionDies(t *testing.T) {
	dsn := freshDSN(t)
	db, other := open(t, dsn, Options{}), open(t, dsn, Options{})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	done := make(chan error, 1)
	go func() { done <- db.Listen(t.Context(), make(chan struct{}, 1)) }()
	for i := 0; ; i++ {
		var killed int
		if err := other.pool.QueryRow(t.Context(), `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'LISTEN `+changesChannel+`'`).Scan(&killed); err != nil {
			t.Fatalf("terminating the listener: %v", err)
		}
		if killed > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Listen returned %v before its connection was killed", err)
		case <-time.After(20 * time.Millisecond): // the listener is not LISTENing yet
		}
		if i == 500 {
			t.Fatal("the listener's connection never showed up in pg_stat_activity")
		}
	}
	err = <-done
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, store.ErrNoListen) {
		t.Fatalf("Listen after its connection was killed = %v, want the connection's error", err)
	}
	if password != "" && strings.Contains(err.Error(), password) {
		t.Fatalf("Listen's error holds the DSN's password: %v", err)
	}
	t.Logf("Listen after its connection was killed: %v", err)
	// The pool still serves, and a new Listen wakes on a change.
	storetest.ListenAcross(t, db, other)
}
