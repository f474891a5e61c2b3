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

func testSessionRevocations(t *testing.T, s store.Store) {
	ctx := t.Context()
	exp := time.Unix(1_800_000_000, 0)
	if gone, err := s.SessionRevoked(ctx, "s1"); err != nil || gone {
		t.Fatalf("SessionRevoked before any sign-out = %v, %v", gone, err)
	}
	for _, id := range []string{"s1", "s1", "s2"} { // twice: no error
		if err := s.RevokeSession(ctx, id, exp); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeSession(ctx, "s3", exp.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if gone, err := s.SessionRevoked(ctx, "s1"); err != nil || !gone {
		t.Fatalf("SessionRevoked after sign-out = %v, %v", gone, err)
	}
	if gone, _ := s.SessionRevoked(ctx, "other"); gone {
		t.Fatal("a session never signed out reads as revoked")
	}
	if n, err := s.DeleteExpiredSessionRevocations(ctx, exp.Add(time.Second)); n != 2 || err != nil {
		t.Fatalf("DeleteExpiredSessionRevocations = %d, %v; want 2", n, err)
	}
	if gone, _ := s.SessionRevoked(ctx, "s3"); !gone {
		t.Fatal("an unexpired sign-out was deleted")
	}
	// Revocation answers both questions at once, the same way.
	if err := s.RevokeSessions(ctx, "carol", exp); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		subject, id string
		before      time.Time
		out         bool
	}{
		{"carol", "s3", exp, true},
		{"carol", "", exp, false},
		{"carol", "other", exp, false},
		{"dave", "s3", time.Time{}, true},
		{"dave", "", time.Time{}, false},
	} {
		before, out, err := s.Revocation(ctx, tt.subject, tt.id)
		if err != nil || !before.Equal(tt.before) || out != tt.out {
			t.Errorf("Revocation(%q, %q) = %v, %v, %v; want %v, %v", tt.subject, tt.id, before, out, err, tt.before, tt.out)
		}
	}
}

func testSignIns(t *testing.T, s store.Store) {
	ctx := t.Context()
	base := time.Unix(1_800_000_000, 0)
	for i, r := range []string{"signed_in", "denied", "challenged"} {
		if err := s.AddSignIn(ctx, store.SignIn{At: base.Add(time.Duration(i) * time.Second), App: "hr", Plugin: "oidc",
			Subject: "alice", Result: r, Reason: "because", ClientIP: "192.0.2.1", Device: "CN=laptop-7 (serial 1a2b)"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ListSignIns(ctx, 2)
	if err != nil || len(got) != 2 {
		t.Fatalf("ListSignIns(2) = %v, %v", got, err)
	}
	if got[0].Result != "challenged" || got[1].Result != "denied" || !got[0].At.Equal(base.Add(2*time.Second)) ||
		got[0].App != "hr" || got[0].Plugin != "oidc" || got[0].ClientIP != "192.0.2.1" || got[0].Reason != "because" ||
		got[0].Device != "CN=laptop-7 (serial 1a2b)" {
		t.Fatalf("ListSignIns = %+v, want the newest first with every field", got)
	}
	if n, err := s.DeleteSignInsBefore(ctx, base.Add(2*time.Second)); n != 2 || err != nil {
		t.Fatalf("DeleteSignInsBefore = %d, %v; want 2", n, err)
	}
	if got, err := s.ListSignIns(ctx, 10); err != nil || len(got) != 1 || got[0].Result != "challenged" {
		t.Fatalf("after DeleteSignInsBefore: %+v, %v; want the newest record only", got, err)
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
