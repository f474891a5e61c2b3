package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

func testRevocations(t *testing.T, s store.Store) {
	ctx := t.Context()
	if got, err := s.RevokedBefore(ctx, "alice"); err != nil || !got.IsZero() {
		t.Fatalf("RevokedBefore before any revocation = %v, %v; want zero", got, err)
	}
	t1 := time.Unix(1_800_000_000, 5)
	if err := s.RevokeSessions(ctx, "alice", t1); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSessions(ctx, "alice", t1.Add(-time.Hour)); err != nil { // never moves back
		t.Fatal(err)
	}
	if got, err := s.RevokedBefore(ctx, "alice"); err != nil || !got.Equal(t1) {
		t.Fatalf("RevokedBefore = %v, %v; want %v", got, err, t1)
	}
	if got, _ := s.RevokedBefore(ctx, "bob"); !got.IsZero() {
		t.Fatalf("bob revoked at %v by alice's revocation", got)
	}
}

func testSignIns(t *testing.T, s store.Store) {
	ctx := t.Context()
	base := time.Unix(1_800_000_000, 0)
	for i, r := range []string{"signed_in", "denied", "challenged"} {
		if err := s.AddSignIn(ctx, store.SignIn{At: base.Add(time.Duration(i) * time.Second), App: "hr", Plugin: "oidc",
			Subject: "alice", Result: r, Reason: "because", ClientIP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ListSignIns(ctx, 2)
	if err != nil || len(got) != 2 {
		t.Fatalf("ListSignIns(2) = %v, %v", got, err)
	}
	if got[0].Result != "challenged" || got[1].Result != "denied" || !got[0].At.Equal(base.Add(2*time.Second)) ||
		got[0].App != "hr" || got[0].Plugin != "oidc" || got[0].ClientIP != "192.0.2.1" || got[0].Reason != "because" {
		t.Fatalf("ListSignIns = %+v, want the newest first with every field", got)
	}
}

func testCredentials(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.GetCredential(ctx, "hr", "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetCredential before any: %v, want ErrNotFound", err)
	}
	for _, v := range []string{"one", "two"} {
		if err := s.PutCredential(ctx, "hr", "alice", []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutCredential(ctx, "wiki", "alice", []byte("other app")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetCredential(ctx, "hr", "alice"); err != nil || string(got) != "two" {
		t.Fatalf("GetCredential = %q, %v; want the latest", got, err)
	}
	if err := s.DeleteCredential(ctx, "hr", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCredential(ctx, "hr", "alice"); err != nil {
		t.Fatalf("deleting again: %v", err)
	}
	if _, err := s.GetCredential(ctx, "hr", "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if got, _ := s.GetCredential(ctx, "wiki", "alice"); string(got) != "other app" {
		t.Fatalf("another app's credentials went too: %q", got)
	}
}
