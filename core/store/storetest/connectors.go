package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// connector returns a connector with the given group, ID and LastSeen.
func connector(group, id string, seen time.Time) store.Connector {
	return store.Connector{
		ID: id, Group: group, Hostname: "host-" + id, Version: "1.0.0",
		Addr: "192.0.2.1:40000", CertSerial: "0a1b2c" + id, CreatedAt: base.Add(-time.Hour), LastSeen: seen,
	}
}

func equalConnector(a, b store.Connector) bool {
	return a.ID == b.ID && a.Group == b.Group && a.Hostname == b.Hostname && a.Version == b.Version &&
		a.Addr == b.Addr && a.CertSerial == b.CertSerial && a.CreatedAt.Equal(b.CreatedAt) && a.LastSeen.Equal(b.LastSeen)
}

// equalIDs reports whether got and want hold the same IDs, in any order.
func equalIDs(got, want []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
}

func testConnectorRoundTrip(t *testing.T, fresh opener) {
	now := time.Now() // local zone, with a monotonic clock reading
	tests := []struct {
		name string
		c    store.Connector
	}{
		{"all fields", connector("edge", "c1", base)},
		{"zero times", store.Connector{ID: "c2", Group: "edge"}},
		{"local time", store.Connector{ID: "c3", Group: "edge", CreatedAt: now, LastSeen: now.Add(time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t)
			if err := s.AddConnector(t.Context(), tt.c); err != nil {
				t.Fatalf("AddConnector: %v", err)
			}
			got, err := s.GetConnector(t.Context(), tt.c.ID)
			if err != nil {
				t.Fatalf("GetConnector: %v", err)
			}
			if !equalConnector(got, tt.c) {
				t.Fatalf("GetConnector = %+v, want %+v", got, tt.c)
			}
		})
	}
}

func testConnectorErrors(t *testing.T, fresh opener) {
	existing := connector("edge", "c1", base)
	duplicate := connector("other", "c1", base.Add(time.Hour))

	tests := []struct {
		name string
		op   func(ctx context.Context, s store.Store) error
		want error
	}{
		{"AddConnector duplicate", func(ctx context.Context, s store.Store) error {
			return s.AddConnector(ctx, duplicate)
		}, store.ErrExists},
		{"GetConnector unknown", func(ctx context.Context, s store.Store) error {
			_, err := s.GetConnector(ctx, "unknown")
			return err
		}, store.ErrNotFound},
		{"TouchConnector unknown", func(ctx context.Context, s store.Store) error {
			return s.TouchConnector(ctx, "unknown", base, "192.0.2.9:1", "9.9.9")
		}, store.ErrNotFound},
		{"RemoveConnector unknown", func(ctx context.Context, s store.Store) error {
			return s.RemoveConnector(ctx, "unknown")
		}, store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t)
			if err := s.AddConnector(t.Context(), existing); err != nil {
				t.Fatalf("AddConnector: %v", err)
			}
			if err := tt.op(t.Context(), s); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			list, err := s.ListConnectors(t.Context())
			if err != nil {
				t.Fatalf("ListConnectors: %v", err)
			}
			if len(list) != 1 || !equalConnector(list[0], existing) {
				t.Fatalf("afterwards ListConnectors = %+v, want only %+v", list, existing)
			}
		})
	}
}

func testListConnectors(t *testing.T, s store.Store) {
	ctx := t.Context()
	if list, err := s.ListConnectors(ctx); err != nil || len(list) != 0 {
		t.Fatalf("ListConnectors on an empty store = %+v, %v; want none", list, err)
	}
	want := []store.Connector{
		connector("a", "c0", base),
		connector("a", "c3", base),
		connector("b", "c1", base),
		connector("b", "c2", base),
		connector("c", "a9", base),
	}
	for _, i := range []int{3, 4, 1, 0, 2} { // not in the order listed
		if err := s.AddConnector(ctx, want[i]); err != nil {
			t.Fatalf("AddConnector(%q): %v", want[i].ID, err)
		}
	}
	got, err := s.ListConnectors(ctx)
	if err != nil {
		t.Fatalf("ListConnectors: %v", err)
	}
	if !slices.EqualFunc(got, want, equalConnector) {
		t.Fatalf("ListConnectors =\n%+v\nwant, by group then ID,\n%+v", got, want)
	}
}

func testTouchConnector(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := connector("edge", "c1", base)
	if err := s.AddConnector(ctx, c); err != nil {
		t.Fatalf("AddConnector: %v", err)
	}
	c.LastSeen, c.Addr, c.Version = base.Add(time.Minute), "198.51.100.7:51000", "1.1.0"
	// Twice with the same values: an unchanged row is still found.
	for range 2 {
		if err := s.TouchConnector(ctx, c.ID, c.LastSeen, c.Addr, c.Version); err != nil {
			t.Fatalf("TouchConnector: %v", err)
		}
	}
	got, err := s.GetConnector(ctx, c.ID)
	if err != nil {
		t.Fatalf("GetConnector: %v", err)
	}
	if !equalConnector(got, c) {
		t.Fatalf("after TouchConnector, GetConnector = %+v, want %+v", got, c)
	}
}

func testRemoveConnectorsSeenBefore(t *testing.T, fresh opener) {
	fixture := []store.Connector{
		connector("a", "seen-2h", base.Add(-2*time.Hour)),
		connector("a", "seen-1h", base.Add(-time.Hour)),
		connector("b", "never-seen", time.Time{}), // the zero time is before every other
		connector("b", "seen-now", base),
		connector("c", "seen-later", base.Add(time.Hour)),
	}
	tests := []struct {
		name    string
		at      time.Time
		removed []string
		left    []string
	}{
		{"at base", base, []string{"seen-2h", "seen-1h", "never-seen"}, []string{"seen-now", "seen-later"}},
		{"a day later", base.Add(24 * time.Hour), []string{"seen-2h", "seen-1h", "never-seen", "seen-now", "seen-later"}, nil},
		{"a day earlier", base.Add(-24 * time.Hour), []string{"never-seen"}, []string{"seen-2h", "seen-1h", "seen-now", "seen-later"}},
		{"zero time", time.Time{}, nil, []string{"seen-2h", "seen-1h", "never-seen", "seen-now", "seen-later"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t)
			for _, c := range fixture {
				if err := s.AddConnector(t.Context(), c); err != nil {
					t.Fatalf("AddConnector(%q): %v", c.ID, err)
				}
			}
			removed, err := s.RemoveConnectorsSeenBefore(t.Context(), tt.at)
			if err != nil {
				t.Fatalf("RemoveConnectorsSeenBefore: %v", err)
			}
			if !equalIDs(removed, tt.removed) {
				t.Errorf("RemoveConnectorsSeenBefore = %q, want %q", removed, tt.removed)
			}
			list, err := s.ListConnectors(t.Context())
			if err != nil {
				t.Fatalf("ListConnectors: %v", err)
			}
			var left []string
			for _, c := range list {
				left = append(left, c.ID)
			}
			if !equalIDs(left, tt.left) {
				t.Errorf("connectors left = %q, want %q", left, tt.left)
			}
		})
	}
}

// testRemoveConnector: removing one connector leaves the others; the
// removed one is gone for every read and write, and a second removal
// says ErrNotFound.
func testRemoveConnector(t *testing.T, s store.Store) {
	ctx := t.Context()
	keep, gone := connector("a", "c1", base), connector("a", "c2", base)
	for _, c := range []store.Connector{keep, gone} {
		if err := s.AddConnector(ctx, c); err != nil {
			t.Fatalf("AddConnector(%q): %v", c.ID, err)
		}
	}
	if err := s.RemoveConnector(ctx, gone.ID); err != nil {
		t.Fatalf("RemoveConnector: %v", err)
	}
	if _, err := s.GetConnector(ctx, gone.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetConnector after RemoveConnector: err = %v, want ErrNotFound", err)
	}
	if err := s.TouchConnector(ctx, gone.ID, base, "192.0.2.9:1", "9.9.9"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TouchConnector after RemoveConnector: err = %v, want ErrNotFound", err)
	}
	if err := s.RemoveConnector(ctx, gone.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second RemoveConnector: err = %v, want ErrNotFound", err)
	}
	list, err := s.ListConnectors(ctx)
	if err != nil {
		t.Fatalf("ListConnectors: %v", err)
	}
	if len(list) != 1 || !equalConnector(list[0], keep) {
		t.Fatalf("ListConnectors after RemoveConnector = %+v, want only %+v", list, keep)
	}
}
