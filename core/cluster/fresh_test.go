package cluster

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// noStamps hides a store's stamp: a store that notifies (PostgreSQL) or
// one wrapped without passing Stamp on.
type noStamps struct{ store.Store }

// A follower polls a store without stamps at its usual interval: only a
// stamp a poll could not vouch for makes it poll again within the settle
// time (20 ms), and a store without stamps never has one. It had polled
// every 20 ms forever, 50 queries a second per node.
func TestFollowerWithoutStampsKeepsItsInterval(t *testing.T) {
	open, _ := sqliteBackend.fresh(t)
	db := open(t)
	for _, c := range []struct {
		name    string
		st      store.Store
		stamped bool
	}{{"SQLite", db, true}, {"no stamps", noStamps{db}, false}} {
		t.Run(c.name, func(t *testing.T) {
			f := NewFollower(c.st, FollowerOptions{FastPoll: time.Second})
			if err := c.st.RevokeSessions(t.Context(), "alice", time.Now()); err != nil {
				t.Fatal(err)
			}
			f.poll(t.Context()) // the write is too recent for the stamp: not vouched
			if got := f.interval(); c.stamped && got != settle {
				t.Fatalf("after a poll that could not vouch for SQLite's stamp, interval %v, want %v", got, settle)
			}
			time.Sleep(2 * settle) // let the write settle, for the stamped store
			f.poll(t.Context())
			if got := f.interval(); got != time.Second {
				t.Fatalf("after a complete poll, interval %v, want the FastPoll of 1s", got)
			}
			if !c.stamped && !f.Current() {
				t.Fatal("a store without stamps is not current: it is, by its notifications")
			}
		})
	}
}
